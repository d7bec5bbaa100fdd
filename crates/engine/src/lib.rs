//! The omnibridge engine: flows as typed configuration, the steps they are made of, and the
//! HTTP layer to ERPs with login profiles.
#![deny(missing_docs)]

pub mod attributes;
pub mod flow;
pub mod json_path;
pub mod login;
pub mod order_flow;
