//! The room_message webhook: every rejection, and the usage reply.

use connect::hipchat::jwt::{self, Algorithm};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::serve::installed::Installed;
use crate::support::serve::signed::{claims, room_message, sign};
use crate::support::serve::{ID, SECRET, installed};

fn body(text: &str) -> String {
    room_message(ID, 1, text).to_string()
}

/// A search signed with `token` must be refused with 401.
async fn assert_refused(w: &Installed, token: &str) {
    let response = w.post(Some(token), body("/hascode rust")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_a_signed_search_inline_with_a_notification() {
    let w = installed().await;
    let note = w.ask("/hascode rust").await;
    assert_eq!(note["message_format"], "html");
    let message = note["message"].as_str().unwrap();
    assert!(
        message.contains("rust article 1") && message.contains("3 results"),
        "{message}"
    );
    assert_eq!(w.blog.queries(), vec!["tag=rust"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_the_jwt_as_signed_request_or_x_acpt_too() {
    let w = installed().await;
    let token = sign(&claims(ID, 1), SECRET);
    let query = w
        .client
        .post(format!("{}?signed_request={token}", w.serve.webhook()))
        .json(&room_message(ID, 1, "/hascode a"))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), StatusCode::OK);
    let header = w
        .client
        .post(w.serve.webhook())
        .header("x-acpt", &token)
        .json(&room_message(ID, 1, "/hascode a"))
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), StatusCode::OK);
    assert!(
        !w.serve.logs().contains(&token),
        "the JWT must never be logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_an_unsigned_webhook_without_searching() {
    let w = installed().await;
    let response = w.post(None, body("/hascode rust")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(w.searches(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_webhook_signed_with_another_secret() {
    let w = installed().await;
    let token = sign(&claims(ID, 1), "not-the-secret");
    assert_refused(&w, &token).await;
    assert_eq!(w.searches(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_webhook_with_alg_none() {
    use base64::Engine as _;
    let w = installed().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(serde_json::to_vec(&claims(ID, 1)).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_refused(&w, &token).await;
    }
    assert_eq!(w.searches(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_an_expired_webhook() {
    let w = installed().await;
    let mut c = claims(ID, 1);
    c.iat -= 200;
    c.exp = jwt::unix_now() - 120;
    assert_refused(&w, &sign(&c, SECRET)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_webhook_issued_longer_ago_than_max_token_age() {
    let w = installed().await;
    let mut c = claims(ID, 1);
    c.iat = jwt::unix_now() - 1000; // maxTokenAge is 900
    c.exp = jwt::unix_now() + 3000;
    assert_refused(&w, &sign(&c, SECRET)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_webhook_whose_issuer_differs_from_the_body() {
    let w = installed().await;
    // A second tenant signs a body claiming to be the first.
    let base = w.serve.url();
    w.hipchat
        .must_install_as(&base, "other", "other-secret", Some(2))
        .await;
    assert_refused(&w, &sign(&claims("other", 1), "other-secret")).await;
    assert_eq!(w.searches(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_hs384_and_hs512_signatures() {
    let w = installed().await;
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = jwt::sign(&claims(ID, 1), SECRET.as_bytes(), alg).unwrap();
        assert_eq!(
            w.post(Some(&token), body("/hascode x")).await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_malformed_or_incomplete_json_with_400() {
    let w = installed().await;
    let token = sign(&claims(ID, 1), SECRET);
    assert_eq!(
        w.post(Some(&token), "{not json".into()).await.status(),
        StatusCode::BAD_REQUEST
    );
    let mut incomplete = room_message(ID, 1, "/hascode x");
    incomplete["item"]["message"]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let response = w.post(Some(&token), incomplete.to_string()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(text.contains("item.message.message"), "{text}");
    assert_eq!(w.searches(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_body_over_one_mebibyte_with_413() {
    let w = installed().await;
    let token = sign(&claims(ID, 1), SECRET);
    let huge = room_message(ID, 1, &"x".repeat((1 << 20) + 10)).to_string();
    assert_eq!(
        w.post(Some(&token), huge).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Just under the limit is fine.
    let fits = json!({"event": "room_message", "pad": "y".repeat((1 << 20) - 1000), "item": {"message": {"message": "/hascode x"}, "room": {"id": 1}}, "oauth_client_id": ID}).to_string();
    assert!(fits.len() < 1 << 20);
    assert_eq!(w.post(Some(&token), fits).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_usage_without_searching_when_no_term_is_given() {
    let w = installed().await;
    let note = w.ask("  /hascode   ").await;
    let message = note["message"].as_str().unwrap();
    assert!(
        message.contains("Usage: <code>/hascode TAG</code>"),
        "{message}"
    );
    assert_eq!(w.searches(), 0);
}
