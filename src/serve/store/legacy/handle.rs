//! The old layout through [`Store`]: one call per operation, dispatched to
//! the backend that keeps it, under the configured [`LegacyMode`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::super::{Backend, Store, StoreResult, Tenant};
use super::{LegacyMode, LegacyRecord, LegacySettings};

/// How long a finding that the old layout is (or is not) in use is kept.
const PRESENCE_TTL: Duration = Duration::from_secs(60);

/// The last look for the old layout.
#[derive(Debug, Default)]
pub(in super::super) struct Presence {
    seen: Mutex<Option<(Instant, bool)>>,
}

macro_rules! legacy {
    ($self:ident, $none:expr, $store:ident => $call:expr) => {
        match &$self.backend {
            Backend::Memory(_) => Ok($none),
            Backend::Embedded($store) => $call.await,
            Backend::Redis($store) => $call.await,
            Backend::Postgres($store) => $call.await,
        }
    };
}

impl Store {
    /// Reads (and writes) the 2015 stack's layout as `settings` say.
    pub fn with_legacy(mut self, settings: LegacySettings) -> Self {
        if let Backend::Redis(redis) = self.backend {
            self.backend = Backend::Redis(redis.with_legacy_database(settings.redis_db));
        }
        self.legacy = settings;
        self.presence = Arc::default();
        self
    }

    /// What is done with the old layout (`off` for the memory store, which
    /// has none).
    pub fn legacy_mode(&self) -> LegacyMode {
        match self.backend {
            Backend::Memory(_) => LegacyMode::Off,
            _ => self.legacy.mode,
        }
    }

    /// The old layout's record of `oauth_id`, with the cached token under
    /// `token_key` (the scopes joined by `|`).
    pub async fn legacy_find(
        &self,
        oauth_id: &str,
        token_key: &str,
    ) -> StoreResult<Option<LegacyRecord>> {
        if self.legacy_mode() == LegacyMode::Off {
            return Ok(None);
        }
        legacy!(self, None, s => s.legacy_find(oauth_id, token_key))
    }

    /// Every record of the old layout.
    pub async fn legacy_list(&self) -> StoreResult<Vec<LegacyRecord>> {
        if self.legacy_mode() == LegacyMode::Off {
            return Ok(Vec::new());
        }
        legacy!(self, Vec::new(), s => s.legacy_list())
    }

    /// Whether installs are also written in the old layout now: always
    /// with `mirror`; with `auto` while the layout is there (looked for at
    /// most once a minute; when the look fails, yes: writing too much is
    /// harmless, missing a record is not).
    pub async fn legacy_mirrors(&self) -> bool {
        match self.legacy_mode() {
            LegacyMode::Mirror => true,
            LegacyMode::Read | LegacyMode::Off => false,
            LegacyMode::Auto => {
                let cached = *self.presence.seen.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, present)) = cached
                    && at.elapsed() < PRESENCE_TTL
                {
                    return present;
                }
                let present: StoreResult<bool> = legacy!(self, false, s => s.legacy_present());
                let present = present.unwrap_or(true);
                *self.presence.seen.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), present));
                present
            }
        }
    }

    /// Writes `tenant` in the old layout when [`Store::legacy_mirrors`];
    /// whether it was written.
    pub async fn legacy_write(&self, tenant: &Tenant) -> StoreResult<bool> {
        if !self.legacy_mirrors().await {
            return Ok(false);
        }
        let written: StoreResult<()> = legacy!(self, (), s => s.legacy_write(tenant));
        written.map(|()| true)
    }

    /// Deletes the installation's records from the old layout (unless
    /// `off`): an uninstall that left them would come back on a rollback.
    pub async fn legacy_delete(&self, oauth_id: &str) -> StoreResult<()> {
        if self.legacy_mode() == LegacyMode::Off {
            return Ok(());
        }
        legacy!(self, (), s => s.legacy_delete(oauth_id))
    }
}
