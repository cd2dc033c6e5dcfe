//! `connect store export`, `import` and `copy`: installations out of one
//! store and into another, all or nothing, idempotent.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::json;

use super::inventory::{self, State};
use super::{Opened, export, json_line};
use crate::config::{StoreConfig, TlsOptions};
use crate::serve::store::{Store, Tenant, TenantStore, now_unix};

/// Every readable installation of the store (connect's records, and the
/// 2015 layout's not taken over yet); an unreadable one stops everything.
async fn installations(opened: &Opened) -> anyhow::Result<Vec<Tenant>> {
    let all = inventory::read(&opened.store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tenants = Vec::new();
    for i in all {
        match (i.tenant, i.state) {
            (Some(tenant), State::Ok | State::Stale(_)) => tenants.push(tenant),
            (_, state) => {
                let place = i.places.connect.or(i.places.legacy).unwrap_or_default();
                let why = match state {
                    State::Unreadable(why) => why,
                    _ => "no record".into(),
                };
                anyhow::bail!(
                    "the record of installation {} ({place}) cannot be read ({why}): fix or remove it (`connect store remove {}`) first; nothing was done",
                    i.oauth_id,
                    i.oauth_id
                );
            }
        }
    }
    Ok(tenants)
}

/// `connect store export`.
pub async fn export(
    opened: &Opened,
    with_secrets: bool,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let tenants = installations(opened).await?;
    let text = export::write(&opened.addon, &tenants, with_secrets, now_unix());
    match output {
        None => print!("{text}"),
        Some(path) => write_private(path, &text)?,
    }
    eprintln!(
        "exported {} installation{} from {}{}",
        tenants.len(),
        if tenants.len() == 1 { "" } else { "s" },
        opened.shown,
        if with_secrets {
            " (with their secrets: keep the file safe)"
        } else {
            " (without secrets: fine to read, not enough to import; add --with-secrets for that)"
        }
    );
    Ok(())
}

// Through a temporary file and a rename, readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("export"),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// What an import or copy changes.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Not in the target yet.
    pub new: Vec<Tenant>,
    /// In the target, different.
    pub changed: Vec<Tenant>,
    /// In the target already, the same.
    pub unchanged: usize,
}

/// What storing `incoming` into a store holding `existing` changes (pure).
pub fn plan(incoming: Vec<Tenant>, existing: &[Tenant]) -> Plan {
    let mut plan = Plan::default();
    for tenant in incoming {
        match existing.iter().find(|e| e.oauth_id == tenant.oauth_id) {
            None => plan.new.push(tenant),
            Some(e) if *e == tenant => plan.unchanged += 1,
            Some(_) => plan.changed.push(tenant),
        }
    }
    plan
}

async fn existing(store: &Store) -> anyhow::Result<Vec<Tenant>> {
    let listed = store
        .list_tenants()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(listed.into_iter().filter_map(|s| s.tenant.ok()).collect())
}

async fn apply(
    target: &Store,
    shown: &str,
    plan: Plan,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let ids = |list: &[Tenant]| list.iter().map(|t| t.oauth_id.clone()).collect::<Vec<_>>();
    let (new, changed) = (ids(&plan.new), ids(&plan.changed));
    let writes: Vec<Tenant> = plan.new.into_iter().chain(plan.changed).collect();
    if !dry_run && !writes.is_empty() {
        target
            .put_tenants(&writes)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; nothing was written"))?;
    }
    if json {
        println!(
            "{}",
            json_line(
                "plan",
                json!({"target": shown, "new": new, "updated": changed, "unchanged": plan.unchanged, "applied": !dry_run})
            )
        );
        return Ok(());
    }
    for id in &new {
        println!("  new      {id}");
    }
    for id in &changed {
        println!("  updated  {id}");
    }
    let verb = if dry_run { "would store" } else { "stored" };
    println!(
        "{verb} {} installation{} in {shown}: {} new, {} updated, {} unchanged{}",
        new.len() + changed.len(),
        if new.len() + changed.len() == 1 {
            ""
        } else {
            "s"
        },
        new.len(),
        changed.len(),
        plan.unchanged,
        if dry_run {
            " (--dry-run: nothing was changed)"
        } else {
            ""
        }
    );
    Ok(())
}

/// `connect store import FILE`.
pub async fn import(opened: &Opened, file: &Path, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| crate::error::usage(format!("cannot read {}: {e}", file.display())))?;
    let incoming = export::read(&text, &opened.addon).map_err(|e| {
        crate::error::usage(format!("{}: {e}; nothing was imported", file.display()))
    })?;
    let plan = plan(incoming, &existing(&opened.store).await?);
    apply(&opened.store, &opened.shown, plan, dry_run, json).await
}

/// The store a `--to` names: `sqlite:PATH` (or a path), `redis://`,
/// `rediss://`, `postgres://`.
pub fn target_config(to: &str, ca: Option<PathBuf>) -> Result<StoreConfig, String> {
    let tls = TlsOptions { verify: true, ca };
    let to = to.trim();
    if to.starts_with("redis://") || to.starts_with("rediss://") {
        return Ok(StoreConfig::Redis {
            url: to.into(),
            tls,
        });
    }
    if to.starts_with("postgres://") || to.starts_with("postgresql://") {
        return Ok(StoreConfig::Postgres {
            url: to.into(),
            tls,
            pool: 2,
        });
    }
    let path = to
        .strip_prefix("sqlite://")
        .or_else(|| to.strip_prefix("sqlite:"))
        .unwrap_or(to);
    if path.is_empty() || path.contains("://") {
        return Err(format!(
            "--to {to}: give sqlite:PATH (or a file path), redis://HOST:PORT, rediss://... or postgres://USER:PASSWORD@HOST/DATABASE"
        ));
    }
    Ok(StoreConfig::Embedded {
        path: std::path::absolute(path).unwrap_or_else(|_| path.into()),
    })
}

/// `connect store copy --to URL`.
pub async fn copy(
    opened: &Opened,
    to: &str,
    ca: Option<PathBuf>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let config = target_config(to, ca).map_err(crate::error::usage)?;
    let target = Store::open(&config, &format!("connect:{}", opened.addon))
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the target store: {e}"))?;
    target.ping().await.map_err(|e| {
        anyhow::anyhow!("the target store does not answer: {e}; nothing was copied")
    })?;
    let incoming = installations(opened).await?;
    let plan = plan(incoming, &existing(&target).await?);
    apply(&target, &target.describe(), plan, dry_run, json).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, secret: &str) -> Tenant {
        Tenant {
            oauth_id: id.into(),
            oauth_secret: secret.into(),
            capabilities_url: "u".into(),
            capabilities: json!({}),
            room_id: None,
            group_id: 1,
            group_name: None,
            installed_at: 1,
            stale_since: None,
        }
    }

    #[test]
    fn a_plan_tells_new_changed_and_unchanged_apart() {
        let existing = [tenant("a", "s"), tenant("b", "s")];
        let p = plan(
            vec![tenant("a", "s"), tenant("b", "rotated"), tenant("c", "s")],
            &existing,
        );
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.changed, vec![tenant("b", "rotated")]);
        assert_eq!(p.new, vec![tenant("c", "s")]);
        let again = plan(vec![tenant("a", "s")], &[tenant("a", "s")]);
        assert_eq!(
            (again.new.len(), again.changed.len(), again.unchanged),
            (0, 0, 1)
        );
    }

    #[test]
    fn targets_are_named_by_their_url() {
        assert!(matches!(
            target_config("redis://h:6379/0", None),
            Ok(StoreConfig::Redis { .. })
        ));
        assert!(matches!(
            target_config("postgres://u@h/db", None),
            Ok(StoreConfig::Postgres { .. })
        ));
        assert!(matches!(
            target_config("sqlite:/tmp/x.db", None),
            Ok(StoreConfig::Embedded { .. })
        ));
        assert!(
            target_config("mysql://h/db", None)
                .unwrap_err()
                .contains("sqlite:PATH")
        );
    }
}
