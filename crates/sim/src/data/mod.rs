//! Seeded, realistic Omnitron data.

pub mod generator;
pub(crate) mod ingest;
