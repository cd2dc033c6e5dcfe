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
    // config.json has comments, as the old stack's did; connect reads it so.
    connect::config::parse_text(&raw)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
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
        .stdout(predicate::str::contains("connect dev --tunnel"))
        // No spinner or other terminal output when stderr is a pipe.
        .stderr("");
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
    assert_eq!(dev["localBaseUrl"], "http://localhost:$port");
    assert_eq!(
        dev["store"],
        serde_json::json!({"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"})
    );
    let prod = &config["production"];
    assert_eq!(prod["port"], "$PORT");
    assert_eq!(
        prod["store"],
        serde_json::json!({"adapter": "redis", "url": "$REDIS_URL", "tls": {"rejectUnauthorized": false}})
    );
    assert_eq!(prod["whitelist"], serde_json::json!(["*.hipchat.com"]));
    // Development searches the sample file, offline; production a real blog.
    assert_eq!(dev["search"]["source"], "file");
    assert_eq!(dev["search"]["path"], "articles.json");
    assert_eq!(prod["search"]["source"], "feed");
    for stage in [dev, prod] {
        assert_eq!(stage["maxResultsDisplayed"], 10);
        assert!(stage["maxTokenAge"].is_u64());
    }
    let articles = json(project.join("articles.json"));
    let articles = articles.as_array().expect("a list of articles");
    assert!((25..=40).contains(&articles.len()), "{}", articles.len());
    let rust = articles
        .iter()
        .filter(|a| a["tags"].as_array().unwrap().iter().any(|t| t == "rust"))
        .count();
    assert!(
        rust > 10,
        "more rust articles than one answer lists: {rust}"
    );
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

    let elsewhere = tempfile::tempdir().unwrap();
    let absolute = elsewhere.path().join("deep/er/blog");
    connect_new(dir.path())
        .arg(&absolute)
        .arg("--no-git")
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "cd {}\n",
            absolute.display()
        )));
    assert!(absolute.join("atlassian-connect.json").is_file());
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

#[test]
fn every_value_can_be_given_with_define_alone() {
    let dir = tempfile::tempdir().unwrap();
    connect_new(dir.path())
        .args([
            "--no-git",
            "-d",
            "name=blog",
            "-d",
            "key=org.blogs.blog",
            "-d",
            "vendor=Blogs",
        ])
        .args([
            "-d",
            "description=Hello",
            "-d",
            "vendor-url=http://blogs.example",
        ])
        .assert()
        .success();
    let descriptor = json(dir.path().join("blog/atlassian-connect.json"));
    assert_eq!(descriptor["key"], "org.blogs.blog");
    assert_eq!(descriptor["description"], "Hello");
    assert_eq!(
        descriptor["vendor"],
        serde_json::json!({"name": "Blogs", "url": "http://blogs.example"})
    );
}

#[path = "new/conflicts.rs"]
mod conflicts;
#[path = "new/git.rs"]
mod git;
#[path = "new/interactive.rs"]
mod interactive;
#[path = "new/validation.rs"]
mod validation;
