//! Write Data to Omnitron: item mappings, item updates, the order mapping, then `is_send`.
//!
//! The calls are planned as named steps (`item_mapping:<id>`, `item_update:<id>`,
//! `order_mapping`, `is_send`) that the ledger records one by one, so a run that stopped
//! part-way resumes with the first step not yet done. `is_send` comes last: an order whose
//! mappings were only partly created is still unsent in Omnitron and is finished by the next
//! run, never lost.

use omnibridge_omnitron::{OmnitronClient, OmnitronError};
use serde_json::Value;

use super::check_response::CheckResponseOutput;

/// One Omnitron call of Write Data to Omnitron.
#[derive(Debug, Clone, PartialEq)]
pub enum OmnitronCall {
    /// `POST order_items/{id}/create_mapping/`.
    ItemMapping {
        /// Order item id.
        item: i64,
        /// ERP line code.
        code: String,
        /// Release the stock reservation.
        update_stock: bool,
    },
    /// `PATCH order_items/{id}/` with `external_status` / `extra_field`.
    ItemUpdate {
        /// Order item id.
        item: i64,
        /// The fields.
        body: Value,
    },
    /// `POST orders/{pk}/create_mapping/`.
    OrderMapping {
        /// ERP order reference.
        code: String,
    },
    /// `PATCH orders/{pk}/ {"is_send": true}`.
    MarkSent,
}

/// A planned call with the name the ledger records it under.
#[derive(Debug, Clone, PartialEq)]
pub struct OmnitronStep {
    /// Ledger name of the step.
    pub key: String,
    /// The call.
    pub call: OmnitronCall,
}

/// The calls for one order, in their safe order.
pub fn plan(output: &CheckResponseOutput) -> Vec<OmnitronStep> {
    let mut steps = Vec::new();
    for item in &output.items {
        steps.push(OmnitronStep {
            key: format!("item_mapping:{}", item.order_item_id),
            call: OmnitronCall::ItemMapping {
                item: item.order_item_id,
                code: item.item_mapping_code.clone(),
                update_stock: item.update_stock,
            },
        });
        if let Some(body) = item.patch_body() {
            steps.push(OmnitronStep {
                key: format!("item_update:{}", item.order_item_id),
                call: OmnitronCall::ItemUpdate {
                    item: item.order_item_id,
                    body,
                },
            });
        }
    }
    steps.push(OmnitronStep {
        key: "order_mapping".to_string(),
        call: OmnitronCall::OrderMapping {
            code: output.order_mapping_value.clone(),
        },
    });
    steps.push(OmnitronStep {
        key: "is_send".to_string(),
        call: OmnitronCall::MarkSent,
    });
    steps
}

/// Makes one planned call.
pub async fn execute(
    client: &OmnitronClient,
    order_pk: i64,
    step: &OmnitronStep,
) -> Result<(), OmnitronError> {
    match &step.call {
        OmnitronCall::ItemMapping {
            item,
            code,
            update_stock,
        } => client
            .create_order_item_mapping(*item, code, *update_stock)
            .await
            .map(drop),
        OmnitronCall::ItemUpdate { item, body } => {
            client.update_order_item(*item, body).await.map(drop)
        }
        OmnitronCall::OrderMapping { code } => {
            client.create_order_mapping(order_pk, code).await.map(drop)
        }
        OmnitronCall::MarkSent => client.mark_order_sent(order_pk).await.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn is_send_comes_last_after_every_mapping() {
        let output = CheckResponseOutput::parse(&json!({
            "is_send": "1", "order_mapping_value": "E1",
            "orderitems": [
                {"order_item_id": 1, "item_mapping_code": "L1", "external_status": "x"},
                {"order_item_id": 2, "item_mapping_code": "L2"}
            ]
        }))
        .unwrap();
        let keys: Vec<String> = plan(&output).into_iter().map(|s| s.key).collect();
        assert_eq!(
            keys,
            [
                "item_mapping:1",
                "item_update:1",
                "item_mapping:2",
                "order_mapping",
                "is_send"
            ]
        );
    }
}
