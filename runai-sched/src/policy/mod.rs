//! Placement scoring policies: given a pod and a node it fits on, how good is the node, and
//! which GPU devices would the pod take there.
//!
//! The engine scores every feasible node, keeps the highest integer score and breaks ties by
//! a fixed node order drawn once per run (the protocol of the FGD paper's simulator), so a
//! policy only answers for one node at a time.

mod bestfit;
mod clustering;
mod dotprod;
mod fgd;
mod packing;
mod random;

pub use bestfit::BestFit;
pub use clustering::GpuClustering;
pub use dotprod::DotProduct;
pub use fgd::{Fragmentation, POPULARITY_THRESHOLD_PCT, TypicalTasks};
pub use packing::GpuPacking;
pub use random::RandomFit;

use crate::error::SchedError;
use crate::request::{GpuDemand, PodRequest};
use crate::rng::Rng;
use crate::state::NodeState;

/// The CPU a node is assumed to have at most when scores normalise CPU (128 cores).
pub const MAX_SPEC_CPU_MILLI: f64 = 128_000.0;
/// The GPU a node is assumed to have at most when scores normalise GPU (8 devices).
pub const MAX_SPEC_GPU_MILLI: f64 = 8_000.0;

/// A node's score for one pod and the devices the pod would take there.
///
/// ```
/// use runai_sched::policy::Scored;
/// let s = Scored { score: 50, devices: vec![3] };
/// assert_eq!(s.devices, [3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// Higher is better.
    pub score: i64,
    /// Device indices for the pod's GPU demand.
    pub devices: Vec<u8>,
}

/// A placement scoring policy.
///
/// ```
/// use runai_sched::policy::{Policy, by_name};
/// use runai_sched::{GpuDemand, NodeState, PodRequest, Rng};
/// let mut policy = by_name("bestfit", &[]).unwrap();
/// let node = NodeState::new("n", 32_000, 65_536, 4, "T4");
/// let scored = policy.score(&node, &PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 500 }), &mut Rng::new(1));
/// assert_eq!(scored.devices.len(), 1);
/// ```
pub trait Policy: std::fmt::Debug + Send {
    /// The name the policy is selected by.
    fn name(&self) -> &'static str;

    /// Scores `node` for `pod`; the caller guarantees that the pod fits there.
    fn score(&mut self, node: &NodeState, pod: &PodRequest, rng: &mut Rng) -> Scored;

    /// Whether the score depends only on the node's state and the pod, so nodes in the same
    /// state may share one evaluation. False for policies that draw random numbers.
    fn is_deterministic(&self) -> bool {
        true
    }

    /// Whether scores are rescaled to 0..=100 over the feasible nodes of each pod before the
    /// best is picked (which can merge close scores into ties).
    fn normalizes(&self) -> bool {
        false
    }
}

/// Every policy name [`by_name`] knows; the first is the default.
pub const POLICY_NAMES: &[&str] = &[
    "fgd",
    "random",
    "dotprod",
    "bestfit",
    "gpupacking",
    "gpuclustering",
];

/// The name of the default policy.
pub const DEFAULT_POLICY: &str = "fgd";

/// Makes the policy called `name`. `workload` is the pod list the cluster is expected to see;
/// the fragmentation-aware policy derives its typical tasks from it (others ignore it).
///
/// ```
/// use runai_sched::policy::by_name;
/// assert_eq!(by_name("gpupacking", &[]).unwrap().name(), "gpupacking");
/// assert!(by_name("fastest", &[]).unwrap_err().to_string().contains("unknown policy `fastest`"));
/// ```
///
/// # Errors
/// [`SchedError::UnknownPolicy`] listing the known names.
pub fn by_name(name: &str, workload: &[PodRequest]) -> Result<Box<dyn Policy>, SchedError> {
    Ok(match name {
        "fgd" => Box::new(Fragmentation::new(TypicalTasks::from_workload(workload))),
        "random" => Box::new(RandomFit),
        "dotprod" => Box::new(DotProduct),
        "bestfit" => Box::new(BestFit),
        "gpupacking" => Box::new(GpuPacking),
        "gpuclustering" => Box::new(GpuClustering),
        other => {
            return Err(SchedError::UnknownPolicy {
                name: other.to_owned(),
                known: POLICY_NAMES.join(", "),
            });
        }
    })
}

/// The device a share takes under best fit: the one with the least room that still fits,
/// the lowest index among equals. Whole devices take the lowest-index idle ones.
pub(crate) fn best_fit_devices(node: &NodeState, gpu: GpuDemand) -> Vec<u8> {
    match gpu {
        GpuDemand::Share { milli } => node
            .gpu_free
            .iter()
            .enumerate()
            .filter(|(_, free)| **free >= milli)
            .min_by_key(|(d, free)| (**free, *d))
            .map(|(d, _)| vec![d as u8])
            .unwrap_or_default(),
        other => node.first_fit_devices(other),
    }
}

/// Free milli-GPU of the node summed over devices, as f64.
pub(crate) fn free_gpu(node: &NodeState) -> f64 {
    node.free_gpu_milli() as f64
}
