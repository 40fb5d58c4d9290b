//! Validating rendered objects against the upstream CRD schemas in `tests/fixtures/schemas`.

use serde_json::{Map, Value, json};

/// The CRD's `openAPIV3Schema` as a JSON Schema a validator can run: objects that list their
/// properties are closed (as the API server's strict field validation treats them) unless
/// they preserve unknown fields, `nullable` becomes a null type, and Kubernetes' extensions
/// and formats are dropped.
fn to_json_schema(node: &Value) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    let flag = |key: &str| map.get(key) == Some(&Value::Bool(true));
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "properties" => {
                let converted = value
                    .as_object()
                    .map(|props| {
                        props
                            .iter()
                            .map(|(k, v)| (k.clone(), to_json_schema(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(converted));
            }
            "items" | "additionalProperties" if value.is_object() => {
                out.insert(key.clone(), to_json_schema(value));
            }
            "anyOf" | "allOf" | "oneOf" => {
                let converted = value
                    .as_array()
                    .map(|a| a.iter().map(to_json_schema).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Array(converted));
            }
            "type" if flag("x-kubernetes-int-or-string") => {}
            "format" | "nullable" | "description" => {}
            k if k.starts_with("x-kubernetes-") => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if flag("nullable")
        && let Some(Value::String(kind)) = out.get("type").cloned()
    {
        out.insert("type".into(), json!([kind, "null"]));
    }
    if map.contains_key("properties")
        && !map.contains_key("additionalProperties")
        && !flag("x-kubernetes-preserve-unknown-fields")
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

/// A validator for the CRD in `tests/fixtures/schemas/{file}`.
pub(crate) fn crd_validator(file: &str) -> jsonschema::Validator {
    let path = format!("{}/tests/fixtures/schemas/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    let schema = to_json_schema(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    jsonschema::validator_for(&schema).unwrap()
}

/// Every schema violation of `object`, with where it is.
pub(crate) fn schema_errors(validator: &jsonschema::Validator, object: &Value) -> Vec<String> {
    validator
        .iter_errors(object)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
