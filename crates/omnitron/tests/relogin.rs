//! The Omnitron client against the Omnitron simulator: it logs in on first use, logs in again
//! when a token is rejected (401) and repeats the call once, and reports bad credentials.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_omnitron::{OmnitronClient, OmnitronConfig, OmnitronError};
use omnibridge_sim::omnitron::AuthPolicy;
use omnibridge_sim::{OmnitronConfig as SimConfig, OmnitronSim};

async fn client_for(sim: &omnibridge_sim::OmnitronHandle, password: &str) -> OmnitronClient {
    OmnitronClient::new(OmnitronConfig::new(
        format!("{}/", sim.base_url()),
        "integrator",
        password,
    ))
    .unwrap()
}

#[tokio::test]
async fn a_rejected_token_is_renewed_and_the_call_repeated() {
    let sim = OmnitronSim::start(SimConfig::default().orders(3).seed(1))
        .await
        .unwrap();
    sim.set_auth_policy(AuthPolicy {
        max_uses: Some(2),
        ..Default::default()
    })
    .await;
    let client = client_for(&sim, "integrator-pass").await;
    for _ in 0..7 {
        let page = client.get("api/v1/orders/?limit=1").await.unwrap();
        assert!(page["results"].is_array(), "{page}");
    }
    // One login for the first call, then one each time the token wore out (every 2 uses).
    let logins = sim.login_count().await;
    assert!((4..=5).contains(&logins), "{logins} logins");
}

#[tokio::test]
async fn bad_credentials_are_a_login_error_naming_the_user() {
    let sim = OmnitronSim::start(SimConfig::default().orders(1).seed(1))
        .await
        .unwrap();
    let client = client_for(&sim, "wrong").await;
    let error = client.get("api/v1/orders/?limit=1").await.unwrap_err();
    assert!(
        matches!(&error, OmnitronError::Login { username, .. } if username == "integrator"),
        "{error}"
    );
    assert!(
        !error.to_string().contains("wrong"),
        "the password is not echoed: {error}"
    );
}
