//! KAI `PodGroup`s (`scheduling.run.ai/v2alpha2`): the gang a multi-node group forms, so that
//! KAI starts all of its pods or none of them.
//!
//! KAI's pod grouper builds these itself from a `LeaderWorkerSet` (one per group, keyed by
//! the group index), reading the queue, priority, preemptibility and topology from the
//! objects this module's siblings render. Rendering them here shows what each group will
//! ask the scheduler for, and lets a dry run, a test or a status check compare against it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::GroupTopology;

/// A KAI `PodGroup` (the fields this crate sets).
///
/// ```
/// use runai_serve::backend::kubernetes::pod_group::PodGroup;
/// let group: PodGroup = serde_json::from_value(serde_json::json!({
///     "apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup",
///     "metadata": {"name": "llama-0"},
///     "spec": {"minMember": 4, "queue": "team-a"}
/// }))?;
/// assert_eq!(group.spec.min_member, Some(4));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodGroup {
    /// `scheduling.run.ai/v2alpha2`.
    pub api_version: String,
    /// `PodGroup`.
    pub kind: String,
    /// Name, namespace, labels.
    pub metadata: ObjectMeta,
    /// The gang.
    pub spec: PodGroupSpec,
}

/// A `PodGroup`'s spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodGroupSpec {
    /// Pods that must be placed together before any of them starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_member: Option<i32>,
    /// The KAI queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The priority class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// `preemptible` or `non-preemptible`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemptibility: Option<String>,
    /// How close together the pods must land.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology_constraint: Option<TopologyConstraint>,
}

/// A `PodGroup`'s topology constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyConstraint {
    /// The KAI `Topology` object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology: Option<String>,
    /// The level every pod must share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_topology_level: Option<String>,
    /// The level the pods should share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_topology_level: Option<String>,
}

impl From<&GroupTopology> for TopologyConstraint {
    fn from(topology: &GroupTopology) -> Self {
        Self {
            topology: Some(topology.topology.clone()),
            required_topology_level: topology.required_level.clone(),
            preferred_topology_level: topology.preferred_level.clone(),
        }
    }
}
