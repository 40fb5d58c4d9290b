//! Clusters as `GET /api/v1/clusters` shows them: identity, version and the status the
//! cluster reports (conditions, operands, platform, configuration, dependencies).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::ClusterId;

open_enum! {
    /// How a cluster's connection to the control plane stands. The control plane's own
    /// `"Unknown"` state parses as `ClusterState::Unknown("Unknown")`, like any value this
    /// version does not know.
    ///
    /// ```
    /// use runai_core::org::ClusterState;
    /// let state: ClusterState = serde_json::from_str(r#""Connected""#).unwrap();
    /// assert_eq!(state, ClusterState::Connected);
    /// let unknown: ClusterState = serde_json::from_str(r#""Unknown""#).unwrap();
    /// assert_eq!(unknown.as_str(), "Unknown");
    /// ```
    pub enum ClusterState {
        /// Created in the control plane; the cluster has not connected yet.
        WaitingToConnect => "WaitingToConnect",
        /// Connected and healthy.
        Connected => "Connected",
        /// Lost its connection.
        Disconnected => "Disconnected",
        /// Connected, but something the cluster needs is not installed.
        MissingPrerequisites => "MissingPrerequisites",
        /// Connected, but some services are unhealthy.
        ServiceIssues => "ServiceIssues",
    }
}

open_enum! {
    /// The Kubernetes distribution a cluster runs.
    ///
    /// ```
    /// use runai_core::org::ClusterPlatformType;
    /// assert_eq!(ClusterPlatformType::Openshift.as_str(), "openshift");
    /// ```
    pub enum ClusterPlatformType {
        /// Upstream Kubernetes.
        Vanilla => "vanilla",
        /// Red Hat OpenShift.
        Openshift => "openshift",
        /// Rancher RKE.
        Rke => "rke",
        /// Google Kubernetes Engine.
        Gke => "gke",
        /// Azure Kubernetes Service.
        Aks => "aks",
        /// Amazon Elastic Kubernetes Service.
        Eks => "eks",
    }
}

/// One cluster, the item of the bare array `GET /api/v1/clusters` answers with.
///
/// ```
/// use runai_core::{parse, DisplayedCluster};
/// use runai_core::org::ClusterState;
/// let cluster: DisplayedCluster = parse::lenient(r#"{
///     "uuid": "71f69d83-ba66-4822-adf5-55ce55efd210", "tenantId": 1, "name": "prod-east",
///     "createdAt": "2026-11-20T10:00:00Z", "version": "2.23.7",
///     "status": {"state": "Connected"}
/// }"#).unwrap();
/// assert_eq!(cluster.status.and_then(|s| s.state), Some(ClusterState::Connected));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisplayedCluster {
    /// The cluster's ID, which workloads and projects refer to as `clusterId`.
    pub uuid: ClusterId,
    /// The tenant.
    pub tenant_id: i32,
    /// The cluster's name.
    pub name: String,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// The cluster's URL, for example `https://prod-east.example.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The Run:ai version installed on the cluster, for example `2.23.7`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The status the cluster reports, plus the control plane's view of its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ClusterStatus>,
    /// Last update (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Deletion time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// When the cluster last reported in (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_liveness: Option<String>,
    /// When the deletion of the cluster was requested (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_requested_at: Option<String>,
}

/// The body of `GET /api/v1/clusters`: a bare JSON array, with no paging.
///
/// ```
/// use runai_core::{parse, ClusterList};
/// let list: ClusterList = parse::lenient(r#"[{"uuid": "71f69d83-ba66-4822-adf5-55ce55efd210",
///     "tenantId": 1, "name": "prod-east", "createdAt": "2026-11-20T10:00:00Z"}]"#).unwrap();
/// assert_eq!(list.clusters[0].name, "prod-east");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ClusterList {
    /// The clusters.
    pub clusters: Vec<DisplayedCluster>,
}

impl ClusterList {
    /// The cluster called `name`, if there is one.
    ///
    /// ```
    /// use runai_core::{parse, ClusterList};
    /// let list: ClusterList = parse::lenient(r#"[{"uuid": "71f69d83-ba66-4822-adf5-55ce55efd210",
    ///     "tenantId": 1, "name": "prod-east", "createdAt": "2026-11-20T10:00:00Z"}]"#).unwrap();
    /// assert_eq!(list.by_name("prod-east").map(|c| c.uuid.as_str()), Some("71f69d83-ba66-4822-adf5-55ce55efd210"));
    /// assert!(list.by_name("prod-west").is_none());
    /// ```
    #[must_use]
    pub fn by_name(&self, name: &str) -> Option<&DisplayedCluster> {
        self.clusters.iter().find(|cluster| cluster.name == name)
    }
}

/// What a cluster reports about itself, plus [`state`](Self::state), the control plane's
/// verdict (`ClusterDisplayedStatus` on the wire).
///
/// ```
/// use runai_core::org::{ClusterState, ClusterStatus};
/// let status: ClusterStatus = serde_json::from_str(r#"{"state": "ServiceIssues",
///     "operands": {"runai-scheduler": {"ready": false, "reasons": ["0/1 pods ready"]}}}"#).unwrap();
/// assert_eq!(status.state, Some(ClusterState::ServiceIssues));
/// assert!(!status.operands.unwrap()["runai-scheduler"].ready);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Kubernetes-style conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ClusterCondition>>,
    /// Readiness of each managed operand, by operand name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operands: Option<BTreeMap<String, OperandStatus>>,
    /// The Kubernetes distribution and version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<ClusterPlatform>,
    /// Configuration values the cluster reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ClusterConfig>,
    /// Required and optional dependencies, and whether each is available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<ClusterDependencies>,
    /// The control plane's view of the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ClusterState>,
}

/// A Kubernetes `metav1.Condition` of a cluster.
///
/// ```
/// use runai_core::org::ClusterCondition;
/// let condition: ClusterCondition = serde_json::from_str(r#"{"type": "Available", "status": "True",
///     "reason": "Reconciled", "message": "", "lastTransitionTime": "2026-11-20T10:00:00Z"}"#).unwrap();
/// assert!(condition.is_true());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCondition {
    /// Condition type, for example `Available`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason, in CamelCase.
    pub reason: String,
    /// Human-readable detail; may be empty.
    pub message: String,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: String,
    /// The `metadata.generation` the condition was computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl ClusterCondition {
    /// Whether the status is `True`.
    ///
    /// ```
    /// use runai_core::org::ClusterCondition;
    /// let condition = ClusterCondition { kind: "Available".into(), status: "False".into(), ..Default::default() };
    /// assert!(!condition.is_true());
    /// ```
    #[must_use]
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// The readiness of one operand (a managed component such as a Deployment or DaemonSet).
///
/// ```
/// use runai_core::org::OperandStatus;
/// let operand: OperandStatus = serde_json::from_str(r#"{"ready": true}"#).unwrap();
/// assert!(operand.ready && operand.reasons.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperandStatus {
    /// Whether every resource of the operand is ready.
    pub ready: bool,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// When readiness last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Whether it has been unready for longer than the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unready_threshold_crossed: Option<bool>,
}

/// The Kubernetes distribution and version of a cluster.
///
/// ```
/// use runai_core::org::{ClusterPlatform, ClusterPlatformType};
/// let platform: ClusterPlatform = serde_json::from_str(r#"{"type": "eks", "kubeVersion": "v1.33.2"}"#).unwrap();
/// assert_eq!(platform.kind, Some(ClusterPlatformType::Eks));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlatform {
    /// The distribution.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ClusterPlatformType>,
    /// The Kubernetes version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
}

/// Configuration values a cluster reports (`ClusterReportedConfig` on the wire).
///
/// ```
/// use runai_core::org::ClusterConfig;
/// let config: ClusterConfig = serde_json::from_str(r#"{"subdomainEnabled": true, "ingressClass": "nginx"}"#).unwrap();
/// assert_eq!(config.ingress_class.as_deref(), Some("nginx"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Whether workload ownership protection is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_ownership_protection: Option<bool>,
    /// Whether workloads get their own subdomain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain_enabled: Option<bool>,
    /// The ingress class the cluster uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_class: Option<String>,
}

/// The required and optional dependencies of a cluster, by name.
///
/// ```
/// use runai_core::org::ClusterDependencies;
/// let deps: ClusterDependencies = serde_json::from_str(r#"{
///     "required": {"gpu-operator": {"available": true}},
///     "optional": {"knative": {"available": false, "reason": "not installed"}}
/// }"#).unwrap();
/// assert!(deps.required["gpu-operator"].available);
/// assert!(!deps.optional["knative"].available);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDependencies {
    /// Dependencies the cluster cannot work without.
    pub required: BTreeMap<String, ClusterDependencyStatus>,
    /// Dependencies some features need.
    pub optional: BTreeMap<String, ClusterDependencyStatus>,
}

/// Whether one dependency, and each of its components, is available.
///
/// ```
/// use runai_core::org::ClusterDependencyStatus;
/// let status: ClusterDependencyStatus = serde_json::from_str(r#"{"available": false,
///     "components": {"serving": {"available": false, "reason": "CRD missing"}}}"#).unwrap();
/// assert_eq!(status.components.unwrap()["serving"].reason.as_deref(), Some("CRD missing"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDependencyStatus {
    /// Whether it is available.
    pub available: bool,
    /// Why it is or is not available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its components, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<BTreeMap<String, Self>>,
}
