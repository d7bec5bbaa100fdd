//! `omnibridge version`.

/// Prints the version of this build.
pub fn run() -> anyhow::Result<()> {
    println!("omnibridge {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
