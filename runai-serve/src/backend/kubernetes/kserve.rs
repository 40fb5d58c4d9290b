//! Single-node inference as a KServe `InferenceService` (`serving.kserve.io/v1beta1`): the
//! predictor is the same pod as for Knative, with KServe's own replica, scaling and
//! concurrency fields.
//!
//! | Run:ai field | KServe predictor |
//! | --- | --- |
//! | `autoscaling.minReplicas` / `maxReplicas` | `minReplicas` / `maxReplicas` |
//! | `autoscaling.metric` `concurrency` / `throughput` | `scaleMetric` `concurrency` / `rps` |
//! | `autoscaling.metricThreshold` | `scaleTarget` |
//! | `autoscaling.concurrencyHardLimit` | `containerConcurrency` |
//! | `servingConfiguration.requestTimeoutSeconds` | `timeout` |
//! | the revision's share of traffic during a rollout | `canaryTrafficPercent` |
//! | pod labels and annotations (KAI queue, GPU sharing) | `labels`, `annotations` |

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runai_core::InferenceSpec;
use runai_core::spec::Metric;
use serde::{Deserialize, Serialize};

use super::pod::pod;
use super::{Placement, RenderError, RenderTarget, container_concurrency, request_timeout};

const KIND: &str = "KServe InferenceService";

/// A KServe `InferenceService` (the fields this renderer sets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceService {
    /// `serving.kserve.io/v1beta1`.
    pub api_version: String,
    /// `InferenceService`.
    pub kind: String,
    /// Name, namespace, labels.
    pub metadata: ObjectMeta,
    /// The predictor.
    pub spec: InferenceServiceSpec,
}

/// An `InferenceService`'s spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceServiceSpec {
    /// The model server.
    pub predictor: Predictor,
}

/// The predictor: a pod spec plus KServe's component fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Predictor {
    /// Fewest replicas (0 allows scale to zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Most replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// `concurrency` or `rps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_metric: Option<String>,
    /// The target per replica of the scale metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_target: Option<i32>,
    /// Requests in flight per replica (0: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_concurrency: Option<i64>,
    /// The longest a request may take, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// The share of traffic, in percent, for this (newest) revision during a rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_traffic_percent: Option<i64>,
    /// Labels of the predictor's pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations of the predictor's pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The pod.
    #[serde(flatten)]
    pub pod: PodSpec,
}

/// Renders `spec` as the KServe `InferenceService` of `target`'s workload; with
/// `canary_traffic_percent` the revision receives that share of traffic while the previous
/// one keeps the rest.
///
/// ```
/// use runai_serve::backend::kubernetes::{kserve, Placement, RenderTarget};
/// use runai_serve::gateway::WorkloadKey;
/// let spec: runai_core::InferenceSpec = serde_json::from_value(serde_json::json!({
///     "image": "vllm/vllm-openai:v0.11.0",
///     "servingPort": {"container": 8000},
///     "autoscaling": {"minReplicas": 1, "maxReplicas": 4, "metric": "throughput", "metricThreshold": 20}
/// }))?;
/// let target = RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-2");
/// let service = kserve::render(&target, &spec, &Placement::default(), Some(10))?;
/// assert_eq!(service.spec.predictor.scale_metric.as_deref(), Some("rps"));
/// assert_eq!(service.spec.predictor.canary_traffic_percent, Some(10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`RenderError`] when the spec has no image, scales on a metric KServe does not know
/// (latency or a custom metric), or uses what a pod cannot express.
pub fn render(
    target: &RenderTarget,
    spec: &InferenceSpec,
    placement: &Placement,
    canary_traffic_percent: Option<u8>,
) -> Result<InferenceService, RenderError> {
    let rendered = pod(target, spec, placement, KIND)?;
    let autoscaling = spec.autoscaling.as_ref();
    let scale_metric = match autoscaling.and_then(|a| a.metric.as_ref()) {
        None => None,
        Some(Metric::Concurrency) => Some("concurrency".to_owned()),
        Some(Metric::Throughput) => Some("rps".to_owned()),
        Some(other) => {
            return Err(RenderError::Unsupported {
                workload: target.workload.clone(),
                field: "spec.autoscaling.metric".to_owned(),
                kind: KIND,
                reason: format!(
                    "KServe scales on concurrency, rps, cpu or memory, not `{}`; render a Knative Service instead",
                    other.as_str()
                ),
            });
        }
    };
    Ok(InferenceService {
        api_version: "serving.kserve.io/v1beta1".to_owned(),
        kind: "InferenceService".to_owned(),
        metadata: target.object_meta(),
        spec: InferenceServiceSpec {
            predictor: Predictor {
                min_replicas: autoscaling.and_then(|a| a.min_replicas),
                max_replicas: autoscaling.and_then(|a| a.max_replicas),
                scale_target: scale_metric
                    .as_ref()
                    .and(autoscaling.and_then(|a| a.metric_threshold)),
                scale_metric,
                container_concurrency: container_concurrency(spec),
                timeout: request_timeout(spec),
                canary_traffic_percent: canary_traffic_percent.map(|p| i64::from(p.min(100))),
                labels: Some(rendered.labels),
                annotations: (!rendered.annotations.is_empty()).then_some(rendered.annotations),
                pod: rendered.spec,
            },
        },
    })
}
