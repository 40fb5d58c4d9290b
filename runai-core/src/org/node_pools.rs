//! Node pools as `GET /api/v1/node-pools` lists them.
//!
//! The document builds the item from three parts (the fields given at creation, the fields
//! the cluster syncs back, and the fields the control plane computes); [`NodePool`] holds all
//! of them in one struct. Workloads and project quotas refer to a pool by its name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cluster::PlacementStrategy;
use crate::ids::ClusterId;

open_enum! {
    /// The phase a node pool is in.
    ///
    /// ```
    /// use runai_core::org::NodePoolPhase;
    /// let phase: NodePoolPhase = serde_json::from_str(r#""Unschedulable""#).unwrap();
    /// assert_eq!(phase, NodePoolPhase::Unschedulable);
    /// ```
    pub enum NodePoolPhase {
        /// Being created.
        Creating => "Creating",
        /// A change is being applied.
        Updating => "Updating",
        /// Being deleted.
        Deleting => "Deleting",
        /// No node carries the pool's label.
        Empty => "Empty",
        /// Its nodes cannot take workloads.
        Unschedulable => "Unschedulable",
        /// Ready for workloads.
        Ready => "Ready",
        /// Deleted.
        Deleted => "Deleted",
    }
}

open_enum! {
    /// Whether nodes with GPU network acceleration (for example NVLink domains) are detected,
    /// by the label in `gpuNetworkAccelerationLabelKey`.
    ///
    /// ```
    /// use runai_core::org::GpuNetworkAccelerationDetection;
    /// assert_eq!(GpuNetworkAccelerationDetection::DontUse.as_str(), "DontUse");
    /// ```
    pub enum GpuNetworkAccelerationDetection {
        /// Use the label.
        Use => "Use",
        /// Ignore the label.
        DontUse => "DontUse",
        /// Decide from the nodes (the default).
        Auto => "Auto",
    }
}

/// One node pool of one cluster (`Nodepool` on the wire).
///
/// ```
/// use runai_core::{parse, org::{NodePool, NodePoolPhase}};
/// let pool: NodePool = parse::lenient(r#"{
///     "id": "3", "name": "h100", "labelKey": "run.ai/node-pool", "labelValue": "h100",
///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "clusterName": "prod-east", "tenantId": 1,
///     "isDefault": false, "phase": "Ready",
///     "createdBy": "admin@example.com", "createdAt": "2026-11-20T10:00:00Z",
///     "updatedBy": "admin@example.com", "updatedAt": "2026-11-20T10:00:00Z"
/// }"#).unwrap();
/// assert_eq!(pool.phase, Some(NodePoolPhase::Ready));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    /// The pool's ID.
    pub id: String,
    /// The pool's name, which workloads and quotas use.
    pub name: String,
    /// Nodes labelled `labelKey=labelValue` belong to the pool.
    pub label_key: String,
    /// The label value that selects the pool's nodes.
    pub label_value: String,
    /// The cluster.
    pub cluster_id: ClusterId,
    /// The cluster's name.
    pub cluster_name: String,
    /// The tenant.
    pub tenant_id: i32,
    /// Whether this is the cluster's default pool (nodes no other pool selects).
    pub is_default: bool,
    /// The phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<NodePoolPhase>,
    /// Detail on the phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_message: Option<String>,
    /// What the cluster reports about the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<NodePoolStatus>,
    /// GPU over-provisioning, 1..=5 (deprecated; see `gpuResourceOptimization`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_provisioning_ratio: Option<i32>,
    /// Placement per resource (deprecated; see `schedulingConfiguration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement_strategy: Option<PlacementPerResource>,
    /// The label that marks nodes with GPU network acceleration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_network_acceleration_label_key: Option<String>,
    /// How GPU network acceleration is detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_network_acceleration_detection: Option<GpuNetworkAccelerationDetection>,
    /// The network topology's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_topology_name: Option<String>,
    /// The network topology's ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_topology_id: Option<String>,
    /// GPU memory swap and the node-level scheduler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_resource_optimization: Option<GpuResourceOptimization>,
    /// Placement and preemption settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_configuration: Option<SchedulingConfiguration>,
    /// Who created it.
    pub created_by: String,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Who last changed it.
    pub updated_by: String,
    /// Last update (RFC 3339).
    pub updated_at: String,
    /// Who deleted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    /// Deletion time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

/// What the cluster reports about a node pool: the settings it applied, conditions and nodes.
///
/// ```
/// use runai_core::org::NodePoolStatus;
/// let status: NodePoolStatus = serde_json::from_str(r#"{"nodes": ["dgx-01", "dgx-02"],
///     "conditions": [{"type": "Schedulable", "reason": "NodesReady", "status": "True"}]}"#).unwrap();
/// assert_eq!(status.nodes.map(|n| n.len()), Some(2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolStatus {
    /// The label key applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_key: Option<String>,
    /// The label value applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_value: Option<String>,
    /// GPU over-provisioning applied (deprecated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_provisioning_ratio: Option<i32>,
    /// Placement applied (deprecated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement_strategy: Option<PlacementPerResource>,
    /// The label that marks nodes with GPU network acceleration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_network_acceleration_label_key: Option<String>,
    /// How GPU network acceleration is detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_network_acceleration_detection: Option<GpuNetworkAccelerationDetection>,
    /// GPU memory swap and the node-level scheduler, as applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_resource_optimization: Option<GpuResourceOptimization>,
    /// Placement and preemption settings, as applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_configuration: Option<SchedulingConfiguration>,
    /// Conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<NodePoolCondition>>,
    /// Whether GPU network acceleration was found on some of the pool's nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_network_acceleration_detected: Option<bool>,
    /// The names of the pool's nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<String>>,
}

/// A condition of a node pool (`NodepoolConditionDetails` on the wire).
///
/// ```
/// use runai_core::org::NodePoolCondition;
/// let condition: NodePoolCondition = serde_json::from_str(r#"{"type": "Schedulable",
///     "reason": "NoNodes", "status": "False", "message": "no node has the label"}"#).unwrap();
/// assert_eq!(condition.status.as_deref(), Some("False"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolCondition {
    /// Condition type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Brief reason for the last transition.
    pub reason: String,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `True` or `False`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The nodes the condition is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<String>>,
}

/// A placement strategy for GPU and for CPU workloads, each optional (the wire shape of
/// `placementStrategy`; the cluster model's [`crate::cluster::PlacementStrategies`] is the
/// resolved form).
///
/// ```
/// use runai_core::cluster::PlacementStrategy;
/// use runai_core::org::PlacementPerResource;
/// let placement: PlacementPerResource = serde_json::from_str(r#"{"gpu": "spread"}"#).unwrap();
/// assert_eq!((placement.gpu, placement.cpu), (Some(PlacementStrategy::Spread), None));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementPerResource {
    /// Strategy for CPU-only workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<PlacementStrategy>,
    /// Strategy for GPU workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<PlacementStrategy>,
}

/// GPU memory swap and the node-level scheduler of a node pool.
///
/// ```
/// use runai_core::org::GpuResourceOptimization;
/// let optimization: GpuResourceOptimization = serde_json::from_str(r#"{"swapEnabled": true,
///     "cpuSwapMemorySize": "200G"}"#).unwrap();
/// assert_eq!(optimization.cpu_swap_memory_size.as_deref(), Some("200G"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GpuResourceOptimization {
    /// Whether GPU memory may swap to CPU memory (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap_enabled: Option<bool>,
    /// CPU memory for swap, a quantity (default `100G`); only with swap on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_swap_memory_size: Option<String>,
    /// GPU memory kept for swap operations, a quantity (default `2G`); only with swap on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_gpu_memory_for_swap_operations: Option<String>,
    /// Whether the node-level scheduler is on (default false; replaces
    /// `overProvisioningRatio`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_level_scheduler_enabled: Option<bool>,
}

/// Placement and preemption settings of a node pool.
///
/// ```
/// use runai_core::org::SchedulingConfiguration;
/// let config: SchedulingConfiguration = serde_json::from_str(r#"{"minGuaranteedRuntime": "2h"}"#).unwrap();
/// assert_eq!(config.min_guaranteed_runtime.as_deref(), Some("2h"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingConfiguration {
    /// Placement per resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement_strategy: Option<PlacementPerResource>,
    /// How long a preemptible workload runs before it may be preempted, for example `5d8h40m`
    /// (default `0`: at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_guaranteed_runtime: Option<String>,
}

/// The body of `GET /api/v1/node-pools`. The document gives it no `next`: the pools come in
/// one page unless `limit` is sent.
///
/// ```
/// use runai_core::{parse, NodePoolList};
/// let list: NodePoolList = parse::lenient(r#"{"nodepools": []}"#).unwrap();
/// assert!(list.items().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodePoolList {
    /// The node pools (optional in the document; see [`items`](Self::items)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodepools: Option<Vec<NodePool>>,
}

impl NodePoolList {
    /// The node pools; none when the answer has no list.
    ///
    /// ```
    /// use runai_core::{parse, NodePoolList};
    /// let list: NodePoolList = parse::lenient("{}").unwrap();
    /// assert!(list.items().is_empty());
    /// ```
    #[must_use]
    pub fn items(&self) -> &[NodePool] {
        self.nodepools.as_deref().unwrap_or_default()
    }

    /// The pool called `name` on the cluster `cluster_id`, if there is one.
    ///
    /// ```
    /// use runai_core::{parse, ClusterId, NodePoolList};
    /// let list: NodePoolList = parse::lenient(r#"{"nodepools": [{
    ///     "id": "1", "name": "default", "labelKey": "run.ai/node-pool", "labelValue": "default",
    ///     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "clusterName": "prod-east", "tenantId": 1,
    ///     "isDefault": true, "createdBy": "system", "createdAt": "2026-11-20T10:00:00Z",
    ///     "updatedBy": "system", "updatedAt": "2026-11-20T10:00:00Z"}]}"#).unwrap();
    /// let cluster = ClusterId::new("71f69d83-ba66-4822-adf5-55ce55efd210");
    /// assert!(list.find(&cluster, "default").is_some_and(|pool| pool.is_default));
    /// assert!(list.find(&cluster, "h100").is_none());
    /// ```
    #[must_use]
    pub fn find(&self, cluster_id: &ClusterId, name: &str) -> Option<&NodePool> {
        self.items()
            .iter()
            .find(|pool| pool.cluster_id == *cluster_id && pool.name == name)
    }
}
