//! A target directory that is not empty: refused untouched, or `--force`.

use std::fs;

use predicates::prelude::*;

use super::{connect_new, snapshot_with_times, tree};

#[test]
fn refuses_a_directory_that_is_not_empty_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("blogsearch");
    fs::create_dir_all(project.join("templates")).unwrap();
    fs::write(project.join("README.md"), "my notes\n").unwrap();
    fs::write(project.join("notes.txt"), "keep me\n").unwrap();
    let before = snapshot_with_times(dir.path());
    connect_new(dir.path())
        .arg("blogsearch")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not empty"))
        .stderr(predicate::str::contains("    README.md\n"))
        .stderr(predicate::str::contains("notes.txt").not())
        .stderr(predicate::str::contains("--force"));
    assert_eq!(snapshot_with_times(dir.path()), before);
    assert!(!project.join(".git").exists());
}

#[test]
fn refuses_a_directory_holding_only_other_files_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("blogsearch")).unwrap();
    fs::write(dir.path().join("blogsearch/notes.txt"), "keep me\n").unwrap();
    connect_new(dir.path())
        .arg("blogsearch")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "none of which the template would overwrite",
        ))
        .stderr(predicate::str::contains("    notes.txt"));
    assert_eq!(tree(dir.path()).len(), 1);
}

#[test]
fn force_overwrites_only_the_templates_files_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("blogsearch");
    fs::create_dir(&project).unwrap();
    fs::write(project.join("README.md"), "old readme\n").unwrap();
    fs::write(project.join("notes.txt"), "keep me\n").unwrap();
    connect_new(dir.path())
        .args(["blogsearch", "--force", "--no-git"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(9 files, 1 of them overwritten)"));
    assert_eq!(
        fs::read_to_string(project.join("notes.txt")).unwrap(),
        "keep me\n"
    );
    assert!(
        fs::read_to_string(project.join("README.md"))
            .unwrap()
            .starts_with("# blogsearch")
    );
    let files = tree(&project);
    assert_eq!(files.len(), 10, "{:?}", files.keys());
    assert!(
        files.keys().all(|name| !name.ends_with(".tmp")),
        "no temporary file left"
    );
}

#[test]
fn force_still_refuses_to_replace_a_directory_with_a_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("blogsearch/Procfile")).unwrap();
    connect_new(dir.path())
        .args(["blogsearch", "--force"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`Procfile` is a directory"));
    assert_eq!(
        fs::read_dir(dir.path().join("blogsearch")).unwrap().count(),
        1
    );
}

#[test]
fn refuses_a_name_taken_by_a_file_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("blogsearch"), "a file\n").unwrap();
    connect_new(dir.path())
        .args(["blogsearch", "--force"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exists and is not a directory"));
    assert_eq!(
        fs::read_to_string(dir.path().join("blogsearch")).unwrap(),
        "a file\n"
    );
}
