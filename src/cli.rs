//! The command line: one subcommand per verb. Each verb's arguments live
//! beside its code; this file only assembles them.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

/// The toolkit for HipChat Connect add-ons, and the blog-search add-on itself.
#[derive(Debug, Parser)]
#[command(
    name = "connect",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:\n  connect new -t hipchat blogsearch\n  cd blogsearch && connect dev --tunnel\n  connect completions bash > /etc/bash_completion.d/connect"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new add-on project from a built-in template.
    New(crate::new::NewArgs),
    /// Run the add-on, restart it when the project changes, optionally tunnel it.
    Dev(crate::dev::DevArgs),
    /// Serve the blog-search add-on (the production server).
    Serve(crate::serve::ServeArgs),
    /// Run a local HipChat to install and chat with add-ons.
    Emulate(crate::emulate::EmulateArgs),
    /// List, export, import, copy or remove the installations a store holds.
    Store(crate::store::StoreArgs),
    /// Print a shell completion script to standard output.
    Completions(CompletionsArgs),
}

/// Which project, and which of its config.json stages: shared by the verbs
/// that run the add-on (`serve`, `dev`).
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The project folder (the one holding config.json).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub dir: PathBuf,
    /// The config.json stage to use [default: $NODE_ENV, else development].
    #[arg(long = "env", value_name = "STAGE")]
    pub stage: Option<String>,
}

/// Arguments of `connect completions`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  connect completions bash > ~/.local/share/bash-completion/completions/connect\n  connect completions zsh > ~/.zfunc/_connect\n  connect completions fish > ~/.config/fish/completions/connect.fish"
)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "connect", &mut std::io::stdout());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
