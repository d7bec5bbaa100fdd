//! One module per subcommand.

pub mod demo;
pub mod expr;
pub mod flow_runtime;
pub mod ledger;
pub mod logs;
pub mod mapping;
pub mod push;
pub mod replay;
pub mod run;
pub mod schedule;
pub mod script;
pub mod serve;
pub mod sim;
pub mod trigger;
pub mod version;
