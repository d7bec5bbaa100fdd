//! The runnable steps every flow is made of.
//!
//! Each card of the flow designer is a typed config (in [`crate::config`]) with one `build`
//! that checks it and turns it into one of these steps, once, when the flow loads. The flows
//! ([`crate::flows`]) compose the steps; no step is written twice:
//!
//! - [`script::ScriptStep`]: runs any of a flow's Python scripts (Script, Check Response, Post
//!   Script, per-row script, Custom Response Script) in the warm pool;
//! - [`mapping::MappingStep`]: a compiled Jolt spec;
//! - [`request::RequestTemplate`] and [`request::send`]: every ERP call, through the flow's
//!   login profile (one re-login on a refused token, `invokehttp.*` attributes);
//! - [`ledger::Ledger`]: the ledger intent before a write and its result after, whatever
//!   the write's target;
//! - [`erp_read::ErpReader`]: reading pages from an ERP (dynamic URLs, pagination, XML);
//! - [`connections::Connections`]: the Omnitron and ERP logins of one execution.

pub mod build;
pub mod connections;
pub mod erp_read;
pub mod ledger;
pub mod mapping;
pub mod request;
pub mod script;
pub mod xml;

pub use build::BuildContext;
