//! NVIDIA NIM services, deployed through the NIM operator, at `/api/v2/workloads/nim-services`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, DepartmentId, ProjectId, WorkloadId};
use crate::inference::{check_project_and_cluster, check_workload_name};
use crate::quantity::Quantity;
use crate::spec::pod::PodFields;
use crate::spec::{
    Annotation, ClaimInfo, Compute, EnvironmentVariable, GpuRequestType, ImagePullPolicy, ImagePullSecret,
    Label, Metric, Preemptibility, PriorityClass, Probes, Toleration, check_node_pools, check_priority,
};
use crate::validate::{Checker, impl_validate, is_metric_name};
use crate::workload::DesiredPhase;

/// The body of `POST /api/v2/workloads/nim-services`.
///
/// ```
/// use runai_core::{parse, NimServiceCreateRequest, Validate};
/// let request: NimServiceCreateRequest = parse::strict(r#"{
///     "metadata": {"name": "llama-3-1-8b", "projectId": "1"},
///     "spec": {
///         "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0",
///         "ngcAuthSecret": "ngc-api-key",
///         "servingPort": {"port": 8000},
///         "compute": {"gpuDevicesRequest": 1}
///     }
/// }"#).unwrap();
/// assert!(request.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimServiceCreateRequest {
    /// Name and project (there is no cluster ID: the project decides the cluster).
    pub metadata: NimServiceMetadata,
    /// What to run.
    pub spec: NimServiceSpec,
}

/// Metadata of a NIM service create request.
///
/// ```
/// use runai_core::NimServiceMetadata;
/// let meta = NimServiceMetadata { name: "nim-llama".into(), project_id: "1".into(), use_given_name_as_prefix: None };
/// assert_eq!(serde_json::to_value(&meta).unwrap()["projectId"], "1");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimServiceMetadata {
    /// Workload name: a DNS label, at most 63 characters.
    pub name: String,
    /// Append random characters to `name` (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_given_name_as_prefix: Option<bool>,
    /// The project.
    pub project_id: ProjectId,
}

/// The spec of a NIM service.
///
/// ```
/// use runai_core::NimServiceSpec;
/// let spec = NimServiceSpec { image: Some("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.0".into()), ..Default::default() };
/// assert_eq!(spec.with_defaults().replicas, Some(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimServiceSpec {
    /// Kubernetes annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Annotation>>,
    /// Horizontal autoscaling (HPA-style; no scale to zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<NimAutoscaling>,
    /// Workload category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// GPU, CPU and memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute: Option<NimCompute>,
    /// Environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    /// The NIM container image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When to pull the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Registry credentials (for nvcr.io: user `$oauthtoken`, password the NGC key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<ImagePullSecret>>,
    /// Kubernetes labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
    /// Where model weights come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_store: Option<ModelStore>,
    /// Multi-node deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_node: Option<MultiNode>,
    /// Secret holding `NGC_API_KEY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ngc_auth_secret: Option<String>,
    /// Node pools in order of preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pools: Option<Vec<String>>,
    /// Whether the pods may be preempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptibility: Option<Preemptibility>,
    /// Priority class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<PriorityClass>,
    /// Readiness probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// Fixed replicas, 0..=1000 (default 1); not with autoscaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// User and group IDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<NimSecurity>,
    /// Ports and exposure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving_port: Option<NimServingPort>,
    /// Taints tolerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
}

impl NimServiceSpec {
    /// The spec with the documented defaults applied (`replicas` 1 without autoscaling,
    /// autoscaling `minReplicas` 1 and `scaleWindowSeconds` 300, service type `ClusterIP`,
    /// external exposure on), and the inference priority `very-high` with its preemptibility.
    #[must_use]
    pub fn with_defaults(&self) -> Self {
        let priority_class = self.priority_class.clone().unwrap_or(PriorityClass::VeryHigh);
        Self {
            preemptibility: self
                .preemptibility
                .or_else(|| priority_class.default_preemptibility()),
            priority_class: Some(priority_class),
            replicas: if self.autoscaling.is_some() {
                self.replicas
            } else {
                Some(self.replicas.unwrap_or(1))
            },
            autoscaling: self.autoscaling.as_ref().map(|a| NimAutoscaling {
                min_replicas: Some(a.min_replicas.unwrap_or(1)),
                scale_window_seconds: Some(a.scale_window_seconds.unwrap_or(DEFAULT_SCALE_WINDOW_SECONDS)),
                ..a.clone()
            }),
            serving_port: self.serving_port.as_ref().map(|p| NimServingPort {
                service_type: Some(p.service_type.unwrap_or_default()),
                expose_externally: Some(p.expose_externally.unwrap_or(true)),
                exposed_protocol: p.exposed_protocol.or(Some(if p.grpc_port.is_some() {
                    NimProtocol::Grpc
                } else {
                    NimProtocol::Http
                })),
                ..p.clone()
            }),
            ..self.clone()
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        let compute = self.compute.as_ref().map(Compute::from);
        PodFields {
            image: self.image.as_ref(),
            image_required: true,
            compute: compute.as_ref(),
            environment_variables: self.environment_variables.as_ref(),
            image_pull_secrets: self.image_pull_secrets.as_ref(),
            labels: self.labels.as_ref(),
            annotations: self.annotations.as_ref(),
            probes: self.probes.as_ref(),
            tolerations: self.tolerations.as_ref(),
            ..PodFields::default()
        }
        .check(c);
        c.dns_label("ngcAuthSecret", self.ngc_auth_secret.as_ref());
        c.range("replicas", self.replicas, 0, 1000);
        if let Some(autoscaling) = &self.autoscaling {
            c.field("autoscaling", |c| autoscaling.check(c));
            if self.replicas.is_some() {
                c.at(
                    "replicas",
                    "cannot be set together with autoscaling; set autoscaling.minReplicas instead",
                );
            }
            if self.multi_node.is_some() {
                c.at(
                    "autoscaling",
                    "is not supported with multiNode; set replicas instead",
                );
            }
        }
        c.opt("multiNode", self.multi_node.as_ref(), |m, c| {
            c.range("workers", m.workers, 1, 1000);
        });
        c.opt("modelStore", self.model_store.as_ref(), ModelStore::check);
        c.opt("security", self.security.as_ref(), |s, c| {
            c.at_least("runAsUid", s.run_as_uid, 0);
            c.at_least("runAsGid", s.run_as_gid, 0);
        });
        match &self.serving_port {
            None => c.at(
                "servingPort",
                "is required; give the port the NIM serves on (8000 for most NIMs)",
            ),
            Some(port) => c.field("servingPort", |c| port.check(c)),
        }
        check_node_pools(c, self.node_pools.as_ref());
        check_priority(c, self.priority_class.as_ref());
    }
}

/// GPU, CPU and memory of a NIM: [`Compute`] without extended resources or a large `/dev/shm`.
///
/// ```
/// use runai_core::nim::NimCompute;
/// let compute = NimCompute { gpu_devices_request: Some(2), ..Default::default() };
/// assert_eq!(serde_json::to_string(&compute).unwrap(), r#"{"gpuDevicesRequest":2}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimCompute {
    /// Most CPU cores the container may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_core_limit: Option<f64>,
    /// CPU cores guaranteed to the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_core_request: Option<f64>,
    /// Most memory, as a quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_memory_limit: Option<Quantity>,
    /// Memory guaranteed, as a quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_memory_request: Option<Quantity>,
    /// Number of GPU devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_devices_request: Option<i32>,
    /// Most GPU memory per device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory_limit: Option<Quantity>,
    /// GPU memory per device, when `gpuRequestType` is `memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory_request: Option<Quantity>,
    /// Most share of each device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_portion_limit: Option<f64>,
    /// Share of each device (0..=1), when `gpuRequestType` is `portion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_portion_request: Option<f64>,
    /// The unit of the GPU request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_request_type: Option<GpuRequestType>,
}

impl From<&NimCompute> for Compute {
    fn from(nim: &NimCompute) -> Self {
        Self {
            cpu_core_limit: nim.cpu_core_limit,
            cpu_core_request: nim.cpu_core_request,
            cpu_memory_limit: nim.cpu_memory_limit.clone(),
            cpu_memory_request: nim.cpu_memory_request.clone(),
            gpu_devices_request: nim.gpu_devices_request,
            gpu_memory_limit: nim.gpu_memory_limit.clone(),
            gpu_memory_request: nim.gpu_memory_request.clone(),
            gpu_portion_limit: nim.gpu_portion_limit,
            gpu_portion_request: nim.gpu_portion_request,
            gpu_request_type: nim.gpu_request_type,
            extended_resources: None,
            large_shm_request: None,
        }
    }
}

/// The default `scaleWindowSeconds` of NIM autoscaling.
///
/// ```
/// use runai_core::{NimServiceSpec, nim::{NimAutoscaling, DEFAULT_SCALE_WINDOW_SECONDS}};
/// let spec = NimServiceSpec { autoscaling: Some(NimAutoscaling::default()), ..Default::default() };
/// assert_eq!(spec.with_defaults().autoscaling.unwrap().scale_window_seconds, Some(DEFAULT_SCALE_WINDOW_SECONDS));
/// ```
pub const DEFAULT_SCALE_WINDOW_SECONDS: i32 = 300;

/// HPA-style autoscaling of a NIM service.
///
/// ```
/// use runai_core::nim::NimAutoscaling;
/// let a = NimAutoscaling { min_replicas: Some(1), max_replicas: Some(4), metric: Some("gpu_cache_usage_perc".into()), metric_threshold: Some(80), scale_window_seconds: None };
/// assert_eq!(serde_json::to_value(&a).unwrap()["maxReplicas"], 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimAutoscaling {
    /// Most replicas (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// The metric to scale on. Required with autoscaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Target value of the metric. Required with autoscaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_threshold: Option<i32>,
    /// Fewest replicas (>= 1, default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Window the metric is averaged over, 60..=3600 s (default 300).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_window_seconds: Option<i32>,
}

impl NimAutoscaling {
    fn check(&self, c: &mut Checker) {
        c.at_least("minReplicas", self.min_replicas, 1);
        c.at_least("maxReplicas", self.max_replicas, 1);
        c.range("scaleWindowSeconds", self.scale_window_seconds, 60, 3600);
        let min = self.min_replicas.unwrap_or(1);
        if let Some(max) = self.max_replicas
            && max < min
        {
            c.at(
                "maxReplicas",
                format!("must be >= minReplicas ({min}), got {max}"),
            );
        }
        match &self.metric {
            None => c.at("metric", "is required when autoscaling is set"),
            Some(metric) if !is_metric_name(metric.as_str()) => {
                c.at(
                    "metric",
                    format!("`{metric}` is not a metric name matching ^[a-zA-Z_:][a-zA-Z0-9_:]*$"),
                );
            }
            Some(_) => {}
        }
        match self.metric_threshold {
            None => c.at("metricThreshold", "is required when autoscaling is set"),
            some => c.at_least("metricThreshold", some, 1),
        }
    }
}

/// Where a NIM loads its model: a NIM cache, or a persistent volume claim.
///
/// ```
/// use runai_core::nim::{ModelStore, NimCache};
/// let store = ModelStore { nim_cache: Some(NimCache { name: Some("llama-cache".into()), profile: None }), pvc: None };
/// assert_eq!(serde_json::to_value(&store).unwrap()["nimCache"]["name"], "llama-cache");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelStore {
    /// A `NIMCache` object of the NIM operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nim_cache: Option<NimCache>,
    /// A claim holding the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc: Option<NimPvc>,
}

impl ModelStore {
    fn check(&self, c: &mut Checker) {
        if self.nim_cache.is_some() && self.pvc.is_some() {
            c.here("set only one of nimCache and pvc");
        }
        c.opt("nimCache", self.nim_cache.as_ref(), |cache, c| {
            if cache.name.as_deref().is_none_or(str::is_empty) {
                c.at("name", "is required; name the NIMCache object");
            }
        });
        c.opt("pvc", self.pvc.as_ref(), |pvc, c| {
            if pvc.existing_pvc == Some(true) && pvc.claim_name.is_none() {
                c.at("claimName", "is required when existingPvc is true");
            }
        });
    }
}

/// A `NIMCache` reference.
///
/// ```
/// use runai_core::nim::NimCache;
/// let cache = NimCache { name: Some("llama-cache".into()), profile: Some("tensorrt_llm-h100-fp8-tp1-pp1-throughput".into()) };
/// assert!(serde_json::to_string(&cache).unwrap().contains("profile"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimCache {
    /// Name of the `NIMCache`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Model profile, for example `tensorrt_llm-h100-fp8-tp1-pp1-throughput`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A claim holding the model.
///
/// ```
/// use runai_core::nim::NimPvc;
/// let pvc = NimPvc { existing_pvc: Some(true), claim_name: Some("nim-models".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&pvc).unwrap()["claimName"], "nim-models");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimPvc {
    /// Mount a claim that already exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_pvc: Option<bool>,
    /// Name of the claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// Mount read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The claim to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_info: Option<ClaimInfo>,
}

/// Multi-node NIM deployment.
///
/// ```
/// use runai_core::nim::MultiNode;
/// assert_eq!(serde_json::to_string(&MultiNode { workers: Some(2) }).unwrap(), r#"{"workers":2}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiNode {
    /// Worker pods, 1..=1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<i32>,
}

/// User and group IDs of a NIM container.
///
/// ```
/// use runai_core::nim::NimSecurity;
/// let s = NimSecurity { run_as_uid: Some(1000), run_as_gid: Some(1000) };
/// assert_eq!(serde_json::to_value(&s).unwrap()["runAsUid"], 1000);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimSecurity {
    /// Group ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_gid: Option<i64>,
    /// User ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_uid: Option<i64>,
}

/// Kubernetes Service types for a NIM.
///
/// ```
/// use runai_core::nim::NimServiceType;
/// assert_eq!(serde_json::to_string(&NimServiceType::ExternalName).unwrap(), r#""ExternalName""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NimServiceType {
    /// Cluster-internal (the default).
    #[default]
    ClusterIP,
    /// A port on every node.
    NodePort,
    /// A cloud load balancer.
    LoadBalancer,
    /// A DNS alias.
    ExternalName,
}

/// Protocols a NIM exposes.
///
/// ```
/// use runai_core::nim::NimProtocol;
/// assert_eq!(serde_json::to_string(&NimProtocol::Grpc).unwrap(), r#""grpc""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum NimProtocol {
    /// HTTP.
    Http,
    /// gRPC.
    Grpc,
}

/// Ports and exposure of a NIM.
///
/// ```
/// use runai_core::nim::NimServingPort;
/// let port = NimServingPort { port: Some(8000), ..Default::default() };
/// assert_eq!(serde_json::to_string(&port).unwrap(), r#"{"port":8000}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimServingPort {
    /// Service type (default `ClusterIP`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<NimServiceType>,
    /// HTTP port, 1..=65535. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// gRPC port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_port: Option<i32>,
    /// Metrics port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<i32>,
    /// Reachable from outside the cluster (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_externally: Option<bool>,
    /// A custom external URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_url: Option<String>,
    /// Protocol exposed externally (defaults to gRPC when `grpcPort` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_protocol: Option<NimProtocol>,
}

impl NimServingPort {
    fn check(&self, c: &mut Checker) {
        match self.port {
            None => c.at("port", "is required, for example 8000"),
            some => c.range("port", some, 1, 65535),
        }
        c.range("grpcPort", self.grpc_port, 1, 65535);
        c.range("metricsPort", self.metrics_port, 1, 65535);
        if self.exposed_protocol == Some(NimProtocol::Grpc) && self.grpc_port.is_none() {
            c.at("exposedProtocol", "is `grpc` but grpcPort is not set");
        }
        if self.exposed_url.is_some() && self.expose_externally == Some(false) {
            c.at("exposedUrl", "cannot be set when exposeExternally is false");
        }
    }
}

impl NimServiceCreateRequest {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.field("metadata", |c| {
            check_workload_name(
                c,
                &self.metadata.name,
                self.metadata.use_given_name_as_prefix.unwrap_or(false),
            );
            check_project_and_cluster(c, &self.metadata.project_id, None);
        });
        c.field("spec", |c| self.spec.check(c));
    }
}

/// The body of `PATCH /api/v2/workloads/nim-services/{id}`: the whole new spec.
///
/// ```
/// use runai_core::{NimServiceSpec, NimServiceUpdateRequest};
/// let update = NimServiceUpdateRequest { spec: NimServiceSpec { replicas: Some(2), ..Default::default() } };
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"spec":{"replicas":2}}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimServiceUpdateRequest {
    /// The new spec.
    pub spec: NimServiceSpec,
}

impl NimServiceUpdateRequest {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.field("spec", |c| self.spec.check(c));
    }
}

/// Group, version and kind of the Kubernetes object behind a v2 workload.
///
/// ```
/// use runai_core::nim::Gvk;
/// let gvk = Gvk { group: "apps.nvidia.com".into(), version: "v1alpha1".into(), kind: "NIMService".into() };
/// assert_eq!(serde_json::to_value(&gvk).unwrap()["kind"], "NIMService");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Gvk {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// Metadata of a v2 workload as the control plane reports it.
///
/// ```
/// use runai_core::nim::WorkloadV2Metadata;
/// let json = r#"{"name":"nim-llama","projectId":"1","id":"a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10",
///   "gvk":{"group":"apps.nvidia.com","version":"v1alpha1","kind":"NIMService"},"projectName":"team-a",
///   "clusterId":"71f69d83-ba66-4822-adf5-55ce55efd210","tenantId":1,"departmentId":"2","departmentName":"research",
///   "createdAt":"2026-11-20T10:00:00Z","createdBy":"alice@example.com","updatedAt":"2026-11-20T10:00:00Z","updatedBy":"alice@example.com"}"#;
/// let meta: WorkloadV2Metadata = runai_core::parse::lenient(json).unwrap();
/// assert_eq!(meta.gvk.kind, "NIMService");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadV2Metadata {
    /// Name.
    pub name: String,
    /// Project ID.
    pub project_id: ProjectId,
    /// Priority class name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Preemptibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptibility: Option<Preemptibility>,
    /// Workload ID.
    pub id: WorkloadId,
    /// The Kubernetes object type.
    pub gvk: Gvk,
    /// Project name.
    pub project_name: String,
    /// Cluster.
    pub cluster_id: ClusterId,
    /// Tenant.
    pub tenant_id: i32,
    /// Department ID.
    pub department_id: DepartmentId,
    /// Department name.
    pub department_name: String,
    /// Creation time.
    pub created_at: String,
    /// Creator.
    pub created_by: String,
    /// Last update time.
    pub updated_at: String,
    /// Last updater.
    pub updated_by: String,
    /// Deletion time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Who deleted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
}

/// The response of create, get and patch on `/api/v2/workloads/nim-services`.
///
/// ```
/// use runai_core::NimServiceResponse;
/// fn replicas(response: &NimServiceResponse) -> Option<i32> { response.spec.replicas }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NimServiceResponse {
    /// Metadata.
    pub metadata: WorkloadV2Metadata,
    /// The phase asked for.
    pub desired_phase: DesiredPhase,
    /// The spec as stored.
    pub spec: NimServiceSpec,
}

impl_validate!(NimServiceCreateRequest, NimServiceSpec, NimServiceUpdateRequest);
