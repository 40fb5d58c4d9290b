//! Best fit: the node with the least CPU and GPU left after placement.

use super::{MAX_SPEC_CPU_MILLI, MAX_SPEC_GPU_MILLI, Policy, Scored, best_fit_devices, free_gpu};
use crate::request::PodRequest;
use crate::rng::Rng;
use crate::state::NodeState;

/// Scores `100 * (1 - leftover)`, where leftover averages the CPU and GPU left after
/// placement (normalised by 128 cores and 8 GPUs); scores are then rescaled to 0..=100 over
/// the feasible nodes. Shares go to the tightest device.
///
/// ```
/// use runai_sched::policy::{BestFit, Policy};
/// use runai_sched::{GpuDemand, NodeState, PodRequest, Rng};
/// let pod = PodRequest::new(4_000, 1_024, GpuDemand::Devices { count: 1 });
/// let tight = NodeState::new("a", 8_000, 65_536, 1, "T4");
/// let loose = NodeState::new("b", 64_000, 65_536, 8, "T4");
/// let rng = &mut Rng::new(1);
/// assert!(BestFit.score(&tight, &pod, rng).score > BestFit.score(&loose, &pod, rng).score);
/// assert!(BestFit.normalizes());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BestFit;

impl Policy for BestFit {
    fn name(&self) -> &'static str {
        "bestfit"
    }

    fn score(&mut self, node: &NodeState, pod: &PodRequest, _: &mut Rng) -> Scored {
        let cpu_left = (node.cpu_free as f64 - pod.cpu_milli as f64) / MAX_SPEC_CPU_MILLI;
        let gpu_left = (free_gpu(node) - pod.gpu.total_milli() as f64) / MAX_SPEC_GPU_MILLI;
        let leftover = 0.5 * cpu_left + 0.5 * gpu_left;
        Scored {
            score: ((1.0 - leftover) * 100.0) as i64,
            devices: best_fit_devices(node, pod.gpu),
        }
    }

    fn normalizes(&self) -> bool {
        true
    }
}
