//! NVIDIA NIM services as a `NIMService` (`apps.nvidia.com/v1alpha1`) of the NIM operator:
//! the operator turns it into a Deployment (or, multi-node, a LeaderWorkerSet), a Service and,
//! with autoscaling, a HorizontalPodAutoscaler; the pods are scheduled by KAI in the project's
//! queue like every other rendered pod.
//!
//! | Run:ai field | NIMService |
//! | --- | --- |
//! | `image` (`repo:tag`, `repo@digest`) | `image.repository`, `image.tag` |
//! | `imagePullPolicy`, `imagePullSecrets` | `image.pullPolicy`, `image.pullSecrets` |
//! | `ngcAuthSecret` | `authSecret` (required by the v3.1 CRD) |
//! | `environmentVariables` | `env` (values, secret and config map references) |
//! | `compute` CPU, memory, whole GPUs | `resources` (`nvidia.com/gpu` as a limit) |
//! | `compute` GPU portion or memory | the KAI annotations `gpu-fraction`, `gpu-memory`, `gpu-fraction-num-devices` |
//! | `modelStore.nimCache{name, profile}` | `storage.nimCache{name, profile}` |
//! | `modelStore.pvc` (existing claim) | `storage.pvc{name, create: false}`, `storage.readOnly` |
//! | `modelStore.pvc.claimInfo` (new claim) | `storage.pvc{create: true, size, storageClass, volumeAccessMode}` |
//! | `servingPort.port`, `grpcPort`, `metricsPort`, `serviceType` | `expose.service.port`, `grpcPort`, `metricsPort`, `type` |
//! | `replicas` (without autoscaling) | `replicas` |
//! | `autoscaling.minReplicas` / `maxReplicas` | `scale.enabled: true`, `scale.hpa.minReplicas` / `maxReplicas` |
//! | `autoscaling.metric` + `metricThreshold` | one `scale.hpa.metrics[]` entry of type `Pods` (see below) |
//! | `autoscaling.scaleWindowSeconds` | `scale.hpa.behavior.scaleDown.stabilizationWindowSeconds` |
//! | `multiNode.workers` (1 or more) | `multiNode{backendType: lws, parallelism{pipeline: workers + 1, tensor: GPUs per pod}}` |
//! | `probes.readiness` | `readinessProbe{enabled: true, probe}` |
//! | `security.runAsUid` / `runAsGid` | `userID` / `groupID` |
//! | `nodePools` (or the placement's pool), placement nodes | `affinity.nodeAffinity` (required) |
//! | `tolerations` | `tolerations` |
//! | `priorityClass` | `priorityClassName` (default `very-high`) |
//! | `preemptibility` | the pod label `kai.scheduler/preemptibility` |
//! | `labels`, `annotations` | the pods' `labels`, `annotations` |
//! | (always) | `schedulerName: kai-scheduler`; the label `kai.scheduler/queue` on the object and its pods; the `run.ai/*` labels |
//!
//! # Autoscaling metrics
//!
//! The operator's HorizontalPodAutoscaler reads per-pod metrics from the custom metrics API
//! (a Prometheus adapter that serves what the NIM exports on `/v1/metrics`). Each Run:ai
//! metric becomes a `Pods` metric whose target is an average value per pod:
//!
//! | Run:ai metric | HPA `pods.metric.name` | `target.averageValue` |
//! | --- | --- | --- |
//! | `concurrency` | `num_requests_running` (requests in flight, as NIM names it) | `metricThreshold` |
//! | a custom metric ending in `_perc` (NIM's 0..1 ratios such as `gpu_cache_usage_perc`) | the metric | `metricThreshold` percent (80 -> `800m`) |
//! | any other custom metric | the metric | `metricThreshold` |
//! | `throughput`, `latency` | refused | |
//!
//! Throughput and latency are rates and histograms that the gateway measures, not per-pod
//! gauges the HPA can average; they are refused with [`RenderError::Unsupported`] rather than
//! guessed at. A `_perc` threshold is a percentage because Run:ai thresholds are whole numbers
//! of at least 1, which on a 0..1 ratio could never be reached.
//!
//! # Multi-node
//!
//! A multi-node NIM runs one LeaderWorkerSet group per replica: the leader and `workers`
//! workers, one pipeline stage per pod and the pod's GPUs in tensor parallel, the layout the
//! NIM documentation recommends (tensor parallelism within a node, pipeline across nodes).
//! Each pod must ask for whole GPUs (`compute.gpuDevicesRequest`), and autoscaling is refused:
//! the CRD allows no HPA with `multiNode`.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscalerBehavior, MetricIdentifier, MetricSpec, MetricTarget,
    PodsMetricSource,
};
use k8s_openapi::api::core::v1::{Affinity, EnvVar, Probe, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runai_core::NimServiceSpec;
use runai_core::nim::{ModelStore, NimAutoscaling, NimPvc};
use runai_core::spec::{Compute, Metric, VolumeMode};
use serde::{Deserialize, Serialize};

use super::lws::KAI_PREEMPTIBILITY_LABEL;
use super::pod::{
    compute_resources, env_vars, extend_annotations, extend_labels, gpu_sharing_annotations, http_probe,
    node_affinity, priority_class_name, pull_secret_names, shares_gpus, toleration_list, wire,
};
use super::{KAI_QUEUE_LABEL, KAI_SCHEDULER, Placement, RenderError, RenderTarget};

const KIND: &str = "NIMService";
/// The tag Docker assumes when a reference names none.
const DEFAULT_TAG: &str = "latest";
/// NIM's gauge of requests in flight on one pod.
const REQUESTS_RUNNING: &str = "num_requests_running";

/// A `NIMService` of the NIM operator (the fields this renderer sets); [`render`] makes one.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimService;
/// fn replicas(service: &NimService) -> Option<i32> {
///     service.spec.replicas
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimService {
    /// `apps.nvidia.com/v1alpha1`.
    pub api_version: String,
    /// `NIMService`.
    pub kind: String,
    /// Name, namespace, labels (the KAI queue among them).
    pub metadata: ObjectMeta,
    /// What the operator deploys.
    pub spec: NimSpec,
}

/// A `NIMService`'s spec.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimSpec;
/// // Autoscaled services leave `replicas` to the HPA.
/// fn autoscaled(spec: &NimSpec) -> bool {
///     spec.scale.as_ref().is_some_and(|s| s.enabled) && spec.replicas.is_none()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimSpec {
    /// The NIM container image.
    pub image: NimImage,
    /// The secret that holds `NGC_API_KEY`.
    pub auth_secret: String,
    /// Environment variables of the NIM container, added to the operator's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// CPU, memory and whole GPUs of each pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Where the model is.
    pub storage: NimStorage,
    /// The Service in front of the pods.
    pub expose: NimExpose,
    /// Fixed replicas (groups, when multi-node); never set together with `scale`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Horizontal autoscaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<NimScale>,
    /// Multi-node deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_node: Option<NimMultiNode>,
    /// The readiness probe, when the spec gives one (the operator has its own default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<NimProbe>,
    /// Labels of the pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations of the pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Node affinity: pool, placement nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Taints tolerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// The pods' priority class.
    pub priority_class_name: String,
    /// `kai-scheduler`.
    pub scheduler_name: String,
    /// The user the NIM runs as.
    #[serde(rename = "userID", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The group the NIM runs as.
    #[serde(rename = "groupID", skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
}

/// The image: the operator pulls `{repository}:{tag}`.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimImage;
/// let image = NimImage { repository: "nvcr.io/nim/meta/llama".into(), tag: "1.8.0".into(), pull_policy: None, pull_secrets: None };
/// assert_eq!(serde_json::to_value(&image)?, serde_json::json!({"repository": "nvcr.io/nim/meta/llama", "tag": "1.8.0"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimImage {
    /// The repository, registry included.
    pub repository: String,
    /// The tag (or, for a digest reference, the digest's hex part; see [`split_image`]).
    pub tag: String,
    /// `Always`, `IfNotPresent` or `Never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    /// Names of the registry credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_secrets: Option<Vec<String>>,
}

/// Where the model is: a `NIMCache`, or a claim.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::{NimCacheVolume, NimStorage};
/// let storage = NimStorage {
///     nim_cache: Some(NimCacheVolume { name: "llama-cache".into(), profile: None }),
///     pvc: None,
///     read_only: None,
/// };
/// assert_eq!(serde_json::to_value(&storage)?, serde_json::json!({"nimCache": {"name": "llama-cache"}}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimStorage {
    /// A `NIMCache` object that holds the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nim_cache: Option<NimCacheVolume>,
    /// A claim that holds (or will hold) the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc: Option<NimPvcVolume>,
    /// Mount the model read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A reference to a `NIMCache`.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimCacheVolume;
/// let cache = NimCacheVolume { name: "llama-cache".into(), profile: Some("tensorrt_llm-h100-fp8-tp1-pp1-throughput".into()) };
/// assert_eq!(serde_json::to_value(&cache)?["profile"], "tensorrt_llm-h100-fp8-tp1-pp1-throughput");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimCacheVolume {
    /// The `NIMCache`'s name.
    pub name: String,
    /// The model profile to serve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A claim for the model.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimPvcVolume;
/// let existing = NimPvcVolume { create: false, name: Some("nim-models".into()), size: None, storage_class: None, volume_access_mode: None };
/// assert_eq!(serde_json::to_value(&existing)?, serde_json::json!({"create": false, "name": "nim-models"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimPvcVolume {
    /// Whether the operator creates the claim.
    pub create: bool,
    /// The claim's name (the operator names a claim it creates `{service}-pvc` when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The size of a claim to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// The storage class of a claim to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// The access mode of a claim to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_access_mode: Option<String>,
}

/// How the NIM is exposed.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::{NimExpose, NimExposeService};
/// let expose = NimExpose { service: NimExposeService { service_type: None, port: 8000, grpc_port: None, metrics_port: None } };
/// assert_eq!(serde_json::to_value(&expose)?, serde_json::json!({"service": {"port": 8000}}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimExpose {
    /// The Service.
    pub service: NimExposeService,
}

/// The Service in front of the NIM.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimExposeService;
/// let service = NimExposeService { service_type: Some("ClusterIP".into()), port: 8000, grpc_port: Some(8001), metrics_port: None };
/// assert_eq!(serde_json::to_value(&service)?, serde_json::json!({"type": "ClusterIP", "port": 8000, "grpcPort": 8001}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimExposeService {
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// The HTTP (OpenAI API) port.
    pub port: i32,
    /// The gRPC port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_port: Option<i32>,
    /// The metrics port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<i32>,
}

/// A probe the operator may turn off.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimProbe;
/// let probe = NimProbe { enabled: false, probe: Default::default() };
/// assert_eq!(serde_json::to_value(&probe)?, serde_json::json!({"enabled": false, "probe": {}}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimProbe {
    /// Whether the probe runs.
    pub enabled: bool,
    /// The probe.
    pub probe: Probe,
}

/// Horizontal autoscaling through a HorizontalPodAutoscaler.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::{NimHpa, NimScale};
/// let scale = NimScale { enabled: true, hpa: NimHpa { min_replicas: Some(1), max_replicas: 4, metrics: vec![], behavior: None } };
/// assert_eq!(serde_json::to_value(&scale)?["hpa"]["maxReplicas"], 4);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimScale {
    /// Always `true` when rendered.
    pub enabled: bool,
    /// The HPA's spec.
    pub hpa: NimHpa,
}

/// The HorizontalPodAutoscaler's replica range, metrics and behaviour.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimHpa;
/// let hpa = NimHpa { min_replicas: None, max_replicas: 2, metrics: vec![], behavior: None };
/// assert_eq!(serde_json::to_value(&hpa)?, serde_json::json!({"maxReplicas": 2, "metrics": []}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimHpa {
    /// Fewest replicas (at least 1: no scale to zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Most replicas.
    pub max_replicas: i32,
    /// What to scale on (autoscaling/v2 metric specs).
    pub metrics: Vec<MetricSpec>,
    /// How fast to scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HorizontalPodAutoscalerBehavior>,
}

/// A multi-node deployment on LeaderWorkerSet.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::{NimMultiNode, NimParallelism};
/// let multi = NimMultiNode { backend_type: "lws".into(), parallelism: NimParallelism { pipeline: 2, tensor: 8 } };
/// assert_eq!(serde_json::to_value(&multi)?, serde_json::json!({"backendType": "lws", "parallelism": {"pipeline": 2, "tensor": 8}}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimMultiNode {
    /// `lws`, the only backend.
    pub backend_type: String,
    /// How the model is split over the group.
    pub parallelism: NimParallelism,
}

/// Pipeline (across pods) and tensor (within a pod) parallelism.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::NimParallelism;
/// // A leader and one worker with 8 GPUs each: 16 GPUs per replica.
/// let p = NimParallelism { pipeline: 2, tensor: 8 };
/// assert_eq!(p.pipeline * p.tensor, 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NimParallelism {
    /// Pipeline stages: the pods of a group.
    pub pipeline: i32,
    /// Tensor-parallel GPUs of each stage: the GPUs of a pod.
    pub tensor: i32,
}

/// Renders `spec` as the `NIMService` of `target`'s workload, its pods placed by `placement`.
///
/// ```
/// use runai_serve::backend::kubernetes::{nim, Placement, RenderTarget};
/// use runai_serve::gateway::WorkloadKey;
/// let spec: runai_core::NimServiceSpec = serde_json::from_value(serde_json::json!({
///     "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0",
///     "ngcAuthSecret": "ngc-api-key",
///     "servingPort": {"port": 8000},
///     "compute": {"gpuDevicesRequest": 1},
///     "modelStore": {"nimCache": {"name": "llama-cache"}},
///     "autoscaling": {"maxReplicas": 4, "metric": "concurrency", "metricThreshold": 16}
/// }))?;
/// let target = RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-1");
/// let service = nim::render(&target, &spec, &Placement::default())?;
/// assert_eq!(service.spec.image.repository, "nvcr.io/nim/meta/llama-3.1-8b-instruct");
/// assert_eq!(service.spec.image.tag, "1.8.0");
/// let hpa = &service.spec.scale.as_ref().unwrap().hpa;
/// assert_eq!((hpa.min_replicas, hpa.max_replicas), (Some(1), 4));
/// assert_eq!(service.spec.replicas, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`RenderError`] when the spec lacks what the operator needs (image, `ngcAuthSecret`, serving
/// port, model store, autoscaling bounds), combines fields the CRD forbids together (`replicas`
/// or `multiNode` with autoscaling), scales on throughput or latency, runs multi-node without
/// whole GPUs, or uses a user credential or a kind of claim the operator cannot create.
pub fn render(
    target: &RenderTarget,
    spec: &NimServiceSpec,
    placement: &Placement,
) -> Result<NimService, RenderError> {
    let workload = &target.workload;
    let missing = |field: &'static str, hint: &'static str| RenderError::Missing {
        workload: workload.clone(),
        field,
        hint,
    };
    // Checked on the spec as given: the defaults fill in `replicas` only without autoscaling,
    // so only the caller can have asked for both.
    if spec.replicas.is_some() && spec.autoscaling.is_some() {
        return Err(RenderError::Invalid {
            workload: workload.clone(),
            field: "spec.replicas",
            reason: "cannot be set together with autoscaling (the NIMService CRD forbids replicas with scale.enabled); set autoscaling.minReplicas instead".to_owned(),
        });
    }
    let multi_node = spec
        .multi_node
        .as_ref()
        .and_then(|m| m.workers)
        .filter(|&workers| workers >= 1);
    if multi_node.is_some() && spec.autoscaling.is_some() {
        return Err(RenderError::Invalid {
            workload: workload.clone(),
            field: "spec.autoscaling",
            reason: "is not supported with multiNode (the NIMService CRD allows no autoscaling with multiNode); remove it and set replicas".to_owned(),
        });
    }
    let defaulted = spec.with_defaults();
    let image = defaulted.image.as_deref().ok_or_else(|| {
        missing(
            "spec.image",
            "give the NIM image, for example nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0",
        )
    })?;
    let (repository, tag) = split_image(image).ok_or_else(|| RenderError::Invalid {
        workload: workload.clone(),
        field: "spec.image",
        reason: format!(
            "`{image}` is not an image reference; write repository:tag or repository@sha256:digest"
        ),
    })?;
    let auth_secret = defaulted
        .ngc_auth_secret
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            missing(
                "spec.ngcAuthSecret",
                "name the secret that holds NGC_API_KEY; the NIM operator v3.1 requires it",
            )
        })?;
    let port = defaulted
        .serving_port
        .as_ref()
        .and_then(|p| p.port)
        .ok_or_else(|| {
            missing(
                "spec.servingPort.port",
                "give the port the NIM serves on (8000 for most NIMs)",
            )
        })?;
    let compute = defaulted.compute.as_ref().map(Compute::from);
    let pull_secrets = pull_secret_names(defaulted.image_pull_secrets.as_deref());

    let mut labels = target.labels();
    labels.insert(KAI_QUEUE_LABEL.to_owned(), target.queue());
    if let Some(preemptibility) = &spec.preemptibility {
        labels.insert(KAI_PREEMPTIBILITY_LABEL.to_owned(), wire(preemptibility));
    }
    extend_labels(&mut labels, defaulted.labels.as_deref());
    let mut annotations = gpu_sharing_annotations(compute.as_ref());
    extend_annotations(&mut annotations, defaulted.annotations.as_deref());

    // KAI's pod grouper looks for the queue on the pods' top owner first, which is the
    // NIMService, so the object carries the queue label as well as its pods.
    let mut metadata = target.object_meta();
    if let Some(object_labels) = metadata.labels.as_mut() {
        object_labels.insert(KAI_QUEUE_LABEL.to_owned(), target.queue());
    }

    Ok(NimService {
        api_version: "apps.nvidia.com/v1alpha1".to_owned(),
        kind: KIND.to_owned(),
        metadata,
        spec: NimSpec {
            image: NimImage {
                repository,
                tag,
                pull_policy: defaulted.image_pull_policy.as_ref().map(wire),
                pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
            },
            auth_secret,
            env: env_vars(target, defaulted.environment_variables.as_deref(), KIND)?,
            resources: compute.as_ref().and_then(compute_resources),
            storage: storage(target, defaulted.model_store.as_ref())?,
            expose: NimExpose {
                service: NimExposeService {
                    service_type: defaulted
                        .serving_port
                        .as_ref()
                        .and_then(|p| p.service_type.as_ref())
                        .map(wire),
                    port,
                    grpc_port: defaulted.serving_port.as_ref().and_then(|p| p.grpc_port),
                    metrics_port: defaulted.serving_port.as_ref().and_then(|p| p.metrics_port),
                },
            },
            replicas: defaulted.replicas,
            scale: defaulted
                .autoscaling
                .as_ref()
                .map(|a| scale(target, a))
                .transpose()?,
            multi_node: multi_node
                .map(|workers| multi_node_of(target, workers, compute.as_ref()))
                .transpose()?,
            readiness_probe: defaulted
                .probes
                .as_ref()
                .and_then(|p| p.readiness.as_ref())
                .and_then(|p| http_probe(p, port))
                .map(|probe| NimProbe { enabled: true, probe }),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            affinity: node_affinity(target, defaulted.node_pools.as_deref(), None, placement),
            tolerations: toleration_list(defaulted.tolerations.as_deref()),
            priority_class_name: priority_class_name(defaulted.priority_class.as_ref()),
            scheduler_name: KAI_SCHEDULER.to_owned(),
            user_id: defaulted.security.as_ref().and_then(|s| s.run_as_uid),
            group_id: defaulted.security.as_ref().and_then(|s| s.run_as_gid),
        },
    })
}

/// Splits an image reference into the operator's `repository` and `tag`; `None` when either
/// part would be empty.
///
/// The tag is what follows the last `:` after the last `/`, so a registry port
/// (`host:5000/nim/llama`) stays in the repository, and a reference without a tag gets
/// `latest`, as `docker pull` does. The operator pulls `{repository}:{tag}`, so a digest
/// reference `repo@sha256:abc...` is split at the digest's own `:` (repository
/// `repo@sha256`, tag `abc...`): the pair joins back into the exact reference.
///
/// ```
/// use runai_serve::backend::kubernetes::nim::split_image;
/// let split = |image| split_image(image).map(|(r, t)| format!("{r} | {t}"));
/// assert_eq!(split("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0").as_deref(), Some("nvcr.io/nim/meta/llama-3.1-8b-instruct | 1.8.0"));
/// assert_eq!(split("host:5000/nim/llama:1.0").as_deref(), Some("host:5000/nim/llama | 1.0"));
/// assert_eq!(split("host:5000/nim/llama").as_deref(), Some("host:5000/nim/llama | latest"));
/// assert_eq!(split("nim/llama@sha256:0af1").as_deref(), Some("nim/llama@sha256 | 0af1"));
/// assert_eq!(split("nim/llama:1.0@sha256:0af1").as_deref(), Some("nim/llama:1.0@sha256 | 0af1"));
/// assert_eq!(split("nim/llama:"), None);
/// ```
#[must_use]
pub fn split_image(image: &str) -> Option<(String, String)> {
    let image = image.trim();
    if let Some((name, digest)) = image.split_once('@') {
        let (algorithm, hex) = digest.split_once(':')?;
        let parts_ok = [name, algorithm, hex].iter().all(|p| !p.is_empty())
            && !format!("{algorithm}{hex}").contains(['/', ':', '@']);
        return parts_ok.then(|| (format!("{name}@{algorithm}"), hex.to_owned()));
    }
    let (repository, tag) = match image.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, tag),
        _ => (image, DEFAULT_TAG),
    };
    (!repository.is_empty() && !tag.is_empty()).then(|| (repository.to_owned(), tag.to_owned()))
}

/// The model store as the operator's `storage`.
fn storage(target: &RenderTarget, store: Option<&ModelStore>) -> Result<NimStorage, RenderError> {
    let workload = &target.workload;
    let unsupported = |field: &str, reason: &str| RenderError::Unsupported {
        workload: workload.clone(),
        field: format!("spec.modelStore.{field}"),
        kind: KIND,
        reason: reason.to_owned(),
    };
    let empty = ModelStore::default();
    let store = store.unwrap_or(&empty);
    match (&store.nim_cache, &store.pvc) {
        (Some(_), Some(_)) => Err(RenderError::Invalid {
            workload: workload.clone(),
            field: "spec.modelStore",
            reason: "set only one of nimCache and pvc".to_owned(),
        }),
        (Some(cache), None) => {
            let name = cache
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| RenderError::Missing {
                    workload: workload.clone(),
                    field: "spec.modelStore.nimCache.name",
                    hint: "name the NIMCache object that holds the model",
                })?;
            Ok(NimStorage {
                nim_cache: Some(NimCacheVolume {
                    name,
                    profile: cache.profile.clone(),
                }),
                pvc: None,
                read_only: None,
            })
        }
        (None, Some(pvc)) => Ok(NimStorage {
            nim_cache: None,
            pvc: Some(claim(target, pvc, &unsupported)?),
            read_only: pvc.read_only,
        }),
        (None, None) => Err(RenderError::Missing {
            workload: workload.clone(),
            field: "spec.modelStore",
            hint: "give a NIMCache (modelStore.nimCache.name) or a claim (modelStore.pvc) to hold the model; the NIM operator needs one",
        }),
    }
}

/// An existing claim, or one the operator creates from `claimInfo`.
fn claim(
    target: &RenderTarget,
    pvc: &NimPvc,
    unsupported: &dyn Fn(&str, &str) -> RenderError,
) -> Result<NimPvcVolume, RenderError> {
    if pvc.existing_pvc == Some(true) {
        let name = pvc
            .claim_name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| RenderError::Missing {
                workload: target.workload.clone(),
                field: "spec.modelStore.pvc.claimName",
                hint: "name the existing claim that holds the model",
            })?;
        return Ok(NimPvcVolume {
            create: false,
            name: Some(name),
            size: None,
            storage_class: None,
            volume_access_mode: None,
        });
    }
    let info = pvc.claim_info.as_ref().ok_or_else(|| RenderError::Missing {
        workload: target.workload.clone(),
        field: "spec.modelStore.pvc.claimInfo",
        hint: "describe the claim to create (size, storage class), or set existingPvc and claimName",
    })?;
    if info.volume_mode == Some(VolumeMode::Block) {
        return Err(unsupported(
            "pvc.claimInfo.volumeMode",
            "the NIM operator mounts the model claim as a file system; use Filesystem",
        ));
    }
    if info.added_attr_values.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(unsupported(
            "pvc.claimInfo.addedAttrValues",
            "the NIM operator passes no extra attributes to the storage class; create the claim yourself and set existingPvc",
        ));
    }
    // The operator takes one access mode; the widest one asked for keeps every use possible.
    let access_mode = info.access_modes.as_ref().map(|modes| {
        if modes.read_write_many == Some(true) {
            "ReadWriteMany"
        } else if modes.read_only_many == Some(true) {
            "ReadOnlyMany"
        } else {
            "ReadWriteOnce"
        }
    });
    Ok(NimPvcVolume {
        create: true,
        name: pvc.claim_name.clone(),
        size: info.size.as_ref().map(|q| q.as_str().to_owned()),
        storage_class: info.storage_class.clone(),
        volume_access_mode: access_mode.map(str::to_owned),
    })
}

/// Autoscaling as the operator's HPA.
fn scale(target: &RenderTarget, autoscaling: &NimAutoscaling) -> Result<NimScale, RenderError> {
    let missing = |field: &'static str, hint: &'static str| RenderError::Missing {
        workload: target.workload.clone(),
        field,
        hint,
    };
    let max_replicas = autoscaling.max_replicas.ok_or_else(|| {
        missing(
            "spec.autoscaling.maxReplicas",
            "give the most replicas the autoscaler may run",
        )
    })?;
    let metric = autoscaling.metric.as_ref().ok_or_else(|| {
        missing(
            "spec.autoscaling.metric",
            "name the metric to scale on, for example concurrency",
        )
    })?;
    let threshold = autoscaling.metric_threshold.ok_or_else(|| {
        missing(
            "spec.autoscaling.metricThreshold",
            "give the per-replica value of the metric to scale at",
        )
    })?;
    Ok(NimScale {
        enabled: true,
        hpa: NimHpa {
            min_replicas: autoscaling.min_replicas,
            max_replicas,
            metrics: vec![hpa_metric(target, metric, threshold)?],
            behavior: autoscaling
                .scale_window_seconds
                .map(|seconds| HorizontalPodAutoscalerBehavior {
                    scale_down: Some(HPAScalingRules {
                        stabilization_window_seconds: Some(seconds),
                        ..HPAScalingRules::default()
                    }),
                    scale_up: None,
                }),
        },
    })
}

/// A Run:ai metric and threshold as an HPA `Pods` metric (see the module docs).
fn hpa_metric(target: &RenderTarget, metric: &Metric, threshold: i32) -> Result<MetricSpec, RenderError> {
    let (name, average) = match metric {
        Metric::Concurrency => (REQUESTS_RUNNING.to_owned(), threshold.to_string()),
        Metric::Custom(name) if name.ends_with("_perc") => {
            // Percent of a 0..1 ratio, in thousandths: 80 -> 800m (0.8).
            (name.clone(), format!("{}m", i64::from(threshold) * 10))
        }
        Metric::Custom(name) => (name.clone(), threshold.to_string()),
        // Throughput, latency, and whatever built-in metric Run:ai adds next.
        _ => {
            return Err(RenderError::Unsupported {
                workload: target.workload.clone(),
                field: "spec.autoscaling.metric".to_owned(),
                kind: KIND,
                reason: format!(
                    "the NIM operator's HPA averages per-pod gauges, and `{}` is measured at the gateway; scale on concurrency or on a metric the NIM exports (for example gpu_cache_usage_perc or num_requests_waiting)",
                    metric.as_str()
                ),
            });
        }
    };
    Ok(MetricSpec {
        type_: "Pods".to_owned(),
        pods: Some(PodsMetricSource {
            metric: MetricIdentifier { name, selector: None },
            target: MetricTarget {
                type_: "AverageValue".to_owned(),
                average_value: Some(Quantity(average)),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    })
}

/// `workers` workers and a leader, each with the same whole GPUs.
fn multi_node_of(
    target: &RenderTarget,
    workers: i32,
    compute: Option<&Compute>,
) -> Result<NimMultiNode, RenderError> {
    if compute.is_some_and(shares_gpus) {
        return Err(RenderError::Unsupported {
            workload: target.workload.clone(),
            field: "spec.compute".to_owned(),
            kind: KIND,
            reason: "a multi-node NIM splits the model over whole GPUs; ask for gpuDevicesRequest without a portion or GPU memory".to_owned(),
        });
    }
    let gpus = compute
        .and_then(|c| c.gpu_devices_request)
        .filter(|&d| d >= 1)
        .ok_or_else(|| RenderError::Missing {
            workload: target.workload.clone(),
            field: "spec.compute.gpuDevicesRequest",
            hint: "a multi-node NIM needs the whole GPUs of each pod (its tensor parallelism)",
        })?;
    Ok(NimMultiNode {
        backend_type: "lws".to_owned(),
        parallelism: NimParallelism {
            pipeline: workers.saturating_add(1),
            tensor: gpus,
        },
    })
}
