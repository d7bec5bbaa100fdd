//! Omnitron and ERP simulators for omnibridge's tests, benchmarks and demo.
//!
//! Two HTTP servers, usable in-process ([`OmnitronSim::start`], [`ErpSim::start`], port 0 so
//! tests run in parallel) or from the `omnibridge sim` command:
//!
//! * the **Omnitron simulator** reproduces the Django REST Framework API the three order flows
//!   use (token login, page and seek pagination, filters, detail/items/discounts, `is_send`,
//!   mappings, bulk status update, cancellation plans, order transactions) with DRF's error
//!   shapes, over data from a seeded generator shaped like the seed-004 example order;
//! * the **ERP simulator** is scriptable per order number / plan id: auth modes, order query and
//!   create modes, a paginated status feed (JSON or XML), a cancellation endpoint, a CRM sink,
//!   and an outbound push driver.
//!
//! Both put every request through one pipeline ([`server`]): journal, fault rules
//! ([`faults::FaultRule`]), auth, routes. The key design decision: **state is the oracle**.
//! Each simulator keeps its full state in memory behind a lock and exposes it (typed from Rust,
//! JSON over `/__sim/state`), so tests assert outcomes ("order 12 is sent, mapped once, the ERP
//! received exactly one create") instead of replaying request sequences.

#![deny(missing_docs)]

mod clock;
mod control;
pub mod data;
pub mod erp;
pub mod faults;
pub mod journal;
pub mod omnitron;
pub mod rng;
mod server;

pub use clock::{ClockChange, ClockView, iso};
pub use erp::{ErpConfig, ErpHandle, ErpSim};
pub use faults::{FaultAction, FaultRule};
pub use journal::{JournalEntry, JournalQuery};
pub use omnitron::{OmnitronConfig, OmnitronHandle, OmnitronSim, OmnitronState};
pub use server::SimError;

/// Lock a std mutex, recovering from poisoning (a panicked handler must not take the whole
/// simulator down with it).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Read-lock a std RwLock, recovering from poisoning.
pub(crate) fn read<T>(l: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write-lock a std RwLock, recovering from poisoning.
pub(crate) fn write<T>(l: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
