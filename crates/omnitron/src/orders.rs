//! The order endpoints of the Order Flow: the unsent-orders query, detail assembly, and the
//! writes that mark an order sent.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use omnibridge_http::Method;
use serde_json::{Value, json};

use crate::pagination::row_id;
use crate::{OmnitronClient, OmnitronError, SeekPager};

/// Paths of endpoints whose exact form is a guess about Omnitron (decisions.md): each is a
/// template where `{pk}` stands for the object's id.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEndpoints {
    /// Creates the order-level integration mapping.
    pub order_mapping: String,
    /// Marks an order sent (`{"is_send": true}`).
    pub order_update: String,
    /// Creates an order item's integration mapping.
    pub order_item_mapping: String,
    /// Updates an order item (`external_status`, `extra_field`).
    pub order_item_update: String,
    /// How many item and discount details are fetched at once for one order.
    pub detail_concurrency: usize,
}

impl Default for OrderEndpoints {
    fn default() -> Self {
        Self {
            order_mapping: "api/v1/orders/{pk}/create_mapping/".to_string(),
            order_update: "api/v1/orders/{pk}/".to_string(),
            order_item_mapping: "api/v1/order_items/{pk}/create_mapping/".to_string(),
            order_item_update: "api/v1/order_items/{pk}/".to_string(),
            detail_concurrency: 8,
        }
    }
}

fn with_pk(template: &str, pk: i64) -> String {
    template.replace("{pk}", &pk.to_string())
}

/// The Order Flow's read query: unsent orders of some channels in a set of statuses, modified
/// within a window.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsentOrdersQuery {
    /// Statuses to read (the seeds' 400, 450, 500, 510, 540, 550 by default).
    pub statuses: Vec<String>,
    /// Channel ids (`channel__in`); empty reads every channel.
    pub channels: Vec<String>,
    /// Lower bound of `modified_date` (the seeds use now − 3 weeks).
    pub modified_after: DateTime<Utc>,
    /// Page size (the seeds use 25).
    pub page_size: usize,
}

impl UnsentOrdersQuery {
    /// The seeds' query for these channels, with the window ending at `now`.
    pub fn new(channels: Vec<String>, now: DateTime<Utc>) -> Self {
        Self {
            statuses: ["400", "450", "500", "510", "540", "550"]
                .map(String::from)
                .to_vec(),
            channels,
            modified_after: now - chrono::Duration::days(21),
            page_size: 25,
        }
    }

    fn params(&self) -> Vec<(String, String)> {
        let mut params = vec![("is_send".to_string(), "false".to_string())];
        for status in &self.statuses {
            params.push(("status".to_string(), status.clone()));
        }
        params.push((
            "modified_date__gt".to_string(),
            self.modified_after
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string(),
        ));
        if !self.channels.is_empty() {
            params.push(("channel__in".to_string(), self.channels.join(",")));
        }
        params
    }
}

impl OmnitronClient {
    /// Pages of unsent orders (list shape: flat orders), starting after order id `start_after`.
    pub fn unsent_orders(&self, query: &UnsentOrdersQuery, start_after: Option<i64>) -> SeekPager {
        SeekPager::new(
            self.clone(),
            "api/v1/orders_integration/",
            query.params(),
            query.page_size,
            start_after,
        )
    }

    /// The order with its items and discounts, each in its `detailed_integration` form,
    /// assembled as the seeds describe: the order detail with `orderitem_set` and
    /// `discountitem_set` replaced by the detailed items and discounts.
    pub async fn assembled_order(&self, pk: i64) -> Result<Value, OmnitronError> {
        let detail_path = format!("api/v1/orders_integration/{pk}/detailed_integration/");
        let items_path = format!("api/v1/order_items/?order_id={pk}&limit=99999");
        let discounts_path = format!("api/v1/discount_items/?order_id={pk}&limit=99999");
        let (detail, items, discounts) = tokio::try_join!(
            self.get(&detail_path),
            self.detailed_rows(&items_path, "api/v1/order_items/{pk}/detailed_integration/"),
            self.detailed_rows(
                &discounts_path,
                "api/v1/discount_items/{pk}/detailed_integration/"
            ),
        )?;
        let Value::Object(mut order) = detail else {
            return Err(OmnitronError::Decode {
                method: "GET".to_string(),
                path: detail_path,
                message: "the order detail is not a JSON object".to_string(),
            });
        };
        order.insert("orderitem_set".to_string(), Value::Array(items));
        order.insert("discountitem_set".to_string(), Value::Array(discounts));
        Ok(Value::Object(order))
    }

    /// Lists rows, then fetches each row's detail (a few at a time), keeping the list's order.
    async fn detailed_rows(
        &self,
        list_path: &str,
        detail_template: &str,
    ) -> Result<Vec<Value>, OmnitronError> {
        let rows = self.list_all(list_path).await?;
        let ids = rows
            .iter()
            .map(|row| {
                row_id(row).ok_or_else(|| OmnitronError::Decode {
                    method: "GET".to_string(),
                    path: list_path.to_string(),
                    message: format!("a row has no integer pk: {row}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let concurrency = self.config().endpoints.detail_concurrency.max(1);
        futures::stream::iter(ids)
            .map(|id| {
                let path = with_pk(detail_template, id);
                async move { self.get(&path).await }
            })
            .buffered(concurrency)
            .try_collect()
            .await
    }

    /// `POST order_items/{pk}/create_mapping/` with `{"code", "update_stock"}`.
    pub async fn create_order_item_mapping(
        &self,
        item_pk: i64,
        code: &str,
        update_stock: bool,
    ) -> Result<Value, OmnitronError> {
        let path = with_pk(&self.config().endpoints.order_item_mapping, item_pk);
        let body = json!({"code": code, "update_stock": update_stock});
        self.call(Method::POST, &path, Some(&body)).await
    }

    /// `PATCH order_items/{pk}/` with the given fields (`external_status`, `extra_field`, ...).
    pub async fn update_order_item(
        &self,
        item_pk: i64,
        fields: &Value,
    ) -> Result<Value, OmnitronError> {
        let path = with_pk(&self.config().endpoints.order_item_update, item_pk);
        self.call(Method::PATCH, &path, Some(fields)).await
    }

    /// `PATCH orders/{pk}/` with these fields (e.g. `external_status`, `extra_field`).
    pub async fn update_order(
        &self,
        order_pk: i64,
        fields: &Value,
    ) -> Result<Value, OmnitronError> {
        let path = with_pk(&self.config().endpoints.order_update, order_pk);
        self.call(Method::PATCH, &path, Some(fields)).await
    }

    /// `POST orders/{pk}/create_mapping/` with `{"code"}`.
    pub async fn create_order_mapping(
        &self,
        order_pk: i64,
        code: &str,
    ) -> Result<Value, OmnitronError> {
        let path = with_pk(&self.config().endpoints.order_mapping, order_pk);
        self.call(Method::POST, &path, Some(&json!({"code": code})))
            .await
    }

    /// `PATCH orders/{pk}/` with `{"is_send": true}`: the order leaves the unsent query.
    pub async fn mark_order_sent(&self, order_pk: i64) -> Result<Value, OmnitronError> {
        let path = with_pk(&self.config().endpoints.order_update, order_pk);
        self.call(Method::PATCH, &path, Some(&json!({"is_send": true})))
            .await
    }

    /// `PATCH api/i1/order_items/bulk_status_update/` with one row of the Order Status Flow.
    pub async fn bulk_status_update(&self, row: &Value) -> Result<Value, OmnitronError> {
        self.call(
            Method::PATCH,
            "api/i1/order_items/bulk_status_update/",
            Some(row),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_unsent_query_is_the_seeds_query() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let query = UnsentOrdersQuery::new(vec!["1".into(), "5".into()], now);
        let params = query.params();
        let get = |k: &str| {
            params
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("is_send"), ["false"]);
        assert_eq!(get("status"), ["400", "450", "500", "510", "540", "550"]);
        assert_eq!(get("modified_date__gt"), ["2026-11-01T12:00:00.000000Z"]);
        assert_eq!(get("channel__in"), ["1,5"]);
    }

    #[test]
    fn endpoint_templates_take_the_pk() {
        assert_eq!(
            with_pk(&OrderEndpoints::default().order_mapping, 42),
            "api/v1/orders/42/create_mapping/"
        );
    }
}
