//! The workload models by name: a document (a Python dict, as JSON) is parsed strictly (an
//! unknown field is an error with a did-you-mean suggestion) and validated by `runai-core`,
//! and comes back as the model writes it.

use runai_core::spec::{AutoScaling, Compute, ServingPort};
use runai_core::{
    DistributedInferenceCreationRequest, DistributedInferenceSpec, DistributedInferenceUpdateRequest,
    InferenceCreationRequest, InferenceSpec, InferenceUpdateRequest, NimServiceCreateRequest, NimServiceSpec,
    NimServiceUpdateRequest, Validate, parse,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// The model names [`validate`] takes, each with the `runai-core` type it stands for.
pub const KINDS: &[&str] = &[
    "inference",
    "inference_spec",
    "inference_update",
    "distributed_inference",
    "distributed_inference_spec",
    "distributed_inference_update",
    "nim_service",
    "nim_service_spec",
    "nim_service_update",
    "autoscaling",
    "serving_port",
    "compute",
];

/// The model names [`with_defaults`] takes: the specs that define defaults.
pub const KINDS_WITH_DEFAULTS: &[&str] =
    &["inference_spec", "distributed_inference_spec", "nim_service_spec"];

/// Parses `document` strictly as the model `kind` (one of [`KINDS`]) and checks every rule;
/// returns the model as it serialises (fields it leaves unset are left out).
///
/// ```
/// use serde_json::json;
/// let request = runai_py::models::validate("inference", json!({
///     "name": "llama", "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
///     "spec": {
///         "image": "vllm/vllm-openai:v0.11.0",
///         "servingPort": {"container": 8000},
///         "autoscaling": {"minReplicas": 3, "maxReplicas": 2},
///     },
/// }));
/// let violations = request.unwrap_err().violations();
/// assert_eq!(violations[0].0, "spec.autoscaling.maxReplicas");
/// ```
///
/// # Errors
/// [`Error::UnknownKind`] for a name not in [`KINDS`]; [`Error::Invalid`] listing every
/// unknown field, wrongly typed value and broken rule.
pub fn validate(kind: &str, document: Value) -> Result<Value, Error> {
    match kind {
        "inference" => checked::<InferenceCreationRequest>(document),
        "inference_spec" => checked::<InferenceSpec>(document),
        "inference_update" => checked::<InferenceUpdateRequest>(document),
        "distributed_inference" => checked::<DistributedInferenceCreationRequest>(document),
        "distributed_inference_spec" => checked::<DistributedInferenceSpec>(document),
        "distributed_inference_update" => checked::<DistributedInferenceUpdateRequest>(document),
        "nim_service" => checked::<NimServiceCreateRequest>(document),
        "nim_service_spec" => checked::<NimServiceSpec>(document),
        "nim_service_update" => checked::<NimServiceUpdateRequest>(document),
        "autoscaling" => checked::<AutoScaling>(document),
        "serving_port" => checked::<ServingPort>(document),
        "compute" => checked::<Compute>(document),
        other => Err(Error::UnknownKind {
            kind: other.to_owned(),
        }),
    }
}

/// Like [`validate`], for a spec kind of [`KINDS_WITH_DEFAULTS`], with the platform's
/// defaults filled in where the document leaves a field unset.
///
/// ```
/// let spec = runai_py::models::with_defaults(
///     "inference_spec",
///     serde_json::json!({"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000}}),
/// )?;
/// assert!(spec["autoscaling"]["minReplicas"].is_number());
/// # Ok::<(), runai_py::Error>(())
/// ```
///
/// # Errors
/// As [`validate`]; [`Error::Argument`] for a kind without defaults.
pub fn with_defaults(kind: &str, document: Value) -> Result<Value, Error> {
    match kind {
        "inference_spec" => defaulted::<InferenceSpec>(document, InferenceSpec::with_defaults),
        "distributed_inference_spec" => {
            defaulted::<DistributedInferenceSpec>(document, DistributedInferenceSpec::with_defaults)
        }
        "nim_service_spec" => defaulted::<NimServiceSpec>(document, NimServiceSpec::with_defaults),
        other if KINDS.contains(&other) => Err(Error::Argument {
            name: "kind",
            reason: format!(
                "`{other}` has no defaults; use one of {}",
                KINDS_WITH_DEFAULTS.join(", ")
            ),
        }),
        other => Err(Error::UnknownKind {
            kind: other.to_owned(),
        }),
    }
}

/// The typed model of `document`, every rule checked.
///
/// ```
/// let spec: runai_core::InferenceSpec = runai_py::models::parse(
///     serde_json::json!({"image": "nginx", "servingPort": {"container": 80}}),
/// )?;
/// assert_eq!(spec.image.as_deref(), Some("nginx"));
/// # Ok::<(), runai_py::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] as in [`validate`].
pub fn parse<T: Model>(document: Value) -> Result<T, Error> {
    let model: T = parse::strict_value(document)?;
    model.validate()?;
    Ok(model)
}

fn checked<T: Model>(document: Value) -> Result<Value, Error> {
    to_json(&parse::<T>(document)?)
}

fn defaulted<T: Model>(document: Value, defaults: fn(&T) -> T) -> Result<Value, Error> {
    to_json(&defaults(&parse::<T>(document)?))
}

fn to_json<T: Serialize>(model: &T) -> Result<Value, Error> {
    serde_json::to_value(model).map_err(|e| Error::Argument {
        name: "document",
        reason: format!("cannot be written back as JSON: {e}"),
    })
}

/// A model that strict parsing reads and `runai-core` validates: the bounds [`parse()`] needs,
/// named once.
pub trait Model: DeserializeOwned + Serialize + JsonSchema + Validate {}

impl<T> Model for T where T: DeserializeOwned + Serialize + JsonSchema + Validate {}
