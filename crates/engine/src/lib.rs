//! The omnibridge engine: one runtime that the Order, Order Status and Order Cancel flows share.
//!
//! A flow is data: a directory with `flow.toml` (one section per card of the flow designer) and
//! the scripts and Jolt specs it names. Loading it turns each card's typed config
//! ([`config`]) into a runnable step ([`cards`]) once, reporting every problem with its file and
//! field. A flow ([`flows`]) is then a thin driver: it says what it reads and how one record
//! goes through the cards; the execution runtime ([`execution`]) does the rest — the flow's
//! lease and heartbeat, the execution log, the bounded record loop, one row log per record.
//!
//! Central types:
//! - [`execution::Engine`]: the shared services (store, script pool, node name, clock);
//! - [`execution::ExecutionScope`] and [`execution::Driver`]: one execution of any flow;
//! - [`execution::RecordReport`]: what happened to one record (its row log);
//! - [`cards::script::ScriptStep`], [`cards::mapping::MappingStep`],
//!   [`cards::request::RequestTemplate`], [`cards::ledger::Ledger`],
//!   [`cards::erp_read::ErpReader`], [`cards::connections::Connections`]: the cards;
//! - [`flows::Flow`] and [`flows::load_flow`]: any flow directory, loaded.
//!
//! The key decision: **the ledger decides every write.** A write that must not happen twice (an
//! order to the ERP) has its intent recorded durably before the request leaves, and its answer
//! after; a crash at any point leaves a phase a resumed run knows how to finish — an accepted
//! write is finished without sending again, one that may or may not have landed is settled by a
//! query or held *in doubt* for a person, never sent twice blindly. A write that is harmless to
//! repeat (setting item statuses) is recorded once done, in its row log's own write: a record
//! read again is recognised and skipped, and one whose fate a crash hid is simply sent again.
//!
//! Time comes from the engine's [`Clock`] (the Order Flow's read window, the Order Status
//! Flow's `last.request`), so tests move it instead of waiting.
#![deny(missing_docs)]

pub mod attributes;
pub mod cards;
pub mod config;
pub mod execution;
pub mod flows;
pub mod json_path;
pub mod login;
pub mod text;

pub use omnibridge_store::{Clock, ManualClock, SystemClock};
