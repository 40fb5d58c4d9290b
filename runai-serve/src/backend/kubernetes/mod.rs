//! Rendering workloads as Kubernetes objects: pure functions from a workload revision, its
//! target and its placement to typed objects, so what would be applied can be read, tested
//! and validated against the upstream schemas without a cluster.
//!
//! This module holds the pieces every kind shares (the pod: container, environment, probes,
//! resources and GPU sharing, volumes, scheduling); [`knative`] renders single-node inference
//! as a Knative `Service`, [`kserve`] as a KServe `InferenceService`; [`lws`] renders
//! multi-node inference as a `LeaderWorkerSet` and the KAI [`pod_group`]s its groups form.
//! [`nim`] renders NVIDIA NIM services as the NIM operator's `NIMService`, and [`queue`] the
//! KAI queues of Run:ai departments and projects.

mod backend;
mod interface;
pub mod knative;
pub mod kserve;
pub mod lws;
pub mod nim;
mod pod;
pub mod pod_group;
pub mod queue;
pub mod status;

pub use backend::{KubernetesBackend, KubernetesConfig, SingleNodeKind};
pub use interface::{InterfaceError, ResourceInterface};

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runai_core::InferenceSpec;

pub use crate::backend::{GroupTopology, Placement};
use crate::gateway::WorkloadKey;

/// The scheduler that places rendered pods.
pub const KAI_SCHEDULER: &str = "kai-scheduler";
/// The pod label that names a pod's KAI queue.
pub const KAI_QUEUE_LABEL: &str = "kai.scheduler/queue";

/// Where and as what a revision is rendered.
///
/// ```
/// use runai_serve::backend::kubernetes::RenderTarget;
/// use runai_serve::gateway::WorkloadKey;
/// let target = RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-2");
/// assert_eq!(target.namespace(), "runai-team-a");
/// assert_eq!(target.queue(), "team-a");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderTarget {
    /// The workload.
    pub workload: WorkloadKey,
    /// The revision being rendered.
    pub revision: String,
    /// The namespace; `runai-{project}` (Run:ai's convention) when unset.
    pub namespace: Option<String>,
    /// The KAI queue; the project's name when unset.
    pub queue: Option<String>,
    /// The node label that names a node's pool (for `nodePools`).
    pub node_pool_label: String,
}

impl RenderTarget {
    /// `revision` of `workload` in the default namespace and queue.
    pub fn new(workload: WorkloadKey, revision: impl Into<String>) -> Self {
        Self {
            workload,
            revision: revision.into(),
            namespace: None,
            queue: None,
            node_pool_label: "run.ai/node-pool".to_owned(),
        }
    }

    /// The namespace objects go to.
    #[must_use]
    pub fn namespace(&self) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| format!("runai-{}", self.workload.project))
    }

    /// The KAI queue pods are scheduled in.
    #[must_use]
    pub fn queue(&self) -> String {
        self.queue
            .clone()
            .unwrap_or_else(|| self.workload.project.clone())
    }

    /// The metadata of the rendered top-level object: the workload's name, the namespace and
    /// the labels.
    pub(crate) fn object_meta(&self) -> ObjectMeta {
        ObjectMeta {
            name: Some(self.workload.workload.clone()),
            namespace: Some(self.namespace()),
            labels: Some(self.labels()),
            ..ObjectMeta::default()
        }
    }

    /// The labels every rendered object and pod carries.
    pub(crate) fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/managed-by".to_owned(), "runai".to_owned()),
            ("run.ai/project".to_owned(), self.workload.project.clone()),
            ("run.ai/workload".to_owned(), self.workload.workload.clone()),
            ("run.ai/revision".to_owned(), self.revision.clone()),
        ])
    }
}

/// Requests in flight per replica (`autoscaling.concurrencyHardLimit`), as serving kinds
/// name it `containerConcurrency`.
pub(crate) fn container_concurrency(spec: &InferenceSpec) -> Option<i64> {
    spec.autoscaling
        .as_ref()
        .and_then(|a| a.concurrency_hard_limit)
        .map(i64::from)
}

/// The longest a request may take in seconds (`servingConfiguration.requestTimeoutSeconds`).
pub(crate) fn request_timeout(spec: &InferenceSpec) -> Option<i64> {
    spec.serving_configuration
        .as_ref()
        .and_then(|s| s.request_timeout_seconds)
        .map(i64::from)
}

/// A spec that cannot be rendered, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A field the target kind needs is missing.
    #[error("workload {workload}: `{field}` is required to run on Kubernetes; {hint}")]
    Missing {
        /// The workload.
        workload: WorkloadKey,
        /// The field's path in the spec.
        field: &'static str,
        /// What to give.
        hint: &'static str,
    },
    /// The target kind cannot express a field.
    #[error("workload {workload}: `{field}` cannot be rendered as a {kind}: {reason}")]
    Unsupported {
        /// The workload.
        workload: WorkloadKey,
        /// The field's path in the spec.
        field: String,
        /// The target kind.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// A value is malformed.
    #[error("workload {workload}: `{field}`: {reason}")]
    Invalid {
        /// The workload.
        workload: WorkloadKey,
        /// The field's path in the spec.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}
