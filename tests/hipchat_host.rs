//! The HipChat host double over real sockets: what add-ons call (token,
//! notifications, limits, room API) and what the host does to add-ons
//! (install, signed webhook delivery, uninstall), against a small add-on
//! served on loopback.

#[path = "hipchat_host/addon.rs"]
mod addon;
#[path = "hipchat_host/clients.rs"]
mod clients;
#[path = "hipchat_host/deliveries.rs"]
mod deliveries;
#[path = "hipchat_host/installs.rs"]
mod installs;
#[path = "hipchat_host/rest_api.rs"]
mod rest_api;
#[path = "hipchat_host/ui.rs"]
mod ui;

use addon::{Behaviour, Reply};
use connect::hipchat::host::{Host, HostOptions, RunningHost};
use connect::hipchat::token::basic_authorization;
use serde_json::Value;

pub(crate) async fn start_host(options: HostOptions) -> RunningHost {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    Host::new(options)
        .expect("host")
        .start(listener)
        .expect("start")
}

pub(crate) fn client() -> reqwest::Client {
    connect::tls::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// A host with the seed add-on installed in room 1; returns its oauthId.
pub(crate) async fn installed(
    options: HostOptions,
    reply: Reply,
) -> (RunningHost, addon::RunningAddOn, String) {
    let host = start_host(options).await;
    let addon = addon::start(
        |_, _| {},
        Behaviour {
            reply,
            ..Behaviour::default()
        },
    )
    .await;
    let install = host
        .host()
        .install(&addon.descriptor_url(), Some(1))
        .await
        .expect("install");
    (host, addon, install.oauth_id)
}

pub(crate) async fn token(
    host: &RunningHost,
    id: &str,
    secret: &str,
    body: &str,
) -> reqwest::Response {
    client()
        .post(format!("{}/v2/oauth/token", host.base_url()))
        .header("authorization", basic_authorization(id, secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("token request")
}

pub(crate) async fn access_token(host: &RunningHost, oauth_id: &str) -> String {
    let secret = host
        .host()
        .credentials(oauth_id)
        .expect("credentials")
        .oauth_secret;
    let response = token(host, oauth_id, &secret, "grant_type=client_credentials").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

pub(crate) async fn notify(
    host: &RunningHost,
    room: u64,
    token: &str,
    body: Value,
) -> reqwest::Response {
    client()
        .post(format!("{}/v2/room/{room}/notification", host.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("notification")
}
