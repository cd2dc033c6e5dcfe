//! Installing and uninstalling add-ons, as HipChat's "install an
//! integration" did (PROTOCOL.md, Install): the install itself here, what
//! becomes of an installation later (sent again, updated in place,
//! revoked, uninstalled) in `lifecycle`, and the ways they fail in
//! `errors`.

mod errors;
mod lifecycle;

pub use errors::{InstallError, UninstallError, Uninstalled};
pub(crate) use lifecycle::{resend, revoke, uninstall, update_in_place};

use std::collections::HashMap;

use regex::Regex;
use reqwest::Method;
use serde::Serialize;

use super::exchange::{self, Answer, Outgoing};
use super::model::{Exchange, ExchangeKind, HostEvent, Installation, InstalledWebhook};
use super::state::{Credential, InstallRecord, Shared, random_alphanumeric};
use crate::hipchat::descriptor::Descriptor;
use crate::hipchat::jwt::unix_now;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstallBody<'a> {
    oauth_id: &'a str,
    capabilities_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_id: Option<u64>,
    group_id: u64,
    oauth_secret: &'a str,
}

const JSON: (&str, &str) = ("content-type", "application/json");

pub(crate) async fn install(
    shared: &Shared,
    descriptor_url: &str,
    room_id: Option<u64>,
) -> Result<Installation, InstallError> {
    let base = shared.base_url().ok_or(InstallError::NoBaseUrl)?;
    match url::Url::parse(descriptor_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(InstallError::BadDescriptorUrl(descriptor_url.to_owned())),
    }
    let descriptor = fetch_descriptor(shared, descriptor_url).await?;
    match room_id {
        Some(_) if !descriptor.allow_room => {
            return Err(InstallError::RoomInstallNotAllowed(descriptor.key));
        }
        None if !descriptor.allow_global => {
            return Err(InstallError::GlobalInstallNotAllowed(descriptor.key));
        }
        _ => {}
    }
    if let Some(room) = room_id {
        shared.ensure_room(room);
    }
    let oauth_id = uuid::Uuid::new_v4().to_string();
    let secret = random_alphanumeric(40);
    {
        let mut inner = shared.lock();
        // Installed, or being installed right now (credentials minted).
        let existing = inner
            .installs
            .values()
            .find(|r| r.installation.key == descriptor.key && r.installation.room_id == room_id)
            .map(|r| r.installation.oauth_id.clone())
            .or_else(|| {
                inner
                    .credentials
                    .iter()
                    .find(|(_, c)| !c.revoked && c.key == descriptor.key && c.room_id == room_id)
                    .map(|(id, _)| id.clone())
            });
        if let Some(oauth_id) = existing {
            return Err(InstallError::AlreadyInstalled {
                key: descriptor.key,
                oauth_id,
            });
        }
        // Registered before the POST: the add-on proves the credentials
        // with a token request while answering it.
        inner.credentials.insert(
            oauth_id.clone(),
            Credential {
                secret: secret.clone(),
                key: descriptor.key.clone(),
                display_name: descriptor
                    .from_name
                    .clone()
                    .unwrap_or_else(|| descriptor.name.clone()),
                scopes: descriptor.scopes.clone(),
                room_id,
                revoked: false,
            },
        );
    }
    let (mut record, outcome) = post_install(
        shared,
        &base,
        &descriptor.callback_url,
        &oauth_id,
        &secret,
        room_id,
    )
    .await;
    if let Err(e) = &outcome {
        record.error = Some(e.to_string());
        let mut inner = shared.lock();
        inner.credentials.remove(&oauth_id);
        inner.grants.retain(|_, g| g.oauth_id != oauth_id);
    }
    shared.record(record);
    outcome?;

    let installation = register(shared, &descriptor, descriptor_url, oauth_id, room_id);
    shared.publish(HostEvent::Installed {
        installation: installation.clone(),
    });
    Ok(installation)
}

async fn fetch_descriptor(shared: &Shared, url: &str) -> Result<Descriptor, InstallError> {
    let (mut record, answer) = exchange::send(
        shared,
        Outgoing {
            kind: ExchangeKind::Descriptor,
            oauth_id: None,
            method: Method::GET,
            url: url.to_owned(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
            jwt_claims: None,
            timeout: shared.options.request_timeout,
        },
    )
    .await;
    let result = match answer {
        Err(reason) => Err(InstallError::DescriptorUnreachable {
            url: url.to_owned(),
            reason,
        }),
        Ok(Answer {
            status: 300..=399,
            location: Some(location),
            ..
        }) => Err(InstallError::DescriptorRedirected {
            url: url.to_owned(),
            location,
        }),
        Ok(a) if !(200..300).contains(&a.status) => Err(InstallError::DescriptorStatus {
            url: url.to_owned(),
            status: a.status,
        }),
        Ok(a) => Descriptor::parse(&String::from_utf8_lossy(&a.body)).map_err(|error| {
            InstallError::BadDescriptor {
                url: url.to_owned(),
                error,
            }
        }),
    };
    if let Err(e) = &result {
        record.error = Some(e.to_string());
        // The URL may point at anything on the developer's machine: what
        // answered there is kept only when it is the add-on's descriptor.
        if !record.response_body.is_empty() {
            record.note = Some(format!(
                "the answer ({} bytes) is not kept: it is not a descriptor",
                record.response_body.len()
            ));
            record.response_body.clear();
        }
    }
    shared.record(record);
    result
}

fn register(
    shared: &Shared,
    descriptor: &Descriptor,
    descriptor_url: &str,
    oauth_id: String,
    room_id: Option<u64>,
) -> Installation {
    let mut patterns = HashMap::new();
    let webhooks = descriptor
        .webhooks
        .iter()
        .map(|hook| {
            let id = shared.next_id();
            // Patterns were compiled once already by Descriptor::parse.
            if let Some(re) = hook.pattern.as_deref().and_then(|p| Regex::new(p).ok()) {
                patterns.insert(id, re);
            }
            InstalledWebhook {
                id,
                url: hook.url.clone(),
                event: hook.event.clone(),
                pattern: hook.pattern.clone(),
                name: hook.name.clone(),
                authentication: hook.authentication,
                room_id: None,
            }
        })
        .collect();
    let installation = Installation {
        oauth_id: oauth_id.clone(),
        key: descriptor.key.clone(),
        name: descriptor.name.clone(),
        descriptor_url: descriptor_url.to_owned(),
        callback_url: descriptor.callback_url.clone(),
        room_id,
        group_id: shared.options.group_id,
        scopes: descriptor.scopes.clone(),
        from_name: descriptor.from_name.clone(),
        webhooks,
        modules: descriptor.modules.clone(),
        installed_at: unix_now(),
    };
    shared.lock().installs.insert(
        oauth_id,
        InstallRecord {
            seq: shared.next_id(),
            installation: installation.clone(),
            patterns,
        },
    );
    installation
}

/// Fetches an installation's descriptor again and, if it still names the
/// same add-on (key), applies it in place: name, scopes, webhooks and UI
/// modules change, the credentials and the add-on's tenant stay, and the
/// add-on is not called (no second "installed" notice). `Ok(None)` when the
/// key changed, which needs a real reinstall.
/// POSTs the install body (credentials, capabilities URL, room and group)
/// to `callback_url`; returns the exchange, not yet recorded, and whether
/// the add-on took it (2xx).
async fn post_install(
    shared: &Shared,
    base: &str,
    callback_url: &str,
    oauth_id: &str,
    secret: &str,
    room_id: Option<u64>,
) -> (Exchange, Result<(), InstallError>) {
    let capabilities_url = format!("{base}/v2/capabilities");
    let body = InstallBody {
        oauth_id,
        capabilities_url: &capabilities_url,
        room_id,
        group_id: shared.options.group_id,
        oauth_secret: secret,
    };
    let (record, answer) = exchange::send(
        shared,
        Outgoing {
            kind: ExchangeKind::Install,
            oauth_id: Some(oauth_id.to_owned()),
            method: Method::POST,
            url: callback_url.to_owned(),
            headers: vec![(JSON.0.into(), JSON.1.into())],
            body: serde_json::to_vec(&body).ok(),
            jwt_claims: None,
            timeout: shared.options.install_timeout,
        },
    )
    .await;
    let outcome = match answer {
        Err(reason) => Err(InstallError::CallbackUnreachable {
            url: callback_url.to_owned(),
            reason,
        }),
        Ok(a) if !(200..300).contains(&a.status) => {
            let text = String::from_utf8_lossy(&a.body);
            Err(InstallError::Rejected {
                url: callback_url.to_owned(),
                status: a.status,
                body: text.chars().take(300).collect(),
            })
        }
        Ok(_) => Ok(()),
    };
    (record, outcome)
}
