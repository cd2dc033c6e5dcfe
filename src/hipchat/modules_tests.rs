use super::*;
use serde_json::json;

/// The capabilities the 2016 template generated, with its base URL.
fn template() -> Value {
    json!({
        "hipchatApiConsumer": {"scopes": ["send_notification", "view_room"]},
        "installable": {"callbackUrl": "http://localhost:3000/installable"},
        "configurable": {"url": "http://localhost:3000/config"},
        "glance": [{
            "name": {"value": "Hello!"},
            "queryUrl": "http://localhost:3000/glance",
            "key": "sample.glance",
            "target": "sample.sidebar",
            "icon": {"url": "http://localhost:3000/img/logo.png", "url@2x": "http://localhost:3000/img/logo.png"}
        }],
        "webPanel": [{
            "key": "sample.sidebar",
            "name": {"value": "Hello Sidebar!"},
            "location": "hipchat.sidebar.right",
            "url": "http://localhost:3000/sidebar"
        }],
        "dialog": [{
            "key": "sample.dialog",
            "title": {"value": "Hello Dialog!"},
            "url": "http://localhost:3000/dialog",
            "options": {
                "style": "normal",
                "primaryAction": {"name": {"value": "Say Hello!"}, "key": "sample.dialog.action", "enabled": true},
                "size": {"width": "400px", "height": "200px"}
            }
        }],
        "action": [{
            "key": "sample.action",
            "name": {"value": "Open Hello Dialog!"},
            "target": "sample.dialog",
            "location": "hipchat.input.action"
        }]
    })
}

fn parse(caps: &Value) -> Result<Modules, Vec<ModuleError>> {
    Modules::parse(caps.as_object().expect("an object"), "capabilities")
}

fn fields(errors: &[ModuleError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn reads_every_module_of_the_2016_template() {
    let modules = parse(&template()).expect("valid");
    let kinds: Vec<(Kind, &str)> = modules
        .all
        .iter()
        .map(|m| (m.kind, m.key.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Kind::Configurable, "configurable"),
            (Kind::Glance, "sample.glance"),
            (Kind::WebPanel, "sample.sidebar"),
            (Kind::Dialog, "sample.dialog"),
            (Kind::Action, "sample.action"),
        ]
    );
    let glance = modules.get("sample.glance").expect("the glance");
    assert_eq!(glance.name, "Hello!");
    assert_eq!(glance.url.as_deref(), Some("http://localhost:3000/glance"));
    assert_eq!(
        glance.target.as_ref().map(|t| t.key.as_str()),
        Some("sample.sidebar")
    );
    assert!(glance.icon.is_some());
    let dialog = modules.get("sample.dialog").expect("the dialog");
    assert_eq!(dialog.name, "Hello Dialog!");
    let options = dialog.dialog.as_ref().expect("dialog options");
    assert_eq!(
        options.size,
        Size::Exact {
            width: "400px".into(),
            height: "200px".into()
        }
    );
    let primary = options.primary_action.as_ref().expect("a primary action");
    assert_eq!(
        (primary.key.as_str(), primary.name.as_str(), primary.enabled),
        ("sample.dialog.action", "Say Hello!", true)
    );
    let action = modules.get("sample.action").expect("the action");
    assert_eq!(action.location.as_deref(), Some(INPUT_ACTION));
    assert!(modules.get("configurable").is_some_and(|c| c.signed));
}

#[test]
fn reports_every_bad_field_in_one_go() {
    let caps = json!({
        "glance": [{"name": {"value": "No key"}, "queryUrl": "http://a/glance"}],
        "webPanel": [{"key": "side", "name": {"value": "S"}, "location": "hipchat.sidebar.left", "url": "http://a/s"}],
        "dialog": [{"key": "dlg", "title": {"value": "D"}, "url": "http://a/d", "options": {"size": "huge", "style": "loud"}}],
        "action": [{"key": "act", "name": {"value": "A"}, "location": "hipchat.input.action"}],
        "externalPage": [{"key": "page", "name": {"value": "P"}, "url": "ftp://a/p"}]
    });
    let errors = parse(&caps).expect_err("invalid");
    assert_eq!(
        fields(&errors),
        vec![
            "capabilities.glance[0].key",
            "capabilities.webPanel[0].location",
            "capabilities.dialog[0].options.style",
            "capabilities.dialog[0].options.size",
            "capabilities.action[0].target",
            "capabilities.externalPage[0].url",
        ]
    );
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text[1].contains(SIDEBAR), "{}", text[1]);
    assert!(text[3].contains("xlarge"), "{}", text[3]);
    assert!(text[5].contains("ftp://a/p"), "{}", text[5]);
}

#[test]
fn a_target_must_name_a_page_of_the_same_addon() {
    let mut caps = template();
    caps["action"][0]["target"] = json!("sample.nothing");
    caps["glance"][0]["target"] = json!("sample.action");
    let errors = parse(&caps).expect_err("invalid");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{text:?}");
    assert!(
        text[0].contains("\"sample.action\", which cannot be opened"),
        "{}",
        text[0]
    );
    assert!(
        text[1].contains("\"sample.nothing\", which is not a module of this add-on"),
        "{}",
        text[1]
    );
}

#[test]
fn a_target_naming_a_broken_module_is_not_a_second_error() {
    let mut caps = template();
    caps["dialog"][0]["options"]["size"] = json!("enormous");
    let errors = parse(&caps).expect_err("invalid");
    assert_eq!(fields(&errors), vec!["capabilities.dialog[0].options.size"]);
}

#[test]
fn target_errors_name_the_module_by_its_path() {
    let mut caps = template();
    caps["action"][0]["target"] = json!("nowhere");
    let errors = parse(&caps).expect_err("invalid");
    assert_eq!(fields(&errors), vec!["capabilities.action[0].target"]);
}

#[test]
fn keys_are_unique_and_well_formed() {
    let mut caps = template();
    caps["dialog"][0]["key"] = json!("sample.sidebar");
    caps["action"][0]["target"] = json!("sample.sidebar");
    let errors = parse(&caps).expect_err("a duplicate key");
    assert!(
        errors
            .iter()
            .any(|e| e.field == "capabilities.dialog[0].key"
                && e.problem.contains("used by another module")),
        "{errors:?}"
    );

    let mut caps = template();
    caps["webPanel"][0]["key"] = json!("side bar!");
    let errors = parse(&caps).expect_err("a bad key");
    assert_eq!(errors[0].field, "capabilities.webPanel[0].key");
}

#[test]
fn a_target_may_carry_options_and_modules_sort_by_weight() {
    let mut caps = template();
    caps["glance"][0]["target"] = json!({"key": "sample.dialog", "options": {"size": "small"}});
    caps["webPanel"] = json!([
        {"key": "b.panel", "name": {"value": "B"}, "url": "http://a/b", "weight": 200},
        {"key": "a.panel", "name": {"value": "A"}, "url": "http://a/a", "weight": 10},
        {"key": "sample.sidebar", "name": {"value": "S"}, "url": "http://a/s"}
    ]);
    let modules = parse(&caps).expect("valid");
    let target = modules
        .get("sample.glance")
        .and_then(|g| g.target.clone())
        .expect("a target");
    assert_eq!(target.key, "sample.dialog");
    assert_eq!(target.options, Some(json!({"size": "small"})));
    let order: Vec<&str> = modules
        .of(Kind::WebPanel)
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(order, vec!["a.panel", "sample.sidebar", "b.panel"]);
    assert_eq!(
        modules.get("sample.sidebar").map(|m| m.weight),
        Some(DEFAULT_WEIGHT)
    );
}

#[test]
fn conditions_are_checked_by_name_and_regex() {
    let mut caps = template();
    caps["action"][0]["location"] = json!(MESSAGE_ACTION);
    caps["action"][0]["conditions"] = json!([
        {"condition": "message_matches", "params": {"regex": "^/hello"}},
        {"conditions": [{"condition": "user_is_admin"}, {"condition": "user_is_guest", "invert": true}], "type": "or"}
    ]);
    let modules = parse(&caps).expect("valid");
    let action = modules.get("sample.action").expect("the action");
    assert_eq!(action.conditions.len(), 2);
    assert!(
        matches!(&action.conditions[1], Condition::Group { any: true, conditions } if conditions.len() == 2)
    );

    caps["action"][0]["conditions"] = json!([
        {"condition": "user_is_wizard"},
        {"condition": "message_matches", "params": {"regex": "(unclosed"}}
    ]);
    let errors = parse(&caps).expect_err("invalid");
    assert_eq!(
        fields(&errors),
        vec![
            "capabilities.action[0].conditions[0].condition",
            "capabilities.action[0].conditions[1].params.regex"
        ]
    );
    assert!(
        errors[0].problem.contains("user_is_admin"),
        "{}",
        errors[0].problem
    );
}

#[test]
fn a_single_object_stands_for_a_list_and_names_may_be_plain_strings() {
    let caps = json!({
        "webPanel": {"key": "only.panel", "name": "Only", "url": "http://a/p"},
        "externalPage": [{"key": "ext", "name": {"value": "Docs"}, "url": "https://docs.example/"}]
    });
    let modules = parse(&caps).expect("valid");
    assert_eq!(
        modules.get("only.panel").map(|m| m.name.as_str()),
        Some("Only")
    );
    assert_eq!(
        modules
            .get("only.panel")
            .and_then(|m| m.location.as_deref()),
        Some(SIDEBAR)
    );
    assert_eq!(modules.of(Kind::ExternalPage).len(), 1);
}

#[test]
fn an_unsubstituted_base_url_and_unsigned_configuration_pages() {
    let caps = json!({"configurable": {"url": "{{localBaseUrl}}/config"}});
    let errors = parse(&caps).expect_err("invalid");
    assert!(
        errors[0].problem.contains("{{localBaseUrl}}"),
        "{}",
        errors[0].problem
    );

    let caps = json!({"configurable": {"url": "http://a/config", "authentication": "none"}});
    let modules = parse(&caps).expect("valid");
    assert!(!modules.get("configurable").expect("configurable").signed);
}

#[test]
fn dialog_buttons_filters_and_named_sizes() {
    let caps = json!({"dialog": [{
        "key": "d", "title": {"value": "D"}, "url": "http://a/d",
        "options": {
            "size": "large",
            "primaryAction": {"key": "d.ok", "name": {"value": "OK"}, "enabled": false},
            "secondaryActions": [{"key": "d.later", "name": {"value": "Later"}}, {"name": {"value": "No key"}}],
            "hint": {"value": "A hint"},
            "filter": {"placeholder": {"value": "Search"}}
        }
    }]});
    let errors = parse(&caps).expect_err("a button without a key");
    assert_eq!(
        fields(&errors),
        vec!["capabilities.dialog[0].options.secondaryActions[1].key"]
    );

    let mut fixed = caps.clone();
    fixed["dialog"][0]["options"]["secondaryActions"][1]["key"] = json!("d.no");
    let modules = parse(&fixed).expect("valid");
    let options = modules
        .get("d")
        .and_then(|d| d.dialog.clone())
        .expect("options");
    assert_eq!(options.size, Size::Named("large".into()));
    assert!(!options.primary_action.expect("primary").enabled);
    assert_eq!(options.secondary_actions.len(), 2);
    assert_eq!(options.hint.as_deref(), Some("A hint"));
    assert_eq!(options.filter.as_deref(), Some("Search"));
}

#[test]
fn a_dialog_without_options_is_medium_and_normal() {
    let caps = json!({"dialog": [{"key": "d", "title": {"value": "D"}, "url": "http://a/d"}]});
    let modules = parse(&caps).expect("valid");
    let options = modules
        .get("d")
        .and_then(|d| d.dialog.clone())
        .expect("options");
    assert_eq!(options.size, Size::Named("medium".into()));
    assert_eq!(options.style, "normal");
    assert!(options.primary_action.is_none());
}

#[test]
fn wrong_shapes_are_named_not_panicked_on() {
    for caps in [
        json!({"glance": "sample.glance"}),
        json!({"glance": [1, null, "x"]}),
        json!({"dialog": [{"key": "d", "title": 3, "url": 4, "options": []}]}),
        json!({"action": [{"key": 1, "name": {"value": 2}, "target": 3, "weight": "heavy", "conditions": {}}]}),
        json!({"configurable": "http://a/config"}),
    ] {
        let errors = parse(&caps).expect_err("invalid");
        assert!(!errors.is_empty(), "{caps}");
        for e in &errors {
            assert!(e.field.starts_with("capabilities."), "{e}");
            assert!(!e.problem.is_empty(), "{e}");
        }
    }
}
