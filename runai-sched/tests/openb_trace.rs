//! The FGD protocol on the real Alibaba GPU v2023 trace, read from `../shared/data` when it is
//! there (the data's licence keeps it out of this repository). One seed per policy keeps the
//! test short; `docs/scheduling.md` has the ten-seed figures.

use std::path::PathBuf;

use runai_sched::sim::{FgdProtocol, parse_nodes, parse_pods};

fn trace_file(name: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/alibaba-gpu-v2023")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipped: {} is not present", path.display());
            None
        }
    }
}

#[test]
fn the_protocol_reproduces_the_papers_ordering_on_the_default_trace() {
    let (Some(nodes), Some(pods)) = (
        trace_file("openb_node_list_gpu_node.csv"),
        trace_file("openb_pod_list_default.csv"),
    ) else {
        return;
    };
    let nodes = parse_nodes(&nodes).unwrap();
    let pods = parse_pods(&pods).unwrap();
    assert_eq!(nodes.len(), 1213);
    assert_eq!(nodes.iter().map(|n| n.gpu_count()).sum::<u32>(), 6212);
    assert_eq!(pods.len(), 8152);

    let protocol = FgdProtocol::default();
    let unallocated = |policy: &str| {
        let run = protocol.run_seed(&nodes, &pods, policy, 42).unwrap();
        // Demand is inflated to 130 % of capacity, so some pods must have been refused.
        assert!(run.failed_pods > 0, "{policy}");
        run.unallocated_pct(100).unwrap()
    };
    let fgd = unallocated("fgd");
    let bestfit = unallocated("bestfit");
    // The paper's ten-seed means are 4.77 % (FGD) and 7.14 % (BestFit).
    assert!((3.5..6.0).contains(&fgd), "fgd left {fgd} % unallocated");
    assert!(
        (6.0..8.5).contains(&bestfit),
        "bestfit left {bestfit} % unallocated"
    );
    assert!(fgd < bestfit);
}
