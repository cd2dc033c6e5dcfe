//! What becomes of an installation after its install: sent again to an
//! add-on that forgot it, updated in place from a changed descriptor,
//! revoked, uninstalled.

use reqwest::Method;

use super::super::exchange::{self, Outgoing};
use super::super::model::{ExchangeKind, HostEvent, Installation};
use super::super::state::Shared;
use super::{InstallError, UninstallError, Uninstalled, fetch_descriptor, post_install, register};

/// POSTs an existing installation to the add-on's install callback again,
/// with the same oauthId and secret: for an add-on that restarted with an
/// empty store and forgot it. The installation stays whatever the add-on
/// answers; `Ok(None)` if it is gone.
pub(crate) async fn resend(
    shared: &Shared,
    oauth_id: &str,
) -> Result<Option<Installation>, InstallError> {
    let base = shared.base_url().ok_or(InstallError::NoBaseUrl)?;
    let found = {
        let inner = shared.lock();
        inner.installs.get(oauth_id).and_then(|r| {
            let credential = inner.credentials.get(oauth_id).filter(|c| !c.revoked)?;
            Some((r.installation.clone(), credential.secret.clone()))
        })
    };
    let Some((installation, secret)) = found else {
        return Ok(None);
    };
    let (mut record, outcome) = post_install(
        shared,
        &base,
        &installation.callback_url,
        oauth_id,
        &secret,
        installation.room_id,
    )
    .await;
    record.note = Some(
        "the same installation again, for an add-on that restarted with an empty store".into(),
    );
    if let Err(e) = &outcome {
        record.error = Some(e.to_string());
    }
    shared.record(record);
    outcome.map(|()| Some(installation))
}

pub(crate) async fn update_in_place(
    shared: &Shared,
    oauth_id: &str,
) -> Result<Option<Installation>, InstallError> {
    let Some(current) = shared
        .lock()
        .installs
        .get(oauth_id)
        .map(|r| r.installation.clone())
    else {
        return Ok(None);
    };
    let descriptor = fetch_descriptor(shared, &current.descriptor_url).await?;
    if descriptor.key != current.key {
        return Ok(None);
    }
    match current.room_id {
        Some(_) if !descriptor.allow_room => {
            return Err(InstallError::RoomInstallNotAllowed(descriptor.key));
        }
        None if !descriptor.allow_global => {
            return Err(InstallError::GlobalInstallNotAllowed(descriptor.key));
        }
        _ => {}
    }
    let seq = shared.lock().installs.get(oauth_id).map(|r| r.seq);
    let mut installation = register(
        shared,
        &descriptor,
        &current.descriptor_url,
        oauth_id.to_owned(),
        current.room_id,
    );
    {
        let mut inner = shared.lock();
        if let Some(record) = inner.installs.get_mut(oauth_id) {
            // Keep its place in the list and its install time.
            if let Some(seq) = seq {
                record.seq = seq;
            }
            record.installation.installed_at = current.installed_at;
            installation = record.installation.clone();
        }
        if let Some(credential) = inner.credentials.get_mut(oauth_id) {
            credential.scopes = descriptor.scopes.clone();
            credential.display_name = descriptor
                .from_name
                .clone()
                .unwrap_or_else(|| descriptor.name.clone());
        }
    }
    shared.publish(HostEvent::Updated {
        installation: installation.clone(),
    });
    Ok(Some(installation))
}

/// Revokes an installation's credentials and every token they obtained.
/// Returns whether the oauthId was known.
pub(crate) fn revoke(shared: &Shared, oauth_id: &str) -> bool {
    let mut inner = shared.lock();
    let known = match inner.credentials.get_mut(oauth_id) {
        Some(credential) => {
            credential.revoked = true;
            true
        }
        None => false,
    };
    let tokens: Vec<String> = inner
        .grants
        .iter()
        .filter(|(_, g)| g.oauth_id == oauth_id)
        .map(|(t, _)| t.clone())
        .collect();
    for token in tokens {
        inner.grants.remove(&token);
        inner.limiter.forget_token(&token);
    }
    known
}

pub(crate) async fn uninstall(
    shared: &Shared,
    oauth_id: &str,
) -> Result<Uninstalled, UninstallError> {
    let installation = shared
        .lock()
        .installs
        .get(oauth_id)
        .map(|r| r.installation.clone())
        .ok_or_else(|| UninstallError::NotInstalled(oauth_id.to_owned()))?;
    // HipChat revoked first, so the add-on can check that the credentials
    // no longer work before it deletes anything.
    shared.lock().uninstalling.insert(oauth_id.to_owned());
    revoke(shared, oauth_id);
    let url = format!(
        "{}/{}",
        installation.callback_url.trim_end_matches('/'),
        oauth_id
    );
    let (mut record, answer) = exchange::send(
        shared,
        Outgoing {
            kind: ExchangeKind::Uninstall,
            oauth_id: Some(oauth_id.to_owned()),
            method: Method::DELETE,
            url,
            headers: Vec::new(),
            body: None,
            jwt_claims: None,
            timeout: shared.options.install_timeout,
        },
    )
    .await;
    let status = answer.as_ref().ok().map(|a| a.status);
    if let Some(s) = status.filter(|s| !(200..300).contains(s)) {
        record.error = Some(format!(
            "the add-on answered HTTP {s}; the host removed the installation anyway"
        ));
    }
    let exchange_id = shared.record(record);
    {
        let mut inner = shared.lock();
        inner.installs.remove(oauth_id);
        inner.credentials.remove(oauth_id);
        inner.uninstalling.remove(oauth_id);
    }
    shared.publish(HostEvent::Uninstalled {
        oauth_id: oauth_id.to_owned(),
        key: installation.key.clone(),
        room_id: installation.room_id,
    });
    Ok(Uninstalled {
        installation,
        status,
        exchange_id,
    })
}
