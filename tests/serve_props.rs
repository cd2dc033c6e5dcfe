//! Property tests: whatever a client sends to the webhook (headers, query,
//! body) or the install route, the checks never panic and every refusal is
//! a 4xx.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use connect::hipchat::jwt::{self, Algorithm, Claims, VerifyOptions};
use connect::serve::install::InstallRequest;
use connect::serve::webhook::{authenticate, claimed_issuer, command_and_term, token};
use proptest::prelude::*;
use serde_json::{Value, json};

const SECRET: &str = "tenant-secret";
const ID: &str = "tenant";

fn options() -> VerifyOptions {
    VerifyOptions::now(Duration::from_secs(900))
}

fn valid_token() -> String {
    let now = jwt::unix_now();
    let claims = Claims {
        iss: ID.into(),
        sub: None,
        prn: None,
        iat: now,
        exp: now + 3600,
        jti: None,
        context: None,
    };
    jwt::sign(&claims, SECRET.as_bytes(), Algorithm::HS256).unwrap()
}

/// Arbitrary JSON, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("item".to_string()),
                    Just("message".to_string()),
                    Just("room".to_string()),
                    Just("id".to_string()),
                    Just("oauth_client_id".to_string()),
                    ".{0,8}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Runs every check a webhook request goes through; returns the status
/// of the refusal, or 200 when all pass.
fn check(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> u16 {
    let outcome = token(headers, query).and_then(|t| {
        let issuer = claimed_issuer(&t)?;
        // The tenant lookup: only `ID` is installed.
        let secret = if issuer == ID {
            SECRET
        } else {
            return Err(connect::serve::errors::ServeError::UnknownIssuer);
        };
        authenticate(&t, secret, body, &options())
    });
    match outcome {
        Ok(event) => {
            let _ = command_and_term(event.text(), None);
            200
        }
        Err(err) => err.status().as_u16(),
    }
}

fn assert_client_error_or_ok(status: u16) -> Result<(), TestCaseError> {
    prop_assert!(
        status == 200 || (400..500).contains(&status),
        "status {}",
        status
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_authorization_headers_and_bodies_are_refused_with_4xx(auth in prop::collection::vec(any::<u8>(), 0..200), body in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&auth) {
            headers.insert("authorization", value);
        }
        let status = check(&headers, None, &body);
        prop_assert!((400..500).contains(&status), "status {}", status);
    }

    #[test]
    fn arbitrary_text_after_jwt_is_refused_with_4xx(token_text in "[A-Za-z0-9_.=-]{0,300}", query in ".{0,100}") {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&format!("JWT {token_text}")) {
            headers.insert("authorization", value);
        }
        let body = json!({"item": {"message": {"message": "/hascode x"}, "room": {"id": 1}}, "oauth_client_id": ID}).to_string();
        assert_client_error_or_ok(check(&headers, Some(&query), body.as_bytes()))?;
        prop_assert_ne!(check(&headers, Some(&query), body.as_bytes()), 200);
    }

    #[test]
    fn a_tampered_valid_token_is_refused(position in 0usize..400, byte in any::<u8>()) {
        let mut token = valid_token().into_bytes();
        let signature_start = token.iter().rposition(|&b| b == b'.').unwrap() + 1;
        let i = position % token.len();
        prop_assume!(token[i] != byte);
        token[i] = byte;
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&[b"JWT ".as_slice(), &token].concat()) {
            headers.insert("authorization", value);
        }
        let body = json!({"item": {"message": {"message": "/hascode x"}, "room": {"id": 1}}, "oauth_client_id": ID}).to_string();
        let status = check(&headers, None, body.as_bytes());
        // Only the unused low bits of the signature's last base64 character
        // can change without changing the signature; anything else is 401.
        assert_client_error_or_ok(status)?;
        if status == 200 {
            prop_assert_eq!(i, token.len() - 1);
            prop_assert!(i >= signature_start);
        }
    }

    #[test]
    fn arbitrary_json_with_a_valid_token_is_accepted_or_refused_with_4xx(body in any_json()) {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(&format!("JWT {}", valid_token())).unwrap());
        let status = check(&headers, None, body.to_string().as_bytes());
        assert_client_error_or_ok(status)?;
        if status == 200 {
            prop_assert_eq!(body["oauth_client_id"].as_str(), Some(ID));
        }
    }

    #[test]
    fn arbitrary_bytes_with_a_valid_token_are_accepted_or_refused_with_4xx(body in prop::collection::vec(any::<u8>(), 0..500)) {
        let status = check(&HeaderMap::new(), Some(&format!("signed_request={}", valid_token())), &body);
        prop_assert!((400..500).contains(&status) || status == 200, "status {}", status);
    }

    #[test]
    fn arbitrary_install_bodies_are_parsed_or_refused_with_400(body in any_json(), raw in prop::collection::vec(any::<u8>(), 0..200)) {
        for bytes in [body.to_string().into_bytes(), raw] {
            if let Err(err) = InstallRequest::parse(&bytes) {
                prop_assert_eq!(err.status().as_u16(), 400);
            }
        }
    }
}
