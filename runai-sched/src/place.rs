//! Placing one pod: filter the nodes it fits on, score them with a policy, pick the best.

use crate::hash::FxHashMap;
use crate::policy::{Policy, Scored};
use crate::request::PodRequest;
use crate::rng::Rng;
use crate::state::{Allocation, ClusterState, NodeId};

/// A fixed priority order of nodes that breaks ties between equal scores. Drawing it once per
/// run (rather than per pod) is what keeps tie-breaking stable and reproducible.
///
/// ```
/// use runai_sched::{NodeOrder, Rng};
/// let order = NodeOrder::shuffled(4, &mut Rng::new(42));
/// let mut ranks: Vec<u32> = (0..4).map(|i| order.rank(runai_sched::NodeId(i))).collect();
/// ranks.sort();
/// assert_eq!(ranks, [0, 1, 2, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeOrder {
    rank: Vec<u32>,
}

impl NodeOrder {
    /// Node `i` has rank `i`: ties go to the first node.
    #[must_use]
    pub fn identity(nodes: usize) -> Self {
        Self {
            rank: (0..nodes as u32).collect(),
        }
    }

    /// The order given by `ranks[i]`, the rank of node `i`.
    #[must_use]
    pub fn from_ranks(ranks: Vec<u32>) -> Self {
        Self { rank: ranks }
    }

    /// A random order of `nodes` nodes.
    #[must_use]
    pub fn shuffled(nodes: usize, rng: &mut Rng) -> Self {
        let mut rank: Vec<u32> = (0..nodes as u32).collect();
        rng.shuffle(&mut rank);
        Self { rank }
    }

    /// The rank of `node`; lower wins ties.
    #[must_use]
    pub fn rank(&self, node: NodeId) -> u32 {
        self.rank.get(node.index()).copied().unwrap_or(u32::MAX)
    }
}

/// Places `pod` on the best node by `policy`, or returns `None` when it fits nowhere (the
/// state is then unchanged).
///
/// ```
/// use runai_sched::{ClusterState, GpuDemand, NodeOrder, NodeState, PodRequest, Rng, place_pod, policy};
/// let mut state = ClusterState::new(vec![
///     NodeState::new("a", 32_000, 65_536, 8, "G2"),
///     NodeState::new("b", 32_000, 65_536, 1, "T4"),
/// ]);
/// let mut bestfit = policy::by_name("bestfit", &[]).unwrap();
/// let pod = PodRequest::new(4_000, 1_024, GpuDemand::Devices { count: 1 });
/// let order = NodeOrder::identity(2);
/// let placed = place_pod(&mut state, &pod, bestfit.as_mut(), &order, &mut Rng::new(1)).unwrap();
/// assert_eq!(state.node(placed.node).name, "b"); // the tighter node
/// ```
pub fn place_pod(
    state: &mut ClusterState,
    pod: &PodRequest,
    policy: &mut dyn Policy,
    order: &NodeOrder,
    rng: &mut Rng,
) -> Option<Allocation> {
    if !policy.is_deterministic() || policy.normalizes() {
        let nodes = state.nodes().len() as u32;
        return place_pod_among(state, pod, policy, order, rng, (0..nodes).map(NodeId));
    }
    // Every node of a shape class scores the same: score one per class, then take the
    // lowest-ranked node of the best classes.
    let mut best_score = i64::MIN;
    let mut best: Vec<(&[NodeId], Scored)> = Vec::new();
    for members in state.shape_classes() {
        let node = state.node(members[0]);
        if !node.fits(pod) {
            continue;
        }
        let scored = policy.score(node, pod, rng);
        if scored.score > best_score {
            best_score = scored.score;
            best.clear();
        }
        if scored.score == best_score {
            best.push((members, scored));
        }
    }
    let (node, devices) = best
        .iter()
        .flat_map(|(members, scored)| members.iter().map(move |&n| (n, &scored.devices)))
        .min_by_key(|(n, _)| order.rank(*n))?;
    let devices = devices.clone();
    state.allocate(node, pod, &devices).ok()
}

/// Like [`place_pod`], considering only the nodes in `candidates`.
///
/// ```
/// use runai_sched::{ClusterState, GpuDemand, NodeId, NodeOrder, NodeState, PodRequest, Rng, place_pod_among, policy};
/// let mut state = ClusterState::new(vec![NodeState::new("a", 8_000, 8_192, 1, "T4"), NodeState::new("b", 8_000, 8_192, 1, "T4")]);
/// let mut packing = policy::by_name("gpupacking", &[]).unwrap();
/// let pod = PodRequest::new(1_000, 1_024, GpuDemand::Devices { count: 1 });
/// let placed = place_pod_among(&mut state, &pod, packing.as_mut(), &NodeOrder::identity(2), &mut Rng::new(1), [NodeId(1)]);
/// assert_eq!(placed.unwrap().node, NodeId(1));
/// ```
pub fn place_pod_among(
    state: &mut ClusterState,
    pod: &PodRequest,
    policy: &mut dyn Policy,
    order: &NodeOrder,
    rng: &mut Rng,
    candidates: impl IntoIterator<Item = NodeId>,
) -> Option<Allocation> {
    // Nodes in the same state score the same: score each shape once per pod.
    let memoize = policy.is_deterministic();
    let mut memo: FxHashMap<u64, Option<usize>> = FxHashMap::default();
    let mut results: Vec<Scored> = Vec::new();
    let mut nodes: Vec<(NodeId, usize)> = Vec::new();
    let normalizes = policy.normalizes();
    let mut scores = Vec::new();
    // The best so far: (score, rank, node, result); normalising policies decide at the end.
    let mut best: Option<(i64, u32, NodeId, usize)> = None;
    let mut last: Option<(u64, Option<usize>)> = None;
    for id in candidates {
        let Some(node) = state.nodes().get(id.index()) else {
            continue;
        };
        let mut evaluate = || {
            node.fits(pod).then(|| {
                results.push(policy.score(node, pod, rng));
                results.len() - 1
            })
        };
        let result = match last {
            // Neighbouring nodes are often in the same state: skip even the lookup.
            Some((shape, result)) if memoize && shape == node.shape() => result,
            _ if memoize => {
                let result = *memo.entry(node.shape()).or_insert_with(evaluate);
                last = Some((node.shape(), result));
                result
            }
            _ => evaluate(),
        };
        let Some(result) = result else { continue };
        let score = results[result].score;
        if normalizes {
            scores.push(score);
            nodes.push((id, result));
        } else {
            let rank = order.rank(id);
            if best.is_none_or(|(s, r, _, _)| score > s || (score == s && rank < r)) {
                best = Some((score, rank, id, result));
            }
        }
    }
    let (node, result) = if normalizes {
        if scores.len() > 1 {
            normalize(&mut scores);
        }
        let best =
            (0..scores.len()).min_by_key(|&i| (std::cmp::Reverse(scores[i]), order.rank(nodes[i].0)))?;
        nodes[best]
    } else {
        let (_, _, node, result) = best?;
        (node, result)
    };
    state.allocate(node, pod, &results[result].devices).ok()
}

/// Integer min-max rescaling to 0..=100, as the Kubernetes scheduling framework does.
fn normalize(scores: &mut [i64]) {
    let lo = scores.iter().copied().min().unwrap_or(0);
    let hi = scores.iter().copied().max().unwrap_or(0);
    for score in scores {
        *score = if hi == lo {
            0
        } else {
            (*score - lo) * 100 / (hi - lo)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::by_name;
    use crate::request::GpuDemand;
    use crate::state::NodeState;

    #[test]
    fn ties_go_to_the_lowest_rank() {
        let nodes = vec![
            NodeState::new("a", 8_000, 8_192, 1, "T4"),
            NodeState::new("b", 8_000, 8_192, 1, "T4"),
        ];
        let pod = PodRequest::new(1_000, 1_024, GpuDemand::None);
        let mut policy = by_name("gpupacking", &[]).unwrap();
        let order = NodeOrder { rank: vec![1, 0] };
        let mut state = ClusterState::new(nodes);
        let placed = place_pod(&mut state, &pod, policy.as_mut(), &order, &mut Rng::new(1)).unwrap();
        assert_eq!(placed.node, NodeId(1));
    }

    #[test]
    fn no_room_changes_nothing() {
        let mut state = ClusterState::new(vec![NodeState::new("a", 8_000, 8_192, 1, "T4")]);
        let before = state.clone();
        let pod = PodRequest::new(1_000, 1_024, GpuDemand::Devices { count: 2 });
        let mut policy = by_name("fgd", std::slice::from_ref(&pod)).unwrap();
        assert!(
            place_pod(
                &mut state,
                &pod,
                policy.as_mut(),
                &NodeOrder::identity(1),
                &mut Rng::new(1)
            )
            .is_none()
        );
        assert_eq!(state, before);
    }

    #[test]
    fn normalisation_rescales_and_can_merge_ties() {
        let mut scores = vec![10, 11, 210];
        normalize(&mut scores);
        assert_eq!(scores, [0, 0, 100]);
        let mut same = vec![7, 7];
        normalize(&mut same);
        assert_eq!(same, [0, 0]);
    }
}
