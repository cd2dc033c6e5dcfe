//! The HipChat Connect protocol (see PROTOCOL.md): types and checks shared
//! by the add-on server and the host double, with no HTTP framework in them.

pub mod capabilities;
pub mod descriptor;
pub mod fields;
pub mod host;
pub mod jwt;
pub mod notification;
pub mod sanitize;
pub mod token;
pub mod webhook;

#[cfg(test)]
mod robustness_tests;
