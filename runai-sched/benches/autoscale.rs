//! Autoscaling speed: one decision of each policy, a 2-second tick over 10,000 workloads,
//! and a replay of the 58-minute Azure conversation trace.
//!
//! `cargo bench -p runai-sched --bench autoscale`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use runai_core::spec::{AutoScaling, Metric};
use runai_sched::autoscale::{
    Kpa, KpaConfig, KpaInput, LlmAutoscaler, LlmPolicyConfig, LlmSignals, MetricWindow, RunaiAutoscaler,
    WorkloadMetrics,
};
use runai_sched::sim::{KpaFleet, SimConfig, parse_azure_trace, simulate};

const CONVERSATION_TRACE: &str = "../../shared/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv";

/// A window of `capacity_s` holding `seconds` of fluctuating load, as a busy revision
/// reports it.
fn busy_window(capacity_s: u32, seconds: u64) -> MetricWindow {
    let mut window = MetricWindow::new(capacity_s);
    for second in 0..seconds {
        window.record(second, 30.0 + (second % 17) as f64);
    }
    window
}

fn decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");

    let window = busy_window(3_600, 120);
    let mut kpa = Kpa::new(KpaConfig {
        target: 10.0,
        ..KpaConfig::default()
    });
    group.bench_function("kpa", |b| {
        b.iter(|| {
            black_box(kpa.decide(KpaInput {
                now_s: 119,
                ready_pods: 4,
                metric: black_box(&window),
            }))
        });
    });

    let spec = AutoScaling {
        min_replicas: Some(1),
        max_replicas: Some(16),
        metric: Some(Metric::Concurrency),
        metric_threshold: Some(10),
        ..Default::default()
    };
    let mut runai = RunaiAutoscaler::new(&spec.resolve());
    let empty = MetricWindow::new(60);
    group.bench_function("runai_concurrency", |b| {
        b.iter(|| {
            let metrics = WorkloadMetrics {
                concurrency: &window,
                throughput: &empty,
                latency_ms: &empty,
                custom: None,
            };
            black_box(runai.decide(119, 4, metrics))
        });
    });

    let mut llm = LlmAutoscaler::new(LlmPolicyConfig::default());
    let mut now = 0.0;
    group.bench_function("llm", |b| {
        b.iter(|| {
            now += 2.0;
            let signals = LlmSignals {
                now_s: now,
                ready: 3,
                running: 90,
                arrivals: 40,
                arrival_prompt_tokens: 60_000,
                completed: 38,
                completed_output_tokens: 7_600,
                ..Default::default()
            };
            black_box(llm.decide(black_box(&signals)))
        });
    });
    group.finish();
}

/// One tick of a controller running 10,000 workloads: record each workload's concurrency for
/// this second and decide its replicas. Each workload keeps the 60 s its stable window needs.
fn tick_10k_workloads(c: &mut Criterion) {
    let spec = AutoScaling {
        min_replicas: Some(0),
        max_replicas: Some(32),
        metric: Some(Metric::Concurrency),
        metric_threshold: Some(8),
        ..Default::default()
    }
    .resolve();
    let mut workloads: Vec<(RunaiAutoscaler, MetricWindow)> = (0..10_000)
        .map(|_| (RunaiAutoscaler::new(&spec), busy_window(60, 60)))
        .collect();
    let empty = MetricWindow::new(60);
    let mut now = 60;
    c.bench_function("tick_10k_workloads", |b| {
        b.iter(|| {
            now += 2;
            let mut total = 0u64;
            for (i, (scaler, window)) in workloads.iter_mut().enumerate() {
                window.record(now, (i % 50) as f64);
                let metrics = WorkloadMetrics {
                    concurrency: window,
                    throughput: &empty,
                    latency_ms: &empty,
                    custom: None,
                };
                total += u64::from(scaler.decide(now, 4, metrics).desired);
            }
            black_box(total)
        });
    });
}

/// The 58-minute conversation trace under the KPA fleet, when the shared data is present.
fn replay_conversation_trace(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CONVERSATION_TRACE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping the trace replay: {} is not readable", path.display());
        return;
    };
    let requests = parse_azure_trace(&text).expect("the shared trace parses");
    let config = SimConfig::default();
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.bench_function("conversation_trace_kpa", |b| {
        b.iter(|| {
            black_box(simulate(
                &requests,
                &config,
                &mut KpaFleet::new(KpaConfig {
                    min_scale: 1,
                    ..KpaConfig::default()
                }),
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, decisions, tick_10k_workloads, replay_conversation_trace);
criterion_main!(benches);
