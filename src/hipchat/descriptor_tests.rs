use super::*;
use serde_json::json;

fn seed() -> Value {
    json!({
        "key": "com.example.blogsearch",
        "name": "Blog search",
        "links": {"self": "http://localhost:3000/atlassian-connect.json"},
        "capabilities": {
            "hipchatApiConsumer": {"scopes": ["send_notification"], "fromName": "Blog"},
            "installable": {"callbackUrl": "http://localhost:3000/installable"},
            "webhook": {"url": "http://localhost:3000/webhook", "event": "room_message",
                        "pattern": "^/hascode", "name": "Search", "authentication": "jwt"}
        }
    })
}

fn parse(value: Value) -> Result<Descriptor, DescriptorError> {
    Descriptor::parse(&value.to_string())
}

#[test]
fn parses_the_seed_descriptor() {
    let d = parse(seed()).expect("valid");
    assert_eq!(d.key, "com.example.blogsearch");
    assert_eq!(d.scopes, vec!["send_notification"]);
    assert_eq!(d.callback_url, "http://localhost:3000/installable");
    assert!(d.allow_room && d.allow_global);
    let hooks: Vec<_> = d.room_message_webhooks().collect();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].pattern.as_deref(), Some("^/hascode"));
    assert_eq!(hooks[0].authentication, WebhookAuth::Jwt);
}

#[test]
fn accepts_modules_as_an_alias_of_capabilities() {
    let mut v = seed();
    let caps = v["capabilities"].take();
    v["modules"] = caps;
    v.as_object_mut().expect("object").remove("capabilities");
    assert_eq!(parse(v).expect("valid").webhooks.len(), 1);
}

#[test]
fn accepts_an_array_of_webhooks_and_defaults_authentication_to_none() {
    let mut v = seed();
    v["capabilities"]["webhook"] = json!([
        {"url": "http://a/1", "event": "room_message", "pattern": "^/a"},
        {"url": "http://a/2", "event": "room_enter"}
    ]);
    let d = parse(v).expect("valid");
    assert_eq!(d.webhooks.len(), 2);
    assert_eq!(d.webhooks[0].authentication, WebhookAuth::None);
    assert_eq!(d.room_message_webhooks().count(), 1);
}

#[test]
fn names_each_missing_required_field() {
    let cases = [
        ("/key", "`key` is missing"),
        ("/name", "`name` is missing"),
        ("/links/self", "`links.self` is missing"),
        (
            "/capabilities/installable/callbackUrl",
            "`capabilities.installable.callbackUrl` is missing",
        ),
        (
            "/capabilities/hipchatApiConsumer/scopes",
            "`capabilities.hipchatApiConsumer.scopes` is missing",
        ),
        (
            "/capabilities/webhook/url",
            "`capabilities.webhook.url` is missing",
        ),
    ];
    for (pointer, expected) in cases {
        let mut v = seed();
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let parent = if parent.is_empty() {
            &mut v
        } else {
            v.pointer_mut(parent).expect("parent")
        };
        parent.as_object_mut().expect("object").remove(key);
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains(expected), "{pointer}: {err}");
    }
}

#[test]
fn rejects_a_bad_pattern_a_bad_authentication_and_a_relative_url() {
    let mut v = seed();
    v["capabilities"]["webhook"]["pattern"] = json!("^(/hascode");
    let err = parse(v).unwrap_err().to_string();
    assert!(err.contains("capabilities.webhook.pattern"), "{err}");

    let mut v = seed();
    v["capabilities"]["webhook"]["authentication"] = json!("basic");
    let err = parse(v).unwrap_err().to_string();
    assert!(err.contains("capabilities.webhook.authentication"), "{err}");

    let mut v = seed();
    v["capabilities"]["installable"]["callbackUrl"] = json!("/installable");
    let err = parse(v).unwrap_err().to_string();
    assert!(err.contains("not an absolute URL"), "{err}");
}

#[test]
fn rejects_an_unsubstituted_placeholder_and_non_json() {
    let text = seed()
        .to_string()
        .replace("http://localhost:3000", BASE_URL_PLACEHOLDER);
    let err = Descriptor::parse(&text).unwrap_err().to_string();
    assert!(err.contains("substitute the base URL"), "{err}");
    assert!(matches!(
        Descriptor::parse("<html>"),
        Err(DescriptorError::NotJson(_))
    ));
    assert!(Descriptor::parse("[]").is_err());
}

#[test]
fn substitutes_every_placeholder_without_doubling_slashes() {
    let raw = r#"{"a": "{{localBaseUrl}}/x", "b": "{{localBaseUrl}}"}"#;
    let out = substitute_base_url(raw, "https://abc.example/prefix/");
    assert_eq!(
        out,
        r#"{"a": "https://abc.example/prefix/x", "b": "https://abc.example/prefix"}"#
    );
}

#[test]
fn substitution_of_the_seed_descriptor_yields_a_valid_one() {
    let text = seed()
        .to_string()
        .replace("http://localhost:3000", BASE_URL_PLACEHOLDER);
    let d = Descriptor::parse(&substitute_base_url(&text, "http://127.0.0.1:4000")).expect("valid");
    assert_eq!(d.callback_url, "http://127.0.0.1:4000/installable");
}

#[test]
fn matches_messages_with_hipchats_case_insensitive_flag() {
    let hook = Webhook::from_json(&json!({"url": "http://a/w", "event": "room_message",
                                          "pattern": "(?i)^/HASCODE"}))
    .expect("valid");
    assert!(hook.matches("/hascode rust"));
    assert!(!hook.matches("say /hascode"));
    let any =
        Webhook::from_json(&json!({"url": "http://a/w", "event": "room_message"})).expect("valid");
    assert!(any.matches("anything"));
    assert!(Webhook::from_json(&json!({"event": "room_message"})).is_err());
}

#[test]
fn checks_requested_scopes_against_the_declared_ones() {
    let d = parse(seed()).expect("valid");
    assert!(d.allows_scopes(&["send_notification"]));
    assert!(!d.allows_scopes(&["send_notification", "admin_room"]));
}

#[test]
fn an_unknown_scope_is_named_with_the_closest_one() {
    let mut v = seed();
    v["capabilities"]["hipchatApiConsumer"]["scopes"] = json!(["send_notification", "view_rooms"]);
    let err = parse(v).expect_err("an unknown scope").to_string();
    assert!(
        err.contains("`capabilities.hipchatApiConsumer.scopes[1]`"),
        "{err}"
    );
    assert!(err.contains("did you mean \"view_room\""), "{err}");
}

#[test]
fn a_misspelt_capability_is_an_error_and_other_keys_are_left_alone() {
    let mut v = seed();
    v["capabilities"]["glances"] = json!([]);
    let err = parse(v).expect_err("a typo").to_string();
    assert!(err.contains("`capabilities.glances`"), "{err}");
    assert!(err.contains("did you mean \"glance\""), "{err}");
    let mut v = seed();
    v["capabilities"]["vendorExtension"] = json!({"anything": 1});
    assert!(parse(v).is_ok());
}

#[test]
fn every_bad_ui_module_field_is_listed_in_the_error() {
    let mut v = seed();
    v["capabilities"]["glance"] =
        json!([{"key": "g", "name": {"value": "G"}, "target": "nowhere"}]);
    v["capabilities"]["webPanel"] = json!([{"key": "p", "url": "http://localhost:3000/p"}]);
    let err = parse(v).expect_err("invalid modules");
    let DescriptorError::Modules(errors) = &err else {
        panic!("not a modules error: {err}");
    };
    assert_eq!(errors.len(), 2, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("invalid descriptor: 2 problems: "),
        "{text}"
    );
    assert!(
        text.contains("`capabilities.webPanel[0].name` is missing"),
        "{text}"
    );
    assert!(text.contains("\"nowhere\""), "{text}");
}
