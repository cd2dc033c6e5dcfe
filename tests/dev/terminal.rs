//! `connect dev` on a real pseudo-terminal: colour, `rs` typed at the
//! terminal, and Ctrl-C (SIGINT to the terminal's foreground group).

use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Expect, Regex, Session};

use crate::support::dev::{Project, assert_gone, connect, port_is_free};

#[test]
fn on_a_terminal_lines_are_coloured_rs_restarts_and_ctrl_c_stops_everything() {
    let project = Project::new();
    let mut command = Command::new(connect());
    command
        .current_dir(&project.dir)
        .args(["dev", "--port", "0"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    let mut session = Session::spawn(command).expect("spawn connect dev on a pty");
    session.set_expect_timeout(Some(Duration::from_secs(20)));

    let started = session
        .expect(Regex(
            r"\x1b\[32mdev:\x1b\[0m started connect serve \(pid (\d+)\) in \d+ ms on http://localhost:(\d+)",
        ))
        .expect("a coloured started line");
    let number = |i: usize| -> i32 {
        String::from_utf8_lossy(started.get(i).expect("capture"))
            .parse()
            .expect("a number")
    };
    let (first_child, port) = (number(1), number(2));

    session.send_line("rs").expect("type rs");
    let restarted = session
        .expect(Regex(r"restarted in \d+ ms \(pid (\d+)\)"))
        .expect("a restart after rs");
    let second_child: i32 = String::from_utf8_lossy(restarted.get(1).expect("pid"))
        .parse()
        .expect("pid");

    // Ctrl-C: the terminal sends SIGINT to its foreground process group.
    session.send("\x03").expect("send Ctrl-C");
    session.expect("SIGINT: stopping").expect("SIGINT noticed");
    session.expect(Eof).expect("connect dev exits");
    match session.get_process().wait().expect("wait") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("connect dev did not exit normally: {other:?}"),
    }
    assert_gone(first_child, Duration::from_secs(2));
    assert_gone(second_child, Duration::from_secs(2));
    let port = u16::try_from(port).expect("port");
    assert!(port_is_free(port), "port {port} still taken");
}
