//! One module per subcommand.

pub mod mapping;
pub mod version;
