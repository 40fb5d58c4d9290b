//! What the engine schedules: pod groups (gangs) with their placement constraints.

use std::collections::BTreeMap;

use runai_core::spec::{NodeAffinityRequired, Toleration};

use crate::request::PodRequest;

/// Topology placement of a group, by node label (a level of the cluster's topology).
///
/// ```
/// use runai_sched::engine::TopologyConstraint;
/// let c = TopologyConstraint::required("topology.kubernetes.io/zone").preferring("network.topology.kubernetes.io/rack");
/// assert_eq!(c.required.as_deref(), Some("topology.kubernetes.io/zone"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologyConstraint {
    /// Every pod of the gang must share one domain of this level; nodes without the label
    /// are out.
    pub required: Option<String>,
    /// Try to share one domain of this level, then widen level by level.
    pub preferred: Option<String>,
}

impl TopologyConstraint {
    /// All pods in one domain of `level`.
    #[must_use]
    pub fn required(level: impl Into<String>) -> Self {
        Self {
            required: Some(level.into()),
            preferred: None,
        }
    }

    /// The same constraint, preferring one domain of `level`.
    #[must_use]
    pub fn preferring(mut self, level: impl Into<String>) -> Self {
        self.preferred = Some(level.into());
        self
    }
}

/// One pod of a group.
///
/// ```
/// use runai_sched::engine::GroupPod;
/// use runai_sched::{GpuDemand, PodRequest};
/// let leader = GroupPod::new("leader", PodRequest::new(8_000, 65_536, GpuDemand::Devices { count: 8 }));
/// assert_eq!(leader.name, "leader");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPod {
    /// Pod name, unique in the group.
    pub name: String,
    /// What the pod asks for.
    pub request: PodRequest,
}

impl GroupPod {
    /// A pod called `name`.
    #[must_use]
    pub fn new(name: impl Into<String>, request: PodRequest) -> Self {
        Self {
            name: name.into(),
            request,
        }
    }
}

/// A gang of pods scheduled together: the first `min_member` pods all land or none does; the
/// rest are placed if there is room.
///
/// ```
/// use runai_sched::engine::PodGroup;
/// use runai_sched::{GpuDemand, PodRequest};
/// let group = PodGroup::uniform("llama-405b", "team-a", 4, PodRequest::new(8_000, 65_536, GpuDemand::Devices { count: 8 }));
/// assert_eq!(group.pods.len(), 4);
/// assert_eq!(group.gpu_milli(), 32_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodGroup {
    /// Group name, unique in the engine.
    pub name: String,
    /// The queue (project) it is charged to.
    pub queue: String,
    /// Priority value; higher goes first and may preempt lower within a queue.
    pub priority: i32,
    /// Whether running pods of the group may be evicted.
    pub preemptible: bool,
    /// Pods that must be placed together (the first `min_member` of `pods`).
    pub min_member: usize,
    /// The pods, leader first where there is one.
    pub pods: Vec<GroupPod>,
    /// Node pools in order of preference; empty means any.
    pub node_pools: Vec<String>,
    /// Labels a node must carry.
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity (Kubernetes semantics).
    pub node_affinity: Option<NodeAffinityRequired>,
    /// Taints the pods tolerate.
    pub tolerations: Vec<Toleration>,
    /// Topology placement.
    pub topology: TopologyConstraint,
    /// Submission time, for first-come-first-served among equals.
    pub created: u64,
}

impl PodGroup {
    /// A gang of `count` identical pods named `<name>-0`, `<name>-1`, ... in `queue`, with
    /// the inference defaults: priority 150 (`very-high`) and non-preemptible.
    #[must_use]
    pub fn uniform(
        name: impl Into<String>,
        queue: impl Into<String>,
        count: usize,
        request: PodRequest,
    ) -> Self {
        let name = name.into();
        let pods = std::iter::repeat_n(request, count)
            .enumerate()
            .map(|(i, request)| GroupPod::new(format!("{name}-{i}"), request))
            .collect();
        Self {
            name,
            queue: queue.into(),
            priority: 150,
            preemptible: false,
            min_member: count,
            pods,
            node_pools: Vec::new(),
            node_selector: BTreeMap::new(),
            node_affinity: None,
            tolerations: Vec::new(),
            topology: TopologyConstraint::default(),
            created: 0,
        }
    }

    /// The same group with `priority` and `preemptible`.
    #[must_use]
    pub fn with_priority(mut self, priority: i32, preemptible: bool) -> Self {
        self.priority = priority;
        self.preemptible = preemptible;
        self
    }

    /// The same group with a topology constraint.
    #[must_use]
    pub fn with_topology(mut self, topology: TopologyConstraint) -> Self {
        self.topology = topology;
        self
    }

    /// The same group restricted to node pools, in order of preference.
    #[must_use]
    pub fn in_pools(mut self, pools: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.node_pools = pools.into_iter().map(Into::into).collect();
        self
    }

    /// The same group submitted at `created`.
    #[must_use]
    pub fn created_at(mut self, created: u64) -> Self {
        self.created = created;
        self
    }

    /// Milli-GPU of the gang (the first `min_member` pods).
    #[must_use]
    pub fn gpu_milli(&self) -> u64 {
        self.gang().iter().map(|p| p.request.gpu.total_milli()).sum()
    }

    /// The pods that must land together.
    #[must_use]
    pub fn gang(&self) -> &[GroupPod] {
        &self.pods[..self.min_member.min(self.pods.len())]
    }
}
