//! `connect`: the toolkit for building and running HipChat Connect add-ons,
//! and the reference add-on (a blog search) itself.
//!
//! Each verb lives in a module of its own; `main.rs` only parses arguments
//! and calls [`run`].

pub mod cli;
pub mod config;
pub mod dev;
pub mod emulate;
pub mod error;
pub mod hipchat;
pub mod logging;
pub mod net;
pub mod new;
pub mod serve;
pub mod store;
pub mod tls;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Runs one parsed command line and turns its outcome into an exit code:
/// 0 success, 1 error, 2 usage error.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::New(args) => new::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Emulate(args) => emulate::run(args),
        Command::Store(args) => store::run(args),
        Command::Completions(args) => cli::completions(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => error::report(&err),
    }
}
