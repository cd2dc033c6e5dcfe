//! The ngrok agent's local API (`GET /api/tunnels`, newer agents also
//! `/api/endpoints`): where the public URL is read when the log does not
//! say it.

use std::time::Duration;

use serde_json::Value;

/// The first public URL in an `/api/tunnels` or `/api/endpoints` reply
/// that forwards to `port` (pure). https is preferred over http.
pub fn public_url(body: &str, port: u16) -> Option<String> {
    let doc: Value = serde_json::from_str(body).ok()?;
    let items = doc
        .get("tunnels")
        .or_else(|| doc.get("endpoints"))?
        .as_array()?;
    let ours = |item: &&Value| {
        let addr = item
            .pointer("/config/addr")
            .or_else(|| item.pointer("/upstream/url"))
            .and_then(Value::as_str);
        // Another agent on this machine may tunnel another port.
        addr.is_none_or(|a| a.trim_end_matches('/').ends_with(&format!(":{port}")))
    };
    let url = |item: &Value| {
        item.get("public_url")
            .or_else(|| item.get("url"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let candidates: Vec<String> = items.iter().filter(ours).filter_map(url).collect();
    candidates
        .iter()
        .find(|u| u.starts_with("https://"))
        .or_else(|| candidates.iter().find(|u| u.starts_with("http://")))
        .cloned()
}

/// Asks the agent at `addr` (`host:port`) for the public URL of `port`.
pub async fn fetch(client: &reqwest::Client, addr: &str, port: u16) -> Option<String> {
    for path in ["/api/tunnels", "/api/endpoints"] {
        let reply = client
            .get(format!("http://{addr}{path}"))
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .ok()?;
        if !reply.status().is_success() {
            continue;
        }
        if let Some(url) = public_url(&reply.text().await.ok()?, port) {
            return Some(url);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_https_tunnel_of_our_port() {
        let body = r#"{"tunnels":[
            {"public_url":"http://a.ngrok.io","proto":"http","config":{"addr":"http://localhost:3000"}},
            {"public_url":"https://a.ngrok.io","proto":"https","config":{"addr":"http://localhost:3000"}}]}"#;
        assert_eq!(
            public_url(body, 3000).as_deref(),
            Some("https://a.ngrok.io")
        );
    }

    #[test]
    fn skips_tunnels_to_other_ports() {
        let body = r#"{"tunnels":[{"public_url":"https://other.ngrok.io","config":{"addr":"http://localhost:8080"}}]}"#;
        assert_eq!(public_url(body, 3000), None);
    }

    #[test]
    fn reads_the_endpoints_api_of_newer_agents() {
        let body = r#"{"endpoints":[{"url":"https://e.ngrok.app","upstream":{"url":"http://localhost:3000"}}]}"#;
        assert_eq!(
            public_url(body, 3000).as_deref(),
            Some("https://e.ngrok.app")
        );
    }

    #[test]
    fn empty_or_foreign_replies_give_nothing() {
        assert_eq!(public_url(r#"{"tunnels":[]}"#, 3000), None);
        assert_eq!(public_url("<html>", 3000), None);
    }
}
