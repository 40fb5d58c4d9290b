//! Dot product: prefer nodes whose free resources align least with the request (packing).

use super::{MAX_SPEC_CPU_MILLI, MAX_SPEC_GPU_MILLI, Policy, Scored, best_fit_devices, free_gpu};
use crate::request::PodRequest;
use crate::rng::Rng;
use crate::state::NodeState;

/// Scores `100 * (1 - (free · request) / 2)` over (CPU, GPU), each normalised by the largest
/// node (128 cores, 8 GPUs); a smaller product means a fuller node. Shares go to the tightest
/// device.
///
/// ```
/// use runai_sched::policy::{DotProduct, Policy};
/// use runai_sched::{GpuDemand, NodeState, PodRequest, Rng};
/// let pod = PodRequest::new(8_000, 1_024, GpuDemand::Devices { count: 1 });
/// let full = NodeState::new("a", 16_000, 65_536, 1, "T4");
/// let roomy = NodeState::new("b", 96_000, 65_536, 8, "T4");
/// let rng = &mut Rng::new(1);
/// assert!(DotProduct.score(&full, &pod, rng).score > DotProduct.score(&roomy, &pod, rng).score);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DotProduct;

impl Policy for DotProduct {
    fn name(&self) -> &'static str {
        "dotprod"
    }

    fn score(&mut self, node: &NodeState, pod: &PodRequest, _: &mut Rng) -> Scored {
        let free = [
            node.cpu_free as f64 / MAX_SPEC_CPU_MILLI,
            free_gpu(node) / MAX_SPEC_GPU_MILLI,
        ];
        let request = [
            pod.cpu_milli as f64 / MAX_SPEC_CPU_MILLI,
            pod.gpu.total_milli() as f64 / MAX_SPEC_GPU_MILLI,
        ];
        let product = free[0] * request[0] + free[1] * request[1];
        Scored {
            score: (100.0 * (1.0 - product / 2.0)) as i64,
            devices: best_fit_devices(node, pod.gpu),
        }
    }
}
