//! `connect store`: list, export, import, copy and remove across SQLite,
//! Redis and PostgreSQL; bad input refused whole.

use std::path::Path;
use std::process::Output;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::connect_binary;
use crate::support::postgres::PostgresServer;
use crate::support::redis::RedisServer;
use crate::support::serve::{Blog, HipChat, Project, Serve};

fn store(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(connect_binary())
        .arg("store")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("NODE_ENV")
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run connect store")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "connect store failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `connect store list --json`: the installations, by oauthId.
fn listed(dir: &Path) -> Vec<Value> {
    let text = ok(&store(dir, &["list", "--json"]));
    let mut rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|v| v["type"] == "installation")
        .map(|mut v| {
            // Where it lives differs between stores; the rest must not.
            v.as_object_mut().unwrap().remove("where");
            v
        })
        .collect();
    rows.sort_by_key(|v| v["oauthId"].as_str().unwrap_or("").to_owned());
    rows
}

fn project_on(blog: &Blog, store: Value) -> Project {
    Project::with_stage(json!({"development": Project::stage(&blog.url(), store)}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installations_move_between_sqlite_redis_and_postgres_and_bad_input_changes_nothing() {
    let blog = Blog::start();
    let hipchat = HipChat::start();
    let source = Project::new(&blog.url());
    {
        let serve = Serve::start(source.path(), &[], &[]);
        for (id, room) in [("a", Some(1)), ("b", Some(2)), ("global", None)] {
            hipchat
                .must_install_as(&serve.url(), id, &format!("secret-{id}"), room)
                .await;
        }
    }
    let list = ok(&store(source.path(), &["list"]));
    assert!(
        list.contains("OAUTH ID") && list.contains("global") && list.contains("3 installations"),
        "{list}"
    );
    assert!(!list.contains("secret-"), "{list}");
    let rows = listed(source.path());
    assert_eq!(rows.len(), 3);

    let export = source.file("installs.jsonl");
    ok(&store(
        source.path(),
        &[
            "export",
            "--with-secrets",
            "--output",
            export.to_str().unwrap(),
        ],
    ));
    let text = std::fs::read_to_string(&export).unwrap();
    assert_eq!(text.lines().count(), 5, "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&export).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let without = ok(&store(source.path(), &["export"]));
    assert!(!without.contains("secret-"), "{without}");

    // Into Redis and PostgreSQL: the same installations, twice changes nothing.
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    for target in [
        project_on(&blog, json!({"adapter": "redis", "url": redis.url()})),
        project_on(&blog, json!({"adapter": "postgres", "url": postgres.url()})),
    ] {
        let plan = ok(&store(
            target.path(),
            &["import", export.to_str().unwrap(), "--dry-run"],
        ));
        assert!(
            plan.contains("would store 3") && plan.contains("nothing was changed"),
            "{plan}"
        );
        assert!(listed(target.path()).is_empty(), "a dry run wrote");
        let done = ok(&store(target.path(), &["import", export.to_str().unwrap()]));
        assert!(done.contains("3 new"), "{done}");
        assert_eq!(listed(target.path()), rows);
        let again = ok(&store(target.path(), &["import", export.to_str().unwrap()]));
        assert!(again.contains("0 new, 0 updated, 3 unchanged"), "{again}");
        // And they serve.
        let serve = Serve::start(target.path(), &[], &[]);
        let client = crate::support::serve::client();
        assert_eq!(
            crate::support::serve::signed::search_status(
                &client,
                &serve.webhook(),
                "a",
                "secret-a"
            )
            .await,
            StatusCode::OK
        );
    }

    // A truncated export is refused whole, naming why; so is a stranger's file.
    let empty = project_on(&blog, json!({"adapter": "sqlite", "database": "other.db"}));
    let cut = empty.file("cut.jsonl");
    std::fs::write(&cut, &text[..text.len() - 30]).unwrap();
    let refused = store(empty.path(), &["import", cut.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("line") && why.contains("nothing was imported"),
        "{why}"
    );
    std::fs::write(&cut, "hello world\n").unwrap();
    let stranger = store(empty.path(), &["import", cut.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("not a connect store export"));
    assert!(listed(empty.path()).is_empty());

    // copy --to, idempotent.
    let target = empty.file("copy.db");
    let to = format!("sqlite:{}", target.display());
    assert!(ok(&store(source.path(), &["copy", "--to", &to])).contains("3 new"));
    assert!(ok(&store(source.path(), &["copy", "--to", &to])).contains("3 unchanged"));
    let unreachable = store(source.path(), &["copy", "--to", "redis://127.0.0.1:1/0"]);
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("refused the connection"));

    // remove: asks without --yes (none at this non-terminal: a usage error).
    let asked = store(source.path(), &["remove", "b"]);
    assert_eq!(asked.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&asked.stderr).contains("--yes"));
    ok(&store(source.path(), &["remove", "b", "--yes"]));
    assert_eq!(listed(source.path()).len(), 2);
    let missing = store(source.path(), &["remove", "b", "--yes"]);
    assert_eq!(missing.status.code(), Some(1));
}
