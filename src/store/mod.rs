//! `connect store`: the installations a deployment's store holds, for
//! operators: list them (connect's records and the 2015 stack's beside
//! them), export them, import or copy them between SQLite, Redis and
//! PostgreSQL, remove one. Every command works on the store the project's
//! `config.json` stage names, and changes nothing when its input is bad.

mod copy;
mod export;
mod inventory;
mod list;
mod remove;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::config::{Env, ProjectConfig};
use crate::serve::store::Store;

/// Arguments of `connect store`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  connect store list\n  NODE_ENV=production REDIS_URL=rediss://... connect store list\n  connect store export --with-secrets --output installs.jsonl\n  connect store import installs.jsonl --dry-run\n  connect store copy --to postgres://user:pass@db.example/addon\n  connect store remove 0417a902-0eb8-4271-9246-4b979c00e3f4"
)]
pub struct StoreArgs {
    /// The project folder (the one holding config.json).
    #[arg(long, value_name = "PATH", default_value = ".", global = true)]
    pub dir: PathBuf,
    /// The config.json stage whose store to use [default: $NODE_ENV, else development].
    #[arg(long = "env", value_name = "STAGE", global = true)]
    pub stage: Option<String>,
    /// Print one JSON object a line (see the README's "Machine-readable output").
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// The store commands.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// List the installations: oauthId, group, room, when installed, where
    /// the record lives, whether it is served.
    List,
    /// Write every installation as JSON lines (to stdout, or --output).
    Export {
        /// Include each installation's oauthSecret (needed to import).
        #[arg(long)]
        with_secrets: bool,
        /// Write to this file (readable by its owner only) instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Store the installations of an export (made with --with-secrets):
    /// new ones added, changed ones replaced, all or nothing.
    Import {
        /// The export file.
        file: PathBuf,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy every installation into another store (sqlite:PATH, redis://,
    /// rediss://, postgres://), all or nothing; running it again changes
    /// nothing.
    Copy {
        /// The store to copy to.
        #[arg(long, value_name = "URL")]
        to: String,
        /// A CA (or the server's own certificate) to verify the target's TLS with.
        #[arg(long, value_name = "FILE")]
        to_ca: Option<PathBuf>,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove one installation's records (connect's and the 2015 stack's).
    Remove {
        /// The installation's oauthId.
        oauth_id: String,
        /// Do not ask (needed without a terminal).
        #[arg(long, short)]
        yes: bool,
        /// Show what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The opened store and what the commands need to know about it.
pub struct Opened {
    /// The store, with the 2015 layout as configured.
    pub store: Store,
    /// The add-on's key (the descriptor's), which namespaces its records.
    pub addon: String,
    /// The store as shown to people (no password).
    pub shown: String,
}

/// Runs `connect store`.
pub fn run(args: StoreArgs) -> anyhow::Result<()> {
    crate::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let opened = open(&args).await?;
        match args.command {
            StoreCommand::List => list::run(&opened, args.json).await,
            StoreCommand::Export {
                with_secrets,
                output,
            } => copy::export(&opened, with_secrets, output.as_deref()).await,
            StoreCommand::Import { file, dry_run } => {
                copy::import(&opened, &file, dry_run, args.json).await
            }
            StoreCommand::Copy { to, to_ca, dry_run } => {
                copy::copy(&opened, &to, to_ca, dry_run, args.json).await
            }
            StoreCommand::Remove {
                oauth_id,
                yes,
                dry_run,
            } => remove::run(&opened, &oauth_id, yes, dry_run, args.json).await,
        }
    })
}

/// The store of the project's stage, with its add-on's key.
async fn open(args: &StoreArgs) -> anyhow::Result<Opened> {
    let env = Env::from_process();
    let config = match ProjectConfig::load(&args.dir, args.stage.as_deref(), &env) {
        // Only the store's settings matter here: variables the rest of the
        // stage uses (PORT, AC_LOCAL_BASE_URL...) need not be set.
        Err(crate::config::ConfigError::MissingVariables { missing, .. })
            if missing
                .iter()
                .all(|(_, keys)| keys.iter().all(|k| !k.starts_with("store"))) =>
        {
            let env = missing.iter().fold(env, |env, (var, keys)| {
                let placeholder = if keys.iter().any(|k| k == "port") {
                    "0"
                } else {
                    "http://localhost"
                };
                env.with(var, placeholder)
            });
            ProjectConfig::load(&args.dir, args.stage.as_deref(), &env)
        }
        // Name only the variables the store needs.
        Err(crate::config::ConfigError::MissingVariables {
            path,
            stage,
            missing,
        }) => Err(crate::config::ConfigError::MissingVariables {
            path,
            stage,
            missing: missing
                .into_iter()
                .filter(|(_, keys)| keys.iter().any(|k| k.starts_with("store")))
                .collect(),
        }),
        other => other,
    }
    .map_err(|e| crate::error::usage(e.to_string()))?;
    let addon = addon_key(&config)?;
    let store = Store::open(&config.store, &format!("connect:{addon}"))
        .await
        .context("cannot open the store")?
        .with_legacy(config.legacy);
    let shown = store.describe();
    Ok(Opened {
        store,
        addon,
        shown,
    })
}

/// The descriptor's `key`.
fn addon_key(config: &ProjectConfig) -> anyhow::Result<String> {
    let path = config.descriptor_path();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::error::usage(format!(
            "cannot read the descriptor {} ({e}): the store's records are kept under the add-on's key; run in the project folder or pass --dir",
            path.display()
        ))
    })?;
    let value: serde_json::Value = crate::config::parse_text(&text)
        .map_err(|e| crate::error::usage(format!("{}: {e}", path.display())))?;
    value
        .get("key")
        .and_then(serde_json::Value::as_str)
        .filter(|k| !k.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| crate::error::usage(format!("{} has no `key`", path.display())))
}

/// A JSON line of the machine-readable output (`version` first).
pub fn json_line(kind: &str, mut fields: serde_json::Value) -> String {
    let mut line = serde_json::Map::new();
    line.insert("version".into(), 1.into());
    line.insert("type".into(), kind.into());
    if let Some(map) = fields.as_object_mut() {
        line.append(map);
    }
    serde_json::Value::Object(line).to_string()
}
