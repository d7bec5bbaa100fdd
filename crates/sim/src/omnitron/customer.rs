//! A customer's side of the shop: cancelling an order through Omnitron's public API, as the
//! storefront does, so tests, benches and the demo open cancellation plans the way they appear
//! in production.

use serde_json::{Value, json};

/// Logs in to the Omnitron at `base_url` (no trailing slash) and cancels each order in
/// `orders` whole with a plan of `plan_type` (`cancel` or `refund`); returns the new waiting
/// plans' pks in order. Fails with the first answer that is not a success.
pub async fn cancel_orders(
    base_url: &str,
    username: &str,
    password: &str,
    orders: &[u64],
    plan_type: &str,
) -> Result<Vec<u64>, String> {
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base_url}/api/v1/auth/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .map_err(|e| format!("logging in to Omnitron: {e}"))?
        .json()
        .await
        .map_err(|e| format!("logging in to Omnitron: {e}"))?;
    let token = login["key"]
        .as_str()
        .ok_or_else(|| format!("Omnitron's login answer has no key: {login}"))?;
    let mut plans = Vec::with_capacity(orders.len());
    for order in orders {
        let answer = client
            .post(format!("{base_url}/api/v1/orders/{order}/cancel/"))
            .header("Authorization", format!("Token {token}"))
            .json(&json!({"plan_type": plan_type}))
            .send()
            .await
            .map_err(|e| format!("cancelling order {order}: {e}"))?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            return Err(format!("cancelling order {order}: HTTP {status}: {body}"));
        }
        let plan = body["pk"]
            .as_u64()
            .ok_or_else(|| format!("cancelling order {order}: no plan pk in {body}"))?;
        plans.push(plan);
    }
    Ok(plans)
}
