//! One module per subcommand.

pub mod script;
pub mod version;
