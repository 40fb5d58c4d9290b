//! What one scheduling pass decides: bindings, evictions and, for every group left waiting,
//! a reason a person can act on.

use std::fmt;

/// A pod bound to a node and devices.
///
/// ```
/// use runai_sched::engine::Binding;
/// let b = Binding { group: "g".into(), pod: "g-0".into(), node: "dgx-01".into(), devices: vec![(0, 1000)] };
/// assert_eq!(b.devices.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The group.
    pub group: String,
    /// The pod.
    pub pod: String,
    /// The node.
    pub node: String,
    /// `(device index, milli-GPU)` per device used.
    pub devices: Vec<(u8, u32)>,
}

/// Why a running group was evicted.
///
/// ```
/// use runai_sched::engine::EvictionCause;
/// assert_eq!(EvictionCause::Preempted.to_string(), "preempted by a higher-priority workload of its queue");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvictionCause {
    /// A higher-priority group of the same queue needed the room.
    Preempted,
    /// A queue below its fair share took back GPUs this queue used beyond its own.
    Reclaimed,
}

impl fmt::Display for EvictionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Preempted => "preempted by a higher-priority workload of its queue",
            Self::Reclaimed => "reclaimed by a queue below its fair share",
        })
    }
}

/// A running group evicted whole (gangs are never cut).
///
/// ```
/// use runai_sched::engine::{Eviction, EvictionCause};
/// let e = Eviction { group: "batch".into(), for_group: "llama".into(), cause: EvictionCause::Preempted };
/// assert_eq!(e.for_group, "llama");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eviction {
    /// The evicted group.
    pub group: String,
    /// The group that needed the room.
    pub for_group: String,
    /// Why.
    pub cause: EvictionCause,
}

/// Why a group is still pending.
///
/// ```
/// use runai_sched::engine::PendingReason;
/// let reason = PendingReason::TopologyDomainTooSmall {
///     level: "nvidia.com/gpu.clique".into(), needed_gpus: 16.0, largest_free_gpus: 12.0,
/// };
/// assert_eq!(reason.to_string(), "needs 16 GPUs in one nvidia.com/gpu.clique; largest free nvidia.com/gpu.clique has 12");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PendingReason {
    /// The queue would pass its limit.
    OverLimit {
        /// The queue.
        queue: String,
        /// Its limit in GPUs.
        limit_gpus: f64,
        /// GPUs it uses now.
        used_gpus: f64,
        /// GPUs the group needs.
        needed_gpus: f64,
    },
    /// A non-preemptible group may only use its queue's deserved quota.
    NonPreemptibleOverQuota {
        /// The queue.
        queue: String,
        /// Its deserved quota in GPUs.
        deserved_gpus: f64,
        /// GPUs its non-preemptible gangs use now.
        used_gpus: f64,
        /// GPUs the group needs.
        needed_gpus: f64,
    },
    /// The queue would pass its limit in a node pool.
    OverPoolLimit {
        /// The queue.
        queue: String,
        /// The node pool.
        pool: String,
        /// Its limit in the pool, in GPUs.
        limit_gpus: f64,
        /// GPUs it uses in the pool now.
        used_gpus: f64,
        /// GPUs the group needs.
        needed_gpus: f64,
    },
    /// A non-preemptible group would pass its queue's deserved quota in a node pool.
    NonPreemptibleOverPoolQuota {
        /// The queue.
        queue: String,
        /// The node pool.
        pool: String,
        /// Its deserved quota in the pool, in GPUs.
        deserved_gpus: f64,
        /// GPUs its non-preemptible gangs use in the pool now.
        used_gpus: f64,
        /// GPUs the group needs.
        needed_gpus: f64,
    },
    /// No single domain of the required topology level has room for the gang.
    TopologyDomainTooSmall {
        /// The level (node label).
        level: String,
        /// GPUs the gang needs.
        needed_gpus: f64,
        /// Free GPUs of the roomiest domain at that level.
        largest_free_gpus: f64,
    },
    /// No node of the allowed pools and selector fits one of the pods.
    NoNodeFits {
        /// The pod that found no node.
        pod: String,
        /// GPUs that pod needs.
        needed_gpus: f64,
        /// The most free GPUs on one allowed node.
        largest_free_gpus: f64,
    },
    /// The gang fits no set of nodes together, though each pod alone might.
    GangDoesNotFit {
        /// Pods in the gang.
        pods: usize,
        /// GPUs the gang needs.
        needed_gpus: f64,
        /// Free GPUs on the allowed nodes in total.
        free_gpus: f64,
    },
    /// No node matches the group's node pools, selector, affinity and tolerations.
    NoEligibleNode {
        /// The node pools asked for.
        node_pools: Vec<String>,
    },
}

impl fmt::Display for PendingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OverLimit {
                queue,
                limit_gpus,
                used_gpus,
                needed_gpus,
            } => write!(
                f,
                "queue {queue} would pass its limit: uses {used_gpus} of {limit_gpus} GPUs and needs {needed_gpus} more"
            ),
            Self::NonPreemptibleOverQuota {
                queue,
                deserved_gpus,
                used_gpus,
                needed_gpus,
            } => write!(
                f,
                "non-preemptible workloads run only within the deserved quota: queue {queue} has {used_gpus} of \
                 {deserved_gpus} deserved GPUs in non-preemptible use and needs {needed_gpus} more; make it \
                 preemptible or raise the quota"
            ),
            Self::OverPoolLimit {
                queue,
                pool,
                limit_gpus,
                used_gpus,
                needed_gpus,
            } => write!(
                f,
                "queue {queue} would pass its limit in node pool {pool}: uses {used_gpus} of {limit_gpus} GPUs there \
                 and needs {needed_gpus} more"
            ),
            Self::NonPreemptibleOverPoolQuota {
                queue,
                pool,
                deserved_gpus,
                used_gpus,
                needed_gpus,
            } => write!(
                f,
                "non-preemptible workloads run only within the deserved quota: queue {queue} has {used_gpus} of \
                 {deserved_gpus} deserved GPUs in node pool {pool} in non-preemptible use and needs {needed_gpus} \
                 more; make it preemptible, raise the quota or allow another node pool"
            ),
            Self::TopologyDomainTooSmall {
                level,
                needed_gpus,
                largest_free_gpus,
            } => write!(
                f,
                "needs {needed_gpus} GPUs in one {level}; largest free {level} has {largest_free_gpus}"
            ),
            Self::NoNodeFits {
                pod,
                needed_gpus,
                largest_free_gpus,
            } => write!(
                f,
                "pod {pod} needs {needed_gpus} GPUs on one node; the most free on an allowed node is {largest_free_gpus}"
            ),
            Self::GangDoesNotFit {
                pods,
                needed_gpus,
                free_gpus,
            } => write!(
                f,
                "the {pods} pods need {needed_gpus} GPUs together; {free_gpus} are free on allowed nodes but not in \
                 shapes that fit every pod"
            ),
            Self::NoEligibleNode { node_pools } => {
                write!(
                    f,
                    "no schedulable node in node pools [{}] matches the node selector, affinity and tolerations",
                    node_pools.join(", ")
                )
            }
        }
    }
}

/// A group left waiting, and why.
///
/// ```
/// use runai_sched::engine::{Pending, PendingReason};
/// let p = Pending { group: "g".into(), reason: PendingReason::NoEligibleNode { node_pools: vec!["h100".into()] } };
/// assert!(p.reason.to_string().contains("h100"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The group.
    pub group: String,
    /// Why it waits.
    pub reason: PendingReason,
}

/// The decisions of one scheduling pass.
///
/// ```
/// use runai_sched::engine::Outcome;
/// let o = Outcome::default();
/// assert!(o.bindings.is_empty() && o.evictions.is_empty() && o.pending.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Pods bound, in decision order.
    pub bindings: Vec<Binding>,
    /// Groups evicted to make room.
    pub evictions: Vec<Eviction>,
    /// Groups still waiting.
    pub pending: Vec<Pending>,
}

impl Outcome {
    /// The node each pod of `group` was bound to, in pod order.
    #[must_use]
    pub fn nodes_of(&self, group: &str) -> Vec<&str> {
        self.bindings
            .iter()
            .filter(|b| b.group == group)
            .map(|b| b.node.as_str())
            .collect()
    }

    /// The reason `group` waits, if it does.
    #[must_use]
    pub fn pending_reason(&self, group: &str) -> Option<&PendingReason> {
        self.pending.iter().find(|p| p.group == group).map(|p| &p.reason)
    }
}
