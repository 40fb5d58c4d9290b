//! The `InferenceWorkload` Kubernetes custom resource (feature `kube`).
//!
//! Its spec is [`InferenceSpec`](crate::InferenceSpec), the same type the REST API takes, so a
//! workload moves between the API and the cluster without translation. The status reports the
//! Run:ai phase, conditions, revisions, replicas and URL.
//!
//! ```
//! use kube::CustomResourceExt;
//! use runai_core::crd::InferenceWorkload;
//! let crd = InferenceWorkload::crd();
//! assert_eq!(crd.spec.group, "serving.runai.dev");
//! assert_eq!(crd.spec.names.kind, "InferenceWorkload");
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::inference::InferenceWorkload;
use crate::workload::{Condition, Phase};

/// The observed state of an [`InferenceWorkload`].
///
/// ```
/// use runai_core::{Phase, crd::InferenceWorkloadStatus};
/// let status = InferenceWorkloadStatus { phase: Some(Phase::Running), ready_replicas: Some(2), ..Default::default() };
/// assert_eq!(serde_json::to_value(&status).unwrap()["readyReplicas"], 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InferenceWorkloadStatus {
    /// The Run:ai phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Detail on the phase, for example why it is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_message: Option<String>,
    /// Conditions (`Ready`, `Scheduled`, `RevisionReady`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The revision the spec asks for (a content hash of the pod-changing fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<String>,
    /// The newest revision that is ready and takes traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_revision: Option<String>,
    /// Replicas that exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Replicas that are ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// The serving URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
