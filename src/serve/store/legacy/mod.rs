//! The 2015 stack's store layout, beside connect's own in the same store:
//! what atlassian-connect-express and its HipChat layer kept (a
//! `clientInfo` per installation, cached tokens), read where it is so that
//! a deployment moves over without a room reinstalling, and written while
//! it is in use so that starting the Node add-on again loses nothing.
//!
//! Each backend reads and writes it in its own file (`redis/legacy.rs`,
//! `embedded_legacy.rs`, `postgres/legacy.rs`); the records are in
//! [`record`].

mod handle;
pub mod record;

pub(super) use handle::Presence;

pub use record::{CLIENT_INFO, ClientInfo, parse_client_info, parse_token, token_key};

pub use crate::config::{LegacyMode, LegacySettings};

/// A `clientInfo` record found in the old layout.
#[derive(Clone, Debug)]
pub struct LegacyRecord {
    /// The installation's oauthId (the record's `clientKey`).
    pub oauth_id: String,
    /// Where it is (`Redis key X`, `AddonSettings row N`), for messages.
    pub place: String,
    /// The record, or why it cannot be read.
    pub info: Result<ClientInfo, String>,
    /// When it was written, where the layout says (sequelize's
    /// `createdAt`).
    pub created_at: Option<u64>,
    /// The cached token asked for, as stored (raw JSON).
    pub token: Option<String>,
}
