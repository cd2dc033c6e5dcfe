//! `connect store remove OAUTHID`.

use std::io::IsTerminal as _;

use serde_json::json;

use super::inventory;
use super::{Opened, json_line};
use crate::serve::store::{LegacyMode, TenantStore};

/// Removes one installation's records, after asking (or with `--yes`).
pub async fn run(
    opened: &Opened,
    oauth_id: &str,
    yes: bool,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let all = inventory::read(&opened.store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(found) = all.into_iter().find(|i| i.oauth_id == oauth_id) else {
        anyhow::bail!(
            "no installation {oauth_id} in {} (`connect store list` shows the ones there are)",
            opened.shown
        );
    };
    let legacy_kept =
        found.places.legacy.is_some() && opened.store.legacy_mode() == LegacyMode::Off;
    let mut from = Vec::new();
    if let Some(place) = &found.places.connect {
        from.push(place.clone());
    }
    if let (Some(place), false) = (&found.places.legacy, legacy_kept) {
        from.push(place.clone());
    }
    let room = found.tenant.as_ref().and_then(|t| t.room_id).map_or_else(
        || "every room (a global install)".to_owned(),
        |r| format!("room {r}"),
    );
    if dry_run {
        report(json, oauth_id, &from, false, &room);
        return Ok(());
    }
    if !yes {
        let person = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !person {
            return Err(crate::error::usage(format!(
                "removing installation {oauth_id} ({room}) cannot be undone: add --yes to do it without a terminal"
            )));
        }
        let confirmed = dialoguer::Confirm::new()
            .with_prompt(format!(
                "Remove installation {oauth_id} ({room}) from {}? Its room then gets 401 until the add-on is installed again",
                opened.shown
            ))
            .default(false)
            .interact()
            .map_err(|e| anyhow::anyhow!("cannot ask: {e}"))?;
        if !confirmed {
            anyhow::bail!("nothing was removed");
        }
    }
    if found.places.connect.is_some() {
        opened
            .store
            .delete_tenant(oauth_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; nothing was removed"))?;
    }
    if !legacy_kept {
        opened.store.legacy_delete(oauth_id).await.map_err(|e| {
            anyhow::anyhow!("{e} (connect's record is removed; the 2015 layout's is not)")
        })?;
    }
    report(json, oauth_id, &from, true, &room);
    if legacy_kept && !json {
        println!("the 2015 layout's record is kept: the store's \"legacy\" setting is off");
    }
    Ok(())
}

fn report(json: bool, oauth_id: &str, from: &[String], done: bool, room: &str) {
    if json {
        println!(
            "{}",
            json_line(
                "removed",
                json!({"oauthId": oauth_id, "from": from, "applied": done})
            )
        );
        return;
    }
    let verb = if done { "removed" } else { "would remove" };
    println!("{verb} installation {oauth_id} ({room}):");
    for place in from {
        println!("  {place}");
    }
    if done {
        println!(
            "HipChat still lists the integration there: uninstall it in HipChat too, or its webhooks get 401"
        );
    } else {
        println!("(--dry-run: nothing was removed)");
    }
}
