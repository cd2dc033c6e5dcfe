//! What a project is and what runs it: `--exec`, else the `Procfile`'s
//! `web:` command (`connect serve` is run as this binary), else `npm start`
//! for a Node project, else `connect serve`. A folder with none of the files
//! an add-on has is not a project, and a home or temporary folder is never
//! watched as a whole.

use std::path::Path;

/// The files that make a folder an add-on project.
pub const MARKERS: &[&str] = &[
    "config.json",
    "atlassian-connect.json",
    "Procfile",
    "package.json",
];

/// How the add-on is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// This binary's `connect serve` (the fast path: a socket handed over,
    /// readiness from its descriptor).
    ConnectServe,
    /// A shell command (`--exec`, a Procfile's `web:`, `npm start`).
    Shell {
        /// The command line.
        line: String,
        /// Where it came from, for messages (`--exec`, `Procfile`, `package.json`).
        from: &'static str,
    },
}

impl Command {
    /// A short name for output lines: `serve`, `node`, `python3`, `npm`...
    pub fn label(&self) -> String {
        match self {
            Command::ConnectServe => "serve".into(),
            Command::Shell { line, .. } => {
                let first = line
                    .split_whitespace()
                    // Skip `VAR=value` prefixes and `exec`.
                    .find(|w| !w.contains('=') && *w != "exec")
                    .unwrap_or("app");
                let name = Path::new(first)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("app");
                if !name.is_empty()
                    && name.len() <= 12
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                {
                    name.to_string()
                } else {
                    "app".into()
                }
            }
        }
    }

    /// How to name it in messages: `connect serve`, or its label.
    pub fn name(&self) -> String {
        match self {
            Command::ConnectServe => "connect serve".into(),
            Command::Shell { .. } => self.label(),
        }
    }

    /// How to describe it in the start-up line.
    pub fn describe(&self) -> String {
        match self {
            Command::ConnectServe => "connect serve".into(),
            Command::Shell { line, from } => format!("`{line}` (from {from})"),
        }
    }
}

/// The `web:` command of a Procfile's text, if it has one.
pub fn procfile_web(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, command) = line.split_once(':')?;
        (name.trim() == "web")
            .then(|| command.trim().to_string())
            .filter(|c| !c.is_empty())
    })
}

/// Whether a command line runs `connect serve` (`connect serve`,
/// `/usr/local/bin/connect serve --port $PORT`, ...).
pub fn is_connect_serve(line: &str) -> bool {
    let mut words = line
        .split_whitespace()
        .skip_while(|w| w.contains('=') || *w == "exec");
    let program = words.next().unwrap_or("");
    Path::new(program)
        .file_name()
        .is_some_and(|n| n == "connect")
        && words.next() == Some("serve")
}

/// Chooses the command (pure): `exec`, else the Procfile's `web:` line,
/// else `npm start` when there is a package.json, else `connect serve`.
pub fn choose(exec: Option<&str>, procfile: Option<&str>, has_package_json: bool) -> Command {
    if let Some(line) = exec {
        return Command::Shell {
            line: line.to_string(),
            from: "--exec",
        };
    }
    if let Some(web) = procfile.and_then(procfile_web) {
        return if is_connect_serve(&web) {
            Command::ConnectServe
        } else {
            Command::Shell {
                line: web,
                from: "Procfile",
            }
        };
    }
    if has_package_json {
        return Command::Shell {
            line: "npm start".into(),
            from: "package.json",
        };
    }
    Command::ConnectServe
}

/// Why a folder cannot be run, as a message (exit status 2).
pub fn check_folder(
    dir: &Path,
    home: Option<&Path>,
    temp: &Path,
    explicit_watch: bool,
) -> Result<(), String> {
    let present = MARKERS.iter().any(|m| dir.join(m).is_file());
    if !present {
        return Err(format!(
            "{} is not an add-on project: none of {} is there. Run connect dev in a project folder \
             (`connect new -t hipchat NAME` makes one), or pass --dir PATH",
            dir.display(),
            MARKERS.join(", ")
        ));
    }
    if explicit_watch {
        return Ok(());
    }
    let same = |other: &Path| other.canonicalize().is_ok_and(|o| o == dir);
    let what = if dir == Path::new("/") {
        Some("the root folder")
    } else if home.is_some_and(same) {
        Some("your home folder")
    } else if same(temp) {
        Some("the temporary folder")
    } else {
        None
    };
    match what {
        Some(what) => Err(format!(
            "connect dev will not watch {what} ({}) as a whole: move the project into a folder of its own, \
             or name what to watch with --watch PATH",
            dir.display()
        )),
        None => Ok(()),
    }
}

/// The project's Procfile text and whether it has a package.json.
pub fn read(dir: &Path) -> (Option<String>, bool) {
    let procfile = std::fs::read_to_string(dir.join("Procfile")).ok();
    (procfile, dir.join("package.json").is_file())
}

/// Whether the add-on may forget its installs when it restarts, so the
/// emulator should send it its installation again after each restart: its
/// `config.json` stage names a store in memory (`store_in_memory` from
/// [`crate::config::peek::Peek`], `Some(true)`), or names none and it is not
/// `connect serve` (whose default store is a file). An add-on of another
/// kind that names no store may keep installs anywhere, in memory as
/// atlassian-connect-express does by default: sending the same installation
/// again costs it at most a second "installed" notice, not sending it can
/// cost every signed call until it is reinstalled.
pub fn forgets_installs(command: &Command, store_in_memory: Option<bool>) -> bool {
    match (store_in_memory, command) {
        (Some(memory), _) => memory,
        (None, Command::ConnectServe) => false,
        (None, Command::Shell { .. }) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(line: &str, from: &'static str) -> Command {
        Command::Shell {
            line: line.into(),
            from,
        }
    }

    #[test]
    fn exec_wins_then_the_procfile_then_npm_then_connect_serve() {
        assert_eq!(
            choose(Some("node x.js"), Some("web: python3 app.py"), true),
            shell("node x.js", "--exec")
        );
        assert_eq!(
            choose(None, Some("web: python3 app.py\n"), true),
            shell("python3 app.py", "Procfile")
        );
        assert_eq!(
            choose(None, Some("worker: node w.js"), true),
            shell("npm start", "package.json")
        );
        assert_eq!(choose(None, None, false), Command::ConnectServe);
    }

    #[test]
    fn a_procfile_that_runs_connect_serve_gets_the_fast_path() {
        assert_eq!(
            choose(None, Some("web: connect serve"), false),
            Command::ConnectServe
        );
        assert_eq!(
            choose(
                None,
                Some("web: /app/bin/connect serve --env production"),
                false
            ),
            Command::ConnectServe
        );
        assert!(!is_connect_serve("connectx serve"));
        assert!(!is_connect_serve("connect new"));
    }

    #[test]
    fn labels_name_the_program() {
        assert_eq!(Command::ConnectServe.label(), "serve");
        assert_eq!(shell("node app.js", "Procfile").label(), "node");
        assert_eq!(
            shell("NODE_ENV=dev exec /usr/bin/python3 app.py", "Procfile").label(),
            "python3"
        );
        assert_eq!(shell("npm start", "package.json").label(), "npm");
        assert_eq!(shell("echo \"$PORT\"; sleep 60", "--exec").label(), "echo");
        assert_eq!(shell("{ x; }", "--exec").label(), "app");
    }

    #[test]
    fn a_folder_without_project_files_is_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().canonicalize().unwrap();
        let err = check_folder(&dir, None, Path::new("/nonexistent"), false).unwrap_err();
        assert!(
            err.contains("not an add-on project") && err.contains("Procfile, package.json"),
            "{err}"
        );
        std::fs::write(dir.join("package.json"), "{}").unwrap();
        assert!(check_folder(&dir, None, Path::new("/nonexistent"), false).is_ok());
    }

    #[test]
    fn a_home_or_temporary_folder_is_not_watched_wholesale() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().canonicalize().unwrap();
        std::fs::write(dir.join("package.json"), "{}").unwrap();
        let err = check_folder(&dir, Some(&dir), Path::new("/nonexistent"), false).unwrap_err();
        assert!(
            err.contains("your home folder") && err.contains("--watch"),
            "{err}"
        );
        let err = check_folder(&dir, None, &dir, false).unwrap_err();
        assert!(err.contains("the temporary folder"), "{err}");
        assert!(
            check_folder(&dir, Some(&dir), &dir, true).is_ok(),
            "--watch says what to watch"
        );
    }

    #[test]
    fn installs_are_sent_again_unless_the_store_is_known_to_keep_them() {
        let node = shell("node app.js", "Procfile");
        assert!(forgets_installs(&Command::ConnectServe, Some(true)));
        assert!(!forgets_installs(&Command::ConnectServe, Some(false)));
        assert!(!forgets_installs(&Command::ConnectServe, None));
        assert!(forgets_installs(&node, Some(true)));
        assert!(!forgets_installs(&node, Some(false)));
        assert!(forgets_installs(&node, None));
    }
}
