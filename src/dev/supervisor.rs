//! Running the add-on as a child in a process group of its own: start,
//! stop (SIGTERM to the group, SIGKILL after a timeout, then wait until no
//! member of the group is left), and notice when it exits by itself.
//!
//! Every child asks the kernel for a parent-death signal, so nothing
//! survives `connect dev` even when it is killed with SIGKILL. That signal
//! fires when the *thread* that forked the child ends, so children are only
//! ever spawned from the main thread, which runs the dev loop's
//! single-threaded runtime and lives as long as the process.

use std::net::TcpListener;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};
use tokio::process::{Child, Command};

use super::listener;

/// Puts the command's process in a new process group and gives it a
/// parent-death signal.
pub fn own_group_with_parent_death(cmd: &mut Command, death: Signal) {
    let parent = getpid();
    cmd.process_group(0);
    // SAFETY: between fork and exec only async-signal-safe system calls
    // (prctl, getppid) run; nothing is allocated.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(death)?;
            // The parent may have died between fork and prctl; the signal
            // would then never come, so give up now.
            if getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(Errno::ESRCH as i32));
            }
            Ok(())
        });
    }
}

/// Sends `signal` to a process group; a group that is already gone is fine.
pub fn signal_group(pgid: Pid, signal: Signal) {
    let _ = killpg(pgid, signal);
}

/// How a process group ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupEnd {
    /// Every member left by itself.
    Gone,
    /// Some needed SIGKILL.
    Killed,
    /// Some outlived even SIGKILL (stuck in the kernel).
    Stuck,
}

/// Waits until no process of group `pgid` is left, reaping members this
/// process adopted (it is a child subreaper). Sends SIGKILL to the group
/// if some are still there after `patience`.
pub async fn wait_group_gone(pgid: Pid, patience: Duration) -> GroupEnd {
    let start = Instant::now();
    let mut killed = false;
    let mut pause = Duration::from_micros(200);
    loop {
        // Reap adopted members so they do not linger as zombies.
        while let Ok(status) = waitpid(Pid::from_raw(-pgid.as_raw()), Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        if killpg(pgid, None) == Err(Errno::ESRCH) {
            return if killed {
                GroupEnd::Killed
            } else {
                GroupEnd::Gone
            };
        }
        let waited = start.elapsed();
        if waited > patience && !killed {
            signal_group(pgid, Signal::SIGKILL);
            killed = true;
        } else if waited > patience * 2 {
            return GroupEnd::Stuck;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// The program.
    pub program: std::path::PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// How long a child may take to stop after SIGTERM before SIGKILL.
    pub kill_timeout: Duration,
    /// The signal the child gets when `connect dev` dies.
    pub death_signal: Signal,
    /// Whether it takes its socket as fd 3 (`connect serve`) instead of
    /// binding `PORT` itself.
    pub takes_socket: bool,
}

/// The shell script that runs an `--exec` command so that nothing of it
/// outlives `connect dev`: the parent-death signal reaches only the shell
/// (dash does not `exec` a lone command), so the shell answers SIGHUP by
/// killing its whole process group.
pub fn exec_script(command: &str) -> String {
    format!("trap 'kill -KILL 0' HUP\n{{ {command}\n}} & wait $!")
}

/// A running child.
#[derive(Debug)]
pub struct Running {
    child: Child,
    pgid: Pid,
}

impl Running {
    /// Its process group (= its pid).
    pub fn pgid(&self) -> Pid {
        self.pgid
    }

    /// Waits for the child to exit by itself, then clears up what is left
    /// of its group.
    pub async fn exited(&mut self, kill_timeout: Duration) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await;
        // Helpers it left behind in its group go with it.
        signal_group(self.pgid, Signal::SIGTERM);
        wait_group_gone(self.pgid, kill_timeout).await;
        status
    }

    /// Stops the child and its whole group: SIGTERM, SIGKILL after
    /// `kill_timeout`, then waits until no member is left.
    pub async fn terminate(mut self, kill_timeout: Duration) -> Stopped {
        signal_group(self.pgid, Signal::SIGTERM);
        let mut escalated = false;
        if tokio::time::timeout(kill_timeout, self.child.wait())
            .await
            .is_err()
        {
            escalated = true;
            signal_group(self.pgid, Signal::SIGKILL);
            let _ = self.child.wait().await;
        }
        if wait_group_gone(self.pgid, kill_timeout).await != GroupEnd::Gone {
            escalated = true;
        }
        Stopped { escalated }
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// Whether SIGKILL was needed.
    pub escalated: bool,
}

/// Starts a child of `spec` serving `port` (the private one), announcing
/// `base_url` as `AC_LOCAL_BASE_URL`, with `extra` variables (`.env`,
/// skipped where the real environment or `spec.env` sets them), lending it
/// `socket` as fd 3 when given. Its stdout and stderr are piped.
pub fn spawn(
    spec: &ChildSpec,
    port: u16,
    base_url: &str,
    extra: &[(String, String)],
    socket: Option<&TcpListener>,
) -> std::io::Result<Running> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("PORT", port.to_string())
        .env("AC_LOCAL_BASE_URL", base_url)
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        // Its own group has no terminal to read from; `rs` is ours.
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if std::env::var_os("PYTHONUNBUFFERED").is_none() {
        // Python buffers a piped stdout: its lines would come late.
        cmd.env("PYTHONUNBUFFERED", "1");
    }
    own_group_with_parent_death(&mut cmd, spec.death_signal);
    if let Some(socket) = socket {
        listener::lend(&mut cmd, socket);
    }
    let child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    Ok(Running {
        child,
        pgid: Pid::from_raw(pid as i32),
    })
}

/// Takes the piped stdout and stderr of a just-started child.
pub fn take_output(
    running: &mut Running,
) -> (
    Option<tokio::process::ChildStdout>,
    Option<tokio::process::ChildStderr>,
) {
    (running.child.stdout.take(), running.child.stderr.take())
}

/// Describes an exit status for a status line.
pub fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => "exited cleanly (status 0)".to_string(),
        (Some(code), _) => format!("crashed with exit code {code}"),
        (None, Some(sig)) => {
            let name = Signal::try_from(sig).map_or_else(|_| sig.to_string(), |s| s.to_string());
            format!("was killed by {name}")
        }
        (None, None) => "ended".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    #[test]
    fn the_exec_script_runs_the_command_in_the_background_and_waits() {
        assert_eq!(
            exec_script("node app.js # comment"),
            "trap 'kill -KILL 0' HUP\n{ node app.js # comment\n} & wait $!"
        );
    }

    #[test]
    fn exit_statuses_read_as_words() {
        assert_eq!(
            describe_exit(&ExitStatus::from_raw(0)),
            "exited cleanly (status 0)"
        );
        assert_eq!(
            describe_exit(&ExitStatus::from_raw(1 << 8)),
            "crashed with exit code 1"
        );
        assert_eq!(
            describe_exit(&ExitStatus::from_raw(9)),
            "was killed by SIGKILL"
        );
    }
}
