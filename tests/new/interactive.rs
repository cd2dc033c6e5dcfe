//! The interactive path, through a real pseudo-terminal.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Expect, Session};

use super::json;

/// `connect new ARGS` on a pseudo-terminal in `dir`. `CI` is removed so the
/// terminal alone decides; dropping the session kills the process.
fn spawn(dir: &Path, args: &[&str], ci: Option<&str>) -> expectrl::session::OsSession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connect"));
    command
        .current_dir(dir)
        .arg("new")
        .args(args)
        .env_remove("CI")
        .env("TERM", "xterm");
    if let Some(value) = ci {
        command.env("CI", value);
    }
    let mut session = Session::spawn(command).expect("spawn connect on a pty");
    session.set_expect_timeout(Some(Duration::from_secs(20)));
    session
}

fn exit_code(session: &expectrl::session::OsSession) -> i32 {
    match session.get_process().wait().expect("wait for connect") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("connect did not exit normally: {other:?}"),
    }
}

#[test]
fn asks_for_each_missing_value_with_its_default_and_reasks_after_a_bad_answer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/notes.txt"), "mine").unwrap();
    let mut session = spawn(dir.path(), &["-t", "hipchat", "--no-git"], None);

    session.expect("Project name").unwrap();
    session.send_line("taken").unwrap();
    session.expect("exists and is not empty").unwrap();
    session.send_line("blog search").unwrap();
    session.expect("contains a space").unwrap();
    session.send_line("blogsearch").unwrap();

    session.expect("com.example.blogsearch").unwrap();
    session.send_line("").unwrap();

    session.expect("Search the hascode.com blog").unwrap();
    session.send_line("Our blog, searched").unwrap();

    session.expect("Vendor name").unwrap();
    session.send_line("Acme").unwrap();

    session.expect("https://example.com").unwrap();
    session.send_line("acme.example").unwrap();
    session.expect("not a URL").unwrap();
    session.send_line("https://acme.example").unwrap();

    session.expect("Created blogsearch at").unwrap();
    session.expect(Eof).unwrap();
    assert_eq!(exit_code(&session), 0);

    let descriptor = json(dir.path().join("blogsearch/atlassian-connect.json"));
    assert_eq!(descriptor["key"], "com.example.blogsearch");
    assert_eq!(descriptor["description"], "Our blog, searched");
    assert_eq!(descriptor["vendor"]["name"], "Acme");
    assert_eq!(descriptor["vendor"]["url"], "https://acme.example");
}

#[test]
fn asks_only_for_what_was_not_given_and_offers_a_key_it_would_not_choose_silently() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "BlogSearch",
        "--no-git",
        "--description",
        "d",
        "--vendor",
        "V",
        "--vendor-url",
        "https://v.example",
    ];
    let mut session = spawn(dir.path(), &args, None);
    // The name is not a key part: the lowercase key is offered, not taken.
    session.expect("com.example.blogsearch").unwrap();
    session.send_line("").unwrap();
    session.expect("Created BlogSearch at").unwrap();
    session.expect(Eof).unwrap();
    assert_eq!(exit_code(&session), 0);
    assert_eq!(
        json(dir.path().join("BlogSearch/atlassian-connect.json"))["key"],
        "com.example.blogsearch"
    );
}

#[test]
fn never_asks_on_a_terminal_when_ci_is_set_or_yes_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = spawn(dir.path(), &["BlogSearch"], Some("true"));
    session.expect("--key com.example.blogsearch").unwrap();
    session.expect(Eof).unwrap();
    assert_eq!(exit_code(&session), 2);

    let mut session = spawn(dir.path(), &["blogsearch", "--yes", "--no-git"], None);
    session.expect("Created blogsearch at").unwrap();
    session.expect(Eof).unwrap();
    assert_eq!(exit_code(&session), 0);
}
