//! Bad input: every mistake exits 2 and says what would be valid.

use predicates::prelude::*;

use super::{connect_new, tree};

#[test]
fn rejects_bad_names_with_the_reason_and_a_usage_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("blog search", "contains a space"),
        ("blög", "not ASCII"),
        ("-x", "must start with a letter or digit"),
        ("..", "does not end in a directory name"),
        ("con", "reserved on Windows"),
        ("addons/.blog", "must start with a letter or digit"),
    ];
    for (name, message) in cases {
        connect_new(dir.path())
            .args(["--", name])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn rejects_bad_keys_and_values_with_what_would_be_valid() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 5] = [
        (&["blog", "--key", "blogsearch"]),
        (&["blog", "--key", "com.Example.blog"]),
        (&["blog", "--vendor-url", "example.com"]),
        (&["blog", "--description", "two\nlines"]),
        (&["blog", "--key", "com.a.b", "-d", "key=com.c.d"]),
    ];
    let messages = [
        "like `com.example.blogsearch`",
        "`com.example.blog` would do",
        "give an absolute http or https URL",
        "give one line of text",
        "given twice",
    ];
    for (args, message) in cases.iter().zip(messages) {
        connect_new(dir.path())
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn an_unknown_template_is_refused_listing_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .args(["-t", "jira", "blogsearch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("jira"))
        .stderr(predicate::str::contains("hipchat"));
}

#[test]
fn list_shows_each_template_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = connect_new(dir.path())
        .arg("--list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("hipchat  ") && text.contains("/hascode"),
        "{text}"
    );
}

#[test]
fn an_unknown_define_key_is_refused_listing_the_valid_keys() {
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .args(["blogsearch", "-d", "colour=red"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown key `colour`"))
        .stderr(predicate::str::contains(
            "name, key, description, vendor, vendor-url",
        ));
}
