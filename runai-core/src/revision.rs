//! Revisions of an inference workload: each rolling update creates one.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, DepartmentId, ProjectId, WorkloadId};
use crate::workload::{AllocatedResources, ChildId, Condition, Phase, RequestedPods, RequestedResources};

/// One revision, as `GET /api/v1/workloads/inferences/{id}/revisions` lists it.
///
/// ```
/// use runai_core::{parse, Phase, Revision};
/// let json = r#"{"type": "runai-revision", "name": "llama-3-8b-00002",
///   "id": "0b7e1c52-4f0e-4a8e-a4f4-9e7a2f1c3d5b", "workloadId": "a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10",
///   "tenantId": 1, "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "projectId": "1",
///   "departmentId": "2", "createdAt": "2026-11-20T10:00:00Z", "phase": "Running"}"#;
/// let revision: Revision = parse::lenient(json).unwrap();
/// assert_eq!(revision.phase, Phase::Running);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// Object type, for example `runai-revision`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Revision name.
    pub name: String,
    /// Revision ID.
    pub id: String,
    /// The workload it belongs to.
    pub workload_id: WorkloadId,
    /// Tenant.
    pub tenant_id: i32,
    /// Cluster.
    pub cluster_id: ClusterId,
    /// Project.
    pub project_id: ProjectId,
    /// Department.
    pub department_id: DepartmentId,
    /// Creation time.
    pub created_at: String,
    /// Deletion time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Resources the revision requests in total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_requested_resources: Option<RequestedResources>,
    /// Resources each pod requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods_requested_resources: Option<RequestedResources>,
    /// Pod counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_pods: Option<RequestedPods>,
    /// Node pools requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_node_pools: Option<Vec<String>>,
    /// Resources allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<AllocatedResources>,
    /// Node pools in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_node_pools: Option<Vec<String>>,
    /// Running pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_pods: Option<i32>,
    /// Images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Environment variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children_ids: Option<Vec<ChildId>>,
    /// Conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Phase.
    pub phase: Phase,
    /// Detail on the phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_message: Option<String>,
    /// When the phase last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_updated_at: Option<String>,
    /// Type-specific fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The body of `GET /api/v1/workloads/inferences/{id}/revisions`.
///
/// ```
/// use runai_core::{parse, RevisionList};
/// let list: RevisionList = parse::lenient(r#"{"revisions": []}"#).unwrap();
/// assert!(list.revisions.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevisionList {
    /// The revisions, oldest first.
    pub revisions: Vec<Revision>,
}
