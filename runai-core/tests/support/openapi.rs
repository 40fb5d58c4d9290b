//! Standalone, strict JSON Schemas (draft 2020-12) from an OpenAPI 3.0 document.
//!
//! OpenAPI 3.0 schemas are close to JSON Schema draft 4 with a few twists that a JSON Schema
//! validator does not know about. [`OpenApi::schema`] rewrites one schema of the document:
//!
//! - `$ref: '#/components/schemas/X'` becomes `$ref: '#/$defs/X'`, and every component the schema
//!   reaches is copied (converted) under `$defs`. Siblings of a `$ref` are ignored, as OpenAPI 3.0
//!   says.
//! - `allOf` whose members are all objects is merged into one object (properties and `required`
//!   of every member, followed through `$ref`s and nested `allOf`s), so the merged object can be
//!   closed. An `allOf` that cannot be merged (a `$ref` to an enum, say) is kept as it is.
//! - Every object schema with `properties` and no `additionalProperties` of its own gets
//!   `additionalProperties: false`: a misspelt field name is an error, not an ignored extra.
//! - `nullable: true` adds `null` to `type` (and to `enum`), or wraps the schema in
//!   `anyOf: [schema, {type: null}]` where there is no single type to extend.
//! - `readOnly` properties are removed from request schemas (so sending one is an error);
//!   `writeOnly` properties stay allowed in responses but are never required there.
//! - Boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric draft 2020-12 form,
//!   `format: int32` adds the 32-bit bounds, a `properties` schema without `type` gets
//!   `type: object`, and OpenAPI-only keywords (`nullable`, `example`, `discriminator`, `xml`,
//!   `externalDocs`, `deprecated`, `readOnly`, `writeOnly`, `x-*`) are dropped.
//!
//! Validators are built with format validation on, so `uuid` and `date-time` are checked.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value, json};

/// Where a schema sits in the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Locator {
    /// `#/components/schemas/{0}`.
    Component(&'static str),
    /// The `application/json` body of one response of one operation.
    Response {
        path: &'static str,
        method: &'static str,
        status: &'static str,
    },
    /// The body of the request of one operation (`application/json` when there is one).
    RequestBody {
        path: &'static str,
        method: &'static str,
    },
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Component(name) => write!(f, "schema {name}"),
            Self::Response { path, method, status } => {
                write!(f, "{} {path} {status} response", method.to_uppercase())
            }
            Self::RequestBody { path, method } => write!(f, "{} {path} request body", method.to_uppercase()),
        }
    }
}

/// Which way a document travels; decides what `readOnly` and `writeOnly` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Sent by a client: `readOnly` properties are not allowed.
    Request,
    /// Sent by the server: `writeOnly` properties are allowed but never required.
    Response,
}

/// A parsed OpenAPI 3.0 document.
#[derive(Debug)]
pub(crate) struct OpenApi {
    doc: Value,
}

const COMPONENT_PREFIX: &str = "#/components/schemas/";
const DEFS_PREFIX: &str = "#/$defs/";
/// OpenAPI-only keywords, or annotations that only matter to this conversion.
const DROPPED: &[&str] = &[
    "nullable",
    "example",
    "examples",
    "discriminator",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
];
/// Keywords that stop an `allOf` member from being merged as a plain object.
const NOT_AN_OBJECT: &[&str] = &["oneOf", "anyOf", "not", "items", "enum", "$ref", "format"];
/// Longest `$ref` chain followed before giving up (guards against reference cycles).
const MAX_REF_CHAIN: usize = 32;

impl OpenApi {
    /// Reads and parses the document at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        match doc.get("openapi").and_then(Value::as_str) {
            Some(version) if version.starts_with("3.0") => Ok(Self::from_value(doc)),
            other => Err(format!(
                "{} is not an OpenAPI 3.0 document (openapi: {other:?})",
                path.display()
            )),
        }
    }

    /// Wraps an already parsed document.
    pub(crate) fn from_value(doc: Value) -> Self {
        Self { doc }
    }

    /// The schema at `locator` as a standalone draft 2020-12 JSON Schema.
    pub(crate) fn schema(&self, locator: Locator, direction: Direction) -> Result<Value, String> {
        let root = self.locate(locator)?;
        let converter = Converter {
            schemas: self.components()?,
            direction,
        };
        let mut schema = converter.convert(root)?;
        let defs = converter.reachable_defs(&schema)?;
        let object = schema
            .as_object_mut()
            .ok_or_else(|| format!("{locator} is not a schema object"))?;
        object.insert(
            "$schema".to_owned(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        if !defs.is_empty() {
            object.insert("$defs".to_owned(), Value::Object(defs.into_iter().collect()));
        }
        Ok(schema)
    }

    /// A validator for the schema at `locator`, with format validation on.
    pub(crate) fn validator(
        &self,
        locator: Locator,
        direction: Direction,
    ) -> Result<jsonschema::Validator, String> {
        let schema = self.schema(locator, direction)?;
        compile(&schema).map_err(|e| format!("{locator}: {e}"))
    }

    fn components(&self) -> Result<&Map<String, Value>, String> {
        self.doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .ok_or_else(|| "the document has no components.schemas".to_owned())
    }

    fn locate(&self, locator: Locator) -> Result<&Value, String> {
        match locator {
            Locator::Component(name) => self
                .components()?
                .get(name)
                .ok_or_else(|| format!("no component schema named {name}")),
            Locator::Response { path, method, status } => {
                let operation = self.operation(path, method)?;
                let response = operation
                    .pointer(&format!("/responses/{status}"))
                    .ok_or_else(|| format!("{locator}: the operation has no such response"))?;
                self.body_schema(self.follow(response)?, locator)
            }
            Locator::RequestBody { path, method } => {
                let operation = self.operation(path, method)?;
                let body = operation
                    .get("requestBody")
                    .ok_or_else(|| format!("{locator}: the operation has no request body"))?;
                self.body_schema(self.follow(body)?, locator)
            }
        }
    }

    fn operation(&self, path: &str, method: &str) -> Result<&Value, String> {
        self.doc
            .get("paths")
            .and_then(|paths| paths.get(path))
            .ok_or_else(|| format!("no path {path}"))?
            .get(method)
            .ok_or_else(|| format!("path {path} has no {method} operation"))
    }

    /// Follows a document-local `$ref` (`#/components/responses/...`, `#/components/requestBodies/...`).
    fn follow<'a>(&'a self, mut node: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..MAX_REF_CHAIN {
            let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
                return Ok(node);
            };
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| format!("non-local $ref {reference}"))?;
            node = self
                .doc
                .pointer(pointer)
                .ok_or_else(|| format!("dangling $ref {reference}"))?;
        }
        Err("$ref chain too long".to_owned())
    }

    fn body_schema<'a>(&'a self, body: &'a Value, locator: Locator) -> Result<&'a Value, String> {
        let content = body
            .get("content")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{locator} has no content"))?;
        let media = content
            .get("application/json")
            .or_else(|| content.values().next())
            .ok_or_else(|| format!("{locator} has no media type"))?;
        media
            .get("schema")
            .ok_or_else(|| format!("{locator} has no schema"))
    }
}

/// Compiles a draft 2020-12 schema with format validation on.
pub(crate) fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| format!("invalid JSON Schema: {e}"))
}

/// Every validation error of `instance`, each prefixed with the JSON pointer of the value.
pub(crate) fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| {
            let at = error.instance_path().to_string();
            format!(
                "at {}: {error}",
                if at.is_empty() { "(root)" } else { at.as_str() }
            )
        })
        .collect()
}

struct Converter<'a> {
    schemas: &'a Map<String, Value>,
    direction: Direction,
}

impl<'a> Converter<'a> {
    fn component(&self, reference: &str) -> Result<(&'a str, &'a Value), String> {
        let name = reference
            .strip_prefix(COMPONENT_PREFIX)
            .ok_or_else(|| format!("unsupported schema $ref {reference}"))?;
        self.schemas
            .get_key_value(name)
            .map(|(name, schema)| (name.as_str(), schema))
            .ok_or_else(|| format!("dangling $ref {reference}"))
    }

    /// The schema a node stands for, after following `$ref`s.
    fn resolve(&self, mut node: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..MAX_REF_CHAIN {
            let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
                return Ok(node);
            };
            node = self.component(reference)?.1;
        }
        Err("$ref chain too long".to_owned())
    }

    /// Converts every component reachable from `root` (transitively), keyed by name.
    fn reachable_defs(&self, root: &Value) -> Result<BTreeMap<String, Value>, String> {
        let mut defs = BTreeMap::new();
        let mut pending = Vec::new();
        collect_def_refs(root, &mut pending);
        while let Some(name) = pending.pop() {
            if defs.contains_key(&name) {
                continue;
            }
            let (_, schema) = self.component(&format!("{COMPONENT_PREFIX}{name}"))?;
            let converted = self.convert(schema)?;
            collect_def_refs(&converted, &mut pending);
            defs.insert(name, converted);
        }
        Ok(defs)
    }

    fn convert(&self, node: &'a Value) -> Result<Value, String> {
        let object = match node {
            Value::Bool(_) => return Ok(node.clone()),
            Value::Object(object) => object,
            other => return Err(format!("not a schema: {other}")),
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            let (name, _) = self.component(reference)?;
            return Ok(json!({ "$ref": format!("{DEFS_PREFIX}{name}") }));
        }
        let merged;
        let object = if object.contains_key("allOf") {
            match self.merge_all_of(object)? {
                Some(m) => {
                    merged = m;
                    &merged
                }
                None => object,
            }
        } else {
            object
        };

        let mut out = Map::new();
        let mut not_required: Vec<&str> = Vec::new();
        for (key, value) in object {
            if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            match key.as_str() {
                "properties" => {
                    let properties = value.as_object().ok_or("`properties` is not an object")?;
                    let mut converted = Map::new();
                    for (name, property) in properties {
                        let target = self.resolve(property)?;
                        let flag = |k: &str| {
                            [property, target]
                                .iter()
                                .any(|s| s.get(k).and_then(Value::as_bool) == Some(true))
                        };
                        if self.direction == Direction::Request && flag("readOnly") {
                            not_required.push(name);
                            continue;
                        }
                        if self.direction == Direction::Response && flag("writeOnly") {
                            not_required.push(name);
                        }
                        converted.insert(name.clone(), self.convert(property)?);
                    }
                    out.insert(key.clone(), Value::Object(converted));
                }
                "items" | "additionalProperties" | "not" | "propertyNames" if value.is_object() => {
                    out.insert(key.clone(), self.convert(value)?);
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let branches = value
                        .as_array()
                        .ok_or_else(|| format!("`{key}` is not an array"))?;
                    let converted = branches
                        .iter()
                        .map(|b| self.convert(b))
                        .collect::<Result<Vec<_>, _>>()?;
                    out.insert(key.clone(), Value::Array(converted));
                }
                "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {
                    let bound = if key == "exclusiveMinimum" {
                        "minimum"
                    } else {
                        "maximum"
                    };
                    if value == &Value::Bool(true) {
                        let limit = object
                            .get(bound)
                            .ok_or_else(|| format!("`{key}: true` without `{bound}`"))?;
                        out.insert(key.clone(), limit.clone());
                    }
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            if object.get(exclusive) == Some(&Value::Bool(true)) {
                out.remove(bound);
            }
        }
        if let Some(Value::Array(required)) = out.get_mut("required") {
            required.retain(|name| name.as_str().is_none_or(|n| !not_required.contains(&n)));
            if required.is_empty() {
                out.remove("required");
            }
        }
        if out.contains_key("properties") {
            out.entry("type").or_insert_with(|| json!("object"));
            out.entry("additionalProperties").or_insert(Value::Bool(false));
        }
        if out.get("format") == Some(&json!("int32")) && out.get("type") == Some(&json!("integer")) {
            out.entry("minimum").or_insert_with(|| json!(i32::MIN));
            out.entry("maximum").or_insert_with(|| json!(i32::MAX));
        }
        if object.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(nullable(out));
        }
        Ok(Value::Object(out))
    }

    /// Merges an `allOf` of objects into one object schema; `None` when a member is not a
    /// plain object (then the `allOf` is kept as is).
    fn merge_all_of(&self, node: &'a Map<String, Value>) -> Result<Option<Map<String, Value>>, String> {
        let mut members = Vec::new();
        if !self.flatten(node, &mut Vec::new(), &mut members)? {
            return Ok(None);
        }
        let plain = |m: &Map<String, Value>| {
            m.get("type").is_none_or(|t| t == "object") && !NOT_AN_OBJECT.iter().any(|k| m.contains_key(*k))
        };
        if !members.iter().all(|m| plain(m)) {
            if members.iter().any(|m| m.contains_key("properties")) {
                return Err("an allOf mixes object members with members that cannot be merged".to_owned());
            }
            return Ok(None);
        }
        let mut merged: Map<String, Value> = node
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "allOf" | "properties" | "required"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        for member in std::iter::once(node).chain(members) {
            if let Some(own) = member.get("properties").and_then(Value::as_object) {
                for (name, schema) in own {
                    let combined = match properties.remove(name) {
                        Some(earlier) => json!({ "allOf": [earlier, schema] }),
                        None => schema.clone(),
                    };
                    properties.insert(name.clone(), combined);
                }
            }
            for name in member
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !required.contains(name) {
                    required.push(name.clone());
                }
            }
            if let Some(extra) = member.get("additionalProperties") {
                merged
                    .entry("additionalProperties")
                    .or_insert_with(|| extra.clone());
            }
        }
        merged.entry("type").or_insert_with(|| json!("object"));
        merged.insert("properties".to_owned(), Value::Object(properties));
        if !required.is_empty() {
            merged.insert("required".to_owned(), Value::Array(required));
        }
        Ok(Some(merged))
    }

    /// Collects the members of `node.allOf`, following `$ref`s and nested `allOf`s; `false` on a
    /// reference cycle.
    fn flatten(
        &self,
        node: &'a Map<String, Value>,
        stack: &mut Vec<&'a str>,
        out: &mut Vec<&'a Map<String, Value>>,
    ) -> Result<bool, String> {
        let members = node
            .get("allOf")
            .and_then(Value::as_array)
            .ok_or("`allOf` is not an array")?;
        for member in members {
            let mut pushed = false;
            if let Some(reference) = member.get("$ref").and_then(Value::as_str) {
                let (name, _) = self.component(reference)?;
                if stack.contains(&name) {
                    return Ok(false);
                }
                stack.push(name);
                pushed = true;
            }
            let target = self
                .resolve(member)?
                .as_object()
                .ok_or("an allOf member is not an object")?;
            if target.contains_key("allOf") && !self.flatten(target, stack, out)? {
                return Ok(false);
            }
            out.push(target);
            if pushed {
                stack.pop();
            }
        }
        Ok(true)
    }
}

/// One value inside an instance, found by walking it along a converted schema.
#[derive(Debug, Default)]
pub(crate) struct Site {
    /// JSON pointer of the value.
    pub(crate) pointer: String,
    /// The values an `enum` allows here (without `null`); empty when there is no enum.
    pub(crate) allowed: Vec<Value>,
    /// Whether the value is an object member the schema does not require.
    pub(crate) optional: bool,
}

/// Every value of `instance` that `schema` (a result of [`OpenApi::schema`]) describes, in
/// document order, with the enum values allowed there and whether it may be left out.
pub(crate) fn sites(schema: &Value, instance: &Value) -> Vec<Site> {
    let mut found = BTreeMap::new();
    let mut order = Vec::new();
    walk_sites(
        schema,
        schema,
        instance,
        &mut String::new(),
        false,
        &mut found,
        &mut order,
    );
    order
        .into_iter()
        .filter_map(|pointer| found.remove(&pointer))
        .collect()
}

fn walk_sites(
    root: &Value,
    schema: &Value,
    instance: &Value,
    pointer: &mut String,
    optional: bool,
    found: &mut BTreeMap<String, Site>,
    order: &mut Vec<String>,
) {
    let schema = resolve_def(root, schema);
    let site = found.entry(pointer.clone()).or_insert_with(|| {
        order.push(pointer.clone());
        Site {
            pointer: pointer.clone(),
            ..Site::default()
        }
    });
    site.optional |= optional;
    let members = schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for holder in std::iter::once(schema).chain(members.map(|m| resolve_def(root, m))) {
        for value in holder.get("enum").and_then(Value::as_array).into_iter().flatten() {
            if !value.is_null() && !site.allowed.contains(value) {
                site.allowed.push(value.clone());
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            walk_sites(root, branch, instance, pointer, false, found, order);
        }
    }
    let len = pointer.len();
    match instance {
        Value::Object(members) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let required = schema.get("required").and_then(Value::as_array);
            let extra = schema.get("additionalProperties").filter(|s| s.is_object());
            for (name, value) in members {
                let (member_schema, optional) = match properties.and_then(|p| p.get(name)) {
                    Some(s) => (s, required.is_none_or(|r| !r.iter().any(|n| n == name))),
                    None => match extra {
                        Some(s) => (s, true),
                        None => continue,
                    },
                };
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                walk_sites(root, member_schema, value, pointer, optional, found, order);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    pointer.push_str(&format!("/{i}"));
                    walk_sites(root, item_schema, item, pointer, false, found, order);
                    pointer.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// Follows `#/$defs/...` references of a converted schema.
pub(crate) fn resolve_def<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_CHAIN {
        let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(DEFS_PREFIX))
        else {
            break;
        };
        match root.get("$defs").and_then(|defs| defs.get(name)) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// Lets a converted schema also accept `null`.
fn nullable(mut schema: Map<String, Value>) -> Value {
    let composite = ["allOf", "anyOf", "oneOf", "$ref", "not"]
        .iter()
        .any(|k| schema.contains_key(*k));
    match schema.get("type").cloned() {
        Some(Value::String(single)) if !composite => {
            schema.insert("type".to_owned(), json!([single, "null"]));
            if let Some(Value::Array(values)) = schema.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
            Value::Object(schema)
        }
        _ => json!({ "anyOf": [Value::Object(schema), { "type": "null" }] }),
    }
}

fn collect_def_refs(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => {
                        if let Some(name) = reference.strip_prefix(DEFS_PREFIX) {
                            out.push(name.to_owned());
                        }
                    }
                    // `properties` is a map of names to schemas; a property may be called `$ref`.
                    ("properties", Value::Object(properties)) => {
                        properties
                            .values()
                            .for_each(|schema| collect_def_refs(schema, out));
                    }
                    _ => collect_def_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_def_refs(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod self_checks {
    use super::*;

    /// A tiny OpenAPI document with the shapes the conversion has to get right.
    fn doc() -> OpenApi {
        OpenApi::from_value(json!({
            "openapi": "3.0.3",
            "paths": {
                "/things/{id}": {
                    "get": { "responses": {
                        "200": { "$ref": "#/components/responses/ThingOk" },
                        "204": { "description": "no body" }
                    }},
                    "patch": {
                        "requestBody": { "content": { "application/json": {
                            "schema": { "$ref": "#/components/schemas/Scaling" }
                        }}},
                        "responses": { "202": { "$ref": "#/components/responses/ThingOk" } }
                    }
                }
            },
            "components": {
                "responses": {
                    "ThingOk": { "description": "ok", "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/Thing" }
                    }}}
                },
                "schemas": {
                    "Meta": {
                        "type": "object",
                        "required": ["id", "createdAt"],
                        "properties": {
                            "id": { "type": "string", "format": "uuid", "readOnly": true },
                            "createdAt": { "type": "string", "format": "date-time" },
                            "secret": { "type": "string", "writeOnly": true },
                            "readOnly": { "type": "boolean", "nullable": true }
                        }
                    },
                    "Phase": { "type": "string", "enum": ["Running", "Stopped"] },
                    "Scaling": {
                        "type": "object",
                        "nullable": true,
                        "properties": {
                            "minReplicas": { "type": "integer", "format": "int32", "minimum": 0 },
                            "maxReplicas": { "type": "integer", "format": "int32", "nullable": true,
                                             "exclusiveMinimum": true, "minimum": 0 },
                            "metric": { "type": "string", "nullable": true,
                                        "enum": ["throughput", "concurrency"] }
                        }
                    },
                    "Spec": {
                        "properties": {
                            "image": { "type": "string", "example": "vllm/vllm-openai" },
                            "scaling": { "$ref": "#/components/schemas/Scaling" },
                            "labels": { "type": "object", "additionalProperties": { "type": "string" } }
                        }
                    },
                    "Thing": {
                        "allOf": [
                            { "$ref": "#/components/schemas/Meta" },
                            { "type": "object", "properties": {
                                "phase": { "type": "string", "nullable": true,
                                           "allOf": [{ "$ref": "#/components/schemas/Phase" }] },
                                "spec": { "$ref": "#/components/schemas/Spec" }
                            }}
                        ]
                    }
                }
            }
        }))
    }

    fn check(locator: Locator, direction: Direction, instance: &Value) -> Vec<String> {
        let validator = doc()
            .validator(locator, direction)
            .expect("the self-check schema converts");
        violations(&validator, instance)
    }

    const THING: Locator = Locator::Component("Thing");
    const SCALING: Locator = Locator::Component("Scaling");

    fn thing() -> Value {
        json!({
            "id": "0b2c1a7e-5f3d-4e21-9a8b-6c4d2e1f3a90",
            "createdAt": "2025-11-20T09:14:03Z",
            "readOnly": true,
            "phase": "Running",
            "spec": { "image": "vllm/vllm-openai:v0.11.0", "scaling": { "minReplicas": 1 },
                      "labels": { "team": "search" } }
        })
    }

    #[test]
    fn a_valid_document_passes() {
        assert_eq!(check(THING, Direction::Response, &thing()), Vec::<String>::new());
    }

    #[test]
    fn a_misspelt_property_is_rejected_at_any_depth() {
        let top = check(SCALING, Direction::Request, &json!({ "minReplica": 1 }));
        assert_eq!(top.len(), 1, "{top:?}");
        assert!(top[0].contains("minReplica"), "{top:?}");

        let mut nested = thing();
        nested["spec"]["scaling"] = json!({ "minReplicas": 1, "maxReplica": 2 });
        let errors = check(THING, Direction::Response, &nested);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("maxReplica") && e.contains("/spec/scaling")),
            "{errors:?}"
        );
    }

    #[test]
    fn all_of_members_are_merged_into_one_closed_object() {
        // Properties of both members are accepted together...
        assert!(check(THING, Direction::Response, &thing()).is_empty());
        // ...an unknown one is not, and `required` of every member still applies.
        let mut extra = thing();
        extra["phaze"] = json!("Running");
        extra.as_object_mut().unwrap().remove("createdAt");
        let errors = check(THING, Direction::Response, &extra);
        assert!(errors.iter().any(|e| e.contains("phaze")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("createdAt")), "{errors:?}");
    }

    #[test]
    fn null_is_accepted_only_where_nullable() {
        // nullable scalar, nullable enum, nullable $ref'd object, nullable allOf over an enum.
        assert!(
            check(
                SCALING,
                Direction::Request,
                &json!({ "maxReplicas": null, "metric": null })
            )
            .is_empty()
        );
        assert!(check(SCALING, Direction::Request, &Value::Null).is_empty());
        let mut with_nulls = thing();
        with_nulls["phase"] = Value::Null;
        with_nulls["spec"]["scaling"] = Value::Null;
        with_nulls["readOnly"] = Value::Null;
        assert_eq!(
            check(THING, Direction::Response, &with_nulls),
            Vec::<String>::new()
        );
        // Not nullable: a null is an error.
        assert_eq!(
            check(SCALING, Direction::Request, &json!({ "minReplicas": null })).len(),
            1
        );
        let mut bad = thing();
        bad["spec"]["image"] = Value::Null;
        bad["createdAt"] = Value::Null;
        assert_eq!(check(THING, Direction::Response, &bad).len(), 2);
        // The enum behind a nullable allOf is still enforced.
        let mut wrong = thing();
        wrong["phase"] = json!("Sleeping");
        assert_eq!(check(THING, Direction::Response, &wrong).len(), 1);
    }

    #[test]
    fn formats_and_bounds_are_checked() {
        let mut bad = thing();
        bad["id"] = json!("not-a-uuid");
        bad["createdAt"] = json!("yesterday");
        let errors = check(THING, Direction::Response, &bad);
        assert_eq!(errors.len(), 2, "{errors:?}");
        // int32 bounds, and boolean exclusiveMinimum turned numeric.
        assert_eq!(
            check(
                SCALING,
                Direction::Request,
                &json!({ "minReplicas": 3_000_000_000_u64 })
            )
            .len(),
            1
        );
        assert_eq!(
            check(SCALING, Direction::Request, &json!({ "maxReplicas": 0 })).len(),
            1
        );
        assert!(check(SCALING, Direction::Request, &json!({ "maxReplicas": 1 })).is_empty());
    }

    #[test]
    fn read_only_and_write_only_follow_the_direction() {
        // `id` is readOnly: required in responses, refused in requests.
        let mut no_id = thing();
        no_id.as_object_mut().unwrap().remove("id");
        assert_eq!(check(THING, Direction::Response, &no_id.clone()).len(), 1);
        assert!(check(THING, Direction::Request, &no_id).is_empty());
        let errors = check(THING, Direction::Request, &thing());
        assert!(errors.iter().any(|e| e.contains("'id'")), "{errors:?}");
        // `secret` is writeOnly: allowed in requests and (not required) in responses.
        let mut with_secret = thing();
        with_secret["secret"] = json!("s3cr3t");
        assert!(check(THING, Direction::Response, &with_secret).is_empty());
        // A property *named* readOnly is a property, not the keyword.
        let schema = doc()
            .schema(Locator::Component("Meta"), Direction::Request)
            .unwrap();
        assert!(schema["properties"].get("readOnly").is_some(), "{schema}");
    }

    #[test]
    fn bodies_are_found_through_response_and_request_locators() {
        let ok = Locator::Response {
            path: "/things/{id}",
            method: "get",
            status: "200",
        };
        assert!(check(ok, Direction::Response, &thing()).is_empty());
        let body = Locator::RequestBody {
            path: "/things/{id}",
            method: "patch",
        };
        assert_eq!(
            check(body, Direction::Request, &json!({ "minReplica": 1 })).len(),
            1
        );
        let none = Locator::Response {
            path: "/things/{id}",
            method: "get",
            status: "204",
        };
        assert!(doc().schema(none, Direction::Response).is_err());
        assert!(
            doc()
                .schema(Locator::Component("Nope"), Direction::Response)
                .is_err()
        );
    }

    #[test]
    fn sites_know_enums_and_optional_members() {
        let schema = doc().schema(THING, Direction::Response).unwrap();
        let found = sites(&schema, &thing());
        let site = |pointer: &str| found.iter().find(|s| s.pointer == pointer).expect(pointer);
        assert_eq!(site("/phase").allowed, [json!("Running"), json!("Stopped")]);
        assert!(site("/phase").optional);
        assert!(!site("/id").optional, "required");
        assert!(site("/spec/labels/team").optional, "a map entry");
        assert_eq!(site("/spec/scaling/minReplicas").allowed, Vec::<Value>::new());
        assert_eq!(found[0].pointer, "", "the root comes first");
    }

    #[test]
    fn open_api_only_keywords_are_gone() {
        let schema = doc().schema(THING, Direction::Response).unwrap();
        let text = schema.to_string();
        for keyword in [
            "\"nullable\"",
            "\"example\"",
            "\"readOnly\":true",
            "\"writeOnly\"",
            "#/components/",
        ] {
            assert!(!text.contains(keyword), "{keyword} left in {text}");
        }
    }
}
