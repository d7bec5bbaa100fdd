//! One module per subcommand.

pub mod mapping;
pub mod script;
pub mod expr;
pub mod sim;
pub mod version;
