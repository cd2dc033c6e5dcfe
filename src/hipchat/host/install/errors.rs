//! The ways an install or uninstall fails, and what an uninstall returns.

use super::super::model::Installation;
use crate::hipchat::descriptor::DescriptorError;

/// Why an install failed. Nothing is recorded and the minted credentials
/// are dropped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InstallError {
    /// The host does not know its own URL yet (not started, no
    /// `public_base_url`, no [`super::Host::set_base_url`]).
    #[error("the host has no base URL yet: start it or set its public base URL before installing")]
    NoBaseUrl,
    /// The descriptor URL is not an absolute http(s) URL.
    #[error("the descriptor URL {0:?} is not an absolute http(s) URL")]
    BadDescriptorUrl(String),
    /// The descriptor could not be fetched.
    #[error("cannot fetch the descriptor at {url}: {reason}")]
    DescriptorUnreachable {
        /// The descriptor URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The descriptor URL redirected to another origin.
    #[error(
        "the descriptor at {url} redirects to {location}, on another origin; the emulator follows redirects only within the origin it was given, so give the descriptor's own URL"
    )]
    DescriptorRedirected {
        /// The descriptor URL.
        url: String,
        /// Where it redirects.
        location: String,
    },
    /// The descriptor URL answered non-2xx.
    #[error(
        "the descriptor at {url} answered HTTP {status}; is the add-on running and serving it there?"
    )]
    DescriptorStatus {
        /// The descriptor URL.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The descriptor is invalid.
    #[error("the descriptor at {url} is invalid: {error}")]
    BadDescriptor {
        /// The descriptor URL.
        url: String,
        /// What is wrong.
        error: DescriptorError,
    },
    /// `installable.allowRoom` is false.
    #[error("the add-on {0} does not allow room installs (installable.allowRoom is false)")]
    RoomInstallNotAllowed(String),
    /// `installable.allowGlobal` is false.
    #[error("the add-on {0} does not allow global installs (installable.allowGlobal is false)")]
    GlobalInstallNotAllowed(String),
    /// The same add-on is already installed there.
    #[error("the add-on {key} is already installed here as {oauth_id}; uninstall it first")]
    AlreadyInstalled {
        /// The add-on key.
        key: String,
        /// The existing installation.
        oauth_id: String,
    },
    /// The install POST got no answer.
    #[error("the install callback {url} could not be reached: {reason}")]
    CallbackUnreachable {
        /// `installable.callbackUrl`.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The add-on refused the install.
    #[error("the add-on refused the install: {url} answered HTTP {status} {body}")]
    Rejected {
        /// `installable.callbackUrl`.
        url: String,
        /// Its status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
}

/// Why an uninstall failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UninstallError {
    /// No installation has this oauthId.
    #[error("no add-on is installed with oauthId {0}")]
    NotInstalled(String),
}

/// The outcome of an uninstall: the installation is gone from the host
/// whatever the add-on answered, as in HipChat.
#[derive(Debug, Clone, PartialEq)]
pub struct Uninstalled {
    /// The removed installation.
    pub installation: Installation,
    /// The add-on's answer to the DELETE; `None` if it did not answer.
    pub status: Option<u16>,
    /// The exchange recorded for the DELETE.
    pub exchange_id: u64,
}
