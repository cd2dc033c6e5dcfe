use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const SECRET: &[u8] = b"Jgtf1Baj5KrSpXHZ7LbB0H3Krwr6cotrkQgkJm9C";
const NOW: u64 = 1_700_000_000;

fn claims(iat: u64) -> Claims {
    Claims {
        iss: "f3100c47-9936-40e8-a8aa-798b1e8da8f0".into(),
        sub: Some("2716065".into()),
        prn: None,
        iat,
        exp: iat + 3600,
        jti: Some("j1".into()),
        context: Some(Context {
            room_id: Some(2_589_171),
            user_tz: Some("Europe/Berlin".into()),
        }),
    }
}

fn options() -> VerifyOptions {
    VerifyOptions {
        max_token_age: Duration::from_secs(900),
        leeway: Duration::from_secs(30),
        now: NOW,
    }
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

#[test]
fn verifies_a_token_it_signed_with_each_hmac_algorithm() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = sign(&claims(NOW - 10), SECRET, alg).expect("sign");
        let verified = verify(&token, SECRET, &options()).expect("verify");
        assert_eq!(verified.algorithm, alg);
        assert_eq!(verified.claims.room_id(), Some(2_589_171));
        assert_eq!(verified.claims.user(), Some("2716065"));
    }
}

#[test]
fn rejects_a_token_signed_with_another_secret() {
    let token = sign(&claims(NOW), b"another-secret", Algorithm::HS256).expect("sign");
    assert_eq!(
        verify(&token, SECRET, &options()),
        Err(JwtError::BadSignature)
    );
}

#[test]
fn rejects_an_unsigned_none_token() {
    let body = b64(&serde_json::to_string(&claims(NOW)).expect("json"));
    let token = format!("{}.{body}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
    assert!(matches!(
        verify(&token, SECRET, &options()),
        Err(JwtError::Malformed(_) | JwtError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn rejects_an_rs256_header_even_with_an_hmac_signature() {
    let good = sign(&claims(NOW), SECRET, Algorithm::HS256).expect("sign");
    let mut parts = good.splitn(2, '.');
    let _ = parts.next();
    let rest = parts.next().expect("rest");
    let token = format!("{}.{rest}", b64(r#"{"alg":"RS256","typ":"JWT"}"#));
    assert_eq!(
        verify(&token, SECRET, &options()),
        Err(JwtError::UnsupportedAlgorithm("RS256".into()))
    );
}

#[test]
fn honours_exp_even_when_iat_is_recent_enough() {
    let mut c = claims(NOW - 100);
    c.exp = NOW - 60;
    let token = sign(&c, SECRET, Algorithm::HS256).expect("sign");
    assert!(matches!(
        verify(&token, SECRET, &options()),
        Err(JwtError::Expired { .. })
    ));
}

#[test]
fn honours_max_token_age_even_when_exp_is_far() {
    let mut c = claims(NOW - 2000);
    c.exp = NOW + 10_000;
    let token = sign(&c, SECRET, Algorithm::HS256).expect("sign");
    assert!(matches!(
        verify(&token, SECRET, &options()),
        Err(JwtError::TooOld { .. })
    ));
}

#[test]
fn tolerates_clock_skew_within_the_leeway_only() {
    let mut c = claims(NOW - 100);
    c.exp = NOW - 20;
    let token = sign(&c, SECRET, Algorithm::HS256).expect("sign");
    assert!(verify(&token, SECRET, &options()).is_ok());
    let future = sign(&claims(NOW + 20), SECRET, Algorithm::HS256).expect("sign");
    assert!(verify(&future, SECRET, &options()).is_ok());
    let far_future = sign(&claims(NOW + 120), SECRET, Algorithm::HS256).expect("sign");
    assert!(matches!(
        verify(&far_future, SECRET, &options()),
        Err(JwtError::IssuedInFuture { .. })
    ));
}

#[test]
fn requires_iss_iat_and_exp() {
    let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    for (json, missing) in [
        (r#"{"iat":1700000000,"exp":1700003600}"#, "iss"),
        (r#"{"iss":"a","exp":1700003600}"#, "iat"),
        (r#"{"iss":"a","iat":1700000000}"#, "exp"),
    ] {
        let raw: serde_json::Value = serde_json::from_str(json).expect("json");
        let key = EncodingKey::from_secret(SECRET).expect("key");
        let token = jsonwebtoken::encode(&Header::default(), &raw, &key).expect("encode");
        assert_eq!(
            verify(&token, SECRET, &options()),
            Err(JwtError::MissingClaim(missing)),
            "{header}"
        );
    }
}

#[test]
fn accepts_prn_from_2014_hosts_and_string_room_ids() {
    let raw = serde_json::json!({"iss": "a", "prn": 42, "iat": NOW, "exp": NOW + 3600,
                                 "context": {"room_id": "7", "user_tz": "UTC"}});
    let key = EncodingKey::from_secret(SECRET).expect("key");
    let token = jsonwebtoken::encode(&Header::default(), &raw, &key).expect("encode");
    let verified = verify(&token, SECRET, &options()).expect("verify");
    assert_eq!(verified.claims.user(), Some("42"));
    assert_eq!(verified.claims.room_id(), Some(7));
}

#[test]
fn reads_the_issuer_without_trusting_the_token() {
    let token = sign(&claims(NOW), b"whatever", Algorithm::HS256).expect("sign");
    assert_eq!(
        unverified_issuer(&token).as_deref(),
        Ok("f3100c47-9936-40e8-a8aa-798b1e8da8f0")
    );
    assert!(matches!(
        unverified_issuer("garbage"),
        Err(JwtError::Malformed(_))
    ));
    let no_iss = format!(
        "{}.{}.sig",
        b64(r#"{"alg":"HS256"}"#),
        b64(r#"{"sub":"x"}"#)
    );
    assert_eq!(
        unverified_issuer(&no_iss),
        Err(JwtError::MissingClaim("iss"))
    );
}

#[test]
fn finds_the_token_in_header_query_or_x_acpt_in_that_order() {
    assert_eq!(
        extract_token(Some("JWT abc"), Some("signed_request=q"), Some("x")).as_deref(),
        Ok("abc")
    );
    assert_eq!(
        extract_token(Some("jwt  abc "), None, None).as_deref(),
        Ok("abc")
    );
    assert_eq!(
        extract_token(Some("Bearer abc"), Some("a=1&signed_request=q%2Bq"), None).as_deref(),
        Ok("q+q")
    );
    assert_eq!(
        extract_token(None, Some("signed_request="), Some(" x ")).as_deref(),
        Ok("x")
    );
    assert_eq!(
        extract_token(Some("JWT"), Some(""), Some("")),
        Err(JwtError::Missing)
    );
    assert_eq!(extract_token(None, None, None), Err(JwtError::Missing));
}

#[test]
fn never_panics_on_garbage_tokens() {
    let header = b64(r#"{"alg":"HS256"}"#);
    for token in [
        "",
        ".",
        "..",
        "a.b.c",
        "a.b",
        "....",
        "\u{0}\u{1}",
        "é.é.é",
        &format!("{header}.!!!.sig"),
        &format!("{header}.{}.sig", b64("[1,2]")),
        &format!("{header}.{}.sig", b64(r#"{"iss":5,"iat":"x","exp":null}"#)),
    ] {
        assert!(verify(token, SECRET, &options()).is_err(), "{token:?}");
        let _ = unverified_issuer(token);
    }
    assert!(verify("a.b.c", b"", &options()).is_err());
    let token = sign(&claims(NOW), SECRET, Algorithm::HS256).expect("sign");
    assert_eq!(verify(&token, b"", &options()), Err(JwtError::BadSignature));
}

#[test]
fn refuses_to_sign_with_an_empty_secret() {
    assert!(matches!(
        sign(&claims(NOW), b"", Algorithm::HS256),
        Err(JwtError::Signing(_))
    ));
}
