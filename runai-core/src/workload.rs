//! The workload status view of `GET /api/v1/workloads` and `/api/v1/workloads/{id}`:
//! phases, conditions, serving URLs and resources, for every workload type.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, DepartmentId, ProjectId, WorkloadId};
use crate::spec::GpuRequestType;

open_enum! {
    /// The phase a workload is in. Newer control planes may add phases; they parse into
    /// `Unknown` and round-trip unchanged. The control plane's own `"Unknown"` phase parses
    /// as `Phase::Unknown("Unknown")`.
    ///
    /// ```
    /// use runai_core::Phase;
    /// let phase: Phase = serde_json::from_str(r#""Running""#).unwrap();
    /// assert_eq!(phase, Phase::Running);
    /// let newer: Phase = serde_json::from_str(r#""Hibernating""#).unwrap();
    /// assert_eq!(newer.as_str(), "Hibernating");
    /// assert!(!newer.is_known());
    /// ```
    pub enum Phase {
        /// Accepted; objects are being created.
        Creating => "Creating",
        /// Scheduled; containers are starting or the model is loading.
        Initializing => "Initializing",
        /// Coming back from `Stopped`.
        Resuming => "Resuming",
        /// Waiting for resources.
        Pending => "Pending",
        /// Being deleted.
        Deleting => "Deleting",
        /// Serving.
        Running => "Running",
        /// A new revision is rolling out while the old one serves.
        Updating => "Updating",
        /// Stopped by the user; no replicas.
        Stopped => "Stopped",
        /// Being stopped.
        Stopping => "Stopping",
        /// Serving with fewer ready replicas than required.
        Degraded => "Degraded",
        /// Cannot run; see the phase message.
        Failed => "Failed",
        /// Finished (not used by inference).
        Completed => "Completed",
        /// Pods are terminating.
        Terminating => "Terminating",
    }
}

impl Phase {
    /// Whether the workload serves traffic in this phase.
    ///
    /// ```
    /// use runai_core::Phase;
    /// assert!(Phase::Updating.is_serving());
    /// assert!(!Phase::Pending.is_serving());
    /// ```
    #[must_use]
    pub fn is_serving(&self) -> bool {
        matches!(self, Self::Running | Self::Updating | Self::Degraded)
    }
}

open_enum! {
    /// The phase a user asked for.
    ///
    /// ```
    /// use runai_core::DesiredPhase;
    /// assert_eq!(serde_json::to_string(&DesiredPhase::Stopped).unwrap(), r#""Stopped""#);
    /// ```
    pub enum DesiredPhase {
        /// Run it.
        Running => "Running",
        /// Keep it, with no replicas.
        Stopped => "Stopped",
        /// Remove it.
        Deleted => "Deleted",
    }
}

open_enum! {
    /// Why a pending workload cannot be scheduled.
    ///
    /// ```
    /// use runai_core::PhaseReason;
    /// assert_eq!(PhaseReason::from("OverLimit"), PhaseReason::OverLimit);
    /// ```
    pub enum PhaseReason {
        /// A non-preemptible workload would exceed the project's deserved quota.
        NonPreemptibleOverQuota => "NonPreemptibleOverQuota",
        /// The project's limit would be exceeded.
        OverLimit => "OverLimit",
    }
}

open_enum! {
    /// Where a workload was submitted from.
    ///
    /// ```
    /// use runai_core::WorkloadSource;
    /// assert_eq!(WorkloadSource::ControlPlane.as_str(), "Control-plane");
    /// ```
    pub enum WorkloadSource {
        /// The `runai` command line.
        Cli => "CLI",
        /// The REST API or the UI.
        ControlPlane => "Control-plane",
        /// Anything else (for example `kubectl`).
        Other => "Other",
    }
}

/// A condition of a workload or revision, as Kubernetes reports them.
///
/// ```
/// use runai_core::Condition;
/// let ready = Condition::new("Ready", "True");
/// assert!(ready.is_true());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, for example `Ready`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the status last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

impl Condition {
    /// A condition of `kind` with `status`.
    #[must_use]
    pub fn new(kind: impl Into<String>, status: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            status: status.into(),
            ..Self::default()
        }
    }

    /// Whether the status is `True`.
    #[must_use]
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// A request and limit of a fractional resource (GPUs or CPU cores).
///
/// ```
/// use runai_core::ResourceCores;
/// let gpu = ResourceCores { request: Some(0.5), limit: Some(1.0) };
/// assert_eq!(serde_json::to_value(&gpu).unwrap()["request"], 0.5);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCores {
    /// Limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<f64>,
}

/// A request and limit of a quantity resource (memory).
///
/// ```
/// use runai_core::ResourceQuantity;
/// let memory = ResourceQuantity { request: Some("20G".into()), limit: None };
/// assert_eq!(serde_json::to_value(&memory).unwrap()["request"], "20G");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceQuantity {
    /// Limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// An extended resource in a status view.
///
/// ```
/// use runai_core::WorkloadExtendedResource;
/// let r = WorkloadExtendedResource { resource: Some("rdma/ib".into()), quantity: Some("1".into()), exclude: None };
/// assert_eq!(serde_json::to_value(&r).unwrap()["resource"], "rdma/ib");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadExtendedResource {
    /// Resource name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    /// Excluded from a policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// Requested resources, for the whole workload or for each pod.
///
/// ```
/// use runai_core::{RequestedResources, ResourceCores};
/// let r = RequestedResources { gpu: Some(ResourceCores { request: Some(2.0), limit: None }), ..Default::default() };
/// assert_eq!(serde_json::to_value(&r).unwrap()["gpu"]["request"], 2.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestedResources {
    /// Unit of the GPU request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_request_type: Option<GpuRequestType>,
    /// GPU devices or portion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<ResourceCores>,
    /// GPU memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory: Option<ResourceQuantity>,
    /// CPU cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourceCores>,
    /// CPU memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_memory: Option<ResourceQuantity>,
    /// Extended resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_resources: Option<Vec<WorkloadExtendedResource>>,
}

/// Resources allocated to the running pods.
///
/// ```
/// use runai_core::AllocatedResources;
/// let a = AllocatedResources { gpu: Some(1.0), ..Default::default() };
/// assert_eq!(serde_json::to_value(&a).unwrap()["gpu"], 1.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocatedResources {
    /// GPU devices (fractional with sharing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<f64>,
    /// GPU memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory: Option<String>,
    /// CPU cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// CPU memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_memory: Option<String>,
    /// Extended resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_resources: Option<Vec<WorkloadExtendedResource>>,
}

/// How many pods a workload asks for.
///
/// ```
/// use runai_core::RequestedPods;
/// let pods = RequestedPods { number: Some(2), min: Some(1), max: Some(4), ..Default::default() };
/// assert_eq!(serde_json::to_value(&pods).unwrap()["max"], 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestedPods {
    /// Current target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<i32>,
    /// Fewest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    /// Most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
    /// Parallelism (batch workloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// Completions (batch workloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
}

/// A child object of a workload (for example a revision).
///
/// ```
/// use runai_core::ChildId;
/// let child = ChildId { id: "0b7e1c52-4f0e-4a8e-a4f4-9e7a2f1c3d5b".into(), kind: Some("runai-revision".into()) };
/// assert_eq!(serde_json::to_value(&child).unwrap()["type"], "runai-revision");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildId {
    /// The child's ID.
    pub id: String,
    /// The child's type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A connection to a tool of the workload.
///
/// ```
/// use runai_core::Connection;
/// let c = Connection { name: "serving".into(), tool_type: "inference".into(), connection_type: "ExternalUrl".into(), ..Default::default() };
/// assert_eq!(serde_json::to_value(&c).unwrap()["toolType"], "inference");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Name.
    pub name: String,
    /// Tool type.
    pub tool_type: String,
    /// Connection type (`ExternalUrl`, `NodePort`, ...).
    pub connection_type: String,
    /// URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Access type: `public`, `authenticatedUsers` or `authorizedUsersOrGroups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_type: Option<String>,
    /// Users allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_users: Option<Vec<String>>,
    /// Groups allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_groups: Option<Vec<String>>,
    /// Container port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
}

/// A data source attached to a workload.
///
/// ```
/// use runai_core::Datasource;
/// let d = Datasource { name: "models".into(), id: "5b1f8d0e-2a7c-4a57-9a1e-6f4c2d9b8e11".into(), kind: Some("pvc".into()) };
/// assert_eq!(serde_json::to_value(&d).unwrap()["type"], "pvc");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Datasource {
    /// Data source type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    pub name: String,
    /// ID.
    pub id: String,
}

/// An environment (asset) attached to a workload.
///
/// ```
/// use runai_core::Environment;
/// let e = Environment { name: "vllm".into(), id: "c1d2e3f4-0a1b-4c2d-8e3f-1a2b3c4d5e6f".into(), ..Default::default() };
/// assert_eq!(serde_json::to_value(&e).unwrap()["name"], "vllm");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    /// Tool connections of the environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<Connection>>,
    /// Name.
    pub name: String,
    /// ID.
    pub id: String,
    /// `Master`, `Worker` or `Leader`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_type: Option<String>,
}

/// Which operations a workload supports.
///
/// ```
/// use runai_core::ActionsSupport;
/// let a = ActionsSupport { delete: Some(true), suspend: Some(false) };
/// assert_eq!(serde_json::to_value(&a).unwrap()["delete"], true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionsSupport {
    /// Can be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    /// Can be suspended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Topology placement of a workload.
///
/// ```
/// use runai_core::WorkloadTopology;
/// let t = WorkloadTopology { name: Some("gb200".into()), required_placement: Some("nvidia.com/gpu.clique".into()), preferred_placement: None };
/// assert_eq!(serde_json::to_value(&t).unwrap()["requiredPlacement"], "nvidia.com/gpu.clique");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadTopology {
    /// Topology name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Preferred level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_placement: Option<String>,
    /// Required level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_placement: Option<String>,
}

/// The status view of one workload of any type.
///
/// Required wire fields are plain fields; everything else is optional. Parse responses
/// leniently ([`crate::parse::lenient`]) so newer fields are ignored.
///
/// ```
/// use runai_core::{parse, Phase, Workload};
/// let json = r#"{
///   "tenantId": 1, "runningPods": 1, "phaseUpdatedAt": "2026-11-20T10:05:00Z",
///   "k8sPhaseUpdatedAt": "2026-11-20T10:05:00Z", "updatedAt": "2026-11-20T10:05:00Z",
///   "source": "Control-plane", "deletedAt": null, "type": "inference", "name": "llama-3-8b",
///   "id": "a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10", "priority": 125, "priorityClassName": "very-high",
///   "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "projectName": "team-a", "projectId": "1",
///   "departmentName": "research", "departmentId": "2", "namespace": "runai-team-a",
///   "createdAt": "2026-11-20T10:00:00Z", "phase": "Running", "conditions": [],
///   "k8sPhase": "Running", "category": "Deploy",
///   "urls": ["https://llama-3-8b-team-a.inference.example.com"]
/// }"#;
/// let workload: Workload = parse::lenient(json).unwrap();
/// assert_eq!(workload.phase, Phase::Running);
/// assert_eq!(workload.serving_url(), Some("https://llama-3-8b-team-a.inference.example.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// Tenant.
    pub tenant_id: i32,
    /// Running pods.
    pub running_pods: i32,
    /// When the phase last changed.
    pub phase_updated_at: String,
    /// When the Kubernetes phase last changed.
    pub k8s_phase_updated_at: String,
    /// Last update.
    pub updated_at: String,
    /// Where it was submitted from.
    pub source: WorkloadSource,
    /// When it was deleted (null while it exists).
    pub deleted_at: Option<String>,
    /// Workload type, for example `inference`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    pub name: String,
    /// ID.
    pub id: WorkloadId,
    /// Numeric priority (null when unknown).
    pub priority: Option<i32>,
    /// Priority class name.
    pub priority_class_name: String,
    /// Who submitted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
    /// Cluster.
    pub cluster_id: ClusterId,
    /// Project name.
    pub project_name: String,
    /// Project ID.
    pub project_id: ProjectId,
    /// Department name.
    pub department_name: String,
    /// Department ID.
    pub department_id: DepartmentId,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Creation time.
    pub created_at: String,
    /// Resources the workload requests in total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_requested_resources: Option<RequestedResources>,
    /// Resources each pod requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods_requested_resources: Option<RequestedResources>,
    /// Resources allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<AllocatedResources>,
    /// Supported operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_support: Option<ActionsSupport>,
    /// Phase.
    pub phase: Phase,
    /// Conditions.
    pub conditions: Vec<Condition>,
    /// Detail on the phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_message: Option<String>,
    /// The underlying Kubernetes phase.
    pub k8s_phase: String,
    /// Pod counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_pods: Option<RequestedPods>,
    /// Node pools requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_node_pools: Option<Vec<String>>,
    /// Node pools in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_node_pools: Option<Vec<String>>,
    /// Completion time (batch workloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Children, for example revisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children_ids: Option<Vec<ChildId>>,
    /// Serving URLs (control planes before 2.25).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// Data sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasources: Option<Vec<Datasource>>,
    /// Environments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<Environment>>,
    /// External connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_connections: Option<Vec<Connection>>,
    /// Distributed framework (training workloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributed_framework: Option<String>,
    /// Fields specific to the workload type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Whether the workload may be preempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptible: Option<bool>,
    /// Environment variables as a map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Why it is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_reason: Option<PhaseReason>,
    /// Deprecated; use `idleAllocatedGpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_gpus: Option<i64>,
    /// Allocated GPUs that are idle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_allocated_gpus: Option<f64>,
    /// Seconds spent pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pending_time_seconds: Option<i64>,
    /// Seconds spent running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_running_time_seconds: Option<i64>,
    /// Category.
    pub category: String,
    /// End of the guaranteed runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guaranteed_runtime_ends_at: Option<String>,
    /// AI application ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_application_id: Option<String>,
    /// AI application name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_application_name: Option<String>,
    /// `WorkloadsV2` for workloads created through the v2 API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_api: Option<String>,
    /// Topology placement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology: Option<WorkloadTopology>,
}

impl Workload {
    /// The first serving URL, if the control plane reported one.
    #[must_use]
    pub fn serving_url(&self) -> Option<&str> {
        self.urls
            .as_ref()
            .and_then(|urls| urls.first())
            .map(String::as_str)
    }

    /// The condition of `kind`, if reported.
    #[must_use]
    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }
}

/// The body of `GET /api/v1/workloads`: one page of workloads.
///
/// ```
/// use runai_core::{parse, WorkloadList};
/// let page: WorkloadList = parse::lenient(r#"{"workloads": [], "next": 50}"#).unwrap();
/// assert_eq!(page.next, Some(50));
/// assert!(page.workloads.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadList {
    /// The next page's offset; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// The workloads of this page.
    pub workloads: Vec<Workload>,
}

/// The metadata the control plane reports for a v1 workload (`WorkloadMeta1` on the wire).
///
/// ```
/// use runai_core::{DesiredPhase, WorkloadMeta};
/// let meta: WorkloadMeta = serde_json::from_str(r#"{
///     "name": "llama-3-8b-x7k2p9", "requestedName": "llama-3-8b",
///     "workloadId": "a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10", "projectId": "1",
///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "createdBy": "alice@example.com",
///     "createdAt": "2026-11-20T10:00:00Z", "desiredPhase": "Running"
/// }"#).unwrap();
/// assert_ne!(meta.name, meta.requested_name);
/// assert_eq!(meta.desired_phase, DesiredPhase::Running);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadMeta {
    /// The workload's name.
    pub name: String,
    /// The name as requested (differs when `useGivenNameAsPrefix` was set).
    pub requested_name: String,
    /// The workload's ID.
    pub workload_id: WorkloadId,
    /// The project.
    pub project_id: ProjectId,
    /// The project's department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    /// The cluster.
    pub cluster_id: ClusterId,
    /// Who submitted it.
    pub created_by: String,
    /// When it was submitted (RFC 3339).
    pub created_at: String,
    /// When it was deleted (RFC 3339), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// The phase the user asked for.
    pub desired_phase: DesiredPhase,
    /// The phase it is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_phase: Option<Phase>,
}

/// A v1 workload as create, get and patch return it: the metadata and the stored spec, side
/// by side in one JSON object. See [`crate::Inference`] and [`crate::DistributedInference`].
///
/// ```
/// use runai_core::{Inference, InferenceSpec};
/// fn image(response: &Inference) -> Option<&str> {
///     response.spec.as_ref().and_then(|spec: &InferenceSpec| spec.image.as_deref())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkloadResponse<S> {
    /// Identity, ownership and phases.
    #[serde(flatten)]
    pub meta: WorkloadMeta,
    /// The spec as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<S>,
}
