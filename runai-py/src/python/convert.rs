//! Values between Python and Rust: dicts and lists in, dicts and lists out, through JSON.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;
use serde_json::{Map, Value};

use super::errors::Failure;

/// A JSON value handed to Python as plain `dict`, `list`, `str`, `int`, `float`, `bool` or
/// `None`.
#[derive(Debug)]
pub(crate) struct Json(pub(crate) Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Ok(pythonize::pythonize(py, &self.0)?)
    }
}

/// `value` as JSON.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<Json, Failure> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| Failure::argument("result", format!("cannot be written as JSON: {e}")))
}

/// A Python object (a dict, a list, ...) as JSON.
pub(crate) fn value(object: &Bound<'_, PyAny>, name: &'static str) -> Result<Value, Failure> {
    pythonize::depythonize(object).map_err(|e| Failure::argument(name, e.to_string()))
}

/// A document given as a dict, as keyword arguments, or both (keywords win). Keyword names
/// in snake_case are taken in the API's camelCase (`project_id` is `projectId`).
pub(crate) fn document(
    positional: Option<&Bound<'_, PyAny>>,
    keywords: Option<&Bound<'_, PyDict>>,
) -> Result<Value, Failure> {
    let mut fields = match positional {
        None => Map::new(),
        Some(object) if object.is_none() => Map::new(),
        Some(object) => match value(object, "document")? {
            Value::Object(fields) => fields,
            other => {
                return Err(Failure::argument(
                    "document",
                    format!("must be a dict, not {}", kind_of(&other)),
                ));
            }
        },
    };
    if let Some(keywords) = keywords {
        for (key, item) in keywords.iter() {
            let key: String = key
                .extract()
                .map_err(|_| Failure::argument("document", "keyword names must be strings".to_owned()))?;
            fields.insert(camel_case(&key), value(&item, "document")?);
        }
    }
    Ok(Value::Object(fields))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "None",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a str",
        Value::Array(_) => "a list",
        Value::Object(_) => "a dict",
    }
}

/// `project_id` as `projectId`; a name without underscores as it is.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for (i, c) in name.chars().enumerate() {
        if c == '_' && i > 0 {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
