//! Installs survive a restart and a kill -9 with the embedded store.

use nix::sys::signal::Signal;
use reqwest::StatusCode;

use crate::support::serve::signed::search_status;
use crate::support::serve::{self as kit, Blog, HipChat, Project, Serve};

async fn survives(stop: impl FnOnce(&mut Serve)) {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let hipchat = HipChat::start();
    let client = kit::client();
    let mut serve = Serve::start(project.path(), &[], &[]);
    hipchat
        .must_install_as(&serve.url(), "durable", "s", Some(1))
        .await;
    tokio::task::block_in_place(|| stop(&mut serve));
    assert!(project.file("store.db").exists());
    let serve = Serve::start(project.path(), &[], &[]);
    let status = search_status(&client, &serve.webhook(), "durable", "s").await;
    assert_eq!(status, StatusCode::OK, "{}", serve.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_survives_a_restart() {
    survives(|serve| assert_eq!(serve.stop_with(Signal::SIGTERM).code(), Some(0))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_survives_kill_dash_nine() {
    survives(Serve::kill9).await;
}
