//! PgBouncer in transaction pooling mode (as Heroku's connection pooling,
//! Supabase and Neon run it) in front of a test PostgreSQL, on a free
//! loopback port, with fewer server connections than clients; killed when
//! dropped. As root it runs as the `postgres` user (PgBouncer refuses root).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;
use super::postgres::{PostgresServer, gid_of, server_user};

/// A running PgBouncer.
pub struct PgBouncer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PgBouncer {
    /// Starts PgBouncer in transaction mode in front of `postgres`, with at
    /// most `pool` server connections.
    pub fn start(postgres: &PostgresServer, pool: u32) -> PgBouncer {
        super::require_tool_at(
            "pgbouncer",
            &["/usr/sbin/pgbouncer"],
            "apt-get install -y pgbouncer (or ./install.sh --test-deps)",
        );
        let uid = server_user();
        let mut failures = Vec::new();
        // The free port can be taken between probing and binding; try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a directory for pgbouncer");
            let port = free_port();
            let ini = format!(
                "[databases]\n\
                 postgres = host=127.0.0.1 port={pg} dbname=postgres user=postgres\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {dir}/userlist.txt\n\
                 pool_mode = transaction\n\
                 default_pool_size = {pool}\n\
                 min_pool_size = 0\n\
                 reserve_pool_size = 0\n\
                 max_client_conn = 500\n\
                 logfile = {dir}/pgbouncer.log\n\
                 pidfile = {dir}/pgbouncer.pid\n\
                 admin_users = postgres\n",
                pg = postgres.port(),
                dir = dir.path().display(),
            );
            std::fs::write(dir.path().join("pgbouncer.ini"), ini).expect("write pgbouncer.ini");
            std::fs::write(dir.path().join("userlist.txt"), "\"postgres\" \"\"\n")
                .expect("write userlist.txt");
            if let Some(uid) = uid {
                for entry in ["", "pgbouncer.ini", "userlist.txt"] {
                    let _ = std::os::unix::fs::chown(dir.path().join(entry), Some(uid), None);
                }
            }
            let mut command = Command::new(program());
            command
                .arg(dir.path().join("pgbouncer.ini"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0);
            if let Some(uid) = uid {
                command.uid(uid).gid(gid_of(uid));
            }
            let child = command.spawn().expect("run pgbouncer");
            let mut bouncer = PgBouncer {
                port,
                dir,
                child: Some(child),
            };
            match bouncer.wait_until_up() {
                Ok(()) => return bouncer,
                Err(why) => failures.push(why),
            }
        }
        panic!("pgbouncer did not start:\n{}", failures.join("\n---\n"));
    }

    /// The URL through the pooler (no TLS between us and it).
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }

    fn wait_until_up(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("pgbouncer exited with {status}:\n{}", self.log()));
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "pgbouncer did not listen within 15 s:\n{}",
            self.log()
        ))
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn program() -> std::path::PathBuf {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| "pgbouncer".into())
}
