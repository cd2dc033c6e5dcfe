//! The forwarding origins: one name under `localhost` per add-on origin,
//! and which pages may frame what they serve.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::super::server::AppState;

/// Forwarding names and the add-on origins behind them.
#[derive(Debug, Default, Clone)]
pub struct Origins {
    inner: Arc<Mutex<HashMap<String, String>>>,
}

impl Origins {
    /// The name for `upstream`'s origin (given once, kept for the
    /// emulator's life): from the add-on key, made a DNS label.
    pub fn register(&self, key: &str, upstream: &url::Url) -> String {
        let origin = upstream.origin().ascii_serialization();
        let mut slugs = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((slug, _)) = slugs.iter().find(|(_, o)| **o == origin) {
            return slug.clone();
        }
        let base = label_of(key);
        let mut slug = base.clone();
        let mut n = 2;
        while slugs.contains_key(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        slugs.insert(slug.clone(), origin);
        slug
    }

    /// The add-on origin behind a name.
    pub fn upstream(&self, slug: &str) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
            .cloned()
    }
}

/// `com.example.Blog_Search` -> `com-example-blog-search` (at most 50
/// characters, never empty).
pub fn label_of(key: &str) -> String {
    let mut label = String::new();
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.ends_with('-') && !label.is_empty() {
            label.push('-');
        }
    }
    let label: String = label.trim_end_matches('-').chars().take(50).collect();
    let label = label.trim_end_matches('-').to_owned();
    if label.is_empty() {
        "addon".to_owned()
    } else {
        label
    }
}

/// The forwarding name in a `Host` header (`name.localhost:8080`).
pub fn slug_of_host(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let label = name.strip_suffix(".localhost")?;
    (!label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then_some(label)
}

/// The origin browsers use for a forwarding name, on the port the page
/// was reached at (`request_host` is the page request's `Host`).
pub fn forwarding_origin(slug: &str, request_host: &str) -> String {
    match request_host.rsplit_once(':') {
        Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
            format!("http://{slug}.localhost:{port}")
        }
        _ => format!("http://{slug}.localhost"),
    }
}

/// `url` of the add-on, as reached through the forwarding origin.
pub fn forwarded_url(url: &url::Url, origin: &str) -> String {
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    format!("{origin}{path}")
}

/// The policy that lets only the emulator's page (on the port the
/// forwarding origin was reached at) and the add-on's own pages frame an
/// add-on page.
pub fn frame_ancestors(state: &AppState, request_host: &str) -> String {
    let port = request_host
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or(String::new(), |(_, p)| format!(":{p}"));
    // CSP has no way to write an IPv6 address: a page opened at [::1]
    // cannot frame add-on pages.
    let mut sources = vec!["'self'".to_owned()];
    for name in ["localhost", "127.0.0.1"] {
        sources.push(format!("http://{name}{port}"));
    }
    if let Ok(chat) = url::Url::parse(&state.chat_url)
        && !matches!(chat.host(), Some(url::Host::Ipv6(_)))
    {
        sources.push(chat.origin().ascii_serialization());
    }
    for name in state.hosts.names() {
        if name.parse::<std::net::IpAddr>().is_err() || name.parse::<std::net::Ipv4Addr>().is_ok() {
            sources.push(format!("http://{name}{port}"));
        }
    }
    sources.dedup();
    format!("frame-ancestors {}", sources.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_add_on_keys_and_stay_dns_labels() {
        assert_eq!(
            label_of("com.example.Blog_Search"),
            "com-example-blog-search"
        );
        assert_eq!(label_of("..."), "addon");
        assert_eq!(label_of(&"x".repeat(80)).len(), 50);
        let origins = Origins::default();
        let a = url::Url::parse("http://127.0.0.1:3000/sidebar").expect("a URL");
        let b = url::Url::parse("http://127.0.0.1:4000/sidebar").expect("a URL");
        assert_eq!(origins.register("com.example.a", &a), "com-example-a");
        assert_eq!(
            origins.register("com.example.a", &a),
            "com-example-a",
            "one name per origin"
        );
        assert_eq!(origins.register("com.example.a", &b), "com-example-a-2");
        assert_eq!(
            origins.upstream("com-example-a-2").as_deref(),
            Some("http://127.0.0.1:4000")
        );
    }

    #[test]
    fn forwarding_names_are_read_from_the_host_header() {
        assert_eq!(
            slug_of_host("com-example-a.localhost:8080"),
            Some("com-example-a")
        );
        assert_eq!(
            slug_of_host("com-example-a.localhost"),
            Some("com-example-a")
        );
        assert_eq!(slug_of_host("localhost:8080"), None);
        assert_eq!(slug_of_host("127.0.0.1:8080"), None);
        assert_eq!(slug_of_host("a.b.localhost:8080"), None);
        assert_eq!(
            forwarding_origin("x", "127.0.0.1:8080"),
            "http://x.localhost:8080"
        );
        let url =
            url::Url::parse("http://127.0.0.1:3000/sidebar?signed_request=t#top").expect("a URL");
        assert_eq!(
            forwarded_url(&url, "http://x.localhost:8080"),
            "http://x.localhost:8080/sidebar?signed_request=t#top"
        );
    }
}
