//! The HipChat Connect protocol (see PROTOCOL.md). Every module but `host`
//! is pure protocol, types and checks with no HTTP framework in them, shared
//! by the add-on server and the host; [`host`] is the HipChat host double
//! (an axum server) built on them, the core of `connect emulate`.

pub mod capabilities;
pub mod descriptor;
pub mod fields;
pub mod glance;
pub mod host;
pub mod jwt;
pub mod modules;
pub mod notification;
pub mod sanitize;
pub mod token;
pub mod webhook;

#[cfg(test)]
mod robustness_tests;
