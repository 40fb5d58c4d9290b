//! GPU packing: fill partly used devices first, then partly used nodes, then idle nodes.

use super::{Policy, Scored, best_fit_devices};
use crate::request::{GpuDemand, MILLI_PER_GPU, PodRequest};
use crate::rng::Rng;
use crate::state::NodeState;

/// Three bands. Best (50..=100): the pod fits on partly used devices; the fuller they are,
/// the higher. Middle (33..=49): the pod opens idle devices on a node that is already in use.
/// Lowest (up to 33): the node is idle. Pods without a GPU score 0 everywhere.
///
/// ```
/// use runai_sched::policy::{GpuPacking, Policy};
/// use runai_sched::{ClusterState, GpuDemand, NodeState, PodRequest, Rng};
/// let mut state = ClusterState::new(vec![NodeState::new("used", 32_000, 65_536, 2, "T4")]);
/// let share = PodRequest::new(1_000, 1_024, GpuDemand::Share { milli: 500 });
/// state.allocate(runai_sched::NodeId(0), &share, &[0]).unwrap();
/// let idle = NodeState::new("idle", 32_000, 65_536, 2, "T4");
/// let rng = &mut Rng::new(1);
/// let on_used = GpuPacking.score(&state.nodes()[0], &share, rng);
/// assert!(on_used.score > GpuPacking.score(&idle, &share, rng).score);
/// assert_eq!(on_used.devices, [0]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuPacking;

impl Policy for GpuPacking {
    fn name(&self) -> &'static str {
        "gpupacking"
    }

    fn score(&mut self, node: &NodeState, pod: &PodRequest, _: &mut Rng) -> Scored {
        let devices = best_fit_devices(node, pod.gpu);
        if pod.gpu == GpuDemand::None {
            return Scored { score: 0, devices };
        }
        let idle = i64::from(node.idle_devices());
        if idle == i64::from(node.gpu_count()) {
            return Scored {
                score: (33 - idle).max(idle),
                devices,
            };
        }
        // The devices the pod would take, tightest first (stable, so lower index on ties).
        let (per_device, count) = pod.gpu.per_device();
        let mut order: Vec<usize> = (0..node.gpu_free.len()).collect();
        order.sort_by_key(|&d| node.gpu_free[d]);
        let taken: Vec<u32> = order
            .iter()
            .map(|&d| node.gpu_free[d])
            .filter(|&f| f >= per_device)
            .take(count as usize)
            .collect();
        if taken.len() < count as usize {
            return Scored { score: 0, devices };
        }
        let opened = taken.iter().filter(|&&f| f == MILLI_PER_GPU).count() as i64;
        let score = if opened > 0 {
            (50 - opened).max(33)
        } else {
            let remaining: i64 = taken
                .iter()
                .map(|&f| i64::from(f) * 100 / i64::from(MILLI_PER_GPU))
                .sum();
            (100 - remaining / 10).max(50)
        };
        Scored { score, devices }
    }
}
