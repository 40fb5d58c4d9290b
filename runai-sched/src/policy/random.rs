//! Random fit: any node the pod fits on, any device it fits on.

use super::{Policy, Scored};
use crate::request::{GpuDemand, PodRequest};
use crate::rng::Rng;
use crate::state::NodeState;

/// Picks uniformly among feasible nodes (each node gets an independent random score) and,
/// for a share, uniformly among the devices with room. Whole devices take the lowest-index
/// idle ones.
///
/// ```
/// use runai_sched::policy::{Policy, RandomFit};
/// assert_eq!(RandomFit.name(), "random");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomFit;

impl Policy for RandomFit {
    fn name(&self) -> &'static str {
        "random"
    }

    fn is_deterministic(&self) -> bool {
        false
    }

    fn score(&mut self, node: &NodeState, pod: &PodRequest, rng: &mut Rng) -> Scored {
        let devices = match pod.gpu {
            GpuDemand::Share { milli } => {
                let fitting: Vec<u8> = node
                    .gpu_free
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| **f >= milli)
                    .map(|(d, _)| d as u8)
                    .collect();
                if fitting.is_empty() {
                    Vec::new()
                } else {
                    vec![fitting[rng.below(fitting.len() as u64) as usize]]
                }
            }
            other => node.first_fit_devices(other),
        };
        // 62 random bits: ties between nodes are practically impossible.
        Scored {
            score: (rng.next_u64() >> 2) as i64,
            devices,
        }
    }
}
