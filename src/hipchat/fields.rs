//! Reading typed fields out of loosely shaped JSON with errors that name the
//! field by its full path (`item.message.message`), so a user can find what
//! is wrong in a descriptor or a webhook body without guessing.

use serde_json::{Map, Value};

/// A JSON field that is missing or has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A required field is absent (or `null`).
    #[error("`{0}` is missing")]
    Missing(String),
    /// A field is present with the wrong JSON type.
    #[error("`{path}` must be {expected}")]
    WrongType {
        /// Full path of the field, e.g. `capabilities.installable.callbackUrl`.
        path: String,
        /// What it should have been, e.g. `a string`.
        expected: &'static str,
    },
}

/// A nested object found by [`Obj::opt_obj`]/[`Obj::req_obj`], with its full path.
pub(crate) type Found<'a> = (&'a Map<String, Value>, String);

/// A JSON object together with its path from the document root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// Joins a parent path and a key: `""` + `a` = `a`, `a` + `b` = `a.b`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Obj<'a> {
    /// The document root, which must be an object; `what` names the document
    /// in the error (e.g. `the descriptor`).
    pub(crate) fn root(value: &'a Value, what: &'static str) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path: "" }),
            _ => Err(FieldError::WrongType {
                path: what.to_owned(),
                expected: "a JSON object",
            }),
        }
    }

    /// Wraps an object found at `path`.
    pub(crate) fn at(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Obj { map, path }
    }

    /// The object itself.
    pub(crate) fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The raw value of a key, treating `null` as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &'static str) -> FieldError {
        FieldError::WrongType {
            path: join(self.path, key),
            expected,
        }
    }

    /// The full path of `key` below this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        join(self.path, key)
    }

    /// An optional string field.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    /// A required, non-empty string field.
    pub(crate) fn req_str(&self, key: &str) -> Result<&'a str, FieldError> {
        match self.opt_str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(FieldError::Missing(self.path_of(key))),
        }
    }

    /// An optional boolean field.
    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong(key, "true or false")),
        }
    }

    /// An optional non-negative integer; a string of digits is accepted too,
    /// because ids travelled as both in HipChat's JSON.
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => lenient_u64(value)
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a non-negative integer")),
        }
    }

    /// A required non-negative integer (see [`Obj::opt_u64`]).
    pub(crate) fn req_u64(&self, key: &str) -> Result<u64, FieldError> {
        self.opt_u64(key)?
            .ok_or_else(|| FieldError::Missing(self.path_of(key)))
    }

    /// An optional object field with its full path (wrap both with
    /// [`Obj::at`] to read inside it).
    pub(crate) fn opt_obj(&self, key: &str) -> Result<Option<Found<'a>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some((map, self.path_of(key)))),
            Some(_) => Err(self.wrong(key, "an object")),
        }
    }

    /// A required object field.
    pub(crate) fn req_obj(&self, key: &str) -> Result<Found<'a>, FieldError> {
        self.opt_obj(key)?
            .ok_or_else(|| FieldError::Missing(self.path_of(key)))
    }

    /// An optional array of strings.
    pub(crate) fn opt_str_array(&self, key: &str) -> Result<Option<Vec<String>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "an array of strings")),
            Some(_) => Err(self.wrong(key, "an array of strings")),
        }
    }
}

/// A non-negative integer from a JSON number or a string of digits.
pub(crate) fn lenient_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_full_path_of_a_missing_nested_field() {
        let doc = json!({"item": {"room": {}}});
        let root = Obj::root(&doc, "the body").expect("object");
        let (item, item_path) = root.req_obj("item").expect("item");
        let item = Obj::at(item, &item_path);
        let (room, room_path) = item.req_obj("room").expect("room");
        let err = Obj::at(room, &room_path).req_u64("id").unwrap_err();
        assert_eq!(err, FieldError::Missing("item.room.id".into()));
    }

    #[test]
    fn reports_a_wrong_type_with_what_was_expected() {
        let doc = json!({"key": 5});
        let root = Obj::root(&doc, "the descriptor").expect("object");
        let err = root.req_str("key").unwrap_err();
        assert_eq!(err.to_string(), "`key` must be a string");
    }

    #[test]
    fn treats_null_and_blank_strings_as_missing() {
        let doc = json!({"a": null, "b": "  "});
        let root = Obj::root(&doc, "doc").expect("object");
        assert_eq!(root.req_str("a"), Err(FieldError::Missing("a".into())));
        assert_eq!(root.req_str("b"), Err(FieldError::Missing("b".into())));
    }

    #[test]
    fn accepts_ids_as_numbers_or_digit_strings() {
        let doc = json!({"n": 42, "s": "43", "bad": "x", "neg": -1});
        let root = Obj::root(&doc, "doc").expect("object");
        assert_eq!(root.opt_u64("n"), Ok(Some(42)));
        assert_eq!(root.opt_u64("s"), Ok(Some(43)));
        assert!(root.opt_u64("bad").is_err());
        assert!(root.opt_u64("neg").is_err());
    }

    #[test]
    fn rejects_a_root_that_is_not_an_object() {
        let doc = json!([1, 2]);
        let err = Obj::root(&doc, "the descriptor").unwrap_err();
        assert_eq!(err.to_string(), "`the descriptor` must be a JSON object");
    }
}
