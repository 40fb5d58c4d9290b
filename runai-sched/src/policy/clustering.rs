//! GPU clustering: put pods next to pods of the same GPU kind.

use super::{MAX_SPEC_GPU_MILLI, Policy, Scored, best_fit_devices};
use crate::request::{GpuDemand, PodRequest};
use crate::rng::Rng;
use crate::state::NodeState;

/// Four bands by the GPU kinds already on the node (a kind is "a share" or "k whole
/// devices"): only the pod's kind (+75), its kind among others (+50), no GPU pods (+25),
/// only other kinds (+0); plus up to 25 for how much of an 8-GPU node is in use. Pods
/// without a GPU score 0 everywhere.
///
/// ```
/// use runai_sched::policy::{GpuClustering, Policy};
/// use runai_sched::{ClusterState, GpuDemand, NodeId, NodeState, PodRequest, Rng};
/// let share = PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 300 });
/// let mut state = ClusterState::new(vec![NodeState::new("a", 32_000, 65_536, 4, "T4")]);
/// state.allocate(NodeId(0), &share, &[0]).unwrap();
/// let empty = NodeState::new("b", 32_000, 65_536, 4, "T4");
/// let rng = &mut Rng::new(1);
/// assert!(GpuClustering.score(&state.nodes()[0], &share, rng).score > GpuClustering.score(&empty, &share, rng).score);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuClustering;

impl Policy for GpuClustering {
    fn name(&self) -> &'static str {
        "gpuclustering"
    }

    fn score(&mut self, node: &NodeState, pod: &PodRequest, _: &mut Rng) -> Scored {
        let devices = best_fit_devices(node, pod.gpu);
        if pod.gpu == GpuDemand::None {
            return Scored { score: 0, devices };
        }
        // Integer arithmetic, as the reference simulator does, so ties fall the same way.
        let used = MAX_SPEC_GPU_MILLI as i64 - node.free_gpu_milli() as i64;
        let base = 25 * used / MAX_SPEC_GPU_MILLI as i64;
        let kinds = node.gpu_pods.len();
        let band = if node.pods_of_kind(pod.gpu) > 0 {
            if kinds == 1 { 75 } else { 50 }
        } else if kinds == 0 {
            25
        } else {
            0
        };
        Scored {
            score: base + band,
            devices,
        }
    }
}
