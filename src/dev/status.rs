//! Status lines: `[HH:MM:SS.mmm] dev: message`, coloured on a terminal.
//!
//! Lines go to stdout (like the add-on's own output, so the two interleave
//! in order); colour only when stdout is a terminal and `NO_COLOR` is unset.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// How important a line is (decides its colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Routine progress.
    Info,
    /// Something worked (started, restarted, ready).
    Good,
    /// Something the user should look at (a crash, a lost tunnel).
    Warn,
    /// A failure.
    Error,
}

/// Writes status lines.
#[derive(Clone, Copy, Debug)]
pub struct Status {
    colour: bool,
}

impl Status {
    /// A writer that colours when `colour` is true.
    pub fn new(colour: bool) -> Self {
        Self { colour }
    }

    /// Whether lines are coloured (a terminal is attached).
    pub fn is_terminal(&self) -> bool {
        self.colour
    }

    /// Prints one status line.
    pub fn line(&self, level: Level, message: &str) {
        let text = render(level, message, clock(SystemTime::now()), self.colour);
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the dev loop.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Prints a routine line.
    pub fn info(&self, message: &str) {
        self.line(Level::Info, message);
    }

    /// Prints a success line.
    pub fn good(&self, message: &str) {
        self.line(Level::Good, message);
    }

    /// Prints a warning line.
    pub fn warn(&self, message: &str) {
        self.line(Level::Warn, message);
    }

    /// Prints a failure line.
    pub fn error(&self, message: &str) {
        self.line(Level::Error, message);
    }

    /// Prints a block of lines as they are (the ready block), bold on a terminal.
    pub fn block(&self, lines: &[String]) {
        let mut out = std::io::stdout().lock();
        for l in lines {
            let _ = if self.colour {
                writeln!(out, "\x1b[1m{l}\x1b[0m")
            } else {
                writeln!(out, "{l}")
            };
        }
        let _ = out.flush();
    }
}

/// `HH:MM:SS.mmm` (UTC) of a point in time.
pub fn clock(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}

/// One status line (pure).
pub fn render(level: Level, message: &str, clock: String, colour: bool) -> String {
    if !colour {
        return format!("[{clock}] dev: {message}");
    }
    let code = match level {
        Level::Info => "36",
        Level::Good => "32",
        Level::Warn => "33",
        Level::Error => "31",
    };
    format!("\x1b[2m[{clock}]\x1b[0m \x1b[{code}mdev:\x1b[0m {message}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_clock_shows_hours_minutes_seconds_and_milliseconds() {
        let at = UNIX_EPOCH + Duration::from_millis(3_723_045);
        assert_eq!(clock(at), "01:02:03.045");
    }

    #[test]
    fn plain_lines_carry_no_escape_codes() {
        let line = render(Level::Error, "crashed", "01:02:03.045".into(), false);
        assert_eq!(line, "[01:02:03.045] dev: crashed");
    }

    #[test]
    fn coloured_lines_colour_by_level() {
        let line = render(Level::Error, "crashed", "t".into(), true);
        assert!(line.contains("\x1b[31mdev:"), "{line:?}");
        assert!(line.ends_with(" crashed"));
    }
}
