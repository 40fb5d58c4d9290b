//! Reproduces the FGD paper's evaluation on the Alibaba GPU v2023 trace.
//!
//! ```text
//! cargo run --release -p runai-sched --example fgd -- \
//!     --nodes ../shared/data/alibaba-gpu-v2023/openb_node_list_gpu_node.csv \
//!     --pods ../shared/data/alibaba-gpu-v2023/openb_pod_list_default.csv \
//!     --policy fgd --seeds 42-51 [--json]
//! ```
//!
//! `--policy` takes one name, a comma-separated list, or `all`.

use std::process::ExitCode;
use std::time::Instant;

use runai_sched::policy::POLICY_NAMES;
use runai_sched::sim::{FgdProtocol, PolicyReport, parse_nodes, parse_pods};

struct Args {
    nodes: String,
    pods: String,
    policies: Vec<String>,
    seeds: Vec<u64>,
    json: bool,
}

fn usage() -> String {
    format!(
        "usage: fgd --nodes FILE --pods FILE [--policy NAME[,NAME...]|all] [--seeds 42-51|42,43] [--json]\n\
         policies: {}",
        POLICY_NAMES.join(", ")
    )
}

fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let bad = |part: &str| format!("--seeds: `{part}` is not a seed; write 42-51 or 42,43,44");
    let mut seeds = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi): (u64, u64) = (
                    lo.parse().map_err(|_| bad(part))?,
                    hi.parse().map_err(|_| bad(part))?,
                );
                if lo > hi {
                    return Err(bad(part));
                }
                seeds.extend(lo..=hi);
            }
            None => seeds.push(part.parse().map_err(|_| bad(part))?),
        }
    }
    Ok(seeds)
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut nodes, mut pods, mut policy, mut seeds, mut json) =
        (None, None, "fgd".to_owned(), "42-51".to_owned(), false);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))
        };
        match flag.as_str() {
            "--nodes" => nodes = Some(value()?),
            "--pods" => pods = Some(value()?),
            "--policy" => policy = value()?,
            "--seeds" => seeds = value()?,
            "--json" => json = true,
            "--help" | "-h" => return Err(usage()),
            other => return Err(format!("unknown argument `{other}`\n{}", usage())),
        }
    }
    let policies = if policy == "all" {
        POLICY_NAMES.iter().map(|p| (*p).to_owned()).collect()
    } else {
        policy.split(',').map(str::to_owned).collect()
    };
    Ok(Args {
        nodes: nodes.ok_or_else(|| format!("--nodes is required\n{}", usage()))?,
        pods: pods.ok_or_else(|| format!("--pods is required\n{}", usage()))?,
        policies,
        seeds: parse_seeds(&seeds)?,
        json,
    })
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let nodes = parse_nodes(&read(&args.nodes)?).map_err(|e| format!("{}: {e}", args.nodes))?;
    let pods = parse_pods(&read(&args.pods)?).map_err(|e| format!("{}: {e}", args.pods))?;
    let protocol = FgdProtocol::default();
    let mut results = Vec::new();
    for policy in &args.policies {
        let started = Instant::now();
        let report = protocol
            .run(&nodes, &pods, policy, &args.seeds)
            .map_err(|e| e.to_string())?;
        results.push((report, started.elapsed().as_secs_f64() * 1000.0));
    }
    if args.json {
        let objects: Vec<serde_json::Value> = results
            .iter()
            .map(|(report, ms)| json_report(report, &args, *ms))
            .collect();
        let out = if objects.len() == 1 {
            objects[0].clone()
        } else {
            serde_json::Value::Array(objects)
        };
        println!("{out}");
    } else {
        println!(
            "pods: {}  nodes: {}  seeds: {:?}",
            args.pods,
            nodes.len(),
            args.seeds
        );
        println!(
            "{:<14} {:>20} {:>20} {:>12}",
            "policy", "unallocated@100 (%)", "allocation@130 (%)", "time (ms)"
        );
        for (report, ms) in &results {
            println!(
                "{:<14} {:>20} {:>20} {:>12.0}",
                report.policy,
                format_pct(report.mean_unallocated_pct(100)),
                format_pct(report.mean_allocation_pct(130)),
                ms
            );
        }
    }
    Ok(())
}

fn format_pct(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn json_report(report: &PolicyReport, args: &Args, elapsed_ms: f64) -> serde_json::Value {
    let per_seed: Vec<serde_json::Value> = report
        .runs
        .iter()
        .map(|run| {
            serde_json::json!({
                "seed": run.seed,
                "unallocated_gpu_pct_at_100": run.unallocated_pct(100).map(|v| round(v, 2)),
                "alloc_ratio_pct_at_130": run.allocation_pct[130].map(|v| round(v, 2)),
                "pods": run.pods,
                "failed_pods": run.failed_pods,
            })
        })
        .collect();
    serde_json::json!({
        "policy": report.policy,
        "pods_file": args.pods,
        "nodes_file": args.nodes,
        "seeds": args.seeds,
        "unallocated_gpu_pct_at_100": report.mean_unallocated_pct(100).map(|v| round(v, 3)),
        "alloc_ratio_pct_at_130": report.mean_allocation_pct(130).map(|v| round(v, 3)),
        "elapsed_ms": elapsed_ms.round(),
        "per_seed": per_seed,
    })
}

/// Rounds away float noise such as 4.790000000000006 for display.
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
