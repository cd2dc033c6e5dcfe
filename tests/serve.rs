//! `connect serve` end to end: the real binary on a free port, against a
//! HipChat double and a blog double that are real HTTP servers on loopback.

mod support;

#[path = "serve/config_files.rs"]
mod config_files;
#[path = "serve/host.rs"]
mod host;
#[path = "serve/install.rs"]
mod install;
#[path = "serve/metrics.rs"]
mod metrics;
#[path = "serve/operations.rs"]
mod operations;
#[path = "serve/persistence.rs"]
mod persistence;
#[path = "serve/pooler.rs"]
mod pooler;
#[path = "serve/postgres.rs"]
mod postgres;
#[path = "serve/redis.rs"]
mod redis;
#[path = "serve/redis_tls.rs"]
mod redis_tls;
#[path = "serve/replies.rs"]
mod replies;
#[path = "serve/rest.rs"]
mod rest;
#[path = "serve/shutdown.rs"]
mod shutdown;
#[path = "serve/sources.rs"]
mod sources;
#[path = "serve/uninstall.rs"]
mod uninstall;
#[path = "serve/webhook.rs"]
mod webhook;
