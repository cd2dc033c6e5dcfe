//! The project's git repository.

use std::fs;
use std::process::Command as StdCommand;

use predicates::prelude::*;

use super::connect_new;

fn git_available() -> bool {
    StdCommand::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn initialises_a_git_repository_with_nothing_committed() {
    assert!(git_available(), "these tests need git");
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .arg("blogsearch")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Initialised an empty git repository",
        ));
    let project = dir.path().join("blogsearch");
    assert!(project.join(".git").is_dir());
    let log = StdCommand::new("git")
        .arg("-C")
        .arg(&project)
        .args(["rev-parse", "--verify", "HEAD"])
        .output()
        .unwrap();
    assert!(!log.status.success(), "nothing may be committed");
    fs::write(project.join("store.db"), "x").unwrap();
    let ignored = StdCommand::new("git")
        .arg("-C")
        .arg(&project)
        .args(["check-ignore", "-q", "store.db"])
        .status()
        .unwrap();
    assert!(ignored.success(), "the development store must be ignored");
}

#[test]
fn leaves_git_alone_inside_an_existing_repository_or_when_asked() {
    assert!(git_available(), "these tests need git");
    let dir = tempfile::tempdir().unwrap();
    let init = StdCommand::new("git")
        .arg("-C")
        .arg(dir.path())
        .args(["init", "-q"])
        .status()
        .unwrap();
    assert!(init.success());
    connect_new(dir.path())
        .arg("blogsearch")
        .assert()
        .success()
        .stdout(predicate::str::contains("inside the repository at"));
    assert!(!dir.path().join("blogsearch/.git").exists());

    let other = tempfile::tempdir().unwrap();
    connect_new(other.path())
        .args(["blogsearch", "--no-git"])
        .assert()
        .success()
        .stdout(predicate::str::contains("git").not());
    assert!(!other.path().join("blogsearch/.git").exists());
}
