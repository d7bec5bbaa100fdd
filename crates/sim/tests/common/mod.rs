//! Helpers shared by the simulator's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use omnibridge_sim::{OmnitronConfig, OmnitronHandle, OmnitronSim};
use serde_json::Value;
use std::time::Duration;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn omnitron(orders: usize) -> OmnitronHandle {
    OmnitronSim::start(OmnitronConfig::default().orders(orders).seed(7))
        .await
        .unwrap()
}

/// A logged-in Omnitron client.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn login(h: &OmnitronHandle) -> Api {
        let http = client();
        let resp = http
            .post(format!("{}/api/v1/auth/login/", h.base_url()))
            .json(&serde_json::json!({"username": h.username(), "password": h.password()}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let token = resp.json::<Value>().await.unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string();
        Api {
            base: h.base_url(),
            token,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("Authorization", format!("Token {}", self.token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
}
