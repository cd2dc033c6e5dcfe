//! `connect serve` against the crate's HipChat host double (the emulator's
//! core), driven as HipChat would: install from the descriptor URL, chat in
//! a room, uninstall.

use std::time::Duration;

use connect::hipchat::host::{Host, HostOptions, Installation, User};
use reqwest::StatusCode;

use crate::support::serve::{Blog, Project, Serve};

struct World {
    running: connect::hipchat::host::RunningHost,
    serve: Serve,
    _blog: Blog,
    _project: Project,
}

async fn world() -> World {
    world_with(HostOptions::default()).await
}

async fn world_with(options: HostOptions) -> World {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), &[], &[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = Host::new(options).unwrap().start(listener).unwrap();
    World {
        running,
        serve,
        _blog: blog,
        _project: project,
    }
}

impl World {
    /// The host installs the add-on from its descriptor URL.
    async fn install(&self, room: u64) -> Installation {
        let descriptor = format!("{}/atlassian-connect.json", self.serve.url());
        let installed = self.running.host().install(&descriptor, Some(room)).await;
        installed.unwrap_or_else(|e| panic!("{e}\n{}", self.serve.logs()))
    }
}

async fn wait_for_room(
    host: &Host,
    room: u64,
    count: usize,
) -> Vec<connect::hipchat::host::ChatEntry> {
    for _ in 0..100 {
        let entries = host.room_messages(room);
        if entries.len() >= count {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    host.room_messages(room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hipchat_installs_the_add_on_and_its_room_gets_search_results() {
    let w = world().await;
    let host = w.running.host();
    let installation = w.install(1).await;
    let room = wait_for_room(host, 1, 1).await;
    assert!(
        room[0].message.contains("has been installed in this room"),
        "{room:?}"
    );

    let posted = host
        .post_message(1, &User::default(), "/hascode rust")
        .await
        .unwrap();
    assert_eq!(posted.deliveries.len(), 1);
    let delivery = &posted.deliveries[0];
    assert_eq!(
        delivery.status,
        Some(200),
        "{delivery:?}\n{}",
        w.serve.logs()
    );
    let reply = delivery
        .reply
        .as_ref()
        .expect("the inline answer is posted to the room");
    assert!(
        reply.message.contains("rust article 1"),
        "{}",
        reply.message
    );
    for i in 0..5 {
        host.post_message(1, &User::default(), &format!("/hascode t{i}"))
            .await
            .unwrap();
    }
    // One token (proving the install, reused for the notice); replies go inline.
    assert_eq!(host.token_requests(&installation.oauth_id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hipchat_uninstalls_the_add_on_and_its_tenant_is_gone() {
    let w = world().await;
    let host = w.running.host();
    let installation = w.install(1).await;
    let credentials = host.credentials(&installation.oauth_id).unwrap();
    let uninstalled = host.uninstall(&installation.oauth_id).await.unwrap();
    assert_eq!(uninstalled.status, Some(204));
    let client = crate::support::serve::client();
    let gone = crate::support::serve::signed::deliver(
        &client,
        &w.serve.webhook(),
        &credentials.oauth_id,
        &credentials.oauth_secret,
        1,
        "/hascode x",
    )
    .await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_notice_is_retried_when_hipchat_rate_limits_it() {
    let w = world().await;
    let host = w.running.host();
    host.force_rate_limit(1);
    w.install(3).await;
    let room = wait_for_room(host, 3, 1).await;
    assert_eq!(room.len(), 1, "{}", w.serve.logs());
    assert!(
        w.serve.logs().contains("rate limited"),
        "{}",
        w.serve.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_sends_only_the_fields_an_add_on_needs_works_end_to_end() {
    // Capabilities: links.self, links.api, tokenUrl only; tokens:
    // access_token and expires_in only (as some HipChat Server hosts sent).
    let w = world_with(HostOptions {
        lean_documents: true,
        ..HostOptions::default()
    })
    .await;
    let host = w.running.host();
    let installation = w.install(1).await;
    let room = wait_for_room(host, 1, 1).await;
    assert!(
        room[0].message.contains("has been installed"),
        "{room:?}\n{}",
        w.serve.logs()
    );
    let posted = host
        .post_message(1, &User::default(), "/hascode rust")
        .await
        .unwrap();
    assert_eq!(posted.deliveries[0].status, Some(200), "{}", w.serve.logs());
    let uninstalled = host.uninstall(&installation.oauth_id).await.unwrap();
    assert_eq!(uninstalled.status, Some(204), "{}", w.serve.logs());
}
