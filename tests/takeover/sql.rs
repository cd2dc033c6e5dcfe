//! The jugglingdb SQLite layout (`store.db`, table AddonSettings, as
//! jugglingdb-sqlite3 0.0.5 creates it) and the sequelize PostgreSQL one
//! (as atlassian-connect-express 1.0.14's sequelize 3 creates it).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::postgres::PostgresServer;
use crate::support::serve::signed::search_status;
use crate::support::serve::{Blog, HipChat, Project, Serve};

/// jugglingdb-sqlite3 0.0.5's table for ACE's AddonSettings model.
const JUGGLINGDB_SQLITE: &str = "CREATE TABLE `AddonSettings` (\n  `id` INTEGER PRIMARY KEY,\n  `clientKey` VARCHAR(255) NULL,\n  `key` VARCHAR(255) NULL,\n  `val` TEXT NULL\n)";

/// sequelize 3.35's `sync()` of ACE 1.0.14's model.
const SEQUELIZE_POSTGRES: &str = r#"CREATE TABLE IF NOT EXISTS "AddonSettings" ("id"   SERIAL , "clientKey" VARCHAR(255), "key" VARCHAR(255), "val" JSON, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL, "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY ("id"));
CREATE INDEX "addon_settings_client_key_key" ON "AddonSettings" ("clientKey", "key")"#;

fn sqlite(project: &Project) -> rusqlite::Connection {
    rusqlite::Connection::open(project.file("store.db")).expect("open store.db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jugglingdb_sqlite_layout_is_taken_over_mirrored_and_cleaned_up() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let hipchat = HipChat::start();
    // The 2015 add-on's store.db: two installs, one of them uninstalled in
    // HipChat since (the library deleted nothing).
    {
        let db = sqlite(&project);
        db.execute_batch(JUGGLINGDB_SQLITE).unwrap();
        for (id, room) in [("old-live", 1), ("old-gone", 2)] {
            let info = hipchat.client_info(id, &format!("secret-{id}"), room).await;
            db.execute(
                "INSERT INTO AddonSettings (clientKey, key, val) VALUES (?1, 'clientInfo', ?2)",
                rusqlite::params![id, info.to_string()],
            )
            .unwrap();
        }
    }
    hipchat.register("old-live", "secret-old-live", Some(1));
    let serve = Serve::start(project.path(), &[], &[]);
    let client = crate::support::serve::client();

    assert_eq!(
        search_status(&client, &serve.webhook(), "old-live", "secret-old-live").await,
        StatusCode::OK,
        "{}",
        serve.logs()
    );
    assert_eq!(
        search_status(&client, &serve.webhook(), "old-live", "secret-old-live").await,
        StatusCode::OK
    );
    assert_eq!(
        serve.logs().matches("took over the installation").count(),
        1,
        "{}",
        serve.logs()
    );
    // HipChat refuses the other one's credentials: not served, stale.
    assert_eq!(
        search_status(&client, &serve.webhook(), "old-gone", "secret-old-gone").await,
        StatusCode::UNAUTHORIZED
    );
    assert!(serve.logs().contains("kept as stale"), "{}", serve.logs());
    let list = std::process::Command::new(crate::support::connect_binary())
        .args(["store", "list", "--dir"])
        .arg(project.path())
        .env_remove("NODE_ENV")
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let gone = list
        .lines()
        .find(|l| l.starts_with("old-gone"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        gone.contains("stale: HipChat refused its credentials")
            && gone.contains("connect + 2015 layout"),
        "{list}"
    );
    let live = list
        .lines()
        .find(|l| l.starts_with("old-live"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(live.contains(" ok"), "{list}");
    // A webhook signed with another secret proves nothing.
    assert_eq!(
        search_status(&client, &serve.webhook(), "old-live", "forged").await,
        StatusCode::UNAUTHORIZED
    );

    // An install connect takes is written in the old layout too.
    hipchat
        .must_install_as(&serve.url(), "new-one", "secret-new", Some(3))
        .await;
    let mirrored: String = sqlite(&project)
        .query_row(
            "SELECT val FROM AddonSettings WHERE clientKey = 'new-one' AND key = 'clientInfo'",
            [],
            |r| r.get(0),
        )
        .expect("the install in the old layout");
    let mirrored: Value = serde_json::from_str(&mirrored).unwrap();
    assert_eq!(mirrored["oauthSecret"], "secret-new");
    assert_eq!(mirrored["roomId"], 3);
    assert!(mirrored["capabilitiesDoc"]["capabilities"]["oauth2Provider"].is_object());

    // An uninstall removes connect's record and the old one.
    assert!(hipchat.revoke("old-live"));
    assert_eq!(
        hipchat.delete_installable(&serve.url(), "old-live").await,
        StatusCode::NO_CONTENT
    );
    let left: i64 = sqlite(&project)
        .query_row(
            "SELECT count(*) FROM AddonSettings WHERE clientKey = 'old-live'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        search_status(&client, &serve.webhook(), "old-live", "secret-old-live").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequelize_postgres_layout_is_taken_over_once_by_two_instances_at_once() {
    let db = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    db.sql(SEQUELIZE_POSTGRES).expect("the sequelize table");
    let blog = Blog::start();
    let hipchat = HipChat::start();
    let info = hipchat.client_info("seq-1", "secret-seq", 1).await;
    let quoted = info.to_string().replace('\'', "''");
    db.sql(&format!(
        "INSERT INTO \"AddonSettings\" (\"clientKey\", \"key\", \"val\", \"createdAt\", \"updatedAt\") VALUES ('seq-1', 'clientInfo', '{quoted}', '2016-02-01 10:00:00+00', now())"
    ))
    .expect("the 2015 record");
    hipchat.register("seq-1", "secret-seq", Some(1));
    let store = json!({"adapter": "sequelize", "dialect": "postgres", "url": db.url()});
    let project = Project::with_stage(json!({"development": Project::stage(&blog.url(), store)}));
    let a = Serve::start(project.path(), &[], &[]);
    let b = Serve::start(project.path(), &[], &[]);
    let client = crate::support::serve::client();

    // Both instances meet the old record at once.
    let statuses = futures_util::future::join_all((0..8).map(|n| {
        let url = if n % 2 == 0 { a.webhook() } else { b.webhook() };
        let client = client.clone();
        async move { search_status(&client, &url, "seq-1", "secret-seq").await }
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}\n{}\n{}",
        a.logs(),
        b.logs()
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM connect_tenants WHERE oauth_id = 'seq-1'")
            .as_deref(),
        Some("1")
    );
    let took = a.logs().matches("took over the installation").count()
        + b.logs().matches("took over the installation").count();
    assert_eq!(
        took,
        1,
        "logged once per tenant:\n{}\n{}",
        a.logs(),
        b.logs()
    );
    // Its install time came with it.
    let installed = db
        .sql("SELECT data->>'installedAt' FROM connect_tenants WHERE oauth_id = 'seq-1'")
        .unwrap();
    assert_eq!(installed, "1454320800");

    // An install connect takes goes into the sequelize table, timestamps
    // filled; an uninstall takes the old rows away.
    hipchat
        .must_install_as(&a.url(), "seq-new", "secret-new", Some(2))
        .await;
    assert_eq!(
        db.sql("SELECT val->>'oauthSecret' FROM \"AddonSettings\" WHERE \"clientKey\" = 'seq-new'")
            .as_deref(),
        Some("secret-new")
    );
    assert!(hipchat.revoke("seq-1"));
    assert_eq!(
        hipchat.delete_installable(&b.url(), "seq-1").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM \"AddonSettings\" WHERE \"clientKey\" = 'seq-1'")
            .as_deref(),
        Some("0")
    );
    // Nothing was added to the table.
    assert_eq!(
        db.sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'AddonSettings'").as_deref(),
        Some("id,clientKey,key,val,createdAt,updatedAt")
    );
}
