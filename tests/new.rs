//! `connect new`, driven through the real binary in temporary directories.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant, SystemTime};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// Long enough for a slow machine; a run that waits for input never ends.
const TIMEOUT: Duration = Duration::from_secs(20);

/// `connect new ...` in `dir`, with no terminal and `CI` unset, so only
/// the missing terminal keeps it from asking.
fn connect_new(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("connect").expect("the connect binary");
    cmd.current_dir(dir)
        .env_remove("CI")
        .arg("new")
        .timeout(TIMEOUT);
    cmd
}

/// Every file under `root` (but `.git`) with its contents, sorted.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                if relative != ".git" {
                    walk(root, &path, out);
                }
            } else {
                out.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Every entry under `root` with its contents and modification time, to
/// show that nothing at all changed.
fn snapshot_with_times(root: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    tree(root)
        .into_iter()
        .map(|(path, contents)| {
            let modified = fs::metadata(root.join(&path)).unwrap().modified().unwrap();
            (path, (contents, modified))
        })
        .collect()
}

fn json(path: PathBuf) -> Value {
    let raw = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn creates_the_hipchat_project_tree() {
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .args(["-t", "hipchat", "blogsearch", "--no-git"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "Created blogsearch at {}",
            dir.path()
                .canonicalize()
                .unwrap()
                .join("blogsearch")
                .display()
        )))
        .stdout(predicate::str::contains("cd blogsearch\n"))
        .stdout(predicate::str::contains("connect dev --tunnel"));
    let listing: String = tree(&dir.path().join("blogsearch"))
        .into_iter()
        .map(|(path, contents)| {
            let text = String::from_utf8(contents).expect("every generated file is text");
            format!("===== {path}\n{text}")
        })
        .collect();
    insta::assert_snapshot!("hipchat_project", listing);
}

#[test]
fn the_descriptor_and_config_are_valid_json_and_keep_the_base_url_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .args([
            "blogsearch",
            "--no-git",
            "--key",
            "io.acme.blog",
            "--vendor",
            "Acme \"Blogs\"",
        ])
        .args([
            "-d",
            "description=Find <posts> & more",
            "-d",
            "vendor_url=https://acme.example",
        ])
        .assert()
        .success();
    let project = dir.path().join("blogsearch");
    let descriptor = json(project.join("atlassian-connect.json"));
    assert_eq!(descriptor["key"], "io.acme.blog");
    assert_eq!(descriptor["name"], "blogsearch");
    assert_eq!(descriptor["description"], "Find <posts> & more");
    assert_eq!(descriptor["vendor"]["name"], "Acme \"Blogs\"");
    assert_eq!(descriptor["vendor"]["url"], "https://acme.example");
    assert_eq!(
        descriptor["links"]["self"],
        "{{localBaseUrl}}/atlassian-connect.json"
    );
    let capabilities = &descriptor["capabilities"];
    assert_eq!(
        capabilities["hipchatApiConsumer"]["scopes"],
        serde_json::json!(["send_notification"])
    );
    assert_eq!(
        capabilities["installable"]["callbackUrl"],
        "{{localBaseUrl}}/installable"
    );
    let webhook = &capabilities["webhook"][0];
    assert_eq!(webhook["url"], "{{localBaseUrl}}/message");
    assert_eq!(webhook["event"], "room_message");
    assert_eq!(webhook["pattern"], "^/hascode");
    assert_eq!(webhook["authentication"], "jwt");

    let config = json(project.join("config.json"));
    let dev = &config["development"];
    assert_eq!(dev["port"], 3000);
    assert_eq!(dev["localBaseUrl"], "http://localhost:3000");
    assert_eq!(
        dev["store"],
        serde_json::json!({"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"})
    );
    let prod = &config["production"];
    assert_eq!(prod["port"], "$PORT");
    assert_eq!(
        prod["store"],
        serde_json::json!({"adapter": "redis", "url": "$REDIS_URL"})
    );
    assert_eq!(prod["whitelist"], serde_json::json!(["*.hipchat.com"]));
    for stage in [dev, prod] {
        assert_eq!(stage["searchHost"], "https://www.hascode.com");
        assert_eq!(stage["searchBasePath"], "/wp-content/byTag.php?tag=");
        assert_eq!(stage["maxResultsDisplayed"], 10);
        assert!(stage["maxTokenAge"].is_u64());
    }
    assert_eq!(
        fs::read_to_string(project.join("Procfile")).unwrap(),
        "web: connect serve\n"
    );
    assert!(
        fs::read_to_string(project.join(".gitignore"))
            .unwrap()
            .lines()
            .any(|l| l == "store.db*")
    );
}

#[test]
fn never_asks_without_a_terminal_and_names_the_missing_value() {
    let dir = tempfile::tempdir().unwrap();
    // stdin is /dev/null: nothing to answer with.
    let (code, stderr) = run_with_null_stdin(dir.path(), &["new"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("NAME is missing"), "{stderr}");
    // stdin is a pipe closed at once, and the key cannot be derived.
    connect_new(dir.path())
        .arg("BlogSearch")
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--key com.example.blogsearch"));
    assert!(tree(dir.path()).is_empty(), "nothing may be written");
}

/// Runs connect with stdin on /dev/null, killing it if it outlives
/// [`TIMEOUT`] (which fails the test: it was waiting for input).
fn run_with_null_stdin(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_connect"))
        .current_dir(dir)
        .env_remove("CI")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("connect {args:?} was still running after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

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
        .stdout(predicate::str::contains("(8 files, 1 of them overwritten)"));
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
    assert_eq!(files.len(), 9, "{:?}", files.keys());
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

#[test]
fn a_path_creates_the_project_there_named_after_its_last_part() {
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .args(["addons/blog-search", "--no-git"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Created blog-search at"))
        .stdout(predicate::str::contains("cd addons/blog-search\n"));
    let descriptor = json(dir.path().join("addons/blog-search/atlassian-connect.json"));
    assert_eq!(descriptor["key"], "com.example.blog-search");
}

#[test]
fn dot_scaffolds_into_the_current_directory_named_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("blogsearch");
    fs::create_dir(&project).unwrap();
    connect_new(&project)
        .args([".", "--no-git"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Created blogsearch at"))
        .stdout(predicate::str::contains("cd ").not());
    assert_eq!(
        json(project.join("atlassian-connect.json"))["name"],
        "blogsearch"
    );
}

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

#[path = "new/interactive.rs"]
mod interactive;
