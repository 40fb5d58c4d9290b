//! Projects as `GET /api/v1/org-unit/projects` lists them: identity, settings, quotas per
//! node pool and their status.
//!
//! Quotas are in the document's units: GPUs in devices, CPU in millicores, memory in the
//! units the entry names (`Mib`, `MB` or `GB`); quota statuses give memory in MB.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, DepartmentId, ProjectId};

open_enum! {
    /// The phase a project is in. The control plane's own `"Unknown"` phase parses as
    /// `ProjectPhase::Unknown("Unknown")`, like any value this version does not know.
    ///
    /// ```
    /// use runai_core::org::ProjectPhase;
    /// let phase: ProjectPhase = serde_json::from_str(r#""NotReady""#).unwrap();
    /// assert_eq!(phase, ProjectPhase::NotReady);
    /// ```
    pub enum ProjectPhase {
        /// Being created.
        Creating => "Creating",
        /// A change is being applied.
        Updating => "Updating",
        /// Being deleted.
        Deleting => "Deleting",
        /// Deleted.
        Deleted => "Deleted",
        /// Its namespace and queues are being set up.
        Initializing => "Initializing",
        /// Ready for workloads.
        Ready => "Ready",
        /// Not ready; see the phase message.
        NotReady => "NotReady",
    }
}

open_enum! {
    /// The unit of a memory quota.
    ///
    /// ```
    /// use runai_core::org::MemoryUnits;
    /// assert_eq!(MemoryUnits::Mib.as_str(), "Mib");
    /// ```
    pub enum MemoryUnits {
        /// Mebibytes.
        Mib => "Mib",
        /// Megabytes.
        Mb => "MB",
        /// Gigabytes.
        Gb => "GB",
    }
}

/// One project (`Project` on the wire; the scheduler's own view is
/// [`crate::cluster::Project`]).
///
/// ```
/// use runai_core::{parse, org::Project};
/// let project: Project = parse::lenient(r#"{
///     "id": "1", "name": "team-a", "description": "", "parentId": "2",
///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "enforceRunaiScheduler": true,
///     "createdAt": "2026-11-20T10:00:00Z", "updatedAt": "2026-11-20T10:00:00Z",
///     "status": {"phase": "Ready", "namespace": "runai-team-a"},
///     "totalResources": {"gpuQuota": 4}, "effective": {},
///     "resources": [{"nodePool": {"id": "1", "name": "default"}, "gpu": {"deserved": 4}}]
/// }"#).unwrap();
/// assert_eq!(project.resources[0].gpu.deserved, 4.0);
/// assert_eq!(project.status.namespace.as_deref(), Some("runai-team-a"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// The project's ID, a string of digits.
    pub id: ProjectId,
    /// The project's name.
    pub name: String,
    /// The cluster.
    pub cluster_id: ClusterId,
    /// The parent department.
    pub parent_id: DepartmentId,
    /// The parent department, and its parents, by ID and name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgUnitParent>,
    /// Free-text description.
    pub description: String,
    /// The namespace the project asked for, if it asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_namespace: Option<String>,
    /// Whether every pod in the namespace goes through the Run:ai scheduler (cluster 2.21+).
    pub enforce_runai_scheduler: bool,
    /// Time limits of the project's workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_rules: Option<SchedulingRules>,
    /// Node pools the project's workloads try, in order, when they name none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_node_pools: Option<Vec<String>>,
    /// Node types per workload kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_types: Option<NodeTypesPerWorkload>,
    /// Quotas per node pool.
    pub resources: Vec<NodePoolResources>,
    /// Quotas summed over the node pools.
    pub total_resources: TotalResources,
    /// The settings in force, after the department's.
    pub effective: ProjectEffective,
    /// Phase, namespace and quota use.
    pub status: ProjectStatus,
    /// Average GPU allocation and utilisation over time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overtime_data: Option<OvertimeData>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last update (RFC 3339).
    pub updated_at: String,
    /// Who created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Who last changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

impl Project {
    /// The quota entry of the node pool called `node_pool`, if the project has one.
    ///
    /// ```
    /// use runai_core::org::{NodePoolRef, NodePoolResources, Project};
    /// # let mut project: Project = runai_core::parse::lenient(r#"{"id": "1", "name": "team-a",
    /// #   "description": "", "parentId": "2", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
    /// #   "enforceRunaiScheduler": true, "createdAt": "2026-11-20T10:00:00Z",
    /// #   "updatedAt": "2026-11-20T10:00:00Z", "status": {}, "totalResources": {}, "effective": {},
    /// #   "resources": []}"#).unwrap();
    /// let mut h100 = NodePoolResources::default();
    /// h100.node_pool = Some(NodePoolRef { id: "3".into(), name: Some("h100".into()) });
    /// h100.gpu.deserved = 8.0;
    /// project.resources.push(h100);
    /// assert_eq!(project.resources_in("h100").map(|r| r.gpu.deserved), Some(8.0));
    /// assert!(project.resources_in("default").is_none());
    /// ```
    #[must_use]
    pub fn resources_in(&self, node_pool: &str) -> Option<&NodePoolResources> {
        self.resources
            .iter()
            .find(|entry| entry.node_pool.as_ref().and_then(|pool| pool.name.as_deref()) == Some(node_pool))
    }
}

/// A department or project parent, with its own parent up to the root
/// (`DepartmentProjectParent` on the wire).
///
/// ```
/// use runai_core::org::OrgUnitParent;
/// let parent: OrgUnitParent = serde_json::from_str(r#"{"id": "2", "name": "research",
///     "parent": {"id": "1", "name": "acme"}}"#).unwrap();
/// assert_eq!(parent.parent.map(|p| p.name), Some("acme".to_owned()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgUnitParent {
    /// The parent's ID.
    pub id: String,
    /// The parent's name.
    pub name: String,
    /// Its own parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<Self>>,
}

/// Time limits of a project's workloads, in seconds.
///
/// ```
/// use runai_core::org::SchedulingRules;
/// let rules: SchedulingRules = serde_json::from_str(r#"{"trainingJobTimeLimitSeconds": 86400}"#).unwrap();
/// assert_eq!(rules.training_job_time_limit_seconds, Some(86_400));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingRules {
    /// Longest run of an interactive workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive_job_time_limit_seconds: Option<i64>,
    /// Longest idle time of an interactive workload before it stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive_job_max_idle_duration_seconds: Option<i64>,
    /// Longest idle time of a preemptible interactive workload before it is preempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive_job_preempt_idle_duration_seconds: Option<i64>,
    /// Longest idle time of a training workload before it stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_job_max_idle_duration_seconds: Option<i64>,
    /// Longest run of a training workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_job_time_limit_seconds: Option<i64>,
}

/// Node types per workload kind, by node type ID.
///
/// ```
/// use runai_core::org::NodeTypesPerWorkload;
/// let types: NodeTypesPerWorkload = serde_json::from_str(r#"{"training": ["t1"],
///     "names": {"t1": "a100"}}"#).unwrap();
/// assert_eq!(types.names.unwrap()["t1"], "a100");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeTypesPerWorkload {
    /// Node type IDs for training workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<Vec<String>>,
    /// Node type IDs for workspaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<Vec<String>>,
    /// Node type names, by ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<BTreeMap<String, String>>,
}

/// The quotas of a project in one node pool (`Resources` on the wire).
///
/// ```
/// use runai_core::org::{MemoryUnits, NodePoolResources};
/// let entry: NodePoolResources = serde_json::from_str(r#"{"nodePool": {"id": "1", "name": "default"},
///     "gpu": {"deserved": 2, "limit": 4, "overQuotaWeight": 2},
///     "memory": {"deserved": 100, "units": "GB"}}"#).unwrap();
/// assert_eq!(entry.gpu.limit, Some(4.0));
/// assert_eq!(entry.memory.map(|m| m.units), Some(MemoryUnits::Gb));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolResources {
    /// The node pool the entry is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pool: Option<NodePoolRef>,
    /// GPUs, in devices.
    pub gpu: GpuQuota,
    /// CPU, in millicores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourceQuota>,
    /// Memory, in [`MemoryQuota::units`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryQuota>,
    /// The project's priority in the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

/// A node pool by ID and name.
///
/// ```
/// use runai_core::org::NodePoolRef;
/// let pool: NodePoolRef = serde_json::from_str(r#"{"id": "1"}"#).unwrap();
/// assert_eq!((pool.id.as_str(), pool.name), ("1", None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolRef {
    /// The pool's ID.
    pub id: String,
    /// The pool's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A GPU quota: `deserved` is always there (`NonNullResource` on the wire).
///
/// ```
/// use runai_core::org::GpuQuota;
/// let gpu: GpuQuota = serde_json::from_str(r#"{"deserved": 0.5}"#).unwrap();
/// assert_eq!((gpu.deserved, gpu.limit), (0.5, None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GpuQuota {
    /// What the project gets whenever the cluster has it.
    pub deserved: f64,
    /// The most it may get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Its share of resources beyond the deserved quotas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_quota_weight: Option<f64>,
}

/// A CPU quota, every part optional (`Resource` on the wire).
///
/// ```
/// use runai_core::org::ResourceQuota;
/// let cpu: ResourceQuota = serde_json::from_str(r#"{"deserved": 8000}"#).unwrap();
/// assert_eq!(cpu.deserved, Some(8000.0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceQuota {
    /// What the project gets whenever the cluster has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deserved: Option<f64>,
    /// The most it may get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Its share of resources beyond the deserved quotas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_quota_weight: Option<f64>,
}

/// A memory quota, with its unit.
///
/// ```
/// use runai_core::org::{MemoryQuota, MemoryUnits};
/// let memory: MemoryQuota = serde_json::from_str(r#"{"limit": 512, "units": "GB"}"#).unwrap();
/// assert_eq!((memory.limit, memory.units), (Some(512.0), MemoryUnits::Gb));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryQuota {
    /// What the project gets whenever the cluster has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deserved: Option<f64>,
    /// The most it may get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Its share of resources beyond the deserved quotas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_quota_weight: Option<f64>,
    /// The unit of `deserved` and `limit`.
    pub units: MemoryUnits,
}

/// Quotas summed over a project's node pools.
///
/// ```
/// use runai_core::org::TotalResources;
/// let total: TotalResources = serde_json::from_str(r#"{"gpuQuota": 12, "cpuQuota": null}"#).unwrap();
/// assert_eq!((total.gpu_quota, total.cpu_quota), (Some(12.0), None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotalResources {
    /// GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_quota: Option<f64>,
    /// CPU, in millicores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<f64>,
    /// Memory, in MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_quota: Option<f64>,
}

/// The settings in force for a project, after its department's.
///
/// ```
/// use runai_core::org::ProjectEffective;
/// let effective: ProjectEffective = serde_json::from_str(r#"{"defaultNodePools": ["h100", "default"]}"#).unwrap();
/// assert_eq!(effective.default_node_pools.map(|p| p.len()), Some(2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectEffective {
    /// Time limits of the project's workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_rules: Option<SchedulingRules>,
    /// Node pools the project's workloads try, in order, when they name none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_node_pools: Option<Vec<String>>,
    /// Node types per workload kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_types: Option<NodeTypesPerWorkload>,
}

/// A project's phase, namespace and quota use.
///
/// ```
/// use runai_core::org::{ProjectPhase, ProjectStatus};
/// let status: ProjectStatus = serde_json::from_str(r#"{"phase": "Ready",
///     "quotaStatus": {"allocated": {"gpu": 3}}}"#).unwrap();
/// assert_eq!(status.phase, Some(ProjectPhase::Ready));
/// assert_eq!(status.quota_status.and_then(|q| q.allocated).and_then(|a| a.gpu), Some(3.0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatus {
    /// The project's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<ProjectPhase>,
    /// Detail on the phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_message: Option<String>,
    /// When the status last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_time: Option<String>,
    /// Quota use per node pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pool_quota_statuses: Option<Vec<NodePoolQuotaStatus>>,
    /// Quota use over all node pools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_status: Option<QuotaStatus>,
    /// Further status the document leaves open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_status_data: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Quota use: what is allocated, allocated to non-preemptible workloads, and requested.
///
/// ```
/// use runai_core::org::QuotaStatus;
/// let status: QuotaStatus = serde_json::from_str(r#"{"requested": {"gpu": 6, "memory": 40960}}"#).unwrap();
/// assert_eq!(status.requested.and_then(|r| r.memory), Some(40960.0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaStatus {
    /// Allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated: Option<QuotaStatusResource>,
    /// Allocated to non-preemptible workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_non_preemptible: Option<QuotaStatusResource>,
    /// Requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<QuotaStatusResource>,
}

/// Quota use in one node pool (`QuotaStatusNodePool` on the wire).
///
/// ```
/// use runai_core::org::NodePoolQuotaStatus;
/// let status: NodePoolQuotaStatus = serde_json::from_str(r#"{"nodePoolId": "1",
///     "nodePoolName": "default", "allocated": {"gpu": 2}}"#).unwrap();
/// assert_eq!(status.node_pool_name, "default");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolQuotaStatus {
    /// The node pool's name.
    pub node_pool_name: String,
    /// The node pool's ID.
    pub node_pool_id: String,
    /// Allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated: Option<QuotaStatusResource>,
    /// Allocated to non-preemptible workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_non_preemptible: Option<QuotaStatusResource>,
    /// Requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<QuotaStatusResource>,
}

/// An amount of GPUs, CPU (millicores) and memory (MB).
///
/// ```
/// use runai_core::org::QuotaStatusResource;
/// let amount: QuotaStatusResource = serde_json::from_str(r#"{"gpu": 1.5, "cpu": 4000}"#).unwrap();
/// assert_eq!((amount.gpu, amount.memory), (Some(1.5), None));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaStatusResource {
    /// GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<f64>,
    /// CPU, in millicores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// Memory, in MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
}

/// Average GPU allocation and utilisation over the last day, week and month.
///
/// ```
/// use runai_core::org::OvertimeData;
/// let data: OvertimeData = serde_json::from_str(r#"{"range24hData": {"averageGpuAllocation": 3.5}}"#).unwrap();
/// assert_eq!(data.range_24h_data.and_then(|d| d.average_gpu_allocation), Some(3.5));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OvertimeData {
    /// The last 24 hours.
    #[serde(rename = "range24hData", skip_serializing_if = "Option::is_none")]
    pub range_24h_data: Option<OvertimeRangeData>,
    /// The last 7 days.
    #[serde(rename = "range7dData", skip_serializing_if = "Option::is_none")]
    pub range_7d_data: Option<OvertimeRangeData>,
    /// The last 30 days.
    #[serde(rename = "range30dData", skip_serializing_if = "Option::is_none")]
    pub range_30d_data: Option<OvertimeRangeData>,
}

/// Averages over one time range, or over the project's life if it is younger.
///
/// ```
/// use runai_core::org::OvertimeRangeData;
/// let range: OvertimeRangeData = serde_json::from_str(r#"{"averageGpuUtilization": 71.2}"#).unwrap();
/// assert_eq!(range.average_gpu_utilization, Some(71.2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OvertimeRangeData {
    /// Average GPUs allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_gpu_allocation: Option<f64>,
    /// Average GPU utilisation, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_gpu_utilization: Option<f64>,
    /// Average GPU memory utilisation, in percent (cluster 2.22+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_gpu_memory_utilization: Option<f64>,
    /// When the averages were computed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// The body of `GET /api/v1/org-unit/projects`: one page of projects.
///
/// ```
/// use runai_core::{parse, ProjectList};
/// let page: ProjectList = parse::lenient(r#"{"projects": [], "next": 50}"#).unwrap();
/// assert!(page.projects.is_empty());
/// assert_eq!(page.next, Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectList {
    /// The projects of this page.
    pub projects: Vec<Project>,
    /// The next page's offset; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}
