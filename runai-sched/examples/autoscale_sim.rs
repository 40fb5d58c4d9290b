//! Replays an Azure LLM 2023 trace through simulated LLM replicas under an autoscaling
//! policy and reports SLO attainment, latency and replica-seconds.
//!
//! ```text
//! cargo run --release -p runai-sched --example autoscale_sim -- \
//!     --trace ../shared/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv \
//!     --policy static|kpa|runai [--rate-scale K] [--min-replicas N] [--cold-start-s S] \
//!     [--ttft-slo-s T] [--prefill-tokens-per-s P] [--itl-base-ms B] \
//!     [--itl-per-sequence-ms S] [--kv-cache-tokens K] [--max-running M] [--json] \
//!     [--series FILE.csv] [--svg FILE.svg] [--warmup-s S]
//! ```
//!
//! `static` is the smallest fixed fleet that gives at least 99 % SLO attainment on the trace
//! (found by simulating fleets of 1, 2, ... replicas): peak provisioning done right.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use runai_sched::autoscale::{KpaConfig, LlmAutoscaler, LlmPolicyConfig};
use runai_sched::sim::{
    KpaFleet, LlmRequest, SeriesPoint, SimConfig, SimReport, StaticFleet, parse_azure_trace, simulate,
};

struct Args {
    trace: String,
    policy: String,
    rate_scale: f64,
    min_replicas: u32,
    json: bool,
    series: Option<String>,
    svg: Option<String>,
    config: SimConfig,
}

fn usage() -> &'static str {
    "usage: autoscale_sim --trace FILE --policy static|kpa|runai [--rate-scale K] [--min-replicas N] \
     [--cold-start-s S] [--ttft-slo-s T] [--prefill-tokens-per-s P] [--itl-base-ms B] \
     [--itl-per-sequence-ms S] [--kv-cache-tokens K] [--max-running M] [--json] \
     [--series FILE.csv] [--svg FILE.svg] [--warmup-s S]"
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        trace: String::new(),
        policy: "runai".to_owned(),
        rate_scale: 1.0,
        min_replicas: 1,
        json: false,
        series: None,
        svg: None,
        config: SimConfig::default(),
    };
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))
        };
        let number = |text: String, flag: &str| -> Result<f64, String> {
            text.parse::<f64>()
                .map_err(|_| format!("{flag}: `{text}` is not a number"))
        };
        match flag.as_str() {
            "--trace" => parsed.trace = value()?,
            "--policy" => parsed.policy = value()?,
            "--rate-scale" => parsed.rate_scale = number(value()?, "--rate-scale")?,
            "--min-replicas" => parsed.min_replicas = number(value()?, "--min-replicas")? as u32,
            "--cold-start-s" => parsed.config.server.startup_s = number(value()?, "--cold-start-s")?,
            "--ttft-slo-s" => parsed.config.ttft_slo_s = number(value()?, "--ttft-slo-s")?,
            "--prefill-tokens-per-s" => {
                parsed.config.server.prefill_tokens_per_s = number(value()?, "--prefill-tokens-per-s")?;
            }
            "--itl-base-ms" => parsed.config.server.itl_base_s = number(value()?, "--itl-base-ms")? / 1_000.0,
            "--itl-per-sequence-ms" => {
                parsed.config.server.itl_per_sequence_s =
                    number(value()?, "--itl-per-sequence-ms")? / 1_000.0;
            }
            "--kv-cache-tokens" => {
                parsed.config.server.kv_cache_tokens = number(value()?, "--kv-cache-tokens")? as u64;
            }
            "--max-running" => parsed.config.server.max_running = number(value()?, "--max-running")? as u32,
            "--json" => parsed.json = true,
            "--series" => parsed.series = Some(value()?),
            "--warmup-s" => parsed.config.warmup_s = number(value()?, "--warmup-s")?,
            "--svg" => parsed.svg = Some(value()?),
            other => return Err(format!("unknown argument `{other}`\n{}", usage())),
        }
    }
    if parsed.trace.is_empty() {
        return Err(format!("--trace is required\n{}", usage()));
    }
    if parsed.rate_scale <= 0.0 {
        return Err("--rate-scale must be positive".to_owned());
    }
    if parsed.config.warmup_s.is_nan() || parsed.config.warmup_s < 0.0 {
        return Err("--warmup-s must be zero or more seconds".to_owned());
    }
    let server = &parsed.config.server;
    let checks = [
        ("--prefill-tokens-per-s", server.prefill_tokens_per_s > 0.0),
        ("--itl-base-ms", server.itl_base_s > 0.0),
        ("--itl-per-sequence-ms", server.itl_per_sequence_s >= 0.0),
        ("--kv-cache-tokens", server.kv_cache_tokens > 0),
        ("--max-running", server.max_running > 0),
        ("--cold-start-s", server.startup_s >= 0.0),
        ("--ttft-slo-s", parsed.config.ttft_slo_s > 0.0),
    ];
    if let Some((flag, _)) = checks.iter().find(|(_, ok)| !ok) {
        return Err(format!(
            "{flag} is out of range: give a positive number (zero allowed for start-up and per-sequence latency)"
        ));
    }
    parsed.config.rate_scale = parsed.rate_scale;
    parsed.config.initial_replicas = parsed.min_replicas.max(1);
    Ok(parsed)
}

fn run_policy(
    requests: &[LlmRequest],
    args: &Args,
    config: &SimConfig,
) -> Result<(SimReport, Option<u32>), String> {
    let server = &config.server;
    match args.policy.as_str() {
        "static" => {
            for replicas in 1..=256 {
                let mut c = config.clone();
                c.initial_replicas = replicas;
                let report = simulate(requests, &c, &mut StaticFleet(replicas));
                if report.slo_attainment >= 0.99 {
                    return Ok((report, Some(replicas)));
                }
            }
            Err("no fleet up to 256 replicas reaches 99 % SLO attainment".to_owned())
        }
        "kpa" => {
            let kpa = KpaConfig {
                min_scale: args.min_replicas,
                initial_scale: args.min_replicas.max(1),
                ..KpaConfig::default()
            };
            Ok((simulate(requests, config, &mut KpaFleet::new(kpa)), None))
        }
        "runai" => {
            let policy = LlmPolicyConfig {
                ttft_slo_s: config.ttft_slo_s,
                startup_s: server.startup_s,
                prefill_tokens_per_s: server.prefill_tokens_per_s,
                itl_at_target_s: server.inter_token_latency_s(64),
                min_replicas: args.min_replicas,
                ..LlmPolicyConfig::default()
            };
            Ok((simulate(requests, config, &mut LlmAutoscaler::new(policy)), None))
        }
        other => Err(format!("unknown policy `{other}`; use static, kpa or runai")),
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let text =
        std::fs::read_to_string(&args.trace).map_err(|e| format!("cannot read {}: {e}", args.trace))?;
    let requests = parse_azure_trace(&text).map_err(|e| format!("{}: {e}", args.trace))?;
    let mut config = args.config.clone();
    if args.series.is_some() || args.svg.is_some() {
        config.series_every_s = 10.0;
    }
    let started = Instant::now();
    let (report, static_size) = run_policy(&requests, &args, &config)?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(path) = &args.series {
        let mut csv = String::from("t_s,arrivals_per_s,replicas,ttft_p90_s\n");
        for p in &report.series {
            let _ = writeln!(
                csv,
                "{},{:.3},{},{:.3}",
                p.t_s, p.arrivals_per_s, p.replicas, p.ttft_p90_s
            );
        }
        std::fs::write(path, csv).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, svg(&report, &args)).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let json = serde_json::json!({
        "policy": report.policy,
        "trace": args.trace,
        "rate_scale": args.rate_scale,
        "min_replicas": args.min_replicas,
        "warmup_s": args.config.warmup_s,
        "static_replicas": static_size,
        "requests": report.requests,
        "slo_attainment": round(report.slo_attainment, 4),
        "ttft_slo_s": config.ttft_slo_s,
        "p50_ttft_s": round(report.p50_ttft_s, 3),
        "p99_ttft_s": round(report.p99_ttft_s, 3),
        "p99_e2e_s": round(report.p99_e2e_s, 3),
        "replica_seconds": round(report.replica_seconds, 0),
        "cold_starts": report.cold_starts,
        "scaling_actions": report.scaling_actions,
        "rejected": report.rejected,
        "elapsed_ms": round(elapsed_ms, 1),
    });
    if args.json {
        println!("{json}");
    } else {
        println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    }
    Ok(())
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// A three-panel SVG: arrivals per second, replicas, and p90 TTFT over time.
fn svg(report: &SimReport, args: &Args) -> String {
    let (width, panel, margin) = (900.0, 160.0, 50.0);
    let end = report.series.last().map_or(1.0, |p| p.t_s).max(1.0);
    type Value = fn(&SeriesPoint) -> f64;
    let panels: [(&str, Value, &str); 3] = [
        ("arrivals per second", |p| p.arrivals_per_s, "#1f77b4"),
        ("replicas", |p| f64::from(p.replicas), "#2ca02c"),
        ("p90 TTFT (s)", |p| p.ttft_p90_s, "#d62728"),
    ];
    let height = margin * 2.0 + panel * 3.0 + 40.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{margin}\" y=\"24\" font-size=\"15\">{} policy on {} (rate x{})</text>\n",
        report.policy,
        args.trace.rsplit('/').next().unwrap_or(&args.trace),
        args.rate_scale
    );
    for (i, (label, value, colour)) in panels.iter().enumerate() {
        let top = margin + i as f64 * (panel + 20.0);
        let max = report.series.iter().map(value).fold(0.0, f64::max).max(1e-9);
        let points: Vec<String> = report
            .series
            .iter()
            .map(|p| {
                let x = margin + (p.t_s / end) * (width - 2.0 * margin);
                let y = top + panel - value(p) / max * (panel - 10.0);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            out,
            "<rect x=\"{margin}\" y=\"{top}\" width=\"{}\" height=\"{panel}\" fill=\"none\" stroke=\"#ccc\"/>\n\
             <text x=\"{}\" y=\"{}\">{label} (max {max:.1})</text>\n\
             <polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\" points=\"{}\"/>\n",
            width - 2.0 * margin,
            margin + 5.0,
            top + 14.0,
            points.join(" ")
        );
    }
    let _ = write!(
        out,
        "<text x=\"{margin}\" y=\"{}\">time (s), 0 to {end:.0}</text>\n</svg>\n",
        height - 12.0
    );
    out
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
