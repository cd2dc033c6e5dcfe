//! Property tests: every parser and check of the protocol answers arbitrary
//! input with a value or a typed error, never a panic.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::capabilities::CapabilitiesDoc;
use super::descriptor::{Descriptor, substitute_base_url};
use super::jwt::{self, Algorithm, Claims, VerifyOptions};
use super::notification::Notification;
use super::token::{TokenRequest, parse_basic_authorization};
use super::webhook::RoomMessageEvent;

/// Arbitrary JSON, a few levels deep, biased towards the field names the
/// parsers look for so that deep paths get exercised.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("item".to_owned()),
        Just("message".to_owned()),
        Just("room".to_owned()),
        Just("id".to_owned()),
        Just("oauth_client_id".to_owned()),
        Just("from".to_owned()),
        Just("color".to_owned()),
        Just("capabilities".to_owned()),
        Just("webhook".to_owned()),
        Just("links".to_owned()),
        "[a-z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn options() -> VerifyOptions {
    VerifyOptions {
        max_token_age: Duration::from_secs(900),
        leeway: Duration::from_secs(30),
        now: 1_700_000_000,
    }
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = RoomMessageEvent::parse(&bytes);
        let _ = Notification::parse(&bytes);
        let _ = CapabilitiesDoc::parse_from(&bytes, "http://h/v2/capabilities");
        let _ = TokenRequest::parse(&bytes, true);
        let _ = TokenRequest::parse(&bytes, false);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Descriptor::parse(&text);
        let _ = substitute_base_url(&text, "http://127.0.0.1:3000");
        let _ = parse_basic_authorization(&text);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_json(value in json_value()) {
        let _ = RoomMessageEvent::from_value(&value);
        let _ = Notification::from_value(&value);
        let _ = Descriptor::from_value(value.clone());
        let _ = super::descriptor::Webhook::from_json(&value);
    }

    #[test]
    fn jwt_checks_never_panic_and_never_accept_garbage(token in ".{0,300}") {
        prop_assert!(jwt::verify(&token, b"secret", &options()).is_err());
        let _ = jwt::unverified_issuer(&token);
        let _ = jwt::extract_token(Some(&token), Some(&token), Some(&token));
    }

    #[test]
    fn tampering_with_any_byte_of_a_signed_token_is_caught(position in 0usize..400, byte in any::<u8>()) {
        let claims = Claims {
            iss: "issuer".into(),
            sub: Some("1".into()),
            prn: None,
            iat: 1_700_000_000,
            exp: 1_700_003_600,
            jti: None,
            context: None,
        };
        let token = jwt::sign(&claims, b"secret", Algorithm::HS256).expect("sign");
        let mut bytes = token.clone().into_bytes();
        let at = position % bytes.len();
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        // Base64url has spare bits in its last character: a change there may
        // decode to the same bytes, which is the same token.
        if let Ok(verified) = jwt::verify(&tampered, b"secret", &options()) {
            prop_assert_eq!(verified.claims, claims);
        }
    }
}
