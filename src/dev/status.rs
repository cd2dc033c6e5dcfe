//! Every line `connect dev` prints, its own and the add-on's, in one style:
//! `[HH:MM:SS.mmm] who: message`, local time, coloured on a terminal.
//!
//! Lines go to stdout whole, one `write` each under the stdout lock, so the
//! add-on's output and `connect dev`'s never run together; colour only
//! when stdout is a terminal and `NO_COLOR` is unset.

use std::io::Write;
use std::sync::OnceLock;

/// How important a line is (decides its colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Routine progress, and the add-on's ordinary output.
    Info,
    /// Something worked (started, restarted, ready).
    Good,
    /// Something the user should look at (a crash, a lost tunnel).
    Warn,
    /// A failure.
    Error,
}

/// Who a line is from.
pub const DEV: &str = "dev";

/// Writes lines.
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

    /// Prints one line from `who` (`dev`, or the add-on's label); a message
    /// of several lines is printed as several lines, each with the prefix.
    pub fn from(&self, who: &str, level: Level, message: &str) {
        let clock = clock();
        let mut text = String::with_capacity(message.len() + 32);
        for line in message.lines() {
            text.push_str(&render(who, level, line, &clock, self.colour));
            text.push('\n');
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the dev loop.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Prints one line of `connect dev`'s own.
    pub fn line(&self, level: Level, message: &str) {
        self.from(DEV, level, message);
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
        let mut text = String::new();
        for l in lines {
            if self.colour && !l.is_empty() {
                text.push_str(&format!("\x1b[1m{l}\x1b[0m\n"));
            } else {
                text.push_str(l);
                text.push('\n');
            }
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// `HH:MM:SS.mmm` now, in the machine's time zone.
pub fn clock() -> String {
    static ZONE: OnceLock<jiff::tz::TimeZone> = OnceLock::new();
    let zone = ZONE.get_or_init(jiff::tz::TimeZone::system);
    jiff::Timestamp::now()
        .to_zoned_datetime(zone.clone())
        .strftime("%H:%M:%S%.3f")
        .to_string()
}

/// One line (pure).
pub fn render(who: &str, level: Level, message: &str, clock: &str, colour: bool) -> String {
    if !colour {
        return format!("[{clock}] {who}: {message}");
    }
    let code = match level {
        Level::Info if who == DEV => "36",
        Level::Info => "35",
        Level::Good => "32",
        Level::Warn => "33",
        Level::Error => "31",
    };
    format!("\x1b[2m[{clock}]\x1b[0m \x1b[{code}m{who}:\x1b[0m {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_shows_hours_minutes_seconds_and_milliseconds() {
        let clock = clock();
        assert_eq!(clock.len(), 12, "{clock}");
        assert_eq!(&clock[2..3], ":");
        assert_eq!(&clock[8..9], ".");
    }

    #[test]
    fn plain_lines_carry_no_escape_codes() {
        let line = render(DEV, Level::Error, "crashed", "01:02:03.045", false);
        assert_eq!(line, "[01:02:03.045] dev: crashed");
        let line = render("node", Level::Info, "listening", "01:02:03.045", false);
        assert_eq!(line, "[01:02:03.045] node: listening");
    }

    #[test]
    fn coloured_lines_colour_by_level() {
        let line = render(DEV, Level::Error, "crashed", "t", true);
        assert!(line.contains("\x1b[31mdev:"), "{line:?}");
        assert!(line.ends_with(" crashed"));
    }
}
