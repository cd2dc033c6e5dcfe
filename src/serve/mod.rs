//! `connect serve`: the blog-search add-on server.

pub mod store;

/// Arguments of `connect serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Runs `connect serve`.
pub fn run(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`connect serve` is being written")
}
