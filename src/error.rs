//! How errors reach the user: every cause in the chain, and an exit code
//! that tells a usage mistake (2) from a failure (1).

use std::fmt;
use std::process::ExitCode;

/// A mistake in how the command was called (a bad flag value, an unknown
/// template, a missing required value). Exits with status 2, like clap's
/// own usage errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds a usage error wrapped in `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Prints `error: ...` and each `caused by: ...` to stderr and returns the
/// exit code for the error.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    exit_code(err)
}

/// The exit code for an error: 2 when any link of the chain is a
/// [`UsageError`], 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|cause| cause.is::<UsageError>()) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_anywhere_in_the_chain_exits_with_two() {
        let err = usage("unknown template `x`").context("while scaffolding");
        assert_eq!(exit_code(&err), ExitCode::from(2));
    }

    #[test]
    fn any_other_error_exits_with_one() {
        let err = anyhow::anyhow!("disk full");
        assert_eq!(exit_code(&err), ExitCode::from(1));
    }
}
