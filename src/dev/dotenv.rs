//! The project's `.env`: variables for the add-on, read (with dotenvy) at
//! every start, so an edit reaches the next start. The real environment
//! wins over the file; `PORT` is always the port `connect dev` gives the
//! add-on. Values are never printed or logged, not even in errors.

use std::path::Path;

/// The file's name inside the project.
pub const FILE: &str = ".env";

/// Variables `connect dev` sets itself, whatever `.env` says.
const OURS: &[&str] = &["PORT", "LISTEN_FDS", "LISTEN_PID", "CONNECT_DEV"];

/// The variables of `project/.env` the add-on gets (those the real
/// environment, given by `is_set`, does not already set). No file: none.
pub fn load(
    project: &Path,
    is_set: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, String> {
    let path = project.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse(&text, is_set).map_err(|why| format!("{}: {why}", path.display()))
}

/// Parses `.env` text (pure; see [`load`]).
pub fn parse(text: &str, is_set: impl Fn(&str) -> bool) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                if !OURS.contains(&key.as_str()) && !is_set(&key) {
                    vars.push((key, value));
                }
            }
            // The line itself may hold a secret: name it by number only.
            Err(dotenvy::Error::LineParse(line, _)) => {
                let number = text
                    .lines()
                    .position(|l| l == line || l.trim() == line.trim())
                    .map_or_else(|| "a line".to_string(), |n| format!("line {}", n + 1));
                return Err(format!(
                    "{number} is not KEY=VALUE (quote values with spaces or special characters: KEY=\"a value\")"
                ));
            }
            Err(other) => return Err(format!("cannot be read ({})", describe(&other))),
        }
    }
    Ok(vars)
}

fn describe(err: &dotenvy::Error) -> &'static str {
    match err {
        dotenvy::Error::Io(_) => "an I/O error",
        dotenvy::Error::EnvVar(_) => "a variable it uses is not valid",
        _ => "a syntax error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_values_with_quotes_comments_and_exports() {
        let text =
            "# settings\nSEARCH_HOST=http://127.0.0.1:8081\nexport TOKEN='s3 cret'\nEMPTY=\n";
        let vars = parse(text, |_| false).unwrap();
        assert_eq!(
            vars,
            vec![
                ("SEARCH_HOST".into(), "http://127.0.0.1:8081".into()),
                ("TOKEN".into(), "s3 cret".into()),
                ("EMPTY".into(), String::new()),
            ]
        );
    }

    #[test]
    fn the_real_environment_and_connect_devs_own_variables_win() {
        let vars = parse("A=file\nB=file\nPORT=1\n", |k| k == "A").unwrap();
        assert_eq!(vars, vec![("B".into(), "file".into())]);
    }

    #[test]
    fn a_bad_line_is_named_by_number_without_its_content() {
        let err = parse("OK=1\nTHIS IS s3cret\n", |_| false).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn no_file_means_no_variables() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), |_| false).unwrap(), vec![]);
    }
}
