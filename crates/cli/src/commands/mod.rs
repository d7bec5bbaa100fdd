//! One module per subcommand.

pub mod expr;
pub mod mapping;
pub mod script;
pub mod sim;
pub mod version;
