//! The ledger around a write, whatever its target (an ERP order, an Omnitron status update, a
//! cancellation): the intent is durable before the request leaves, and the answer is recorded
//! after it. See `omnibridge_store::ledger` for the phases and what a resumed run does with each.

use omnibridge_store::{
    LedgerEntry, NewIntent, Resolution, Store, StoreError, WriteResult, request_hash,
};

use crate::execution::Stop;

/// One execution's view of its flow's ledger.
#[derive(Clone, Copy)]
pub struct Ledger<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The flow whose records these are.
    pub flow_id: &'a str,
    /// The execution writing.
    pub execution_id: &'a str,
}

impl Ledger<'_> {
    /// The record's entry, if it was ever attempted.
    pub async fn entry(&self, key: &str) -> Result<Option<LedgerEntry>, Stop> {
        Ok(self.store.get_ledger_entry(self.flow_id, key).await?)
    }

    /// Records the intent to write `body`, just before the write. A record another run is
    /// writing (or that is in doubt, accepted or done) is skipped, never sent.
    pub async fn intent(
        &self,
        key: &str,
        record_id: Option<String>,
        body: &[u8],
    ) -> Result<LedgerEntry, Stop> {
        let intent = NewIntent {
            execution_id: self.execution_id.to_string(),
            record_id,
            request_hash: request_hash(body),
        };
        match self.store.record_intent(self.flow_id, key, intent).await {
            Ok(entry) => Ok(entry),
            Err(StoreError::LedgerConflict { .. }) => Err(Stop::skipped(
                "another run is writing this record right now",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the target's answer to attempt `attempt`.
    pub async fn result(
        &self,
        key: &str,
        attempt: u32,
        result: WriteResult,
    ) -> Result<LedgerEntry, Stop> {
        Ok(self
            .store
            .record_result(self.flow_id, key, attempt, result)
            .await?)
    }

    /// Resolves the entry outside the normal path.
    pub async fn resolve(&self, key: &str, resolution: Resolution) -> Result<LedgerEntry, Stop> {
        Ok(self.store.resolve(self.flow_id, key, resolution).await?)
    }
}
