//! The Order Flow: Omnitron's unsent orders, written to the ERP exactly once.

pub mod check_response;
pub mod query_check;
pub mod write_omnitron;
