//! Sockets: the public one `connect dev` serves, and the private one each
//! generation of `connect serve` gets as fd 3 (`LISTEN_FDS=1`, see the
//! inherited-listener contract), bound before the process starts, so the
//! readiness probe is accepted at once and answered as soon as it serves.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use anyhow::Context;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};

/// The descriptor number the child finds the socket at (systemd's
/// `SD_LISTEN_FDS_START`).
pub const CHILD_FD: RawFd = 3;

/// Binds the public port on `host` (0: any free port).
pub fn bind(host: IpAddr, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(host, port)).with_context(|| {
        format!("cannot listen on {host} port {port}; is another server using it? Stop it or pick another with --port")
    })
}

/// A private socket on 127.0.0.1 for one generation of the add-on.
pub fn private() -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
}

/// Arranges for `listener` to appear as fd 3 in the child, open across
/// `exec`, with `LISTEN_FDS=1` in its environment.
pub fn lend(cmd: &mut tokio::process::Command, listener: &TcpListener) {
    let fd = listener.as_raw_fd();
    cmd.env("LISTEN_FDS", "1").env_remove("LISTEN_PID");
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls (dup2, fcntl); it allocates nothing.
    // std's own exec-error pipe cannot be fd 3 here: the pipe is created
    // while fd 3 is already taken in this process (by the runtime or this
    // very socket), and fork keeps descriptor numbers.
    unsafe {
        cmd.pre_exec(move || {
            if fd == CHILD_FD {
                // dup2 onto itself would keep close-on-exec set.
                let borrowed = BorrowedFd::borrow_raw(CHILD_FD);
                fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::empty()))?;
            } else {
                let source = BorrowedFd::borrow_raw(fd);
                let copy = nix::unistd::dup2_raw(source, CHILD_FD)?;
                // The copy must stay open for the exec'd program.
                std::mem::forget(copy);
            }
            Ok(())
        });
    }
}
