//! Giving a new project its own git repository.
//!
//! The project gets `git init` and nothing more: nothing is staged or
//! committed on the user's behalf (as with `cargo new`), since a commit
//! needs their identity and is theirs to make. The template's `.gitignore`
//! keeps the development store out, so `git add -A` is safe.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Variables that would point git at another repository than the one in
/// the project (set, for instance, when `connect new` runs from a git hook).
const REPOSITORY_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// What became of the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `git init` made an empty repository.
    Initialised,
    /// `--no-git` was given.
    NotWanted,
    /// The project is inside this repository already.
    InsideRepository(PathBuf),
    /// git is not installed.
    NoGit,
    /// git failed; the project is complete all the same.
    Failed(String),
}

/// Runs `git init` in `dir` unless it is inside a repository already or
/// git is missing.
pub fn init(dir: &Path) -> Outcome {
    match git(dir, &["rev-parse", "--show-toplevel"]) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Outcome::NoGit,
        Err(err) => return Outcome::Failed(format!("could not run git: {err}")),
        Ok(output) if output.status.success() => {
            let top = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            return Outcome::InsideRepository(PathBuf::from(top));
        }
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !stderr.contains("not a git repository") {
                return Outcome::Failed(first_line(&stderr));
            }
        }
    }
    match git(dir, &["init", "--quiet"]) {
        Ok(output) if output.status.success() => Outcome::Initialised,
        Ok(output) => Outcome::Failed(first_line(&String::from_utf8_lossy(&output.stderr))),
        Err(err) => Outcome::Failed(format!("could not run git: {err}")),
    }
}

fn git(dir: &Path, args: &[&str]) -> io::Result<Output> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args).stdin(Stdio::null());
    for variable in REPOSITORY_VARIABLES {
        command.env_remove(variable);
    }
    command.output()
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message");
    line.trim().to_owned()
}
