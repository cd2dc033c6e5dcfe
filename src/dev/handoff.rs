//! Two listening sockets on one port, so a restart can hand traffic over
//! without dropping a request.
//!
//! Lending one socket to every child is not enough: a child that accepted
//! a connection just before its SIGTERM, but has not read the request yet,
//! closes it unanswered (HTTP/1 servers treat it as idle during a graceful
//! shutdown). So the old and the new child get different sockets of one
//! `SO_REUSEPORT` group, a one-instruction classic BPF program steers every
//! new connection to the new child's socket, and the old child is only
//! stopped once its socket's accept queue is empty and it has had a moment
//! to read what it accepted.

use std::io;
use std::mem::size_of;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::libc;

/// `SO_ATTACH_REUSEPORT_CBPF` (include/uapi/asm-generic/socket.h; the same
/// on x86 and arm).
const SO_ATTACH_REUSEPORT_CBPF: libc::c_int = 51;
/// `BPF_RET | BPF_K`: return the constant `k`.
const BPF_RET_K: u16 = 0x06;
/// How long a retiring child gets to read the requests it accepted.
pub const READ_GRACE: Duration = Duration::from_millis(25);
/// The longest wait for a retiring child's accept queue to empty.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// Two listening sockets in one `SO_REUSEPORT` group; new connections go
/// to the active one.
#[derive(Debug)]
pub struct SocketPair {
    sockets: [TcpListener; 2],
    active: usize,
    /// False when the kernel cannot steer (both entries are one socket).
    steering: bool,
}

impl SocketPair {
    /// Binds both sockets to `port` on all interfaces (0: a free port) and
    /// steers connections to the first.
    pub fn bind(port: u16) -> anyhow::Result<Self> {
        match Self::bind_pair(port) {
            Ok(pair) => Ok(pair),
            // A kernel without reuseport steering (before Linux 4.5): one
            // socket, lent to each child in turn; restarts then stop the old
            // child before starting the new one.
            Err(_) => {
                let single = super::listener::bind(port)?;
                let copy = single
                    .try_clone()
                    .context("cannot duplicate the listening socket")?;
                Ok(Self {
                    sockets: [single, copy],
                    active: 0,
                    steering: false,
                })
            }
        }
    }

    fn bind_pair(port: u16) -> anyhow::Result<Self> {
        let help = || {
            format!(
                "cannot listen on port {port}; is another server using it? Stop it or pick another with --port"
            )
        };
        let first = reuseport_listener(port).with_context(help)?;
        let port = first
            .local_addr()
            .context("cannot read the listening address")?
            .port();
        let second = reuseport_listener(port).with_context(help)?;
        let pair = Self {
            sockets: [first, second],
            active: 0,
            steering: true,
        };
        pair.steer(0)
            .context("cannot steer connections between the listening sockets")?;
        Ok(pair)
    }

    /// Whether restarts can hand connections over (else: stop, then start).
    pub fn steers(&self) -> bool {
        self.steering
    }

    /// The socket new connections go to.
    pub fn active(&self) -> &TcpListener {
        &self.sockets[self.active]
    }

    /// The port both sockets listen on.
    pub fn port(&self) -> io::Result<u16> {
        Ok(self.sockets[0].local_addr()?.port())
    }

    /// Makes the other socket the active one; returns the index of the
    /// socket that was active until now.
    pub fn switch(&mut self) -> io::Result<usize> {
        if !self.steering {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel cannot steer connections between sockets (SO_ATTACH_REUSEPORT_CBPF)",
            ));
        }
        let old = self.active;
        self.steer(1 - old)?;
        self.active = 1 - old;
        Ok(old)
    }

    /// The raw descriptor of socket `index` (for queue checks in a task).
    pub fn raw(&self, index: usize) -> RawFd {
        self.sockets[index].as_raw_fd()
    }

    fn steer(&self, index: usize) -> io::Result<()> {
        let mut program = [libc::sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: index as u32,
        }];
        let prog = libc::sock_fprog {
            len: 1,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: a valid program and its length, on a socket we own; the
        // kernel copies the program before returning.
        let rc = unsafe {
            libc::setsockopt(
                self.sockets[0].as_raw_fd(),
                libc::SOL_SOCKET,
                SO_ATTACH_REUSEPORT_CBPF,
                (&raw const prog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Connections waiting in a listening socket's accept queue.
pub fn queued(fd: RawFd) -> io::Result<u32> {
    // SAFETY: an all-zero tcp_info is valid; the kernel fills at most `len` bytes.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` describe a writable buffer of that size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // For a listening socket the kernel reports its accept queue here.
    Ok(info.tcpi_unacked)
}

/// Waits until the accept queue of `fd` is empty (at most a second), then
/// gives the old child `READ_GRACE` to read the requests it accepted.
pub async fn drained(fd: RawFd) {
    let start = Instant::now();
    while start.elapsed() < DRAIN_LIMIT && queued(fd).is_ok_and(|n| n > 0) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(READ_GRACE).await;
}

fn reuseport_listener(port: u16) -> io::Result<TcpListener> {
    // SAFETY: plain socket calls; the descriptor is owned from creation.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        for option in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
            let rc = libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: libc::INADDR_ANY,
            },
            sin_zero: [0; 8],
        };
        let rc = libc::bind(
            fd,
            (&raw const addr).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if rc < 0 || libc::listen(fd, libc::SOMAXCONN) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TcpListener::from(owned))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    fn accepts(listener: &TcpListener) -> bool {
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::sleep(Duration::from_millis(20));
        listener.accept().is_ok()
    }

    #[test]
    fn new_connections_go_to_the_active_socket_only() {
        let mut pair = SocketPair::bind(0).expect("bind");
        let port = pair.port().expect("port");
        for round in 0..2 {
            let mut clients = Vec::new();
            for _ in 0..8 {
                clients.push(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
            }
            let idle = 1 - pair.active;
            assert_eq!(
                queued(pair.raw(pair.active)).expect("queue"),
                8,
                "round {round}"
            );
            assert_eq!(queued(pair.raw(idle)).expect("queue"), 0, "round {round}");
            assert!(!accepts(&pair.sockets[idle]));
            for _ in 0..8 {
                assert!(accepts(pair.active()));
            }
            pair.switch().expect("switch");
        }
    }

    #[test]
    fn a_queued_connection_survives_the_switch() {
        let mut pair = SocketPair::bind(0).expect("bind");
        let port = pair.port().expect("port");
        let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        client.write_all(b"ping").expect("write");
        let old = pair.switch().expect("switch");
        pair.sockets[old].set_nonblocking(false).expect("blocking");
        let (mut conn, _) = pair.sockets[old]
            .accept()
            .expect("accept on the old socket");
        let mut buf = [0; 4];
        conn.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"ping");
    }
}
