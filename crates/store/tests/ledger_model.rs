#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Random sequences of ledger calls against a reference model of the state machine: every call
//! is accepted or refused exactly as the model says, and the entry always matches the model.

use omnibridge_store::{
    LedgerPhase, NewIntent, Resolution, Store, StoreError, StoreOptions, WriteResult,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Intent,
    Result { accepted: bool, right_attempt: bool },
    Refusal { right_attempt: bool },
    Step { right_attempt: bool },
    Complete { right_attempt: bool },
    Found,
    NotFound,
    RetryIdempotent,
    Resend,
    MarkDone,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Intent),
        3 => (any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(accepted, right_attempt)| Op::Result { accepted, right_attempt }),
        1 => prop::bool::weighted(0.8).prop_map(|right_attempt| Op::Refusal { right_attempt }),
        2 => prop::bool::weighted(0.8).prop_map(|right_attempt| Op::Step { right_attempt }),
        2 => prop::bool::weighted(0.8).prop_map(|right_attempt| Op::Complete { right_attempt }),
        1 => Just(Op::Found),
        1 => Just(Op::NotFound),
        1 => Just(Op::RetryIdempotent),
        1 => Just(Op::Resend),
        1 => Just(Op::MarkDone),
    ]
}

/// The reference model: phase and attempt, `None` before any entry exists.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Model(Option<(LedgerPhase, u32)>);

impl Model {
    /// The state after `op`, or `None` when the store must refuse it.
    fn apply(self, op: &Op) -> Option<Model> {
        use LedgerPhase::*;
        let attempt = self.0.map_or(0, |(_, a)| a);
        let phase = self.0.map(|(p, _)| p);
        let next = |p| Some(Model(Some((p, attempt))));
        match op {
            Op::Intent => match phase {
                None | Some(Rejected) | Some(Released) => Some(Model(Some((Intent, attempt + 1)))),
                _ => None,
            },
            Op::Result {
                accepted,
                right_attempt,
            } => match phase {
                Some(Intent) if *right_attempt => next(if *accepted { Accepted } else { Rejected }),
                _ => None,
            },
            Op::Refusal { right_attempt } => match phase {
                Some(Accepted) if *right_attempt => next(Rejected),
                _ => None,
            },
            Op::Step { right_attempt } => match phase {
                Some(Accepted) if *right_attempt => next(Accepted),
                _ => None,
            },
            Op::Complete { right_attempt } => match phase {
                Some(Accepted) if *right_attempt => next(Completed),
                _ => None,
            },
            Op::Found => match phase {
                None | Some(Intent) | Some(Rejected) | Some(Released) => next(Accepted),
                _ => None,
            },
            Op::NotFound | Op::RetryIdempotent => match phase {
                Some(Intent) => next(Released),
                _ => None,
            },
            Op::Resend => phase.map(|_| Model(Some((Released, attempt)))),
            Op::MarkDone => next(Completed),
        }
    }
}

async fn run(store: &dyn Store, op: &Op, attempt: u32) -> Result<(), StoreError> {
    let (flow, key) = ("orders", "1001");
    let pick = |right: bool| if right { attempt } else { attempt + 1 };
    match op {
        Op::Intent => store
            .record_intent(
                flow,
                key,
                NewIntent {
                    execution_id: "e".into(),
                    record_id: None,
                    request_hash: "h".into(),
                },
            )
            .await
            .map(drop),
        Op::Result {
            accepted,
            right_attempt,
        } => store
            .record_result(
                flow,
                key,
                pick(*right_attempt),
                WriteResult {
                    status_code: if *accepted { 200 } else { 500 },
                    accepted: *accepted,
                    reference: None,
                    response: None,
                    error: None,
                },
            )
            .await
            .map(drop),
        Op::Refusal { right_attempt } => store
            .record_refusal(flow, key, pick(*right_attempt), "refused")
            .await
            .map(drop),
        Op::Step { right_attempt } => store
            .record_step(flow, key, pick(*right_attempt), "is_send")
            .await
            .map(drop),
        Op::Complete { right_attempt } => store
            .mark_completed(flow, key, pick(*right_attempt))
            .await
            .map(drop),
        Op::Found => store
            .resolve(
                flow,
                key,
                Resolution::AlreadyWritten {
                    execution_id: "e".into(),
                    status_code: 200,
                    reference: None,
                    response: None,
                },
            )
            .await
            .map(drop),
        Op::NotFound => store
            .resolve(
                flow,
                key,
                Resolution::NotWritten {
                    execution_id: "e".into(),
                },
            )
            .await
            .map(drop),
        Op::RetryIdempotent => store
            .resolve(
                flow,
                key,
                Resolution::RetryIdempotent {
                    execution_id: "e".into(),
                },
            )
            .await
            .map(drop),
        Op::Resend => store
            .resolve(
                flow,
                key,
                Resolution::Resend {
                    by: "p".into(),
                    note: None,
                },
            )
            .await
            .map(drop),
        Op::MarkDone => store
            .resolve(
                flow,
                key,
                Resolution::MarkDone {
                    by: "p".into(),
                    note: None,
                },
            )
            .await
            .map(drop),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_ledger_follows_its_state_machine(ops in prop::collection::vec(op(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = omnibridge_store::open("sqlite::memory:", StoreOptions::default())
                .await
                .unwrap();
            let mut model = Model(None);
            for op in &ops {
                let attempt = model.0.map_or(0, |(_, a)| a);
                let outcome = run(store.as_ref(), op, attempt).await;
                match (model.apply(op), outcome) {
                    (Some(next), Ok(())) => model = next,
                    (None, Err(StoreError::LedgerConflict { .. })) => {}
                    (expected, got) => {
                        prop_assert!(false, "{op:?} from {model:?}: expected {expected:?}, got {got:?}");
                    }
                }
                let entry = store.get_ledger_entry("orders", "1001").await.unwrap();
                prop_assert_eq!(entry.map(|e| (e.phase, e.attempt)), model.0, "after {:?}", op);
            }
            Ok(())
        })?;
    }
}
