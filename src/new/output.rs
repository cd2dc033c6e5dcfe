//! What `connect new` prints: a spinner while it works (on a terminal
//! only), the template list, and the closing summary with the next steps.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::git::Outcome;
use super::templates::Template;
use super::values::Location;
use super::write::Written;

/// A spinner on stderr, or nothing when stderr is not a terminal (logs and
/// pipes get no control characters).
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Starts the spinner if `on_terminal`.
    pub fn new(on_terminal: bool) -> Progress {
        if !on_terminal {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(80));
        Progress(Some(bar))
    }

    /// Shows what is being done now.
    pub fn step(&self, message: &'static str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress {
    // Also on errors, so the error is not printed after a stale spinner line.
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Writes `text` to stdout. A reader that went away (`connect new --list |
/// head -0`) is not an error worth reporting.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(err).context("writing to standard output"))
        }
        _ => Ok(()),
    }
}

/// The `--list` output: one template a line.
pub fn list(templates: &[Template]) -> String {
    let width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0);
    templates
        .iter()
        .map(|t| format!("{:width$}  {}\n", t.name, t.summary))
        .collect()
}

/// The closing message: what was created where, the repository, and the
/// commands to run next.
pub fn summary(location: &Location, full_path: &Path, written: &Written, git: &Outcome) -> String {
    let mut out = String::new();
    let mut files = format!("{} files", written.created + written.overwritten);
    if written.overwritten > 0 {
        let _ = write!(files, ", {} of them overwritten", written.overwritten);
    }
    let _ = writeln!(
        out,
        "Created {} at {} ({files})",
        location.name,
        full_path.display()
    );
    let git_line = match git {
        Outcome::Initialised => {
            Some("Initialised an empty git repository (nothing staged or committed).".to_owned())
        }
        Outcome::NotWanted => None,
        Outcome::InsideRepository(top) => Some(format!(
            "Left git alone: the project is inside the repository at {}.",
            top.display()
        )),
        Outcome::NoGit => Some("Skipped `git init`: git is not installed.".to_owned()),
        Outcome::Failed(why) => Some(format!(
            "Warning: `git init` failed ({why}); the project is complete without it."
        )),
    };
    if let Some(line) = git_line {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("\nNext steps:\n");
    if !location.is_current_dir {
        let _ = writeln!(out, "  cd {}", shell_quote(&location.dir.to_string_lossy()));
    }
    out.push_str("  connect dev --emulate    # run it beside a local HipChat, then type /hascode rust there\n");
    out.push_str(
        "  connect dev --tunnel     # or run it on a public URL for a real HipChat (needs ngrok)\n",
    );
    out
}

/// Quotes `text` for a POSIX shell when it needs it, so the printed `cd`
/// can be pasted as it is.
fn shell_quote(text: &str) -> String {
    let plain = text.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | '+' | ',' | ':' | '@')
    });
    if plain && !text.is_empty() {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_paths_a_shell_would_split() {
        assert_eq!(shell_quote("blogsearch"), "blogsearch");
        assert_eq!(shell_quote("../add ons/blog"), "'../add ons/blog'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
