//! `connect serve` takes over a running 2015 deployment: the unmodified
//! Node add-on's installs on Redis served without a room reinstalling, a
//! rolling cut-over, an uninstall that leaves nothing to come back, a
//! rollback that serves every room again; the same for the jugglingdb
//! SQLite and the sequelize PostgreSQL layouts; and the store tools.

mod support;

#[path = "takeover/node_redis.rs"]
mod node_redis;
#[path = "takeover/sql.rs"]
mod sql;
#[path = "takeover/tools.rs"]
mod tools;
