//! Scheduling scenarios re-expressed from KAI-Scheduler's and Kueue's documented examples,
//! plus NVL72-style Multi-Node NVLink cliques: cluster, queues and groups in; bindings,
//! evictions and pending reasons out.

use std::collections::{BTreeMap, BTreeSet};

use runai_core::spec::{
    MatchExpression, MatchOperator, NodeAffinityRequired, NodeSelectorTerm, Toleration, TolerationEffect,
    TolerationOperator,
};
use runai_sched::engine::{
    Engine, EvictionCause, GroupPod, PendingReason, PodGroup, PoolQuota, Queue, Taint, TopologyConstraint,
};
use runai_sched::{ClusterState, GpuDemand, NodeState, PodRequest, Rng, policy};

const ZONE: &str = "topology.kubernetes.io/zone";
const RACK: &str = "network.topology.kubernetes.io/rack";
const CLIQUE: &str = "nvidia.com/gpu.clique";
const HOST: &str = "kubernetes.io/hostname";

fn gpus(count: u32) -> PodRequest {
    PodRequest::new(1_000, 1_024, GpuDemand::Devices { count })
}

fn node(name: &str, gpus: u32) -> NodeState {
    NodeState::new(name, 64_000, 262_144, gpus, "H100").with_label(HOST, name)
}

fn engine(nodes: Vec<NodeState>) -> Engine {
    Engine::new(ClusterState::new(nodes), policy::by_name("fgd", &[]).unwrap())
}

fn label_of<'a>(engine: &'a Engine, node: &str, label: &str) -> &'a str {
    let id = engine.state().node_id(node).unwrap();
    engine.state().node(id).labels[label].as_str()
}

/// Training-style work: low priority, preemptible.
fn train(name: &str, queue: &str, count: usize, request: PodRequest) -> PodGroup {
    PodGroup::uniform(name, queue, count, request).with_priority(50, true)
}

#[test]
fn required_rack_stays_pending_when_gpus_are_spread_over_racks() {
    // KAI: 4 racks x 1 node x 2 GPUs; 4 x 1-GPU pods that require one rack.
    let nodes = (0..4)
        .map(|r| node(&format!("n{r}"), 2).with_label(RACK, format!("rack{r}")))
        .collect();
    let mut engine = engine(nodes)
        .with_levels([RACK, HOST])
        .with_queue(Queue::new("q", 8.0));
    let group = PodGroup::uniform("job", "q", 4, gpus(1)).with_topology(TopologyConstraint::required(RACK));
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    assert!(outcome.bindings.is_empty(), "no partial gang");
    let reason = outcome.pending_reason("job").unwrap();
    assert_eq!(
        reason,
        &PendingReason::TopologyDomainTooSmall {
            level: RACK.into(),
            needed_gpus: 4.0,
            largest_free_gpus: 2.0
        }
    );
    assert_eq!(
        reason.to_string(),
        "needs 4 GPUs in one network.topology.kubernetes.io/rack; largest free network.topology.kubernetes.io/rack has 2"
    );
    assert_eq!(engine.state().used_gpu_milli(), 0);
}

#[test]
fn required_zone_preferred_rack_uses_the_tighter_zone_and_two_racks() {
    // KAI's worked example: zone A racks of 2, 1, 1, 1 GPUs; zone B racks of 2, 2, 2.
    // Three 1-GPU pods require a zone and prefer a rack: no rack holds three, zone A is the
    // tighter fit, rack A1 fills first.
    let mut nodes = Vec::new();
    for (zone, racks) in [("a", vec![2, 1, 1, 1]), ("b", vec![2, 2, 2])] {
        for (r, size) in racks.into_iter().enumerate() {
            let name = format!("{zone}{r}");
            nodes.push(
                node(&name, size)
                    .with_label(ZONE, zone)
                    .with_label(RACK, format!("{zone}-rack{r}")),
            );
        }
    }
    let mut engine = engine(nodes)
        .with_levels([ZONE, RACK, HOST])
        .with_queue(Queue::new("q", 11.0));
    let group = PodGroup::uniform("job", "q", 3, gpus(1))
        .with_topology(TopologyConstraint::required(ZONE).preferring(RACK));
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    let placed = outcome.nodes_of("job");
    assert_eq!(placed.len(), 3);
    assert!(
        placed.iter().all(|n| label_of(&engine, n, ZONE) == "a"),
        "{placed:?}"
    );
    let racks: BTreeSet<&str> = placed.iter().map(|n| label_of(&engine, n, RACK)).collect();
    assert_eq!(racks.len(), 2, "{placed:?}");
    assert!(racks.contains("a-rack0"));
}

#[test]
fn preferred_only_still_allocates_across_domains() {
    let nodes = (0..3)
        .map(|r| node(&format!("n{r}"), 2).with_label(RACK, format!("rack{r}")))
        .collect();
    let mut engine = engine(nodes)
        .with_levels([RACK, HOST])
        .with_queue(Queue::new("q", 6.0));
    let group = PodGroup::uniform("job", "q", 5, gpus(1))
        .with_topology(TopologyConstraint::default().preferring(RACK));
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    assert_eq!(outcome.nodes_of("job").len(), 5);
}

#[test]
fn packing_prefers_the_domain_already_in_use() {
    // KAI: "Topology packing - prefer domains with existing allocations".
    let nodes = (0..2)
        .map(|r| node(&format!("n{r}"), 4).with_label(RACK, format!("rack{r}")))
        .collect();
    let mut engine = engine(nodes)
        .with_levels([RACK, HOST])
        .with_queue(Queue::new("q", 8.0));
    let first = engine.schedule(
        vec![PodGroup::uniform("first", "q", 1, gpus(2))],
        &mut Rng::new(1),
    );
    let used_rack = label_of(&engine, first.nodes_of("first")[0], RACK).to_owned();
    let group =
        PodGroup::uniform("second", "q", 2, gpus(1)).with_topology(TopologyConstraint::required(RACK));
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    for n in outcome.nodes_of("second") {
        assert_eq!(label_of(&engine, n, RACK), used_rack);
    }
}

#[test]
fn seven_pods_over_domains_of_three_three_two_and_one_use_three_domains() {
    // Kueue's example: hosts with room for 3, 3, 2 and 1 pods; 7 pods preferring a host.
    let nodes = [3, 3, 2, 1]
        .iter()
        .enumerate()
        .map(|(i, &g)| node(&format!("h{i}"), g).with_label(RACK, "r"))
        .collect();
    let mut engine = engine(nodes)
        .with_levels([RACK, HOST])
        .with_queue(Queue::new("q", 9.0));
    let group = PodGroup::uniform("job", "q", 7, gpus(1))
        .with_topology(TopologyConstraint::default().preferring(HOST));
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
    for n in outcome.nodes_of("job") {
        *per_host.entry(n).or_default() += 1;
    }
    let mut counts: Vec<usize> = per_host.values().copied().collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 3, 3], "{per_host:?}");
}

fn nvl72(cliques: usize) -> Vec<NodeState> {
    let mut nodes = Vec::new();
    for c in 0..cliques {
        for n in 0..18 {
            let name = format!("gb200-{c}-{n:02}");
            nodes
                .push(node(&name, 4).with_label(CLIQUE, format!("71f69d83-ba66-4822-adf5-55ce55efd210.{c}")));
        }
    }
    nodes
}

#[test]
fn a_gang_that_requires_a_clique_lands_in_one_even_when_tempted_elsewhere() {
    // KAI's GB200 test: 2 cliques of 18 nodes x 4 GPUs; a small pod is placed first to pull
    // packing towards one clique, then 4 pods x 3 GPUs require one clique.
    let mut engine = engine(nvl72(2))
        .with_levels([CLIQUE, HOST])
        .with_queue(Queue::new("q", 144.0));
    engine.schedule(vec![PodGroup::uniform("pull", "q", 1, gpus(1))], &mut Rng::new(1));
    let group = PodGroup::uniform("job", "q", 4, gpus(3)).with_topology(TopologyConstraint::required(CLIQUE));
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    let cliques: BTreeSet<&str> = outcome
        .nodes_of("job")
        .iter()
        .map(|n| label_of(&engine, n, CLIQUE))
        .collect();
    assert_eq!(outcome.nodes_of("job").len(), 4);
    assert_eq!(cliques.len(), 1);
}

#[test]
fn a_multi_node_gang_is_kept_in_one_clique_without_asking() {
    // Fill most of clique 0 so the two cliques differ, then submit a 64-GPU gang with no
    // topology constraint: it fits in clique 1 only, and must not straddle the two.
    let mut engine = engine(nvl72(2))
        .with_levels([CLIQUE, HOST])
        .with_queue(Queue::new("q", 144.0));
    engine.schedule(
        vec![PodGroup::uniform("filler", "q", 10, gpus(4))],
        &mut Rng::new(1),
    );
    let outcome = engine.schedule(vec![PodGroup::uniform("llm", "q", 16, gpus(4))], &mut Rng::new(1));
    let cliques: BTreeSet<&str> = outcome
        .nodes_of("llm")
        .iter()
        .map(|n| label_of(&engine, n, CLIQUE))
        .collect();
    assert_eq!(outcome.nodes_of("llm").len(), 16);
    assert_eq!(cliques.len(), 1, "{cliques:?}");
}

#[test]
fn a_gang_larger_than_a_clique_gets_an_actionable_reason() {
    let mut engine = engine(nvl72(2))
        .with_levels([CLIQUE, HOST])
        .with_queue(Queue::new("q", 144.0));
    let group =
        PodGroup::uniform("big", "q", 19, gpus(4)).with_topology(TopologyConstraint::required(CLIQUE));
    let outcome = engine.schedule(vec![group.clone()], &mut Rng::new(1));
    assert_eq!(
        outcome.pending_reason("big").unwrap().to_string(),
        "needs 76 GPUs in one nvidia.com/gpu.clique; largest free nvidia.com/gpu.clique has 72"
    );
    // Without the requirement the same gang spans cliques.
    let mut loose = group;
    loose.topology = TopologyConstraint::default();
    loose.name = "big-loose".into();
    let outcome = engine.schedule(vec![loose], &mut Rng::new(1));
    assert_eq!(outcome.nodes_of("big-loose").len(), 19);
}

#[test]
fn gangs_are_all_or_nothing() {
    let mut engine = engine(vec![node("a", 4), node("b", 4)]).with_queue(Queue::new("q", 16.0));
    let outcome = engine.schedule(vec![PodGroup::uniform("job", "q", 3, gpus(4))], &mut Rng::new(1));
    assert!(outcome.bindings.is_empty());
    assert!(matches!(
        outcome.pending_reason("job"),
        Some(PendingReason::GangDoesNotFit { pods: 3, .. })
    ));
    assert_eq!(engine.state().used_gpu_milli(), 0);
}

#[test]
fn a_leader_and_workers_with_different_requests_land_together() {
    let mut engine = engine(vec![node("a", 8), node("b", 8)]).with_queue(Queue::new("q", 16.0));
    let mut group = PodGroup::uniform("lws", "q", 0, gpus(1));
    group.pods = vec![
        GroupPod::new(
            "leader",
            PodRequest::new(16_000, 65_536, GpuDemand::Devices { count: 8 }),
        ),
        GroupPod::new(
            "worker-0",
            PodRequest::new(8_000, 65_536, GpuDemand::Devices { count: 8 }),
        ),
    ];
    group.min_member = 2;
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    let nodes: BTreeSet<&str> = outcome.nodes_of("lws").into_iter().collect();
    assert_eq!(nodes.len(), 2);
    assert_eq!(outcome.bindings[0].pod, "leader");
    assert_eq!(outcome.bindings[0].devices.len(), 8);
}

#[test]
fn higher_priority_preempts_a_whole_lower_priority_gang_of_its_queue() {
    // KAI: "1 train job running, 1 build job pending - preempt".
    let mut engine = engine(vec![node("a", 4)]).with_queue(Queue::new("q", 4.0));
    engine.schedule(vec![train("train", "q", 2, gpus(2))], &mut Rng::new(1));
    let inference = PodGroup::uniform("serve", "q", 1, gpus(4));
    let outcome = engine.schedule(vec![inference], &mut Rng::new(1));
    assert_eq!(outcome.nodes_of("serve"), ["a"]);
    assert_eq!(outcome.evictions.len(), 1);
    assert_eq!(outcome.evictions[0].group, "train");
    assert_eq!(outcome.evictions[0].cause, EvictionCause::Preempted);
    assert!(!engine.running().any(|g| g == "train"), "the whole gang goes");
}

#[test]
fn non_preemptible_work_is_never_evicted() {
    let mut engine = engine(vec![node("a", 4)]).with_queue(Queue::new("q", 8.0));
    engine.schedule(
        vec![PodGroup::uniform("old", "q", 1, gpus(4)).with_priority(50, false)],
        &mut Rng::new(1),
    );
    let outcome = engine.schedule(vec![PodGroup::uniform("new", "q", 1, gpus(4))], &mut Rng::new(1));
    assert!(outcome.evictions.is_empty());
    assert!(matches!(
        outcome.pending_reason("new"),
        Some(PendingReason::NoNodeFits { .. })
    ));
}

#[test]
fn preemption_picks_the_fewest_victims() {
    // Four 1-GPU jobs on one node and one 4-GPU job on another, all low priority: a 4-GPU
    // gang needs one victim (the 4-GPU job), not four.
    let mut engine = engine(vec![node("a", 4), node("b", 4)]).with_queue(Queue::new("q", 8.0));
    let mut running: Vec<PodGroup> = (0..4)
        .map(|i| train(&format!("small-{i}"), "q", 1, gpus(1)))
        .collect();
    running.push(train("large", "q", 1, gpus(4)));
    let first = engine.schedule(running, &mut Rng::new(1));
    assert!(first.pending.is_empty(), "{:?}", first.pending);
    let outcome = engine.schedule(
        vec![PodGroup::uniform("serve", "q", 1, gpus(4))],
        &mut Rng::new(1),
    );
    let evicted: Vec<&str> = outcome.evictions.iter().map(|e| e.group.as_str()).collect();
    assert_eq!(outcome.nodes_of("serve").len(), 1);
    assert_eq!(evicted.len(), 1, "{evicted:?}");
}

#[test]
fn a_queue_below_its_fair_share_reclaims_from_one_above_it() {
    // Two queues deserve 2 GPUs each of a 4-GPU node; b borrowed all four.
    let mut engine = engine(vec![node("a", 4)])
        .with_queue(Queue::new("qa", 2.0))
        .with_queue(Queue::new("qb", 2.0));
    engine.schedule(
        vec![train("b-0", "qb", 1, gpus(2)), train("b-1", "qb", 1, gpus(2))],
        &mut Rng::new(1),
    );
    assert_eq!(engine.used_gpus("qb"), 4.0);
    let outcome = engine.schedule(
        vec![PodGroup::uniform("a-serve", "qa", 1, gpus(2))],
        &mut Rng::new(1),
    );
    assert_eq!(outcome.nodes_of("a-serve"), ["a"]);
    assert_eq!(outcome.evictions.len(), 1);
    assert_eq!(outcome.evictions[0].cause, EvictionCause::Reclaimed);
    assert_eq!(engine.used_gpus("qb"), 2.0);
}

#[test]
fn quota_rules_give_reasons() {
    let mut engine = engine(vec![node("a", 8)]).with_queue(Queue::new("q", 2.0).limit(4.0));
    engine.schedule(
        vec![PodGroup::uniform("serve-0", "q", 1, gpus(2))],
        &mut Rng::new(1),
    );
    engine.schedule(vec![train("t", "q", 1, gpus(1))], &mut Rng::new(1));
    let outcome = engine.schedule(
        vec![
            train("more", "q", 1, gpus(2)),
            PodGroup::uniform("serve", "q", 1, gpus(1)),
        ],
        &mut Rng::new(1),
    );
    assert_eq!(
        outcome.pending_reason("more").unwrap().to_string(),
        "queue q would pass its limit: uses 3 of 4 GPUs and needs 2 more"
    );
    assert_eq!(
        outcome.pending_reason("serve").unwrap().to_string(),
        "non-preemptible workloads run only within the deserved quota: queue q has 2 of 2 deserved GPUs in \
         non-preemptible use and needs 1 more; make it preemptible or raise the quota"
    );
}

#[test]
fn node_pools_are_tried_in_the_order_given() {
    let nodes = vec![
        node("h100-0", 8).in_pool("h100"),
        node("a100-0", 8).in_pool("a100"),
    ];
    let mut engine = engine(nodes).with_queue(Queue::new("q", 24.0));
    let first = PodGroup::uniform("one", "q", 1, gpus(8)).in_pools(["h100", "a100"]);
    let second = PodGroup::uniform("two", "q", 1, gpus(8))
        .in_pools(["h100", "a100"])
        .created_at(1);
    let outcome = engine.schedule(vec![first, second], &mut Rng::new(1));
    assert_eq!(outcome.nodes_of("one"), ["h100-0"]);
    assert_eq!(outcome.nodes_of("two"), ["a100-0"]);
    let outcome = engine.schedule(
        vec![PodGroup::uniform("three", "q", 1, gpus(1)).in_pools(["l40s"])],
        &mut Rng::new(1),
    );
    assert_eq!(
        outcome.pending_reason("three").unwrap().to_string(),
        "no schedulable node in node pools [l40s] matches the node selector, affinity and tolerations"
    );
}

#[test]
fn queues_below_their_share_go_first() {
    // 70/30 division: a (weight 3) and b (weight 1) deserve 10 each of 100 GPUs. Both ask
    // for far more; a's workloads are served until it holds about 70.
    let nodes: Vec<NodeState> = (0..25).map(|i| node(&format!("n{i}"), 4)).collect();
    let mut engine = engine(nodes)
        .with_queue(Queue::new("a", 10.0).weight(3.0))
        .with_queue(Queue::new("b", 10.0).weight(1.0));
    let mut pending = Vec::new();
    for i in 0..100 {
        pending.push(train(&format!("a-{i}"), "a", 1, gpus(1)).created_at(i));
        pending.push(train(&format!("b-{i}"), "b", 1, gpus(1)).created_at(i));
    }
    engine.schedule(pending, &mut Rng::new(1));
    assert_eq!(engine.used_gpus("a") + engine.used_gpus("b"), 100.0);
    assert!(
        (69.0..=71.0).contains(&engine.used_gpus("a")),
        "{}",
        engine.used_gpus("a")
    );
}

#[test]
fn taints_and_affinity_choose_the_nodes() {
    let mut reserved = node("reserved", 8).with_label("gpu.product", "H200");
    reserved
        .taints
        .push(Taint::new("dedicated", "llm", TolerationEffect::NoSchedule));
    let nodes = vec![node("h100", 8).with_label("gpu.product", "H100"), reserved];
    let mut engine = engine(nodes).with_queue(Queue::new("q", 16.0));

    // Affinity to H200 alone is not enough: the H200 node is tainted.
    let h200 = NodeAffinityRequired {
        node_selector_terms: Some(vec![NodeSelectorTerm {
            match_expressions: Some(vec![MatchExpression::new(
                "gpu.product",
                MatchOperator::In,
                ["H200"],
            )]),
        }]),
    };
    let mut group = PodGroup::uniform("llm", "q", 1, gpus(8));
    group.node_affinity = Some(h200);
    let outcome = engine.schedule(vec![group.clone()], &mut Rng::new(1));
    assert!(matches!(
        outcome.pending_reason("llm"),
        Some(PendingReason::NoEligibleNode { .. })
    ));

    group.tolerations = vec![Toleration {
        key: Some("dedicated".into()),
        operator: Some(TolerationOperator::Equal),
        value: Some("llm".into()),
        effect: Some(TolerationEffect::NoSchedule),
        ..Toleration::default()
    }];
    let outcome = engine.schedule(vec![group], &mut Rng::new(1));
    assert_eq!(outcome.nodes_of("llm"), ["reserved"]);
}

#[test]
fn departments_divide_the_cluster_before_their_queues() {
    // 100 GPUs; two departments deserve 50 each. In d1, queues a and b deserve 10 each and
    // split d1's other 30 by weight 1:3; d2's only queue c gets all of d2's 50.
    let nodes: Vec<NodeState> = (0..25).map(|i| node(&format!("n{i}"), 4)).collect();
    let engine = engine(nodes)
        .with_department(Queue::new("d1", 50.0))
        .with_department(Queue::new("d2", 50.0))
        .with_queue(Queue::new("a", 10.0).in_department("d1"))
        .with_queue(Queue::new("b", 10.0).weight(3.0).in_department("d1"))
        .with_queue(Queue::new("c", 0.0).in_department("d2"));
    let pending: Vec<PodGroup> = ["a", "b", "c"]
        .iter()
        .map(|q| train(&format!("{q}-big"), q, 25, gpus(4)))
        .collect();
    let shares = engine.fair_share(&pending);
    assert_eq!(shares["a"], 17.5);
    assert_eq!(shares["b"], 32.5);
    assert_eq!(shares["c"], 50.0);
}

#[test]
fn quotas_hold_per_node_pool() {
    // The queue deserves 8 GPUs in each pool and may use at most 8 in h100. Its default pools
    // are h100, then a100.
    let nodes = vec![
        node("h100-0", 8).in_pool("h100"),
        node("h100-1", 8).in_pool("h100"),
        node("a100-0", 8).in_pool("a100"),
    ];
    let queue = Queue::new("q", 24.0)
        .with_pool_quota(
            "h100",
            PoolQuota {
                deserved_gpus: 8.0,
                limit_gpus: Some(8.0),
            },
        )
        .with_pool_quota(
            "a100",
            PoolQuota {
                deserved_gpus: 8.0,
                limit_gpus: None,
            },
        )
        .default_pools(["h100", "a100"]);
    let mut engine = engine(nodes).with_queue(queue);
    let groups: Vec<PodGroup> = (0..3)
        .map(|i| PodGroup::uniform(format!("serve-{i}"), "q", 1, gpus(8)).created_at(i))
        .collect();
    let outcome = engine.schedule(groups, &mut Rng::new(1));
    // The first lands in h100; the h100 quota is then used, so the second goes to a100 even
    // though h100-1 is idle; the third finds both pool quotas used.
    assert_eq!(outcome.nodes_of("serve-0"), ["h100-0"]);
    assert_eq!(outcome.nodes_of("serve-1"), ["a100-0"]);
    assert_eq!(
        outcome.pending_reason("serve-2").unwrap().to_string(),
        "queue q would pass its limit in node pool h100: uses 8 of 8 GPUs there and needs 8 more"
    );
}
