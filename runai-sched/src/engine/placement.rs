//! Placing one gang: node pools in order, eligibility filters, required and preferred
//! topology domains (tightest first), automatic NVLink-clique preference, all or nothing.

use super::topology::{Domain, domains_at};
use super::{Engine, PendingReason, Placement, PodGroup, Queue, affinity};
use crate::place::{place_pod, place_pod_among};
use crate::request::{MILLI_PER_GPU, PodRequest};
use crate::rng::Rng;
use crate::state::{Allocation, NodeId};

impl Engine {
    /// Places the gang (then the pods beyond it, where they fit) in the first node pool that
    /// has room.
    pub(super) fn place_group(
        &mut self,
        group: &PodGroup,
        rng: &mut Rng,
    ) -> Result<Placement, PendingReason> {
        let queue = self.queues.get(&group.queue).cloned();
        let default_pools = queue
            .as_ref()
            .map(|q| q.default_pools.clone())
            .unwrap_or_default();
        let named = if group.node_pools.is_empty() {
            &default_pools
        } else {
            &group.node_pools
        };
        let pools: Vec<Option<&str>> = if named.is_empty() {
            vec![None]
        } else {
            named.iter().map(|p| Some(p.as_str())).collect()
        };
        let mut first_failure = None;
        for pool in pools {
            if let (Some(pool), Some(queue)) = (pool, &queue)
                && let Err(reason) = self.check_pool_quota(group, queue, pool)
            {
                first_failure.get_or_insert(reason);
                continue;
            }
            let candidates = self.candidates(group, pool);
            if candidates.is_empty() {
                first_failure.get_or_insert(PendingReason::NoEligibleNode {
                    node_pools: group.node_pools.clone(),
                });
                continue;
            }
            match self.place_gang(group, &candidates, rng) {
                Ok(mut allocations) => {
                    for (i, pod) in group.pods.iter().enumerate().skip(group.min_member) {
                        let placed = self.place_one(&pod.request, &candidates, rng);
                        if let Some(allocation) = placed {
                            allocations.push((i, allocation));
                        }
                    }
                    return Ok(allocations);
                }
                Err(reason) => {
                    first_failure.get_or_insert(reason);
                }
            }
        }
        Err(first_failure.unwrap_or(PendingReason::NoEligibleNode {
            node_pools: group.node_pools.clone(),
        }))
    }

    /// Schedulable nodes of `pool` (any pool when `None`) carrying the group's selector labels.
    /// The queue's quota in `pool`, if it has one there: its limit, and for non-preemptible
    /// groups its deserved quota.
    pub(super) fn check_pool_quota(
        &self,
        group: &PodGroup,
        queue: &Queue,
        pool: &str,
    ) -> Result<(), PendingReason> {
        let Some(quota) = queue.pool_quotas.get(pool) else {
            return Ok(());
        };
        let needed = group.gpu_milli() as f64 / f64::from(MILLI_PER_GPU);
        let (used, guaranteed) = self.pool_usage(&queue.name, pool);
        if let Some(limit) = quota.limit_gpus
            && used + needed > limit + 1e-9
        {
            return Err(PendingReason::OverPoolLimit {
                queue: queue.name.clone(),
                pool: pool.to_owned(),
                limit_gpus: limit,
                used_gpus: used,
                needed_gpus: needed,
            });
        }
        if !group.preemptible && needed > 0.0 && guaranteed + needed > quota.deserved_gpus + 1e-9 {
            return Err(PendingReason::NonPreemptibleOverPoolQuota {
                queue: queue.name.clone(),
                pool: pool.to_owned(),
                deserved_gpus: quota.deserved_gpus,
                used_gpus: guaranteed,
                needed_gpus: needed,
            });
        }
        Ok(())
    }

    pub(super) fn candidates(&self, group: &PodGroup, pool: Option<&str>) -> Vec<NodeId> {
        let pool_nodes: &[NodeId] = match pool {
            None => &self.eligible,
            Some(pool) => self.pools.get(pool).map_or(&[], Vec::as_slice),
        };
        // Most groups set no filter and most clusters have no taints: skip the per-node tests.
        let filtered = !group.node_selector.is_empty() || group.node_affinity.is_some() || self.has_taints;
        if !filtered {
            return pool_nodes.to_vec();
        }
        pool_nodes
            .iter()
            .copied()
            .filter(|&id| {
                let node = self.state.node(id);
                group
                    .node_selector
                    .iter()
                    .all(|(k, v)| node.labels.get(k) == Some(v))
                    && group
                        .node_affinity
                        .as_ref()
                        .is_none_or(|a| affinity::matches_affinity(a, &node.labels))
                    && affinity::tolerates(&node.taints, &group.tolerations)
            })
            .collect()
    }

    /// One pod on the best of `nodes`; a set covering the whole cluster takes the fast path
    /// that scores each node shape once.
    pub(super) fn place_one(
        &mut self,
        pod: &PodRequest,
        nodes: &[NodeId],
        rng: &mut Rng,
    ) -> Option<Allocation> {
        if nodes.len() == self.state.nodes().len() {
            place_pod(&mut self.state, pod, self.policy.as_mut(), &self.order, rng)
        } else {
            place_pod_among(
                &mut self.state,
                pod,
                self.policy.as_mut(),
                &self.order,
                rng,
                nodes.iter().copied(),
            )
        }
    }

    /// The gang inside the tightest domain of its required level, if it has one.
    pub(super) fn place_gang(
        &mut self,
        group: &PodGroup,
        candidates: &[NodeId],
        rng: &mut Rng,
    ) -> Result<Placement, PendingReason> {
        let needed = group.gpu_milli();
        let preferred = self.preferred_level(group, candidates);
        let Some(required) = group.topology.required.clone() else {
            return self.place_preferring(group, candidates, preferred.as_deref(), None, rng);
        };
        let levels = self.levels_through(&required);
        let domains = self.domains(candidates, &levels);
        let largest = domains.iter().map(|d| d.free_gpu_milli).max().unwrap_or(0);
        for domain in tight_first(domains, needed) {
            if let Ok(allocations) =
                self.place_preferring(group, &domain.nodes, preferred.as_deref(), Some(&required), rng)
            {
                return Ok(allocations);
            }
        }
        Err(PendingReason::TopologyDomainTooSmall {
            level: required,
            needed_gpus: needed as f64 / f64::from(MILLI_PER_GPU),
            largest_free_gpus: largest as f64 / f64::from(MILLI_PER_GPU),
        })
    }

    /// The group's preferred level; a multi-pod GPU gang on nodes that carry
    /// `nvidia.com/gpu.clique` prefers one clique even when it asked for nothing.
    pub(super) fn preferred_level(&self, group: &PodGroup, candidates: &[NodeId]) -> Option<String> {
        if group.topology.preferred.is_some() || group.topology.required.is_some() {
            return group.topology.preferred.clone();
        }
        let clique = runai_core::cluster::GPU_CLIQUE_LABEL;
        let multi_pod_gpu_gang = group
            .gang()
            .iter()
            .filter(|p| p.request.gpu.total_milli() > 0)
            .count()
            > 1;
        let in_cliques = multi_pod_gpu_gang
            && self.has_cliques
            && candidates
                .iter()
                .any(|&n| self.state.node(n).labels.contains_key(clique));
        in_cliques.then(|| clique.to_owned())
    }

    /// The topology levels from the widest down to `level` (just `level` when the cluster's
    /// topology does not list it).
    pub(super) fn levels_through(&self, level: &str) -> Vec<String> {
        match self.levels.iter().position(|l| l == level) {
            Some(i) => self.levels[..=i].to_vec(),
            None => vec![level.to_owned()],
        }
    }

    /// The domains of `nodes` at the last of `levels`, from the index when `levels` are the
    /// engine's own.
    pub(super) fn domains(&self, nodes: &[NodeId], levels: &[String]) -> Vec<Domain> {
        if !levels.is_empty() && self.levels.starts_with(levels) {
            self.topology.domains(&self.state, nodes, levels.len() - 1)
        } else {
            domains_at(&self.state, nodes, levels)
        }
    }

    /// The gang in one domain of the preferred level if one has room (tightest first), else
    /// one domain of each wider level in turn, else anywhere in `nodes`, filling preferred
    /// domains one at a time.
    pub(super) fn place_preferring(
        &mut self,
        group: &PodGroup,
        nodes: &[NodeId],
        preferred: Option<&str>,
        required: Option<&str>,
        rng: &mut Rng,
    ) -> Result<Placement, PendingReason> {
        let Some(preferred) = preferred else {
            return self.place_in(group, &[nodes.to_vec()], rng);
        };
        let needed = group.gpu_milli();
        let through = self.levels_through(preferred);
        // Widen from the preferred level up to (not including) the required one.
        let stop = required
            .and_then(|r| through.iter().position(|l| l == r))
            .map_or(0, |i| i + 1);
        for depth in (stop..through.len()).rev() {
            let domains = self.domains(nodes, &through[..=depth]);
            for domain in tight_first(domains, needed) {
                if let Ok(allocations) = self.place_in(group, &[domain.nodes], rng) {
                    return Ok(allocations);
                }
            }
        }
        // Spill over: fill the roomiest preferred domains first, then the rest.
        let mut parts = self.domains(nodes, &through);
        parts.sort_by(|a, b| {
            b.free_gpu_milli
                .cmp(&a.free_gpu_milli)
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut ordered: Vec<Vec<NodeId>> = parts.into_iter().map(|d| d.nodes).collect();
        let grouped: std::collections::BTreeSet<NodeId> = ordered.iter().flatten().copied().collect();
        ordered.push(nodes.iter().copied().filter(|n| !grouped.contains(n)).collect());
        self.place_in(group, &ordered, rng)
    }

    /// The gang pod by pod, each in the first part of `parts` where it fits; all or nothing.
    pub(super) fn place_in(
        &mut self,
        group: &PodGroup,
        parts: &[Vec<NodeId>],
        rng: &mut Rng,
    ) -> Result<Placement, PendingReason> {
        let mut placed: Vec<(usize, Allocation)> = Vec::new();
        for (i, pod) in group.gang().iter().enumerate() {
            let allocation = parts
                .iter()
                .find_map(|part| self.place_one(&pod.request, part, rng));
            match allocation {
                Some(allocation) => placed.push((i, allocation)),
                None => {
                    for (_, allocation) in &placed {
                        self.state.release(allocation);
                    }
                    return Err(self.no_fit_reason(group, i, parts));
                }
            }
        }
        Ok(placed)
    }

    pub(super) fn no_fit_reason(
        &self,
        group: &PodGroup,
        failed: usize,
        parts: &[Vec<NodeId>],
    ) -> PendingReason {
        let nodes = parts.iter().flatten().map(|&n| self.state.node(n));
        let largest = nodes.clone().map(|n| n.free_gpu_milli()).max().unwrap_or(0);
        let free: u64 = nodes.map(|n| n.free_gpu_milli()).sum();
        let pod = &group.gang()[failed];
        let to_gpus = |milli: u64| milli as f64 / f64::from(MILLI_PER_GPU);
        if failed == 0 || pod.request.gpu.total_milli() > largest {
            PendingReason::NoNodeFits {
                pod: pod.name.clone(),
                needed_gpus: to_gpus(pod.request.gpu.total_milli()),
                largest_free_gpus: to_gpus(largest),
            }
        } else {
            PendingReason::GangDoesNotFit {
                pods: group.gang().len(),
                needed_gpus: to_gpus(group.gpu_milli()),
                free_gpus: to_gpus(free),
            }
        }
    }
}

/// Domains with room for `needed` milli-GPU, tightest first (least free), ties by name.
fn tight_first(mut domains: Vec<Domain>, needed: u64) -> Vec<Domain> {
    domains.retain(|d| d.free_gpu_milli >= needed);
    domains.sort_by(|a, b| {
        a.free_gpu_milli
            .cmp(&b.free_gpu_milli)
            .then_with(|| a.key.cmp(&b.key))
    });
    domains
}
