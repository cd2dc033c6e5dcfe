//! The UI modules of a descriptor (PROTOCOL.md, "The other half"):
//! `configurable`, `glance`, `webPanel`, `dialog`, `action` and
//! `externalPage`, parsed and validated with one error per bad field, so an
//! install can say everything that is wrong at once. The host double and
//! the emulator's page use them; any verb can call [`Modules::parse`].

use serde::Serialize;
use serde_json::{Map, Value};

/// A `webPanel` shows in the room's right sidebar.
pub const SIDEBAR: &str = "hipchat.sidebar.right";
/// An `action` in the menu by the message box.
pub const INPUT_ACTION: &str = "hipchat.input.action";
/// An `action` in the menu of each message.
pub const MESSAGE_ACTION: &str = "hipchat.message.action";

/// The conditions HipChat knew.
pub const CONDITIONS: &[&str] = &[
    "room_is_public",
    "user_is_admin",
    "user_is_guest",
    "user_is_room_owner",
    "message_matches",
    "message_contains_link",
    "message_sent_by_current_user",
    "card_matches",
    "glance_matches",
];

/// The weight of a module that gives none.
pub const DEFAULT_WEIGHT: i64 = 100;

/// A module's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// `configurable`.
    Configurable,
    /// `glance[]`.
    Glance,
    /// `webPanel[]`.
    WebPanel,
    /// `dialog[]`.
    Dialog,
    /// `action[]`.
    Action,
    /// `externalPage[]`.
    ExternalPage,
}

/// What a module opens when used (a glance's or an action's `target`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The key of a webPanel, dialog or externalPage of the same add-on.
    pub key: String,
    /// `options` given with it (a dialog's size, ...).
    pub options: Option<Value>,
}

/// One condition (or a group of them) deciding visibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Condition {
    /// `{"condition": "user_is_admin", "params": {...}, "invert": false}`.
    Single {
        /// Its name, one of [`CONDITIONS`].
        condition: String,
        /// Its parameters (`regex`, `attr`...).
        params: Map<String, Value>,
        /// Whether it is negated.
        invert: bool,
    },
    /// `{"conditions": [...], "type": "and" | "or"}`.
    Group {
        /// The members.
        conditions: Vec<Condition>,
        /// `or` when true, `and` otherwise.
        any: bool,
    },
}

/// A dialog button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    /// Its key (sent with `dialog-button-click`).
    pub key: String,
    /// Its label.
    pub name: String,
    /// Whether it starts enabled.
    pub enabled: bool,
}

/// A dialog's size: a named one, or width and height in CSS (px or %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Size {
    /// `small`, `medium`, `large`, `xlarge`.
    Named(String),
    /// `{"width": "400px", "height": "200px"}`.
    Exact {
        /// CSS width.
        width: String,
        /// CSS height.
        height: String,
    },
}

/// A dialog's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DialogOptions {
    /// `normal` or `warning`.
    pub style: String,
    /// Its size.
    pub size: Size,
    /// The primary button.
    pub primary_action: Option<Button>,
    /// Other buttons.
    pub secondary_actions: Vec<Button>,
    /// A hint under the buttons.
    pub hint: Option<String>,
    /// A filter box's placeholder, when the dialog has one.
    pub filter: Option<String>,
}

/// One UI module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Module {
    /// Which kind.
    pub kind: Kind,
    /// Its key (`configurable` has the key `configurable`).
    pub key: String,
    /// Its name (a dialog's title).
    pub name: String,
    /// The page it shows (a glance's `queryUrl`).
    pub url: Option<String>,
    /// Where it shows (`webPanel`, `action`).
    pub location: Option<String>,
    /// What it opens (`glance`, `action`).
    pub target: Option<Target>,
    /// Its order among its kind (lower first).
    pub weight: i64,
    /// When it shows.
    pub conditions: Vec<Condition>,
    /// A glance's icon (`url`, `url@2x`).
    pub icon: Option<Value>,
    /// A dialog's options.
    pub dialog: Option<DialogOptions>,
    /// Whether its pages get `signed_request` (`configurable.authentication`).
    pub signed: bool,
}

/// Every UI module of a descriptor, in descriptor order within each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Modules {
    /// All of them.
    pub all: Vec<Module>,
}

/// One bad field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleError {
    /// Its path, e.g. `capabilities.glance[0].queryUrl`.
    pub field: String,
    /// What is wrong and what would do.
    pub problem: String,
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.problem)
    }
}

impl Modules {
    /// Reads the UI modules of `capabilities` (at `path`), collecting one
    /// error per bad field.
    pub fn parse(
        capabilities: &Map<String, Value>,
        path: &str,
    ) -> Result<Modules, Vec<ModuleError>> {
        let mut p = Parser {
            errors: Vec::new(),
            modules: Vec::new(),
            paths: Vec::new(),
            broken: Vec::new(),
        };
        if let Some(value) = capabilities.get("configurable") {
            p.configurable(value, &format!("{path}.configurable"));
        }
        for (name, kind) in [
            ("glance", Kind::Glance),
            ("webPanel", Kind::WebPanel),
            ("dialog", Kind::Dialog),
            ("action", Kind::Action),
            ("externalPage", Kind::ExternalPage),
        ] {
            let field = format!("{path}.{name}");
            match capabilities.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        p.module(kind, item, &format!("{field}[{i}]"));
                    }
                }
                // HipChat took a single object where a list was expected.
                Some(item @ Value::Object(_)) => p.module(kind, item, &field),
                Some(_) => p.error(&field, "must be a list of modules"),
            }
        }
        p.check_keys_and_targets();
        if p.errors.is_empty() {
            Ok(Modules { all: p.modules })
        } else {
            Err(p.errors)
        }
    }

    /// The module with this key.
    pub fn get(&self, key: &str) -> Option<&Module> {
        self.all.iter().find(|m| m.key == key)
    }

    /// The modules of a kind, by weight (then descriptor order).
    pub fn of(&self, kind: Kind) -> Vec<&Module> {
        let mut found: Vec<&Module> = self.all.iter().filter(|m| m.kind == kind).collect();
        found.sort_by_key(|m| m.weight);
        found
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

struct Parser {
    errors: Vec<ModuleError>,
    modules: Vec<Module>,
    /// Where each valid module is, for errors about its target.
    paths: Vec<String>,
    /// Keys of modules that had errors of their own: naming one as a
    /// target is not a second mistake.
    broken: Vec<String>,
}

impl Parser {
    fn error(&mut self, field: &str, problem: impl Into<String>) {
        self.errors.push(ModuleError {
            field: field.to_string(),
            problem: problem.into(),
        });
    }

    fn object<'v>(&mut self, value: &'v Value, field: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => {
                self.error(field, "must be an object");
                None
            }
        }
    }

    /// A `{"value": "..."}` (i18n) or a plain string.
    fn text(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        field: &str,
        required: bool,
    ) -> Option<String> {
        let path = format!("{field}.{key}");
        let text = match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(i18n)) => match i18n.get("value") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => {
                    self.error(&path, "must be {\"value\": \"...\"}");
                    return None;
                }
            },
            Some(_) => {
                self.error(&path, "must be {\"value\": \"...\"}");
                return None;
            }
        };
        match text {
            Some(t) if t.trim().is_empty() => {
                self.error(&path, "is empty");
                None
            }
            None if required => {
                self.error(&path, "is missing; e.g. {\"value\": \"My module\"}");
                None
            }
            other => other,
        }
    }

    fn url(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        field: &str,
        required: bool,
    ) -> Option<String> {
        let path = format!("{field}.{key}");
        match map.get(key) {
            None | Some(Value::Null) if required => {
                self.error(
                    &path,
                    "is missing; give the page's URL, e.g. \"{{localBaseUrl}}/sidebar\"",
                );
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match url::Url::parse(s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Some(s.clone()),
                _ if s.contains("{{localBaseUrl}}") => {
                    self.error(
                        &path,
                        "still contains {{localBaseUrl}}; substitute the base URL first",
                    );
                    None
                }
                _ => {
                    self.error(
                        &path,
                        format!("must be an absolute http or https URL, not {s:?}"),
                    );
                    None
                }
            },
            Some(_) => {
                self.error(&path, "must be a URL string");
                None
            }
        }
    }

    fn key(&mut self, map: &Map<String, Value>, field: &str) -> Option<String> {
        let path = format!("{field}.key");
        match map.get("key") {
            Some(Value::String(k)) if valid_key(k) => Some(k.clone()),
            Some(Value::String(k)) => {
                self.error(&path, format!("{k:?} is not a module key: use letters, digits, `.`, `-` and `_` (e.g. \"sample.glance\")"));
                None
            }
            _ => {
                self.error(&path, "is missing; e.g. \"sample.glance\"");
                None
            }
        }
    }

    fn weight(&mut self, map: &Map<String, Value>, field: &str) -> i64 {
        match map.get("weight") {
            None | Some(Value::Null) => DEFAULT_WEIGHT,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or(DEFAULT_WEIGHT),
            Some(_) => {
                self.error(
                    &format!("{field}.weight"),
                    "must be a whole number (lower shows first; 100 by default)",
                );
                DEFAULT_WEIGHT
            }
        }
    }

    fn conditions(&mut self, map: &Map<String, Value>, field: &str) -> Vec<Condition> {
        match map.get("conditions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, c)| self.condition(c, &format!("{field}.conditions[{i}]")))
                .collect(),
            Some(_) => {
                self.error(
                    &format!("{field}.conditions"),
                    "must be a list of conditions",
                );
                Vec::new()
            }
        }
    }

    fn condition(&mut self, value: &Value, field: &str) -> Option<Condition> {
        let map = self.object(value, field)?;
        if let Some(group) = map.get("conditions") {
            let Value::Array(items) = group else {
                self.error(
                    &format!("{field}.conditions"),
                    "must be a list of conditions",
                );
                return None;
            };
            let any = match map.get("type").and_then(Value::as_str) {
                None | Some("and" | "AND") => false,
                Some("or" | "OR") => true,
                Some(other) => {
                    self.error(
                        &format!("{field}.type"),
                        format!("is {other:?}; use \"and\" or \"or\""),
                    );
                    false
                }
            };
            let conditions = items
                .iter()
                .enumerate()
                .filter_map(|(i, c)| self.condition(c, &format!("{field}.conditions[{i}]")))
                .collect();
            return Some(Condition::Group { conditions, any });
        }
        let name = match map.get("condition").and_then(Value::as_str) {
            Some(name) if CONDITIONS.contains(&name) => name.to_string(),
            Some(name) => {
                self.error(
                    &format!("{field}.condition"),
                    format!(
                        "{name:?} is not a HipChat condition; known: {}",
                        CONDITIONS.join(", ")
                    ),
                );
                return None;
            }
            None => {
                self.error(
                    &format!("{field}.condition"),
                    "is missing; e.g. \"user_is_admin\"",
                );
                return None;
            }
        };
        let params = match map.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => {
                self.error(&format!("{field}.params"), "must be an object");
                Map::new()
            }
        };
        if matches!(name.as_str(), "message_matches" | "card_matches")
            && let Some(regex) = params.get("regex").and_then(Value::as_str)
            && let Err(e) = regex::Regex::new(regex)
        {
            self.error(
                &format!("{field}.params.regex"),
                format!("is not a valid regular expression: {e}"),
            );
        }
        let invert = map.get("invert").and_then(Value::as_bool).unwrap_or(false);
        Some(Condition::Single {
            condition: name,
            params,
            invert,
        })
    }

    fn target(&mut self, map: &Map<String, Value>, field: &str, required: bool) -> Option<Target> {
        let path = format!("{field}.target");
        match map.get("target") {
            None | Some(Value::Null) => {
                if required {
                    self.error(
                        &path,
                        "is missing; name the key of a dialog, webPanel or externalPage",
                    );
                }
                None
            }
            Some(Value::String(key)) => Some(Target {
                key: key.clone(),
                options: None,
            }),
            Some(Value::Object(t)) => match t.get("key").and_then(Value::as_str) {
                Some(key) => Some(Target {
                    key: key.to_string(),
                    options: t.get("options").cloned(),
                }),
                None => {
                    self.error(&format!("{path}.key"), "is missing");
                    None
                }
            },
            Some(_) => {
                self.error(
                    &path,
                    "must be a module key or {\"key\": ..., \"options\": ...}",
                );
                None
            }
        }
    }

    fn configurable(&mut self, value: &Value, field: &str) {
        let Some(map) = self.object(value, field) else {
            return;
        };
        let url = self.url(map, "url", field, true);
        let signed = match map.get("authentication").and_then(Value::as_str) {
            None | Some("jwt") => true,
            Some("none") => false,
            Some(other) => {
                self.error(
                    &format!("{field}.authentication"),
                    format!("is {other:?}; use \"jwt\" or \"none\""),
                );
                true
            }
        };
        if url.is_some() {
            self.paths.push(field.to_owned());
            self.modules.push(Module {
                kind: Kind::Configurable,
                key: "configurable".into(),
                name: "Configure".into(),
                url,
                location: None,
                target: None,
                weight: DEFAULT_WEIGHT,
                conditions: Vec::new(),
                icon: None,
                dialog: None,
                signed,
            });
        }
    }

    fn module(&mut self, kind: Kind, value: &Value, field: &str) {
        let Some(map) = self.object(value, field) else {
            return;
        };
        let errors_before = self.errors.len();
        let key = self.key(map, field);
        let name_key = if kind == Kind::Dialog {
            "title"
        } else {
            "name"
        };
        let name = self.text(map, name_key, field, true);
        let (url_key, url_required) = match kind {
            Kind::Glance => ("queryUrl", false),
            Kind::Action => ("url", false),
            _ => ("url", true),
        };
        let url = self.url(map, url_key, field, url_required);
        let location = map
            .get("location")
            .and_then(Value::as_str)
            .map(str::to_string);
        match (kind, location.as_deref()) {
            (Kind::WebPanel, None | Some(SIDEBAR)) | (Kind::Action, Some(INPUT_ACTION | MESSAGE_ACTION)) => {}
            (Kind::WebPanel, Some(other)) => self.error(&format!("{field}.location"), format!("is {other:?}; webPanels go in \"{SIDEBAR}\"")),
            (Kind::Action, other) => self.error(
                &format!("{field}.location"),
                format!("is {}; use \"{INPUT_ACTION}\" (the message box menu) or \"{MESSAGE_ACTION}\" (each message's menu)", other.map_or("missing".to_string(), |o| format!("{o:?}"))),
            ),
            _ => {}
        }
        let target = self.target(map, field, kind == Kind::Action);
        let weight = self.weight(map, field);
        let conditions = self.conditions(map, field);
        let icon = match (kind, map.get("icon")) {
            (Kind::Glance, Some(Value::Object(icon))) => {
                if !icon
                    .get("url")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.starts_with("http"))
                {
                    self.error(
                        &format!("{field}.icon.url"),
                        "must be an http(s) URL of the icon",
                    );
                }
                Some(Value::Object(icon.clone()))
            }
            (Kind::Glance, Some(_)) => {
                self.error(
                    &format!("{field}.icon"),
                    "must be {\"url\": ..., \"url@2x\": ...}",
                );
                None
            }
            _ => None,
        };
        let dialog = match kind {
            Kind::Dialog => self.dialog_options(map, field),
            _ => None,
        };
        if self.errors.len() > errors_before {
            if let Some(key) = key {
                self.broken.push(key);
            }
            return;
        }
        if let (Some(key), Some(name)) = (key, name) {
            self.paths.push(field.to_owned());
            self.modules.push(Module {
                kind,
                key,
                name,
                url,
                location: match kind {
                    Kind::WebPanel => Some(location.unwrap_or_else(|| SIDEBAR.into())),
                    _ => location,
                },
                target,
                weight,
                conditions,
                icon,
                dialog,
                signed: true,
            });
        }
    }

    fn dialog_options(&mut self, map: &Map<String, Value>, field: &str) -> Option<DialogOptions> {
        let empty = Map::new();
        let path = format!("{field}.options");
        let options = match map.get("options") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => {
                self.error(&path, "must be an object");
                return None;
            }
        };
        let style = match options.get("style").and_then(Value::as_str) {
            None => "normal".to_string(),
            Some(s @ ("normal" | "warning")) => s.to_string(),
            Some(other) => {
                self.error(
                    &format!("{path}.style"),
                    format!("is {other:?}; use \"normal\" or \"warning\""),
                );
                "normal".into()
            }
        };
        let size = match options.get("size") {
            None | Some(Value::Null) => Size::Named("medium".into()),
            Some(Value::String(s))
                if matches!(s.as_str(), "small" | "medium" | "large" | "xlarge") =>
            {
                Size::Named(s.clone())
            }
            Some(Value::Object(wh)) => {
                let dim = |k: &str| {
                    wh.get(k)
                        .and_then(Value::as_str)
                        .filter(|v| is_css_size(v))
                        .map(str::to_string)
                };
                match (dim("width"), dim("height")) {
                    (Some(width), Some(height)) => Size::Exact { width, height },
                    _ => {
                        self.error(&format!("{path}.size"), "needs width and height in px or %, e.g. {\"width\": \"400px\", \"height\": \"200px\"}");
                        Size::Named("medium".into())
                    }
                }
            }
            Some(other) => {
                self.error(
                    &format!("{path}.size"),
                    format!(
                        "is {other}; use small, medium, large, xlarge or {{\"width\", \"height\"}}"
                    ),
                );
                Size::Named("medium".into())
            }
        };
        let button = |p: &mut Parser, v: &Value, f: &str| -> Option<Button> {
            let m = p.object(v, f)?;
            let key = p.key(m, f)?;
            let name = p.text(m, "name", f, true)?;
            Some(Button {
                key,
                name,
                enabled: m.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            })
        };
        let primary_action = options
            .get("primaryAction")
            .and_then(|v| button(self, v, &format!("{path}.primaryAction")));
        let secondary_actions = match options.get("secondaryActions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| button(self, v, &format!("{path}.secondaryActions[{i}]")))
                .collect(),
            Some(_) => {
                self.error(
                    &format!("{path}.secondaryActions"),
                    "must be a list of buttons",
                );
                Vec::new()
            }
        };
        let hint = self.text(options, "hint", &path, false);
        let filter = match options.get("filter") {
            Some(Value::Object(f)) => Some(
                self.text(f, "placeholder", &format!("{path}.filter"), false)
                    .unwrap_or_default(),
            ),
            Some(Value::Bool(true)) => Some(String::new()),
            _ => None,
        };
        Some(DialogOptions {
            style,
            size,
            primary_action,
            secondary_actions,
            hint,
            filter,
        })
    }

    /// Keys are unique, and every target names a module that can be opened.
    fn check_keys_and_targets(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let modules = self.modules.clone();
        let paths = self.paths.clone();
        for (m, path) in modules.iter().zip(&paths) {
            if m.kind != Kind::Configurable && !seen.insert(m.key.clone()) {
                self.error(
                    &format!("{path}.key"),
                    format!(
                        "{:?} is used by another module too; keys must be unique",
                        m.key
                    ),
                );
            }
        }
        for (m, path) in modules.iter().zip(&paths) {
            let Some(target) = &m.target else { continue };
            if self.broken.contains(&target.key) {
                continue;
            }
            let found = modules.iter().find(|t| t.key == target.key);
            match found.map(|t| t.kind) {
                Some(Kind::WebPanel | Kind::Dialog | Kind::ExternalPage) => {}
                Some(_) => self.error(
                    &format!("{path}.target"),
                    format!(
                        "names {:?}, which cannot be opened; name a webPanel, dialog or externalPage",
                        target.key
                    ),
                ),
                None => self.error(
                    &format!("{path}.target"),
                    format!("names {:?}, which is not a module of this add-on", target.key),
                ),
            }
        }
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn is_css_size(v: &str) -> bool {
    let number = v
        .strip_suffix("px")
        .or_else(|| v.strip_suffix('%'))
        .unwrap_or(v);
    !number.is_empty() && number.parse::<f64>().is_ok_and(|n| n > 0.0)
}

#[cfg(test)]
#[path = "modules_tests.rs"]
mod tests;
