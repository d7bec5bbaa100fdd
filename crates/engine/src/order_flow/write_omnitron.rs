//! Write Data to Omnitron: item mappings, item updates, the order mapping, then `is_send`.
//!
//! The order of calls makes a failure part-way safe to repeat: `is_send` comes last, so an
//! order whose mappings were only partly created is still unsent and is finished by the next
//! run (mapping creation is idempotent for the same code), never lost.

use omnibridge_omnitron::{OmnitronClient, OmnitronError};

use super::check_response::CheckResponseOutput;

/// Which call of Write Data to Omnitron failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteOmnitronError {
    /// Creating an item's mapping failed.
    #[error("creating the mapping of order item {item} failed: {source}")]
    ItemMapping {
        /// Omnitron order item id.
        item: i64,
        /// The Omnitron error.
        #[source]
        source: OmnitronError,
    },
    /// Updating an item's `external_status` / `extra_field` failed.
    #[error("updating order item {item} failed: {source}")]
    ItemUpdate {
        /// Omnitron order item id.
        item: i64,
        /// The Omnitron error.
        #[source]
        source: OmnitronError,
    },
    /// Creating the order's mapping failed.
    #[error("creating the order mapping failed: {source}")]
    OrderMapping {
        /// The Omnitron error.
        #[source]
        source: OmnitronError,
    },
    /// Marking the order sent failed.
    #[error("marking the order sent (is_send) failed: {source}")]
    MarkSent {
        /// The Omnitron error.
        #[source]
        source: OmnitronError,
    },
}

/// Runs Write Data to Omnitron for one order.
pub async fn write_to_omnitron(
    client: &OmnitronClient,
    order_pk: i64,
    output: &CheckResponseOutput,
) -> Result<(), WriteOmnitronError> {
    for item in &output.items {
        client
            .create_order_item_mapping(
                item.order_item_id,
                &item.item_mapping_code,
                item.update_stock,
            )
            .await
            .map_err(|source| WriteOmnitronError::ItemMapping {
                item: item.order_item_id,
                source,
            })?;
        if let Some(body) = item.patch_body() {
            client
                .update_order_item(item.order_item_id, &body)
                .await
                .map_err(|source| WriteOmnitronError::ItemUpdate {
                    item: item.order_item_id,
                    source,
                })?;
        }
    }
    client
        .create_order_mapping(order_pk, &output.order_mapping_value)
        .await
        .map_err(|source| WriteOmnitronError::OrderMapping { source })?;
    client
        .mark_order_sent(order_pk)
        .await
        .map_err(|source| WriteOmnitronError::MarkSent { source })?;
    Ok(())
}
