//! The `connect` binary: parse the command line, run it, report errors.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = connect::cli::Cli::parse();
    connect::run(cli)
}
