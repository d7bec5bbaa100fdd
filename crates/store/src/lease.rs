//! Leases: so two runs of one flow never overlap.
//!
//! A lease is a named row with an owner and an expiry. The owner renews it with heartbeats;
//! anyone may take it over once it has expired (its owner died). Each new holder gets a higher
//! `generation`, usable as a fencing token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The lease name. A flow's run lease is named by its flow id (see
    /// [`crate::Store::interrupt_orphaned_executions`]).
    pub key: String,
    /// The holder (process instance id).
    pub owner: String,
    /// Increases each time the lease changes hands.
    pub generation: i64,
    /// When the current holder acquired it.
    pub acquired_at: DateTime<Utc>,
    /// When it was last renewed.
    pub heartbeat_at: DateTime<Utc>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// What [`crate::Store::acquire_lease`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The caller holds the lease now.
    Acquired {
        /// The lease.
        lease: Lease,
        /// The previous owner whose lease had expired, when it was taken over.
        stolen_from: Option<String>,
    },
    /// Someone else holds a live lease.
    Held {
        /// The other holder's lease.
        by: Lease,
    },
}

impl LeaseOutcome {
    /// The lease, when acquired.
    pub fn acquired(&self) -> Option<&Lease> {
        match self {
            LeaseOutcome::Acquired { lease, .. } => Some(lease),
            LeaseOutcome::Held { .. } => None,
        }
    }
}
