//! Two ways to read a document.
//!
//! - [`strict`] is for specs that users submit: a field the model does not define is an error
//!   that names it (with a did-you-mean suggestion when a known field is close), so a typo such
//!   as `minReplica` never silently falls back to a default.
//! - [`lenient`] is for responses from a server: unknown fields are ignored, so a newer control
//!   plane that adds fields never breaks an older client.
//!
//! Both report type errors with the JSON path of the field.
//!
//! ```
//! use runai_core::{parse, InferenceSpec};
//! let json = r#"{"image": "vllm/vllm-openai:v0.11.0", "newServerField": 1}"#;
//! assert!(parse::lenient::<InferenceSpec>(json).is_ok());
//! let err = parse::strict::<InferenceSpec>(json).unwrap_err();
//! assert_eq!(err.to_string(), "unknown field `newServerField`");
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ParseError, UnknownField};

/// Parses a user-submitted document, refusing fields the model does not define.
///
/// ```
/// use runai_core::{parse, spec::AutoScaling};
/// let scaling: AutoScaling = parse::strict(r#"{"minReplicas": 1, "maxReplicas": 3}"#).unwrap();
/// assert_eq!(scaling.max_replicas, Some(3));
/// ```
///
/// # Errors
/// [`ParseError::Syntax`] for malformed JSON, [`ParseError::UnknownFields`] listing every
/// unknown field, or [`ParseError::InvalidValue`] for a field of the wrong type.
pub fn strict<T: DeserializeOwned + JsonSchema>(json: &str) -> Result<T, ParseError> {
    strict_value(syntax(json)?)
}

/// Like [`strict`], for a document already parsed into a [`serde_json::Value`] (for example
/// from YAML or from a Python dict).
///
/// ```
/// use runai_core::{parse, spec::ServingPort};
/// let value = serde_json::json!({"container": 8000, "protocl": "http"});
/// let err = parse::strict_value::<ServingPort>(value).unwrap_err();
/// assert_eq!(err.to_string(), "unknown field `protocl`; did you mean `protocol`?");
/// ```
///
/// # Errors
/// As [`strict`], without the syntax case.
pub fn strict_value<T: DeserializeOwned + JsonSchema>(value: Value) -> Result<T, ParseError> {
    let unknown = unknown_fields::<T>(&value);
    if !unknown.is_empty() {
        return Err(ParseError::UnknownFields(unknown));
    }
    typed(value)
}

/// Parses a server response, ignoring fields the model does not define.
///
/// ```
/// use runai_core::{parse, ApiError};
/// let err: ApiError = parse::lenient(r#"{"code": 404, "message": "not found", "traceId": "abc"}"#).unwrap();
/// assert_eq!(err.code, 404);
/// ```
///
/// # Errors
/// [`ParseError::Syntax`] for malformed JSON or [`ParseError::InvalidValue`] for a field of
/// the wrong type.
pub fn lenient<T: DeserializeOwned>(json: &str) -> Result<T, ParseError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed = serde_path_to_error::deserialize(&mut de).map_err(|e| classify(&e))?;
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(parsed)
}

/// Lists every field of `value` that `T` does not define, in document order.
///
/// ```
/// use runai_core::{parse, spec::AutoScaling};
/// let value = serde_json::json!({"minReplica": 1, "maxReplicas": 2});
/// let unknown = parse::unknown_fields::<AutoScaling>(&value);
/// assert_eq!(unknown[0].path, "minReplica");
/// assert_eq!(unknown[0].suggestion.as_deref(), Some("minReplicas"));
/// ```
#[must_use]
pub fn unknown_fields<T: JsonSchema>(value: &Value) -> Vec<UnknownField> {
    let schema = schema_of::<T>();
    let mut found = Vec::new();
    walk(value, &schema, &schema, &mut String::new(), &mut found);
    found
}

/// The JSON Schema of `T`, generated once per type: a submitted spec is checked against it on
/// every strict parse, and generating it costs far more than the walk.
fn schema_of<T: JsonSchema>() -> Arc<Value> {
    static CACHE: OnceLock<RwLock<HashMap<Cow<'static, str>, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    let id = T::schema_id();
    // A poisoned lock only means another thread panicked mid-insert; the map is still sound.
    if let Some(schema) = cache.read().unwrap_or_else(PoisonError::into_inner).get(&id) {
        return Arc::clone(schema);
    }
    let generated = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    let schema = Arc::new(generated.to_value());
    cache
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, Arc::clone(&schema));
    schema
}

fn syntax(json: &str) -> Result<Value, ParseError> {
    serde_json::from_str(json).map_err(|e| syntax_error(&e))
}

fn syntax_error(e: &serde_json::Error) -> ParseError {
    ParseError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(|e| classify(&e))
}

fn classify(e: &serde_path_to_error::Error<serde_json::Error>) -> ParseError {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return syntax_error(inner);
    }
    let path = e.path().to_string();
    ParseError::InvalidValue {
        path: if path == "." {
            "(document)".to_owned()
        } else {
            path
        },
        message: strip_position(&inner.to_string()),
    }
}

/// serde_json appends " at line L column C" to data errors (the path says more) and names
/// Rust types ("expected i32"); users need the JSON words.
fn strip_position(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let mut out = message.to_owned();
    for (rust, json) in [
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected u16", "expected an integer from 0 to 65535"),
        ("expected u32", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{json}");
        }
    }
    out
}

/// Walks `value` along `schema`, recording object keys that the schema does not define.
fn walk(value: &Value, schema: &Value, root: &Value, path: &mut String, found: &mut Vec<UnknownField>) {
    let schema = resolve(schema, root);
    match value {
        Value::Object(map) => walk_object(map, schema, root, path, found),
        Value::Array(items) => {
            let Some(item_schema) = candidates(schema, root).into_iter().find_map(|s| s.get("items")) else {
                return;
            };
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, item_schema, root, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn walk_object(
    map: &Map<String, Value>,
    schema: &Value,
    root: &Value,
    path: &mut String,
    found: &mut Vec<UnknownField>,
) {
    let shapes = candidates(schema, root);
    let properties: Vec<&Map<String, Value>> = shapes
        .iter()
        .filter_map(|s| s.get("properties").and_then(Value::as_object))
        .collect();
    // A map-shaped schema, or one that says nothing about objects, accepts any key.
    let open = shapes.iter().find_map(|s| match s.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        Some(extra) => Some(extra),
        None if accepts_any_object(s) => Some(&Value::Bool(true)),
        None => None,
    });
    for (key, child) in map {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        if let Some(child_schema) = properties.iter().find_map(|p| p.get(key)) {
            walk(child, child_schema, root, path, found);
        } else if let Some(extra) = open {
            walk(child, extra, root, path, found);
        } else {
            let known = properties.iter().flat_map(|p| p.keys().map(String::as_str));
            found.push(UnknownField::new(path.clone(), suggest(key, known)));
        }
        path.truncate(len);
    }
}

/// Whether a schema with no `additionalProperties` puts no limit on an object's keys: `true`,
/// `{}`, or `{"type": "object"}` without `properties`.
fn accepts_any_object(schema: &Value) -> bool {
    match schema {
        Value::Bool(any) => *any,
        Value::Object(map) => {
            let constrained = ["properties", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"];
            let object_or_untyped = match map.get("type") {
                None => true,
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
                Some(_) => false,
            };
            object_or_untyped && !constrained.iter().any(|key| map.contains_key(*key))
        }
        _ => false,
    }
}

/// The object or array shapes a schema allows: itself plus its `anyOf`/`oneOf`/`allOf` branches.
fn candidates<'a>(schema: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let mut out = vec![schema];
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            for branch in branches {
                out.extend(candidates(resolve(branch, root), root));
            }
        }
    }
    out
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut schema = schema;
    // References are local (`#/$defs/Name`); a bounded loop guards against cycles.
    for _ in 0..16 {
        let Some(pointer) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match pointer.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The known name closest to `unknown`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let wanted = unknown.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&wanted, &k.to_ascii_lowercase()), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_or_nothing() {
        let known = ["minReplicas", "maxReplicas", "metric"];
        assert_eq!(suggest("minreplicas", known).as_deref(), Some("minReplicas"));
        assert_eq!(suggest("maxReplica", known).as_deref(), Some("maxReplicas"));
        assert_eq!(suggest("metrc", known).as_deref(), Some("metric"));
        assert_eq!(suggest("colour", known), None);
    }

    #[test]
    fn syntax_errors_carry_position() {
        let err = syntax("{\n  \"a\": }").unwrap_err();
        match err {
            ParseError::Syntax { line, .. } => assert_eq!(line, 2),
            other => panic!("unexpected {other:?}"),
        }
    }
}
