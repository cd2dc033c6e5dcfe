//! DELETE /installable/{oauthId}: only once HipChat has revoked the credentials.

use reqwest::StatusCode;

use super::webhook::{ID, SECRET, installed};
use crate::kit;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_uninstall_a_tenant_whose_credentials_still_work() {
    let w = installed().await;
    let response = w
        .client
        .delete(format!("{}/installable/{ID}", w.serve.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let ok =
        kit::hipchat::deliver(&w.client, &w.serve.webhook(), ID, SECRET, 1, "/hascode x").await;
    assert_eq!(ok.status(), StatusCode::OK, "the tenant must survive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_a_tenant_after_hipchat_revoked_its_credentials() {
    let w = installed().await;
    w.hipchat.revoke(ID);
    let response = w
        .client
        .delete(format!("{}/installable/{ID}", w.serve.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone =
        kit::hipchat::deliver(&w.client, &w.serve.webhook(), ID, SECRET, 1, "/hascode x").await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    // Idempotent: again, and for a tenant never seen.
    for id in [ID, "never-installed"] {
        let again = w
            .client
            .delete(format!("{}/installable/{id}", w.serve.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NO_CONTENT);
    }
}
