//! Clients registered by hand (no descriptor, no install call) and token
//! lifetimes changed while the host runs.

use std::time::Duration;

use connect::hipchat::host::{Credentials, HostOptions};
use serde_json::{Value, json};

use super::{notify, start_host, token};

fn credentials(id: &str, secret: &str) -> Credentials {
    Credentials {
        oauth_id: id.into(),
        oauth_secret: secret.into(),
    }
}

async fn grant(host: &connect::hipchat::host::RunningHost, id: &str, secret: &str) -> Value {
    let response = token(host, id, secret, "grant_type=client_credentials").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_registered_client_gets_tokens_and_notifies_only_its_room() {
    let host = start_host(HostOptions::default()).await;
    host.host().register_client(
        &credentials("hand", "s3cret"),
        &["send_notification"],
        Some(7),
    );
    assert!(host.host().installations().is_empty());
    let refused = token(&host, "hand", "guess", "grant_type=client_credentials").await;
    assert_eq!(refused.status(), 401);
    let body = grant(&host, "hand", "s3cret").await;
    assert_eq!(body["scope"], "send_notification");
    let access = body["access_token"].as_str().expect("token");
    let ok = notify(&host, 7, access, json!({"message": "hello"})).await;
    assert_eq!(ok.status(), 204);
    assert_eq!(host.host().notification_count(7), 1);
    assert_eq!(host.host().room_messages(7)[0].message, "hello");
    let elsewhere = notify(&host, 1, access, json!({"message": "hello"})).await;
    assert_eq!(elsewhere.status(), 403);
    let asked = token(
        &host,
        "hand",
        "s3cret",
        "grant_type=client_credentials&scope=admin_room",
    )
    .await;
    assert_eq!(asked.status(), 400);
    assert_eq!(host.host().token_requests("hand"), 3);
    assert_eq!(host.host().tokens_granted("hand"), 1);
}

#[tokio::test]
async fn registering_a_client_again_rotates_its_secret_and_revives_it() {
    let host = start_host(HostOptions::default()).await;
    let scopes = ["send_notification"];
    host.host()
        .register_client(&credentials("c", "old"), &scopes, Some(1));
    let old = grant(&host, "c", "old").await;
    let old_token = old["access_token"].as_str().expect("token").to_owned();
    host.host()
        .register_client(&credentials("c", "new"), &scopes, Some(1));
    let refused = token(&host, "c", "old", "grant_type=client_credentials").await;
    assert_eq!(refused.status(), 401);
    let stale = notify(&host, 1, &old_token, json!({"message": "x"})).await;
    assert_eq!(stale.status(), 401, "tokens of the old secret are revoked");
    grant(&host, "c", "new").await;
    assert!(host.host().revoke("c"));
    let revoked = token(&host, "c", "new", "grant_type=client_credentials").await;
    assert_eq!(revoked.status(), 401);
    host.host()
        .register_client(&credentials("c", "new"), &scopes, Some(1));
    let again = grant(&host, "c", "new").await;
    let fresh = again["access_token"].as_str().expect("token");
    let ok = notify(&host, 1, fresh, json!({"message": "back"})).await;
    assert_eq!(ok.status(), 204);
}

#[tokio::test]
async fn token_lifetime_changes_apply_to_tokens_granted_afterwards() {
    let host = start_host(HostOptions::default()).await;
    host.host()
        .register_client(&credentials("l", "s"), &["send_notification"], None);
    assert_eq!(grant(&host, "l", "s").await["expires_in"], 3599);
    host.host().set_token_lifetime(Duration::from_secs(30));
    assert_eq!(grant(&host, "l", "s").await["expires_in"], 30);
    host.host().set_token_lifetime(Duration::from_secs(1));
    let short = grant(&host, "l", "s").await;
    assert_eq!(short["expires_in"], 1);
    let access = short["access_token"].as_str().expect("token").to_owned();
    host.host().ensure_room(2);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = notify(&host, 2, &access, json!({"message": "late"})).await;
    assert_eq!(expired.status(), 401);
}
