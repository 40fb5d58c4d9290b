//! Shared helpers of the conformance tests: the OpenAPI document, fixtures and JSON comparison.

pub(crate) mod openapi;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use self::openapi::OpenApi;

/// Names the OpenAPI document to test against. Unset, the conformance tests skip.
pub(crate) const SPEC_ENV: &str = "RUNAI_OPENAPI_SPEC";

/// The OpenAPI document named by [`SPEC_ENV`], parsed once per test binary. `None`, after
/// printing a notice, when the variable is unset; a variable that names a missing or broken
/// file is a failure, not a skip.
pub(crate) fn spec_or_skip() -> Option<&'static OpenApi> {
    static SPEC: OnceLock<Option<OpenApi>> = OnceLock::new();
    let spec = SPEC.get_or_init(|| {
        let path = resolve_spec_path(Path::new(&std::env::var_os(SPEC_ENV)?));
        Some(OpenApi::load(&path).unwrap_or_else(|e| panic!("{SPEC_ENV}: {e}")))
    });
    if spec.is_none() {
        eprintln!("skipped: {SPEC_ENV} is not set");
    }
    spec.as_ref()
}

/// Cargo runs a test binary from its crate's folder, but people write the variable from the
/// workspace root (`../shared/...`): a relative path that does not exist from here is read
/// from the workspace root.
fn resolve_spec_path(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    workspace_root.join(path)
}

/// The fixtures folder, `runai-core/tests/fixtures`.
pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Every fixture file, as a path relative to [`fixtures_dir`] with `/` separators, sorted.
pub(crate) fn all_fixtures() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let relative = path.strip_prefix(base).expect("a path under the fixtures folder");
                let parts: Vec<_> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    let base = fixtures_dir();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

/// The text of a fixture and its parsed JSON.
pub(crate) fn read_fixture(relative: &str) -> (String, Value) {
    let path = fixtures_dir().join(relative);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"));
    (text, value)
}

/// Where `actual` differs from `expected`, one line per difference; empty when they are equal.
///
/// Equality is that of JSON values with two allowances that carry no information: numbers
/// compare by value (`1` equals `1.0`), and an object member whose value is `null` equals an
/// absent member. Whether a member must be present (even as `null`) is the schema's business.
pub(crate) fn json_differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    compare(expected, actual, &mut String::new(), &mut out);
    out
}

fn compare(expected: &Value, actual: &Value, path: &mut String, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let keys = e.keys().chain(a.keys().filter(|k| !e.contains_key(*k)));
            for key in keys {
                let (left, right) = (
                    e.get(key).unwrap_or(&Value::Null),
                    a.get(key).unwrap_or(&Value::Null),
                );
                let len = path.len();
                write!(path, "/{key}").expect("writing to a String");
                compare(left, right, path, out);
                path.truncate(len);
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (left, right)) in e.iter().zip(a).enumerate() {
                let len = path.len();
                write!(path, "/{i}").expect("writing to a String");
                compare(left, right, path, out);
                path.truncate(len);
            }
        }
        (Value::Number(e), Value::Number(a)) if same_number(e, a) => {}
        _ if expected == actual => {}
        _ => {
            let at = if path.is_empty() { "(root)" } else { path.as_str() };
            out.push(format!(
                "at {at}: expected {}, got {}",
                shown(expected),
                shown(actual)
            ));
        }
    }
}

fn same_number(e: &serde_json::Number, a: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (e.as_i64(), a.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (e.as_u64(), a.as_u64()) {
        return x == y;
    }
    matches!((e.as_f64(), a.as_f64()), (Some(x), Some(y)) if x == y)
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "null (or absent)".to_owned(),
        other => {
            let text = other.to_string();
            if text.chars().count() > 120 {
                format!("{}...", text.chars().take(117).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// Where a model's own JSON Schema (from schemars) and the documented schema (from
/// [`openapi::OpenApi::schema`]) disagree on field names, required fields or enum values, one
/// line per disagreement with its field path (`spec.storage.git[].secretRef.name`).
///
/// A field the document requires but the model leaves optional is not reported: the model
/// then accepts more, and the round trips check that it writes the field back. An enum the
/// model leaves open (a plain string) is not reported either.
pub(crate) fn shape_differences(documented: &Value, model: &Value) -> Vec<String> {
    let mut out = Vec::new();
    compare_shapes(
        (documented, documented),
        (model, model),
        &mut String::new(),
        &mut out,
    );
    out
}

/// A root schema (holding `$defs`) and one schema inside it.
type Located<'a> = (&'a Value, &'a Value);

/// What a schema allows, gathered over its `$ref`s and `allOf`/`anyOf`/`oneOf` branches.
#[derive(Default)]
struct Shape<'a> {
    properties: BTreeMap<&'a str, &'a Value>,
    required: BTreeSet<&'a str>,
    values: BTreeSet<String>,
    items: Option<&'a Value>,
    map_values: Option<&'a Value>,
}

fn shape<'a>((root, schema): Located<'a>, into: &mut Shape<'a>, depth: usize) {
    let schema = openapi::resolve_def(root, schema);
    if depth > 16 {
        return;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        into.properties
            .extend(properties.iter().map(|(k, v)| (k.as_str(), v)));
    }
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    into.required.extend(required.filter_map(Value::as_str));
    let listed = schema.get("enum").and_then(Value::as_array).into_iter().flatten();
    let values = listed.chain(schema.get("const")).filter(|v| !v.is_null());
    into.values.extend(values.map(Value::to_string));
    into.items = into.items.or_else(|| schema.get("items"));
    into.map_values = into
        .map_values
        .or_else(|| schema.get("additionalProperties").filter(|s| s.is_object()));
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            shape((root, branch), into, depth + 1);
        }
    }
}

fn compare_shapes(documented: Located<'_>, model: Located<'_>, path: &mut String, out: &mut Vec<String>) {
    // Deep enough for every wire type; stops a recursive schema.
    if path.matches(['.', '[', '{']).count() > 24 {
        return;
    }
    let (mut doc, mut ours) = (Shape::default(), Shape::default());
    shape(documented, &mut doc, 0);
    shape(model, &mut ours, 0);
    let at = if path.is_empty() { "(root)" } else { path.as_str() };
    if !doc.values.is_empty() && !ours.values.is_empty() && doc.values != ours.values {
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            let listed: Vec<_> = a.difference(b).cloned().collect();
            if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            }
        };
        out.push(format!(
            "{at}: enum values differ; only documented: {}; only in the model: {}",
            only(&doc.values, &ours.values),
            only(&ours.values, &doc.values)
        ));
    }
    let names: BTreeSet<&str> = doc
        .properties
        .keys()
        .chain(ours.properties.keys())
        .copied()
        .collect();
    for name in names {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        match (doc.properties.get(name), ours.properties.get(name)) {
            (Some(_), None) => out.push(format!("{path}: documented, but the model has no such field")),
            (None, Some(_)) => out.push(format!("{path}: in the model, but not documented")),
            (Some(d), Some(m)) => {
                if ours.required.contains(name) && !doc.required.contains(name) {
                    out.push(format!("{path}: required by the model, optional in the document"));
                }
                compare_shapes((documented.0, d), (model.0, m), path, out);
            }
            (None, None) => {}
        }
        path.truncate(len);
    }
    for (suffix, d, m) in [
        ("[]", doc.items, ours.items),
        ("{}", doc.map_values, ours.map_values),
    ] {
        if let (Some(d), Some(m)) = (d, m) {
            let len = path.len();
            path.push_str(suffix);
            compare_shapes((documented.0, d), (model.0, m), path, out);
            path.truncate(len);
        }
    }
}

#[cfg(test)]
mod self_checks {
    use serde_json::json;

    use super::json_differences;

    #[test]
    fn equal_documents_have_no_differences() {
        let doc = json!({"a": [1, {"b": "x"}], "n": 1, "z": null});
        assert!(json_differences(&doc, &json!({"n": 1.0, "a": [1.0, {"b": "x"}]})).is_empty());
    }

    #[test]
    fn shapes_are_compared_by_name_requirement_and_enum() {
        let documented = json!({
            "type": "object",
            "properties": {
                "spec": { "$ref": "#/$defs/Spec" },
                "kind": { "type": "string", "enum": ["a", "b"] }
            },
            "$defs": { "Spec": { "properties": {
                "minReplicas": { "type": "integer" },
                "tags": { "type": "array", "items": { "properties": { "key": {} } } }
            }}}
        });
        let model = json!({
            "type": "object",
            "required": ["kind"],
            "properties": {
                "spec": { "anyOf": [{ "$ref": "#/$defs/Spec" }, { "type": "null" }] },
                "kind": { "oneOf": [{ "const": "a" }, { "const": "c" }] }
            },
            "$defs": { "Spec": { "required": ["minReplica"], "properties": {
                "minReplica": { "type": "integer" },
                "tags": { "type": ["array", "null"], "items": { "properties": { "key": {}, "value": {} } } }
            }}}
        });
        assert_eq!(
            super::shape_differences(&documented, &model),
            [
                "kind: required by the model, optional in the document",
                "kind: enum values differ; only documented: \"b\"; only in the model: \"c\"",
                "spec.minReplica: in the model, but not documented",
                "spec.minReplicas: documented, but the model has no such field",
                "spec.tags[].value: in the model, but not documented",
            ]
        );
        assert!(super::shape_differences(&documented, &documented).is_empty());
    }

    #[test]
    fn differences_name_their_path() {
        let expected = json!({"spec": {"autoscaling": {"minReplicas": 1}, "nodePools": ["a", "b"]}});
        let actual = json!({"spec": {"autoscaling": {"minReplicas": 2}, "nodePools": ["a"], "extra": false}});
        let found = json_differences(&expected, &actual);
        assert_eq!(
            found,
            [
                "at /spec/autoscaling/minReplicas: expected 1, got 2",
                "at /spec/nodePools: expected [\"a\",\"b\"], got [\"a\"]",
                "at /spec/extra: expected null (or absent), got false",
            ]
        );
        assert_eq!(json_differences(&json!(0.5), &json!(0.25)).len(), 1);
        assert_eq!(json_differences(&json!("1"), &json!(1)).len(), 1);
    }
}
