//! The simulators of `runai-sched`, driven as its examples drive them and reported as JSON
//! values with every per-step series as a list, plus small synthetic inputs for trying them
//! without the published traces.
//!
//! - [`fgd`]: the FGD paper's placement protocol on an Alibaba GPU v2023 style cluster and
//!   pod list (`runai-sched/examples/fgd.rs`).
//! - [`autoscale`]: an Azure LLM 2023 style request trace replayed through simulated
//!   replicas under an autoscaling policy (`runai-sched/examples/autoscale_sim.rs`).

use std::fmt::Write as _;

use runai_sched::autoscale::{KpaConfig, LlmAutoscaler, LlmPolicyConfig};
use runai_sched::policy::POLICY_NAMES;
use runai_sched::sim::{
    ARRIVAL_POINTS, FgdProtocol, KpaFleet, LlmRequest, SimConfig, SimReport, StaticFleet, parse_azure_trace,
    parse_nodes, parse_pods, simulate,
};
use serde_json::{Value, json};

use crate::Error;

/// The placement policies [`fgd`] takes.
pub const FGD_POLICIES: &[&str] = POLICY_NAMES;

/// The autoscaling policies [`autoscale`] takes: `static` (the smallest fixed fleet that
/// reaches 99 % SLO attainment), `kpa` (Knative's) and `runai` (the LLM-aware one).
pub const AUTOSCALE_POLICIES: &[&str] = &["static", "kpa", "runai"];

/// The largest fleet the `static` policy tries.
const MAX_STATIC_FLEET: u32 = 256;

/// Settings of [`fgd`].
///
/// ```
/// let options = runai_py::sim::FgdOptions::default();
/// assert_eq!(options.policy, "fgd");
/// assert_eq!(options.seeds, (42..=51).collect::<Vec<_>>());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FgdOptions {
    /// The placement policy, one of [`FGD_POLICIES`].
    pub policy: String,
    /// One run per seed; the report averages them.
    pub seeds: Vec<u64>,
    /// GPU demand generated, as a multiple of the cluster's GPUs (the paper: 1.3).
    pub inflation: f64,
}

impl Default for FgdOptions {
    fn default() -> Self {
        Self {
            policy: "fgd".to_owned(),
            seeds: (42..=51).collect(),
            inflation: FgdProtocol::default().inflation,
        }
    }
}

/// Runs the FGD protocol on a node list (`sn,cpu_milli,memory_mib,gpu,model`) and a pod list
/// (`name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec]`), both CSV text.
///
/// The report holds the means at the paper's two points (`unallocated_gpu_pct_at_100`,
/// `alloc_ratio_pct_at_130`), the series `arrived_pct` (0 to 130) with the mean
/// `allocation_pct` at each point (`None` where no pod arrived near it), and `per_seed`
/// runs with their own series.
///
/// ```
/// let (nodes, pods) = runai_py::sim::synthetic_cluster(4, 8, 100, 7);
/// let mut options = runai_py::sim::FgdOptions::default();
/// options.seeds = vec![1, 2];
/// let report = runai_py::sim::fgd(&nodes, &pods, &options)?;
/// assert_eq!(report["arrived_pct"].as_array().unwrap().len(), 131);
/// assert_eq!(report["per_seed"].as_array().unwrap().len(), 2);
/// # Ok::<(), runai_py::Error>(())
/// ```
///
/// # Errors
/// [`Error::Sched`] for a file that cannot be read or an unknown policy;
/// [`Error::Argument`] for no seeds or an inflation that is not a positive number.
pub fn fgd(nodes_csv: &str, pods_csv: &str, options: &FgdOptions) -> Result<Value, Error> {
    if options.seeds.is_empty() {
        return Err(Error::Argument {
            name: "seeds",
            reason: "give at least one seed".to_owned(),
        });
    }
    if !(options.inflation.is_finite() && options.inflation > 0.0 && options.inflation <= 100.0) {
        return Err(Error::Argument {
            name: "inflation",
            reason: format!(
                "{} is out of range; give a multiple of the cluster's GPUs such as 1.3",
                options.inflation
            ),
        });
    }
    let sched = |what: &str| {
        let what = what.to_owned();
        move |source| Error::Sched { what, source }
    };
    let nodes = parse_nodes(nodes_csv).map_err(sched("the node list"))?;
    let pods = parse_pods(pods_csv).map_err(sched("the pod list"))?;
    let protocol = FgdProtocol {
        inflation: options.inflation,
    };
    let report = protocol
        .run(&nodes, &pods, &options.policy, &options.seeds)
        .map_err(sched("the placement policy"))?;
    let per_seed: Vec<Value> = report
        .runs
        .iter()
        .map(|run| {
            json!({
                "seed": run.seed,
                "pods": run.pods,
                "failed_pods": run.failed_pods,
                "unallocated_gpu_pct_at_100": run.unallocated_pct(100),
                "alloc_ratio_pct_at_130": run.allocation_pct.get(130).copied().flatten(),
                "allocation_pct": run.allocation_pct,
            })
        })
        .collect();
    let mean_series: Vec<Option<f64>> = (0..ARRIVAL_POINTS)
        .map(|point| report.mean_allocation_pct(point))
        .collect();
    Ok(json!({
        "policy": report.policy,
        "seeds": options.seeds,
        "inflation": options.inflation,
        "nodes": nodes.len(),
        "gpus": nodes.iter().map(|n| u64::from(n.gpu_count())).sum::<u64>(),
        "trace_pods": pods.len(),
        "unallocated_gpu_pct_at_100": report.mean_unallocated_pct(100),
        "alloc_ratio_pct_at_130": report.mean_allocation_pct(130),
        "arrived_pct": (0..ARRIVAL_POINTS).collect::<Vec<_>>(),
        "allocation_pct": mean_series,
        "per_seed": per_seed,
    }))
}

/// Settings of [`autoscale`]; the defaults are those of `runai-sched`'s simulator.
///
/// ```
/// let options = runai_py::sim::AutoscaleOptions::default();
/// assert_eq!(options.policy, "runai");
/// assert_eq!(options.series_every_s, 10.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AutoscaleOptions {
    /// The autoscaling policy, one of [`AUTOSCALE_POLICIES`].
    pub policy: String,
    /// The fewest replicas the policy keeps (and the fleet at the start, at least 1).
    pub min_replicas: u32,
    /// Divides arrival times: 4 replays the trace at four times its rate.
    pub rate_scale: f64,
    /// Seconds of the trace replayed, unmeasured, before the measured run.
    pub warmup_s: f64,
    /// The time series' step in seconds (0: no series).
    pub series_every_s: f64,
    /// The model server and the objective.
    pub config: SimConfig,
}

impl Default for AutoscaleOptions {
    fn default() -> Self {
        Self {
            policy: "runai".to_owned(),
            min_replicas: 1,
            rate_scale: 1.0,
            warmup_s: 0.0,
            series_every_s: 10.0,
            config: SimConfig::default(),
        }
    }
}

impl AutoscaleOptions {
    fn check(&self) -> Result<(), Error> {
        let server = &self.config.server;
        let checks: [(&'static str, bool, &str); 10] = [
            (
                "rate_scale",
                self.rate_scale > 0.0 && self.rate_scale.is_finite(),
                "a positive number",
            ),
            (
                "warmup_s",
                self.warmup_s >= 0.0 && self.warmup_s.is_finite(),
                "zero or more seconds",
            ),
            (
                "series_every_s",
                self.series_every_s >= 0.0 && self.series_every_s.is_finite(),
                "zero or more seconds",
            ),
            (
                "prefill_tokens_per_s",
                server.prefill_tokens_per_s > 0.0 && server.prefill_tokens_per_s.is_finite(),
                "a positive number",
            ),
            (
                "itl_base_s",
                server.itl_base_s > 0.0 && server.itl_base_s.is_finite(),
                "a positive number of seconds",
            ),
            (
                "itl_per_sequence_s",
                server.itl_per_sequence_s >= 0.0 && server.itl_per_sequence_s.is_finite(),
                "zero or more seconds",
            ),
            (
                "kv_cache_tokens",
                server.kv_cache_tokens > 0,
                "a positive number of tokens",
            ),
            (
                "max_running",
                server.max_running > 0,
                "a positive number of sequences",
            ),
            (
                "cold_start_s",
                server.startup_s >= 0.0 && server.startup_s.is_finite(),
                "zero or more seconds",
            ),
            (
                "ttft_slo_s",
                self.config.ttft_slo_s > 0.0 && self.config.ttft_slo_s.is_finite(),
                "a positive number of seconds",
            ),
        ];
        if let Some((name, _, allowed)) = checks.iter().find(|(_, ok, _)| !ok) {
            return Err(Error::Argument {
                name,
                reason: format!("is out of range; give {allowed}"),
            });
        }
        if !AUTOSCALE_POLICIES.contains(&self.policy.as_str()) {
            return Err(Error::Argument {
                name: "policy",
                reason: format!(
                    "unknown policy `{}`; use one of {}",
                    self.policy,
                    AUTOSCALE_POLICIES.join(", ")
                ),
            });
        }
        Ok(())
    }
}

/// Replays a request trace (`TIMESTAMP,ContextTokens,GeneratedTokens` CSV text) under an
/// autoscaling policy.
///
/// The report holds SLO attainment, latency percentiles, replica-seconds, cold starts and
/// scaling actions, and `series`: lists `t_s`, `arrivals_per_s`, `replicas` and
/// `ttft_p90_s`, one entry per `series_every_s` seconds.
///
/// ```
/// let trace = runai_py::sim::synthetic_llm_trace(200, 2.0, 7);
/// let report = runai_py::sim::autoscale(&trace, &runai_py::sim::AutoscaleOptions::default())?;
/// assert_eq!(report["requests"], 200);
/// let series = &report["series"];
/// assert_eq!(series["t_s"].as_array().unwrap().len(), series["replicas"].as_array().unwrap().len());
/// # Ok::<(), runai_py::Error>(())
/// ```
///
/// # Errors
/// [`Error::Sched`] for a trace that cannot be read; [`Error::Argument`] for an unknown
/// policy, a setting out of range, or a trace no fixed fleet can serve (`static`).
pub fn autoscale(trace_csv: &str, options: &AutoscaleOptions) -> Result<Value, Error> {
    options.check()?;
    let requests = parse_azure_trace(trace_csv).map_err(|source| Error::Sched {
        what: "the request trace".to_owned(),
        source,
    })?;
    let mut config = options.config.clone();
    config.rate_scale = options.rate_scale;
    config.warmup_s = options.warmup_s;
    config.series_every_s = options.series_every_s;
    config.initial_replicas = options.min_replicas.max(1);
    let (report, static_replicas) = run_policy(&requests, options, &config)?;
    let series = &report.series;
    Ok(json!({
        "policy": report.policy,
        "static_replicas": static_replicas,
        "rate_scale": options.rate_scale,
        "min_replicas": options.min_replicas,
        "warmup_s": options.warmup_s,
        "requests": report.requests,
        "rejected": report.rejected,
        "slo_attainment": report.slo_attainment,
        "ttft_slo_s": config.ttft_slo_s,
        "p50_ttft_s": report.p50_ttft_s,
        "p99_ttft_s": report.p99_ttft_s,
        "p99_e2e_s": report.p99_e2e_s,
        "replica_seconds": report.replica_seconds,
        "cold_starts": report.cold_starts,
        "scaling_actions": report.scaling_actions,
        "series": {
            "t_s": series.iter().map(|p| p.t_s).collect::<Vec<_>>(),
            "arrivals_per_s": series.iter().map(|p| p.arrivals_per_s).collect::<Vec<_>>(),
            "replicas": series.iter().map(|p| p.replicas).collect::<Vec<_>>(),
            "ttft_p90_s": series.iter().map(|p| p.ttft_p90_s).collect::<Vec<_>>(),
        },
    }))
}

fn run_policy(
    requests: &[LlmRequest],
    options: &AutoscaleOptions,
    config: &SimConfig,
) -> Result<(SimReport, Option<u32>), Error> {
    let server = &config.server;
    match options.policy.as_str() {
        "static" => {
            for replicas in 1..=MAX_STATIC_FLEET {
                let mut fixed = config.clone();
                fixed.initial_replicas = replicas;
                let report = simulate(requests, &fixed, &mut StaticFleet(replicas));
                if report.slo_attainment >= 0.99 {
                    return Ok((report, Some(replicas)));
                }
            }
            Err(Error::Argument {
                name: "policy",
                reason: format!(
                    "no fixed fleet up to {MAX_STATIC_FLEET} replicas reaches 99 % SLO attainment on this trace"
                ),
            })
        }
        "kpa" => {
            let kpa = KpaConfig {
                min_scale: options.min_replicas,
                initial_scale: options.min_replicas.max(1),
                ..KpaConfig::default()
            };
            Ok((simulate(requests, config, &mut KpaFleet::new(kpa)), None))
        }
        _ => {
            let policy = LlmPolicyConfig {
                ttft_slo_s: config.ttft_slo_s,
                startup_s: server.startup_s,
                prefill_tokens_per_s: server.prefill_tokens_per_s,
                itl_at_target_s: server.inter_token_latency_s(64),
                min_replicas: options.min_replicas,
                ..LlmPolicyConfig::default()
            };
            Ok((simulate(requests, config, &mut LlmAutoscaler::new(policy)), None))
        }
    }
}

/// A small deterministic stream of numbers for the synthetic inputs (SplitMix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `(0, 1]`.
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// A small cluster and pod list in the Alibaba GPU v2023 format, for [`fgd`]: `nodes` nodes
/// of `gpus_per_node` GPUs (at least 1 each), and `pods` pods mixing GPU shares, whole GPUs and
/// a few multi-GPU pods, chosen by `seed`.
///
/// ```
/// let (nodes, pods) = runai_py::sim::synthetic_cluster(2, 8, 10, 1);
/// assert_eq!(nodes.lines().count(), 3);
/// assert_eq!(pods.lines().count(), 11);
/// assert_eq!(runai_py::sim::synthetic_cluster(2, 8, 10, 1), (nodes, pods));
/// ```
#[must_use]
pub fn synthetic_cluster(nodes: u32, gpus_per_node: u32, pods: u32, seed: u64) -> (String, String) {
    let gpus = gpus_per_node.max(1);
    let mut mix = Mix(seed);
    let mut node_csv = String::from("sn,cpu_milli,memory_mib,gpu,model\n");
    for n in 0..nodes {
        let model = ["V100M16", "T4", "A100"][n as usize % 3];
        let _ = writeln!(node_csv, "synthetic-node-{n:04},96000,786432,{gpus},{model}");
    }
    let mut pod_csv = String::from("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n");
    for p in 0..pods {
        let (num_gpu, gpu_milli) = match mix.below(10) {
            0..=4 => (1, 100 * (1 + mix.below(9))),
            5..=8 => (1, 1000),
            _ => (2u64.pow(1 + mix.below(2) as u32).min(u64::from(gpus)), 1000),
        };
        let cpu = 1000 * (1 + mix.below(16));
        let memory = 1024 * (1 + mix.below(64));
        let _ = writeln!(
            pod_csv,
            "synthetic-pod-{p:05},{cpu},{memory},{num_gpu},{gpu_milli},"
        );
    }
    (node_csv, pod_csv)
}

/// A request trace in the Azure LLM 2023 format, for [`autoscale`]: `requests` requests
/// arriving as a Poisson process of `rate_per_s` a second (at most 1000, at least 0.001),
/// with conversation-like prompt and output lengths, chosen by `seed`.
///
/// ```
/// let trace = runai_py::sim::synthetic_llm_trace(3, 1.0, 1);
/// assert!(trace.starts_with("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 00:00:00.0000000,"));
/// assert_eq!(trace.lines().count(), 4);
/// ```
#[must_use]
pub fn synthetic_llm_trace(requests: u32, rate_per_s: f64, seed: u64) -> String {
    let rate = if rate_per_s.is_finite() {
        rate_per_s.clamp(0.001, 1000.0)
    } else {
        1.0
    };
    let mut mix = Mix(seed);
    let mut csv = String::from("TIMESTAMP,ContextTokens,GeneratedTokens\n");
    let mut at = 0.0_f64;
    for i in 0..requests {
        if i > 0 {
            at += -mix.unit().ln() / rate;
        }
        // The trace format holds one day; a longer synthetic trace wraps at midnight is not
        // wanted, so arrivals stop advancing at its last second.
        let t = at.min(86_399.999);
        let (hours, minutes) = ((t / 3600.0).floor(), ((t % 3600.0) / 60.0).floor());
        let seconds = t % 60.0;
        let prompt = 100 + mix.below(2_000);
        let output = 10 + mix.below(400);
        let _ = writeln!(
            csv,
            "2023-11-16 {hours:02}:{minutes:02}:{seconds:010.7},{prompt},{output}"
        );
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fgd_reports_the_series_and_the_paper_points() {
        let (nodes, pods) = synthetic_cluster(4, 8, 200, 3);
        let options = FgdOptions {
            seeds: vec![42, 43],
            ..FgdOptions::default()
        };
        let report = fgd(&nodes, &pods, &options).unwrap();
        assert_eq!(report["policy"], "fgd");
        assert_eq!(report["gpus"], 32);
        assert_eq!(report["allocation_pct"].as_array().unwrap().len(), ARRIVAL_POINTS);
        let first = &report["per_seed"][0];
        assert_eq!(first["seed"], 42);
        assert_eq!(first["allocation_pct"].as_array().unwrap().len(), ARRIVAL_POINTS);
        assert!(report["alloc_ratio_pct_at_130"].as_f64().unwrap() > 50.0);
    }

    #[test]
    fn fgd_is_deterministic() {
        let (nodes, pods) = synthetic_cluster(3, 4, 80, 9);
        let options = FgdOptions {
            seeds: vec![1],
            ..FgdOptions::default()
        };
        assert_eq!(
            fgd(&nodes, &pods, &options).unwrap(),
            fgd(&nodes, &pods, &options).unwrap()
        );
    }

    #[test]
    fn fgd_refuses_bad_input_by_name() {
        let (nodes, pods) = synthetic_cluster(2, 8, 10, 1);
        let unknown = FgdOptions {
            policy: "nope".to_owned(),
            ..FgdOptions::default()
        };
        let error = fgd(&nodes, &pods, &unknown).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the placement policy: unknown policy `nope`")
        );
        let error = fgd("sn,gpu\n", &pods, &FgdOptions::default()).unwrap_err();
        assert!(error.to_string().starts_with("the node list:"), "{error}");
        let no_seeds = FgdOptions {
            seeds: vec![],
            ..FgdOptions::default()
        };
        assert!(matches!(
            fgd(&nodes, &pods, &no_seeds),
            Err(Error::Argument { name: "seeds", .. })
        ));
        let inflation = FgdOptions {
            inflation: f64::NAN,
            ..FgdOptions::default()
        };
        assert!(matches!(
            fgd(&nodes, &pods, &inflation),
            Err(Error::Argument {
                name: "inflation",
                ..
            })
        ));
    }

    #[test]
    fn autoscale_series_are_parallel_lists() {
        let trace = synthetic_llm_trace(300, 3.0, 5);
        for policy in AUTOSCALE_POLICIES {
            let options = AutoscaleOptions {
                policy: (*policy).to_owned(),
                ..AutoscaleOptions::default()
            };
            let report = autoscale(&trace, &options).unwrap();
            assert_eq!(report["requests"], 300, "{policy}");
            let series = &report["series"];
            let len = series["t_s"].as_array().unwrap().len();
            assert!(len > 0, "{policy}");
            for key in ["arrivals_per_s", "replicas", "ttft_p90_s"] {
                assert_eq!(series[key].as_array().unwrap().len(), len, "{policy} {key}");
            }
        }
    }

    #[test]
    fn autoscale_refuses_bad_settings() {
        let trace = synthetic_llm_trace(10, 1.0, 1);
        let bad = AutoscaleOptions {
            rate_scale: 0.0,
            ..AutoscaleOptions::default()
        };
        assert!(matches!(
            autoscale(&trace, &bad),
            Err(Error::Argument {
                name: "rate_scale",
                ..
            })
        ));
        let unknown = AutoscaleOptions {
            policy: "hpa".to_owned(),
            ..AutoscaleOptions::default()
        };
        assert!(matches!(
            autoscale(&trace, &unknown),
            Err(Error::Argument { name: "policy", .. })
        ));
        let error = autoscale("time,a,b\n", &AutoscaleOptions::default()).unwrap_err();
        assert!(
            error.to_string().starts_with("the request trace: trace line 1"),
            "{error}"
        );
    }

    #[test]
    fn synthetic_trace_reads_back_in_order() {
        let trace = synthetic_llm_trace(50, 5.0, 11);
        let requests = parse_azure_trace(&trace).unwrap();
        assert_eq!(requests.len(), 50);
        assert_eq!(requests[0].arrival_s, 0.0);
        assert!(requests.windows(2).all(|w| w[0].arrival_s <= w[1].arrival_s));
    }
}
