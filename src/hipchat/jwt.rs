//! JWTs on requests from HipChat: claims, signing (for the host), finding the
//! token in a request, and verification (for the add-on).
//!
//! Verification follows PROTOCOL.md: read `iss` without trust only to find
//! the tenant, then check the signature with HMAC only (never `none`, never
//! an asymmetric algorithm keyed with the shared secret), then `exp` AND
//! `iat + maxTokenAge`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The HMAC algorithms HipChat signs with; nothing else is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Algorithm {
    /// HMAC-SHA256 (what HipChat used).
    #[default]
    HS256,
    /// HMAC-SHA384.
    HS384,
    /// HMAC-SHA512.
    HS512,
}

impl Algorithm {
    fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
        }
    }

    fn from_jwt(alg: jsonwebtoken::Algorithm) -> Option<Self> {
        match alg {
            jsonwebtoken::Algorithm::HS256 => Some(Algorithm::HS256),
            jsonwebtoken::Algorithm::HS384 => Some(Algorithm::HS384),
            jsonwebtoken::Algorithm::HS512 => Some(Algorithm::HS512),
            _ => None,
        }
    }
}

/// `context` claim: where the request comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    /// The room, when the request concerns one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub room_id: Option<u64>,
    /// The user's time zone, e.g. `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_tz: Option<String>,
}

/// The claims HipChat puts in its JWTs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The tenant's oauthId.
    pub iss: String,
    /// The user id as a string (a number is accepted too).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_string"
    )]
    pub sub: Option<String>,
    /// The user id on 2014 hosts (before `sub`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_string"
    )]
    pub prn: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds); HipChat: `iat + 3600`.
    pub exp: u64,
    /// Unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Room and time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

impl Claims {
    /// The user the token speaks for: `sub`, or `prn` on old hosts.
    pub fn user(&self) -> Option<&str> {
        self.sub.as_deref().or(self.prn.as_deref())
    }

    /// The room in `context`, if any.
    pub fn room_id(&self) -> Option<u64> {
        self.context.as_ref().and_then(|c| c.room_id)
    }
}

/// Why a token was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// No token anywhere in the request.
    #[error(
        "no JWT in the request: expected `Authorization: JWT <token>`, `?signed_request=<token>` or an `x-acpt` header"
    )]
    Missing,
    /// Not three base64url parts of JSON, or claims of the wrong shape.
    #[error("the JWT is malformed: {0}")]
    Malformed(String),
    /// Signed with something other than HS256/HS384/HS512.
    #[error("the JWT algorithm {0} is refused: only HS256, HS384 and HS512 are accepted")]
    UnsupportedAlgorithm(String),
    /// The signature does not match the secret.
    #[error("the JWT signature does not match the tenant's secret")]
    BadSignature,
    /// A claim needed for the checks is absent.
    #[error("the JWT has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `exp` has passed.
    #[error("the JWT expired at {exp} (now {now})")]
    Expired {
        /// The `exp` claim.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// `iat + max_token_age` has passed.
    #[error("the JWT was issued at {iat}, more than {max_age_secs} s before now ({now})")]
    TooOld {
        /// The `iat` claim.
        iat: u64,
        /// The configured maximum token age.
        max_age_secs: u64,
        /// The time of the check.
        now: u64,
    },
    /// `iat` is in the future (beyond the leeway).
    #[error("the JWT claims to be issued at {iat}, after now ({now})")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: u64,
        /// The time of the check.
        now: u64,
    },
    /// Signing failed (an empty secret, for instance).
    #[error("cannot sign the JWT: {0}")]
    Signing(String),
}

/// The checks [`verify`] applies besides the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Refuse tokens issued longer ago than this (config `maxTokenAge`).
    pub max_token_age: Duration,
    /// Clock-skew tolerance applied to `exp` and `iat`.
    pub leeway: Duration,
    /// The time of the check, Unix seconds.
    pub now: u64,
}

impl VerifyOptions {
    /// Options for a check now, with a 30-second leeway.
    pub fn now(max_token_age: Duration) -> Self {
        VerifyOptions {
            max_token_age,
            leeway: Duration::from_secs(30),
            now: unix_now(),
        }
    }
}

/// A verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its claims.
    pub claims: Claims,
    /// The algorithm it was signed with.
    pub algorithm: Algorithm,
}

/// The current time in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs `claims` with `secret` (the tenant's oauthSecret).
pub fn sign(claims: &Claims, secret: &[u8], alg: Algorithm) -> Result<String, JwtError> {
    let key = EncodingKey::from_secret(secret).map_err(|e| JwtError::Signing(e.to_string()))?;
    jsonwebtoken::encode(&Header::new(alg.to_jwt()), claims, &key)
        .map_err(|e| JwtError::Signing(e.to_string()))
}

/// The token in an `Authorization` header value of the form `JWT <token>`
/// (scheme case-insensitive).
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("jwt") && !token.is_empty()).then_some(token)
}

/// The `signed_request` parameter of a raw query string.
pub fn token_from_query(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k == "signed_request" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
}

/// Finds the token in a request: `Authorization: JWT`, then
/// `?signed_request=`, then the `x-acpt` header.
pub fn extract_token(
    authorization: Option<&str>,
    query: Option<&str>,
    x_acpt: Option<&str>,
) -> Result<String, JwtError> {
    authorization
        .and_then(token_from_authorization)
        .map(str::to_owned)
        .or_else(|| query.and_then(token_from_query))
        .or_else(|| {
            x_acpt
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        })
        .ok_or(JwtError::Missing)
}

/// Reads `iss` WITHOUT checking anything, only to find whose secret to
/// verify with. Never act on what this returns before [`verify`] succeeds.
pub fn unverified_issuer(token: &str) -> Result<String, JwtError> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: Option<String>,
    }
    let claims: Issuer = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| JwtError::Malformed(e.to_string()))?;
    claims
        .iss
        .filter(|i| !i.is_empty())
        .ok_or(JwtError::MissingClaim("iss"))
}

/// Reads every claim WITHOUT checking anything: for showing a token that
/// passed by (an inspector), never for trusting it.
pub fn unverified_claims(token: &str) -> Result<Claims, JwtError> {
    jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| JwtError::Malformed(e.to_string()))
}

/// Checks a token's algorithm, signature, `exp` and `iat + max_token_age`.
pub fn verify(token: &str, secret: &[u8], options: &VerifyOptions) -> Result<Verified, JwtError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| JwtError::Malformed(e.to_string()))?;
    let algorithm = Algorithm::from_jwt(header.alg)
        .ok_or_else(|| JwtError::UnsupportedAlgorithm(format!("{:?}", header.alg)))?;
    // Nothing verifies against an empty secret.
    let key = DecodingKey::from_secret(secret).map_err(|_| JwtError::BadSignature)?;
    // Time checks are ours (they need an injectable clock and the iat rule),
    // so the library only checks the algorithm and the signature.
    let mut validation = Validation::new(algorithm.to_jwt());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let raw: serde_json::Value = jsonwebtoken::decode(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => JwtError::BadSignature,
            _ => JwtError::Malformed(e.to_string()),
        })?
        .claims;
    for claim in ["iss", "iat", "exp"] {
        if raw.get(claim).is_none_or(serde_json::Value::is_null) {
            return Err(JwtError::MissingClaim(claim));
        }
    }
    let claims: Claims =
        serde_json::from_value(raw).map_err(|e| JwtError::Malformed(e.to_string()))?;
    check_times(&claims, options)?;
    Ok(Verified { claims, algorithm })
}

fn check_times(claims: &Claims, options: &VerifyOptions) -> Result<(), JwtError> {
    let now = options.now;
    let leeway = options.leeway.as_secs();
    if claims.exp.saturating_add(leeway) < now {
        return Err(JwtError::Expired {
            exp: claims.exp,
            now,
        });
    }
    let max_age = options.max_token_age.as_secs();
    if claims.iat.saturating_add(max_age).saturating_add(leeway) < now {
        return Err(JwtError::TooOld {
            iat: claims.iat,
            max_age_secs: max_age,
            now,
        });
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(JwtError::IssuedInFuture {
            iat: claims.iat,
            now,
        });
    }
    Ok(())
}

fn lenient_opt_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn lenient_opt_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.as_ref().and_then(super::fields::lenient_u64))
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
