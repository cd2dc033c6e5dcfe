//! `connect dev`: run the add-on, restart it on change, optionally tunnel it.

/// Arguments of `connect dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {}

/// Runs `connect dev`.
pub fn run(_args: DevArgs) -> anyhow::Result<()> {
    anyhow::bail!("`connect dev` is being written")
}
