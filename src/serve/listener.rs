//! Where the server listens: the socket `connect dev` hands down as fd 3
//! (see the contract below), or a port of our own.
//!
//! Contract: when `LISTEN_FDS=1` and `LISTEN_PID` is unset or equals this
//! process's id, fd 3 is a listening TCP socket we must use; both variables
//! are then removed so a child of ours does not take fd 3 for its own.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, RawFd};

use anyhow::Context;

use crate::config::Env;

/// The first inherited descriptor (systemd's `SD_LISTEN_FDS_START`).
const INHERITED_FD: RawFd = 3;

/// Where the listening socket comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenSource {
    /// The socket our parent passed as fd 3.
    Inherited,
    /// Bind this address (port 0: any free port).
    Bind(SocketAddr),
}

/// Decides where to listen from an environment snapshot and our pid (pure).
pub fn source(env: &Env, own_pid: u32, addr: SocketAddr) -> ListenSource {
    let fds_is_one = env.get("LISTEN_FDS").map(str::trim) == Some("1");
    let pid_matches = match env.get("LISTEN_PID") {
        None => true,
        Some(pid) => pid.trim().parse::<u32>().ok() == Some(own_pid),
    };
    if fds_is_one && pid_matches {
        ListenSource::Inherited
    } else {
        ListenSource::Bind(addr)
    }
}

/// Removes the socket-passing variables from the process environment.
///
/// # Safety
/// Must run before any other thread exists (environment writes race with
/// reads on other threads); `serve::run` calls it before building the
/// runtime.
pub unsafe fn forget_inherited_variables() {
    // SAFETY: single-threaded at this point, as documented above.
    unsafe {
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_PID");
    }
}

/// Opens the listener (blocking std socket, switched to non-blocking for tokio).
pub fn open(source: ListenSource) -> anyhow::Result<TcpListener> {
    let listener = match source {
        ListenSource::Inherited => {
            // SAFETY: the parent promised (LISTEN_FDS=1) that fd 3 is a
            // listening socket handed to us; we take sole ownership of it.
            let listener = unsafe { TcpListener::from_raw_fd(INHERITED_FD) };
            listener.local_addr().context(
                "LISTEN_FDS=1 but fd 3 is not a listening TCP socket; unset LISTEN_FDS or run under `connect dev`",
            )?;
            listener
        }
        ListenSource::Bind(addr) => TcpListener::bind(addr).with_context(|| {
            format!(
                "cannot listen on {} port {}; is another server using it? Pick another with --port or PORT",
                addr.ip(),
                addr.port()
            )
        })?,
    };
    listener
        .set_nonblocking(true)
        .context("cannot make the listening socket non-blocking")?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn uses_fd_three_when_one_socket_is_passed_without_a_pid() {
        assert_eq!(
            source(&env(&[("LISTEN_FDS", "1")]), 42, at(3000)),
            ListenSource::Inherited
        );
    }

    #[test]
    fn uses_fd_three_when_the_pid_is_ours() {
        let e = env(&[("LISTEN_FDS", "1"), ("LISTEN_PID", "42")]);
        assert_eq!(source(&e, 42, at(3000)), ListenSource::Inherited);
    }

    #[test]
    fn binds_its_port_when_the_socket_was_meant_for_another_process() {
        let e = env(&[("LISTEN_FDS", "1"), ("LISTEN_PID", "41")]);
        assert_eq!(source(&e, 42, at(3000)), ListenSource::Bind(at(3000)));
    }

    #[test]
    fn binds_its_port_without_passed_sockets() {
        assert_eq!(source(&env(&[]), 42, at(0)), ListenSource::Bind(at(0)));
        assert_eq!(
            source(&env(&[("LISTEN_FDS", "2")]), 42, at(8)),
            ListenSource::Bind(at(8))
        );
    }
}
