//! HTML of add-on pages as the emulator passes it on: HipChat's script and
//! stylesheet pointed at the emulator's copies, the add-on's absolute
//! links at its forwarding origin.

/// Whether `src` is HipChat's API script or stylesheet; gives the file name
/// (`all.js`, `all-debug.js`, `all.css`, `all-debug.css`).
pub fn hipchat_asset(src: &str) -> Option<&'static str> {
    let base = url::Url::parse("http://page.invalid/").ok()?;
    let url = base.join(src.trim()).ok()?;
    let host = url.host_str()?;
    if !(host == "hipchat.com" || host.ends_with(".hipchat.com")) {
        return None;
    }
    match url.path() {
        "/atlassian-connect/all.js" => Some("all.js"),
        "/atlassian-connect/all-debug.js" => Some("all-debug.js"),
        "/atlassian-connect/all.css" => Some("all.css"),
        "/atlassian-connect/all-debug.css" => Some("all-debug.css"),
        _ => None,
    }
}

/// Points HipChat's script and stylesheet at the emulator's copies (served
/// on the forwarding origin itself) and the add-on's absolute links at the
/// forwarding origin.
pub fn rewrite_page(html: &[u8], upstream: &str, proxy_origin: &str) -> Result<Vec<u8>, String> {
    let swap = |value: &str| -> Option<String> {
        if let Some(file) = hipchat_asset(value) {
            return Some(format!("{proxy_origin}/atlassian-connect/{file}"));
        }
        let rest = value.strip_prefix(upstream)?;
        (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
            .then(|| format!("{proxy_origin}{rest}"))
    };
    let attribute = |name: &'static str| {
        move |el: &mut lol_html::html_content::Element<'_, '_, _>| {
            if let Some(value) = el.get_attribute(name)
                && let Some(new) = swap(&value)
            {
                el.set_attribute(name, &new)?;
            }
            Ok(())
        }
    };
    let mut settings = lol_html::Settings::new()
        .with_strict(false)
        .with_enable_esi_tags(false)
        .with_adjust_charset_on_meta_tag(true);
    for (selector, name) in [
        ("script[src]", "src"),
        ("link[href]", "href"),
        ("a[href]", "href"),
        ("img[src]", "src"),
        ("iframe[src]", "src"),
        ("form[action]", "action"),
    ] {
        settings =
            settings.append_element_content_handler(lol_html::element!(selector, attribute(name)));
    }
    let mut out = Vec::with_capacity(html.len() + 64);
    let mut rewriter =
        lol_html::HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
    rewriter.write(html).map_err(|e| e.to_string())?;
    rewriter.end().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hipchats_script_is_recognised_however_it_is_written() {
        for src in [
            "//www.hipchat.com/atlassian-connect/all.js",
            "https://www.hipchat.com/atlassian-connect/all.js?v=2",
            "http://hipchat.com/atlassian-connect/all.js",
        ] {
            assert_eq!(hipchat_asset(src), Some("all.js"), "{src}");
        }
        assert_eq!(
            hipchat_asset("//www.hipchat.com/atlassian-connect/all-debug.js"),
            Some("all-debug.js")
        );
        assert_eq!(
            hipchat_asset("//www.hipchat.com/atlassian-connect/all.css"),
            Some("all.css")
        );
        assert_eq!(hipchat_asset("/atlassian-connect/all.js"), None);
        assert_eq!(
            hipchat_asset("//evil-hipchat.com.example/atlassian-connect/all.js"),
            None
        );
        assert_eq!(hipchat_asset("//www.hipchat.com/other.js"), None);
    }

    #[test]
    fn pages_get_the_emulators_script_and_stay_on_their_forwarding_origin() {
        let html = br#"<!doctype html><html><head>
<link rel="stylesheet" href="//www.hipchat.com/atlassian-connect/all.css">
<script src="//www.hipchat.com/atlassian-connect/all.js"></script>
<script src="http://127.0.0.1:3000/js/addon.js"></script>
<script src="/js/local.js"></script>
</head><body><a href="http://127.0.0.1:3000?x=1">home</a><a href="http://127.0.0.1:30001/">other</a>
<form action="http://127.0.0.1:3000/save"></form><p>//www.hipchat.com/atlassian-connect/all.js</p></body></html>"#;
        let out = rewrite_page(html, "http://127.0.0.1:3000", "http://a.localhost:8080")
            .expect("rewritten");
        let out = String::from_utf8(out).expect("UTF-8");
        assert!(
            out.contains(
                r#"<script src="http://a.localhost:8080/atlassian-connect/all.js"></script>"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"href="http://a.localhost:8080/atlassian-connect/all.css""#),
            "{out}"
        );
        assert!(
            out.contains(r#"src="http://a.localhost:8080/js/addon.js""#),
            "{out}"
        );
        assert!(out.contains(r#"src="/js/local.js""#), "{out}");
        assert!(
            out.contains(r#"href="http://a.localhost:8080?x=1""#),
            "{out}"
        );
        assert!(
            out.contains(r#"href="http://127.0.0.1:30001/""#),
            "another port is another origin: {out}"
        );
        assert!(
            out.contains(r#"action="http://a.localhost:8080/save""#),
            "{out}"
        );
        assert!(
            out.contains("<p>//www.hipchat.com/atlassian-connect/all.js</p>"),
            "text is left alone: {out}"
        );
    }
}
