//! `connect new`: create an add-on project from a template embedded in the
//! binary, offline.
//!
//! The order matters: gather and check every value (asking only when a
//! person can answer), render every file in memory, check the target, and
//! only then write, so a mistake anywhere leaves the disk untouched.

mod args;
mod git;
mod output;
mod prompts;
mod templates;
mod validate;
mod values;
mod write;

use std::io::IsTerminal as _;

use anyhow::Context as _;

pub use args::NewArgs;
pub use templates::builtin_file;

/// Runs `connect new`.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    if args.list {
        return output::print(&output::list(&templates::all()?));
    }
    let template = templates::find(&args.template)?;
    let given = values::Given {
        name: args.name,
        key: args.key,
        description: args.description,
        vendor: args.vendor,
        vendor_url: args.vendor_url,
    }
    .merge(&args.define)?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;

    let stderr_is_terminal = std::io::stderr().is_terminal();
    let ci = std::env::var_os("CI");
    let ask = prompts::may_ask(
        args.yes,
        std::io::stdin().is_terminal(),
        stderr_is_terminal,
        ci.as_deref(),
    );
    let (location, values) = if ask {
        prompts::ask(&given, &template.defaults, &cwd, args.force)?
    } else {
        values::resolve(&given, &template.defaults, &cwd)?
    };

    let progress = output::Progress::new(stderr_is_terminal);
    progress.step("Rendering the template");
    let files = template.render(&values)?;
    let plan = write::plan(&location.dir, files, args.force)?;
    progress.step("Writing the project");
    let written = plan.apply()?;
    let full_path =
        std::fs::canonicalize(&location.dir).unwrap_or_else(|_| cwd.join(&location.dir));
    let git = if args.no_git {
        git::Outcome::NotWanted
    } else {
        progress.step("Running git init");
        git::init(&full_path)
    };
    drop(progress);

    output::print(&output::summary(&location, &full_path, &written, &git))
}
