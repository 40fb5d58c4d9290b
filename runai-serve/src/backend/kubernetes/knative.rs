//! Single-node inference as a Knative `Service` (`serving.knative.dev/v1`), as Run:ai deploys
//! it: the Run:ai autoscaling fields become the Knative Pod Autoscaler's annotations,
//! `concurrencyHardLimit` the revision's `containerConcurrency`, `requestTimeoutSeconds` its
//! `timeoutSeconds`, and the pod is scheduled by KAI in the project's queue.
//!
//! | Run:ai field | Knative |
//! | --- | --- |
//! | `autoscaling.minReplicas` / `maxReplicas` | `autoscaling.knative.dev/min-scale` / `max-scale` |
//! | `autoscaling.initialReplicas` | `autoscaling.knative.dev/initial-scale` |
//! | `autoscaling.activationReplicas` (when at least 2) | `autoscaling.knative.dev/activation-scale` |
//! | `autoscaling.metric` `concurrency` / `throughput` | `autoscaling.knative.dev/metric` `concurrency` / `rps` (class KPA) |
//! | `autoscaling.metric` `latency` or a custom metric | class HPA with that metric name |
//! | `autoscaling.metricThreshold` | `autoscaling.knative.dev/target` |
//! | `autoscaling.metricThresholdPercentage` | `autoscaling.knative.dev/target-utilization-percentage` |
//! | `autoscaling.scaleToZeroRetentionSeconds` | `autoscaling.knative.dev/scale-to-zero-pod-retention-period` |
//! | `autoscaling.scaleDownDelaySeconds` | `autoscaling.knative.dev/scale-down-delay` |
//! | `autoscaling.concurrencyHardLimit` | `spec.template.spec.containerConcurrency` |
//! | `servingConfiguration.requestTimeoutSeconds` | `spec.template.spec.timeoutSeconds` |

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runai_core::InferenceSpec;
use runai_core::spec::Metric;
use serde::{Deserialize, Serialize};

use super::pod::pod;
use super::{Placement, RenderError, RenderTarget, container_concurrency, request_timeout};

const KIND: &str = "Knative Service";
const AUTOSCALING: &str = "autoscaling.knative.dev/";

/// A Knative `Service` (the fields this renderer sets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnativeService {
    /// `serving.knative.dev/v1`.
    pub api_version: String,
    /// `Service`.
    pub kind: String,
    /// Name, namespace, labels.
    pub metadata: ObjectMeta,
    /// The revision template.
    pub spec: KnativeServiceSpec,
}

/// A Knative `Service`'s spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnativeServiceSpec {
    /// What every revision runs.
    pub template: RevisionTemplate,
}

/// A revision template: its metadata (autoscaling annotations among them) and its spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionTemplate {
    /// The revision's name, labels and annotations.
    pub metadata: ObjectMeta,
    /// The revision's pod and limits.
    pub spec: RevisionSpec,
}

/// A revision's spec: a pod spec plus Knative's per-revision limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSpec {
    /// Requests in flight per replica (0: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_concurrency: Option<i64>,
    /// The longest a request may take, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// The pod.
    #[serde(flatten)]
    pub pod: PodSpec,
}

/// Renders `spec` as the Knative `Service` of `target`'s workload, with the revision name
/// `{workload}-{revision}` so that traffic can be pinned to it.
///
/// ```
/// use runai_serve::backend::kubernetes::{knative, Placement, RenderTarget};
/// use runai_serve::gateway::WorkloadKey;
/// let spec: runai_core::InferenceSpec = serde_json::from_value(serde_json::json!({
///     "image": "vllm/vllm-openai:v0.11.0",
///     "servingPort": {"container": 8000},
///     "autoscaling": {"minReplicas": 0, "maxReplicas": 4, "metric": "concurrency", "metricThreshold": 8}
/// }))?;
/// let target = RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-1");
/// let service = knative::render(&target, &spec, &Placement::default())?;
/// let annotations = service.spec.template.metadata.annotations.unwrap();
/// assert_eq!(annotations["autoscaling.knative.dev/min-scale"], "0");
/// assert_eq!(annotations["autoscaling.knative.dev/target"], "8");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`RenderError`] when the spec has no image, or uses what a pod cannot express.
pub fn render(
    target: &RenderTarget,
    spec: &InferenceSpec,
    placement: &Placement,
) -> Result<KnativeService, RenderError> {
    let rendered = pod(target, spec, placement, KIND)?;
    let mut annotations = rendered.annotations;
    annotations.extend(autoscaling_annotations(spec));
    Ok(KnativeService {
        api_version: "serving.knative.dev/v1".to_owned(),
        kind: "Service".to_owned(),
        metadata: target.object_meta(),
        spec: KnativeServiceSpec {
            template: RevisionTemplate {
                metadata: ObjectMeta {
                    name: Some(format!("{}-{}", target.workload.workload, target.revision)),
                    labels: Some(rendered.labels),
                    annotations: (!annotations.is_empty()).then_some(annotations),
                    ..ObjectMeta::default()
                },
                spec: RevisionSpec {
                    container_concurrency: container_concurrency(spec),
                    timeout_seconds: request_timeout(spec),
                    pod: rendered.spec,
                },
            },
        },
    })
}

/// The Knative Pod Autoscaler annotations of the spec's autoscaling fields.
fn autoscaling_annotations(spec: &InferenceSpec) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(autoscaling) = &spec.autoscaling else {
        return out;
    };
    let mut set = |key: &str, value: String| {
        out.insert(format!("{AUTOSCALING}{key}"), value);
    };
    if let Some(min) = autoscaling.min_replicas {
        set("min-scale", min.to_string());
    }
    if let Some(max) = autoscaling.max_replicas {
        set("max-scale", max.to_string());
    }
    if let Some(initial) = autoscaling.initial_replicas {
        set("initial-scale", initial.to_string());
    }
    // Knative accepts an activation scale of 2 or more; 1 is what scaling from zero does
    // anyway.
    if let Some(activation) = autoscaling.activation_replicas.filter(|&a| a >= 2) {
        set("activation-scale", activation.to_string());
    }
    if let Some(metric) = &autoscaling.metric {
        let (class, name) = match metric {
            Metric::Concurrency => ("kpa.autoscaling.knative.dev", "concurrency"),
            Metric::Throughput => ("kpa.autoscaling.knative.dev", "rps"),
            // The KPA knows only concurrency and rps; latency and custom metrics go through
            // the HPA class, which reads them from the custom metrics API.
            other => ("hpa.autoscaling.knative.dev", other.as_str()),
        };
        set("class", class.to_owned());
        set("metric", name.to_owned());
        if let Some(threshold) = autoscaling.metric_threshold {
            set("target", threshold.to_string());
        }
        if matches!(metric, Metric::Concurrency | Metric::Throughput)
            && let Some(percentage) = autoscaling.metric_threshold_percentage
        {
            set("target-utilization-percentage", percentage.to_string());
        }
    }
    if let Some(retention) = autoscaling.scale_to_zero_retention_seconds.filter(|&s| s > 0) {
        set("scale-to-zero-pod-retention-period", format!("{retention}s"));
    }
    if let Some(delay) = autoscaling.scale_down_delay_seconds.filter(|&s| s > 0) {
        set("scale-down-delay", format!("{delay}s"));
    }
    out
}
