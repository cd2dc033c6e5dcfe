//! The HipChat Connect protocol (see PROTOCOL.md): types and checks shared
//! by the add-on server and the host double, with no HTTP framework in them.
