//! The room replies, rendered from the project's `templates/*.html` (tera,
//! autoescaped) with the context agreed in the project layout:
//!
//! - `reply.html`: `term`, `blog_url`, `tag_url`, `total`, `hits`, `more`, `omitted`
//!   (`blog_url` and `tag_url` are `""` when the source does not know them)
//! - `usage.html`: `command`, `blog_url`
//! - `unavailable.html`: `term`, `blog_url`
//!
//! Every reply fits HipChat's 10,000-character limit: hits are dropped
//! (and counted in `omitted`), then an overlong term is shortened.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tera::{Context, Tera};

use super::search::Hit;

/// HipChat's limit on a notification's `message`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// The template files a project provides.
pub const TEMPLATE_FILES: [&str; 3] = ["reply.html", "usage.html", "unavailable.html"];

/// A template that cannot be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The file cannot be read.
    #[error("cannot read the reply template {}: {source}; restore it (e.g. from a project made by `connect new`)", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Tera refused the template or failed to render it.
    #[error("reply template `{name}`: {message}")]
    Template {
        /// The template's file name.
        name: String,
        /// Tera's explanation, every cause included.
        message: String,
    },
    /// Even with no hits and a shortened term, the message is too long.
    #[error(
        "reply template `{0}` renders more than {MAX_MESSAGE_CHARS} characters even with no hits; shorten it"
    )]
    TooLong(String),
}

/// What to tell the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyKind<'a> {
    /// The command came without a term.
    Usage {
        /// The command as typed, e.g. `/hascode`.
        command: &'a str,
    },
    /// Search results.
    Results {
        /// The term searched.
        term: &'a str,
        /// The blog's page for the term (`""` when unknown).
        tag_url: &'a str,
        /// The first articles the blog found, in its order.
        hits: &'a [Hit],
        /// How many it found in all (at least `hits.len()`).
        total: usize,
        /// How many hits to list at most.
        max_displayed: usize,
    },
    /// The search failed.
    Unavailable {
        /// The term searched.
        term: &'a str,
    },
}

/// The project's reply templates, parsed once.
#[derive(Debug)]
pub struct Replies {
    tera: Tera,
}

#[derive(Serialize)]
struct ResultsContext<'a> {
    term: &'a str,
    blog_url: &'a str,
    tag_url: &'a str,
    total: usize,
    hits: &'a [&'a Hit],
    more: bool,
    omitted: usize,
}

impl Replies {
    /// Loads and checks the three templates from `dir`.
    pub fn load(dir: &Path) -> Result<Self, ReplyError> {
        if !dir.exists() {
            // A 2015 project moving over has no templates of its own: it
            // answers as a new project does until it gets some.
            tracing::info!(
                folder = %dir.display(),
                "no templates folder: answering with the built-in reply templates (`connect new` writes them out for editing)"
            );
            let builtin = TEMPLATE_FILES
                .iter()
                .map(|name| {
                    let text =
                        crate::new::builtin_file(&format!("templates/{name}")).unwrap_or_default();
                    (*name, text.to_owned())
                })
                .collect();
            return Self::from_sources(builtin);
        }
        let mut sources = Vec::with_capacity(TEMPLATE_FILES.len());
        for name in TEMPLATE_FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .map_err(|source| ReplyError::Unreadable { path, source })?;
            sources.push((name, text));
        }
        Self::from_sources(sources)
    }

    /// Parses templates given as `(file name, text)` and renders each once
    /// with sample values, so a broken template stops the server at start
    /// rather than failing in a room.
    pub fn from_sources(sources: Vec<(&'static str, String)>) -> Result<Self, ReplyError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        // Tera's default also escapes '/', which only lengthens URLs.
        tera.set_escape_fn(escape_html);
        for (name, text) in &sources {
            tera.add_raw_template(name, text)
                .map_err(|e| template_error(name, &e))?;
        }
        let replies = Self { tera };
        let sample = [Hit {
            title: "Sample".into(),
            url: "https://example.com/a".into(),
        }];
        let blog = "https://example.com";
        replies.render(
            blog,
            &ReplyKind::Usage {
                command: "/command",
            },
        )?;
        replies.render(blog, &ReplyKind::Unavailable { term: "sample" })?;
        replies.render(
            blog,
            &ReplyKind::Results {
                term: "sample",
                tag_url: blog,
                hits: &sample,
                total: 2,
                max_displayed: 1,
            },
        )?;
        Ok(replies)
    }

    /// Renders a reply of at most [`MAX_MESSAGE_CHARS`] characters.
    pub fn render(&self, blog_url: &str, kind: &ReplyKind<'_>) -> Result<String, ReplyError> {
        let blog_url = if is_web_url(blog_url) { blog_url } else { "" };
        match *kind {
            ReplyKind::Usage { command } => {
                let mut ctx = Context::new();
                ctx.insert("command", command);
                ctx.insert("blog_url", blog_url);
                self.fitting("usage.html", &ctx)
            }
            ReplyKind::Unavailable { term } => shorten_term(term, |term| {
                let mut ctx = Context::new();
                ctx.insert("term", term);
                ctx.insert("blog_url", blog_url);
                self.fitting("unavailable.html", &ctx)
            }),
            ReplyKind::Results {
                term,
                tag_url,
                hits,
                total,
                max_displayed,
            } => shorten_term(term, |term| {
                self.results(term, blog_url, tag_url, hits, total, max_displayed)
            }),
        }
    }

    fn results(
        &self,
        term: &str,
        blog_url: &str,
        tag_url: &str,
        hits: &[Hit],
        total: usize,
        max_displayed: usize,
    ) -> Result<String, ReplyError> {
        let tag_url = if is_web_url(tag_url) { tag_url } else { "" };
        let total = total.max(hits.len());
        let shown: Vec<&Hit> = hits
            .iter()
            .filter(|h| is_web_url(&h.url))
            .take(max_displayed)
            .collect();
        let render = |count: usize| {
            let ctx = ResultsContext {
                term,
                blog_url,
                tag_url,
                total,
                hits: &shown[..count],
                more: total > count,
                omitted: shown.len() - count,
            };
            let ctx =
                Context::from_serialize(&ctx).map_err(|e| template_error("reply.html", &e))?;
            self.raw("reply.html", &ctx)
        };
        let full = render(shown.len())?;
        if chars(&full) <= MAX_MESSAGE_CHARS {
            return Ok(full);
        }
        // Binary search for the most hits that fit; fewer hits never make
        // the message longer.
        let (mut fits, mut too_many) = (None, shown.len());
        let mut low = 0;
        while low < too_many {
            let mid = low + (too_many - low) / 2;
            let text = render(mid)?;
            if chars(&text) <= MAX_MESSAGE_CHARS {
                fits = Some(text);
                low = mid + 1;
            } else {
                too_many = mid;
            }
        }
        fits.ok_or_else(|| ReplyError::TooLong("reply.html".into()))
    }

    fn fitting(&self, name: &str, ctx: &Context) -> Result<String, ReplyError> {
        let text = self.raw(name, ctx)?;
        if chars(&text) > MAX_MESSAGE_CHARS {
            return Err(ReplyError::TooLong(name.into()));
        }
        Ok(text)
    }

    fn raw(&self, name: &str, ctx: &Context) -> Result<String, ReplyError> {
        let text = self
            .tera
            .render(name, ctx)
            .map_err(|e| template_error(name, &e))?;
        Ok(text.trim().to_string())
    }
}

/// Renders with the whole term, then with ever shorter ones while the
/// result is too long.
fn shorten_term(
    term: &str,
    render: impl Fn(&str) -> Result<String, ReplyError>,
) -> Result<String, ReplyError> {
    let mut keep = chars(term);
    loop {
        let shortened: String = if keep == chars(term) {
            term.to_string()
        } else {
            term.chars()
                .take(keep)
                .chain(std::iter::once('…'))
                .collect()
        };
        match render(&shortened) {
            Err(ReplyError::TooLong(name)) if keep == 0 => return Err(ReplyError::TooLong(name)),
            Err(ReplyError::TooLong(_)) => keep /= 2,
            other => return other,
        }
    }
}

/// Whether `url` is an absolute http(s) URL (anything else, `javascript:`
/// included, never reaches a room).
pub fn is_web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

fn template_error(name: &str, err: &tera::Error) -> ReplyError {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ReplyError::Template {
        name: name.into(),
        message,
    }
}

#[cfg(test)]
mod tests;
