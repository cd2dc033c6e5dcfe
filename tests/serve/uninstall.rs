//! DELETE /installable/{oauthId}: only once HipChat has revoked the credentials.

use reqwest::StatusCode;

use crate::support::serve::{ID, installed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_uninstall_a_tenant_whose_credentials_still_work() {
    let w = installed().await;
    assert_eq!(w.uninstall(ID).await, StatusCode::FORBIDDEN);
    let ok = w.say("/hascode x").await;
    assert_eq!(ok.status(), StatusCode::OK, "the tenant must survive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_a_tenant_after_hipchat_revoked_its_credentials() {
    let w = installed().await;
    assert!(w.hipchat.revoke(ID), "the host knows the tenant");
    assert_eq!(w.uninstall(ID).await, StatusCode::NO_CONTENT);
    let gone = w.say("/hascode x").await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    // Idempotent: again, and for a tenant never seen.
    for id in [ID, "never-installed"] {
        assert_eq!(w.uninstall(id).await, StatusCode::NO_CONTENT);
    }
}
