//! Topology domains: nodes grouped by the values of their topology labels.

use std::collections::BTreeMap;

use crate::state::{ClusterState, NodeId};

/// The nodes that share the same label values from the widest level down to some level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Domain {
    /// The label values, widest level first.
    pub(crate) key: Vec<String>,
    /// Its nodes, in cluster order.
    pub(crate) nodes: Vec<NodeId>,
    /// Free milli-GPU on those nodes.
    pub(crate) free_gpu_milli: u64,
}

/// The domains of `nodes` at the last of `levels`. A node missing any of the labels belongs
/// to no domain at that depth. Domain identity is the whole path, so `rack-1` in two zones
/// are two domains.
pub(crate) fn domains_at(state: &ClusterState, nodes: &[NodeId], levels: &[String]) -> Vec<Domain> {
    let mut domains: BTreeMap<Vec<String>, Domain> = BTreeMap::new();
    for &id in nodes {
        let node = state.node(id);
        let key: Option<Vec<String>> = levels
            .iter()
            .map(|level| node.labels.get(level).cloned())
            .collect();
        let Some(key) = key else { continue };
        let domain = domains.entry(key.clone()).or_insert_with(|| Domain {
            key,
            nodes: Vec::new(),
            free_gpu_milli: 0,
        });
        domain.nodes.push(id);
        domain.free_gpu_milli += node.free_gpu_milli();
    }
    domains.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::NodeState;

    #[test]
    fn domains_are_paths_and_unlabelled_nodes_are_left_out() {
        let state = ClusterState::new(vec![
            NodeState::new("a", 1, 1, 2, "T4")
                .with_label("zone", "z1")
                .with_label("rack", "r1"),
            NodeState::new("b", 1, 1, 2, "T4")
                .with_label("zone", "z2")
                .with_label("rack", "r1"),
            NodeState::new("c", 1, 1, 4, "T4")
                .with_label("zone", "z1")
                .with_label("rack", "r1"),
            NodeState::new("d", 1, 1, 8, "T4"),
        ]);
        let all: Vec<NodeId> = (0..4).map(NodeId).collect();
        let racks = domains_at(&state, &all, &["zone".to_owned(), "rack".to_owned()]);
        assert_eq!(racks.len(), 2);
        assert_eq!(racks[0].nodes, [NodeId(0), NodeId(2)]);
        assert_eq!(racks[0].free_gpu_milli, 6000);
        assert_eq!(racks[1].key, ["z2", "r1"]);
    }
}

/// Domain ids of every node at every depth of the engine's topology, computed once: labels
/// do not change while the engine runs, and grouping 10,000 nodes by label strings on every
/// gang would dominate placement time.
#[derive(Debug, Clone, Default)]
pub(crate) struct TopologyIndex {
    /// `ids[depth][node]`: the domain of the node at that depth, `u32::MAX` when the node
    /// lacks one of the labels.
    ids: Vec<Vec<u32>>,
    /// `keys[depth][id]`: the label values of the domain, widest first.
    keys: Vec<Vec<Vec<String>>>,
}

impl TopologyIndex {
    pub(crate) fn build(state: &ClusterState, levels: &[String]) -> Self {
        let mut index = Self::default();
        for depth in 0..levels.len() {
            let mut by_key: BTreeMap<Vec<String>, u32> = BTreeMap::new();
            let mut ids = Vec::with_capacity(state.nodes().len());
            for node in state.nodes() {
                let key: Option<Vec<String>> = levels[..=depth]
                    .iter()
                    .map(|l| node.labels.get(l).cloned())
                    .collect();
                ids.push(match key {
                    Some(key) => {
                        let next = by_key.len() as u32;
                        *by_key.entry(key).or_insert(next)
                    }
                    None => u32::MAX,
                });
            }
            let mut keys = vec![Vec::new(); by_key.len()];
            for (key, id) in by_key {
                keys[id as usize] = key;
            }
            index.ids.push(ids);
            index.keys.push(keys);
        }
        index
    }

    /// Like [`domains_at`] for the first `depth + 1` levels of the indexed topology.
    pub(crate) fn domains(&self, state: &ClusterState, nodes: &[NodeId], depth: usize) -> Vec<Domain> {
        let (Some(ids), Some(keys)) = (self.ids.get(depth), self.keys.get(depth)) else {
            return Vec::new();
        };
        let mut domains: Vec<Option<Domain>> = vec![None; keys.len()];
        for &node in nodes {
            let id = ids[node.index()];
            if id == u32::MAX {
                continue;
            }
            let domain = domains[id as usize].get_or_insert_with(|| Domain {
                key: keys[id as usize].clone(),
                nodes: Vec::new(),
                free_gpu_milli: 0,
            });
            domain.nodes.push(node);
            domain.free_gpu_milli += state.node(node).free_gpu_milli();
        }
        let mut domains: Vec<Domain> = domains.into_iter().flatten().collect();
        domains.sort_by(|a, b| a.key.cmp(&b.key));
        domains
    }
}
