//! Webhooks as HipChat signs them, made by the test so it can also sign
//! them wrongly: the room_message body, the JWT claims, and delivery.

use connect::hipchat::jwt::{self, Algorithm, Claims, Context};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A room_message body as HipChat sent it.
pub fn room_message(oauth_id: &str, room: u64, text: &str) -> Value {
    json!({
        "event": "room_message",
        "item": {
            "message": {
                "date": "2015-10-14T06:15:26.778258+00:00",
                "from": {"id": 2716065, "links": {"self": "https://api.hipchat.com/v2/user/2716065"}, "mention_name": "Tester", "name": "Test User", "version": "00000000"},
                "id": uuid::Uuid::new_v4().to_string(),
                "mentions": [],
                "message": text,
                "type": "message"
            },
            "room": {"id": room, "links": {"self": format!("https://api.hipchat.com/v2/room/{room}")}, "name": "Room", "version": "O7WN272M"}
        },
        "oauth_client_id": oauth_id,
        "webhook_id": 2838389
    })
}

/// Claims HipChat would sign for a webhook from `oauth_id`, issued now.
pub fn claims(oauth_id: &str, room: u64) -> Claims {
    let now = jwt::unix_now();
    Claims {
        iss: oauth_id.into(),
        sub: Some("2716065".into()),
        prn: None,
        iat: now,
        exp: now + 3600,
        jti: Some(uuid::Uuid::new_v4().to_string()),
        context: Some(Context {
            room_id: Some(room),
            user_tz: Some("UTC".into()),
        }),
    }
}

/// Signs `claims` with `secret` (HS256).
pub fn sign(claims: &Claims, secret: &str) -> String {
    jwt::sign(claims, secret.as_bytes(), Algorithm::HS256).expect("sign a JWT")
}

/// POSTs a signed room message to the webhook at `url`.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    oauth_id: &str,
    secret: &str,
    room: u64,
    text: &str,
) -> reqwest::Response {
    let token = sign(&claims(oauth_id, room), secret);
    client
        .post(url)
        .header("authorization", format!("JWT {token}"))
        .json(&room_message(oauth_id, room, text))
        .send()
        .await
        .expect("POST the webhook")
}

/// The status of `/hascode x` in room 1, signed with these credentials.
pub async fn search_status(
    client: &reqwest::Client,
    url: &str,
    oauth_id: &str,
    secret: &str,
) -> StatusCode {
    deliver(client, url, oauth_id, secret, 1, "/hascode x")
        .await
        .status()
}
