//! `connect new`: scaffold a project from the templates embedded in the binary.

/// Arguments of `connect new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {}

/// Runs `connect new`.
pub fn run(_args: NewArgs) -> anyhow::Result<()> {
    anyhow::bail!("`connect new` is being written")
}
