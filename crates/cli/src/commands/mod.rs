//! One module per subcommand.

pub mod expr;
pub mod version;
