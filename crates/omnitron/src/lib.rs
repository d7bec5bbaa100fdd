//! A client for the parts of Omnitron's REST API that the order flows use.
//!
//! [`OmnitronClient`] logs in with a username and password (`POST api/v1/auth/login/` →
//! `{"key": ...}`), sends `Authorization: Token <key>` on every call, and on a 401 logs in again
//! once and repeats the call — the behaviour of Akinon's own SDK. Concurrent callers that hit the
//! same expired token share one re-login.
//!
//! Payloads stay [`serde_json::Value`]: users' scripts and Jolt specs see Omnitron's JSON exactly
//! as Omnitron sent it, so the client never drops a field it does not know.
//!
//! Reads use the platform's retry policy (GETs retried on 5xx, 429 and connection errors); writes
//! are sent once and their outcome is reported, because only the caller's ledger can decide
//! whether repeating them is safe.
#![deny(missing_docs)]

mod client;
mod error;
mod orders;
mod pagination;

pub use client::{OmnitronClient, OmnitronConfig};
pub use error::OmnitronError;
pub use orders::{OrderEndpoints, UnsentOrdersQuery};
pub use pagination::{SeekPager, results_of};
