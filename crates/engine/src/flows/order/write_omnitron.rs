//! Write Data to Omnitron: item mappings (and item updates), the order mapping (and the
//! order's `external_status` / `extra_field`), then `is_send`.
//!
//! Items are independent, so their calls run concurrently (a few at a time); the order mapping
//! follows, and `is_send` comes last. An order whose mappings were only partly created is still
//! unsent in Omnitron and is finished by the next run, never lost — and every mapping call is
//! idempotent for the same code, so repeating one is harmless.

use futures::{StreamExt, TryStreamExt};
use omnibridge_omnitron::{OmnitronClient, OmnitronError};

use super::check_response::{CheckResponseOutput, ItemMapping};

/// How many items of one order are mapped at once.
const ITEM_CONCURRENCY: usize = 8;

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
    /// Updating the order's `external_status` / `extra_field` failed.
    #[error("updating the order's external_status/extra_field failed: {source}")]
    OrderUpdate {
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

async fn map_item(client: &OmnitronClient, item: &ItemMapping) -> Result<(), WriteOmnitronError> {
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
    Ok(())
}

/// Every item mapping and item update, then the order mapping and the order's update.
pub async fn write_mappings(
    client: &OmnitronClient,
    order_pk: i64,
    output: &CheckResponseOutput,
) -> Result<(), WriteOmnitronError> {
    // By index: a closure taking `&ItemMapping` trips rustc's higher-ranked lifetime check when
    // the future must be Send (rust-lang/rust#102211).
    futures::stream::iter(0..output.items.len())
        .map(|i| map_item(client, &output.items[i]))
        .buffer_unordered(ITEM_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    client
        .create_order_mapping(order_pk, &output.order_mapping_value)
        .await
        .map_err(|source| WriteOmnitronError::OrderMapping { source })?;
    if let Some(body) = output.order_patch_body() {
        client
            .update_order(order_pk, &body)
            .await
            .map_err(|source| WriteOmnitronError::OrderUpdate { source })?;
    }
    Ok(())
}

/// `PATCH orders/{pk}/ {"is_send": true}`: the last call, after every mapping exists.
pub async fn mark_sent(client: &OmnitronClient, order_pk: i64) -> Result<(), WriteOmnitronError> {
    client
        .mark_order_sent(order_pk)
        .await
        .map(drop)
        .map_err(|source| WriteOmnitronError::MarkSent { source })
}
