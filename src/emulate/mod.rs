//! `connect emulate`: a local HipChat for trying and testing add-ons.

/// Arguments of `connect emulate`.
#[derive(Debug, clap::Args)]
pub struct EmulateArgs {}

/// Runs `connect emulate`.
pub fn run(_args: EmulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("`connect emulate` is being written")
}
