//! The command line of `connect new`.

use clap::Args;

use super::templates;
use super::values::{Define, parse_define};

/// Examples shown at the end of `connect new --help`.
const EXAMPLES: &str = "\
Examples:
  connect new -t hipchat blogsearch
      Create ./blogsearch, asking for anything not given when run in a terminal.
  connect new -t hipchat blogsearch --yes
      Take the defaults for everything not given; never ask.
  connect new blogsearch --key com.acme.blogsearch --vendor Acme --vendor-url https://acme.example
  connect new addons/blogsearch -d description='Search our blog'
      NAME may be a path: the project is created there and named after its last part.
  connect new . --force
      Write the template into the current directory (named after it), keeping other files.
  connect new --list

Values not given on the command line are asked for when standard input and
standard error are terminals and CI is not set; otherwise their defaults are
used, and a value without a default is an error naming its flag.";

/// Arguments of `connect new`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct NewArgs {
    /// The project's name, which is also its directory; or a path whose last
    /// part is the name (e.g. `addons/blogsearch`); `.` uses the current
    /// directory. Letters, digits, `-`, `_` and `.`; starts with a letter or
    /// digit.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// The template to create the project from (see `--list`).
    #[arg(
        short,
        long,
        value_name = "TEMPLATE",
        default_value = templates::DEFAULT,
        value_parser = clap::builder::PossibleValuesParser::new(templates::names()),
    )]
    pub template: String,

    /// List the templates, one a line, and exit.
    #[arg(long, exclusive = true)]
    pub list: bool,

    /// The add-on key: reverse-DNS, lowercase, unique among add-ons
    /// [default: com.example.NAME, if NAME is only lowercase letters,
    /// digits, `-` and `_`; otherwise it must be given].
    #[arg(long, value_name = "KEY", help_heading = "Values")]
    pub key: Option<String>,

    /// One line describing the add-on [default: set by the template].
    #[arg(long, value_name = "TEXT", help_heading = "Values")]
    pub description: Option<String>,

    /// The vendor's name, shown with the add-on [default: Example].
    #[arg(long, value_name = "VENDOR", help_heading = "Values")]
    pub vendor: Option<String>,

    /// The vendor's web site, an http(s) URL; also the add-on's homepage
    /// [default: https://example.com].
    #[arg(long, value_name = "URL", help_heading = "Values")]
    pub vendor_url: Option<String>,

    /// Set a value by name: name, key, description, vendor, vendor-url.
    /// Repeatable; the same as the flag of that name.
    #[arg(
        short = 'd',
        long = "define",
        value_name = "KEY=VALUE",
        value_parser = parse_define,
        help_heading = "Values"
    )]
    pub define: Vec<Define>,

    /// Write into a directory that is not empty. Only the template's own
    /// files are overwritten; nothing is ever deleted.
    #[arg(short, long)]
    pub force: bool,

    /// Don't create a git repository. By default the project gets `git init`
    /// (nothing staged or committed), unless it is inside a repository
    /// already or git is not installed.
    #[arg(long)]
    pub no_git: bool,

    /// Never ask: use the defaults for every value not given.
    #[arg(short, long)]
    pub yes: bool,
}
