//! `runai_serve::observe`: metric types, the series store, process and GPU sampling, model
//! server scrapes and the Prometheus client, against real processes and loopback servers.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use runai_serve::model_sim::{ModelSim, ModelSimConfig};
use runai_serve::observe::{
    GpuSampler, MetricSeries, MetricType, MetricsResponse, ModelMetrics, ObserveError, PodSelector,
    ProcessSampler, PrometheusClient, Scraper, SeriesLimits, parse_metric_types, parse_timestamp, promql_for,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Metric types

#[test]
fn metric_types_use_the_spec_spellings() {
    for name in [
        "THROUGHPUT",
        "LATENCY",
        "GPU_UTILIZATION",
        "GPU_MEMORY_USAGE_BYTES",
        "CPU_USAGE_CORES",
        "CPU_MEMORY_USAGE_BYTES",
        "POD_COUNT",
        "RUNNING_POD_COUNT",
        "NIM_NUM_REQUESTS_RUNNING",
        "NIM_NUM_REQUESTS_WAITING",
        "NIM_GPU_CACHE_USAGE_PERC",
        "NIM_TIME_TO_FIRST_TOKEN_SECONDS",
        "NIM_E2E_REQUEST_LATENCY_SECONDS",
        "NIM_TIME_TO_FIRST_TOKEN_SECONDS_PERCENTILES",
        "NIM_E2E_REQUEST_LATENCY_SECONDS_PERCENTILES",
        "GPU_FP16_ENGINE_ACTIVITY_PER_GPU",
        "NVLINK_BANDWIDTH_TOTAL_PER_GPU",
    ] {
        let metric: MetricType = name.parse().unwrap();
        assert_eq!(metric.as_str(), name);
    }
}

/// With `RUNAI_OPENAPI_SPEC` set (as CI sets it), the enum is exactly the union of the
/// spec's metric type enums.
#[test]
fn metric_types_are_the_union_of_the_spec_enums() {
    let Some(path) = std::env::var_os("RUNAI_OPENAPI_SPEC") else {
        eprintln!("skipped: RUNAI_OPENAPI_SPEC is not set");
        return;
    };
    let mut path = std::path::PathBuf::from(path);
    if !path.is_absolute() && !path.exists() {
        path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path);
    }
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut from_spec = BTreeSet::new();
    for schema in [
        "WorkloadMetricType",
        "InferenceWorkloadMetricType",
        "PodMetricType",
        "InferencePodMetricType",
    ] {
        for value in spec["components"]["schemas"][schema]["enum"].as_array().unwrap() {
            from_spec.insert(value.as_str().unwrap().to_owned());
        }
    }
    let ours: BTreeSet<String> = MetricType::ALL.iter().map(|m| m.as_str().to_owned()).collect();
    assert_eq!(ours, from_spec);
}

#[test]
fn a_bad_metric_type_list_names_the_bad_value_and_the_valid_ones() {
    let error = parse_metric_types("THROUGHPUT,GPU_UTILISATION").unwrap_err();
    assert!(matches!(&error, ObserveError::UnknownMetricType { value, .. } if value == "GPU_UTILISATION"));
    let message = error.to_string();
    assert!(message.contains("`GPU_UTILISATION`"), "{message}");
    assert!(message.contains("GPU_UTILIZATION"), "{message}");
    assert!(message.contains("THROUGHPUT"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Series store

fn t(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

#[test]
fn queries_answer_the_run_ai_metrics_response_shape() {
    let series = MetricSeries::default();
    series.record("w1", None, MetricType::Throughput, t(0), 85.0);
    series.record("w1", None, MetricType::Throughput, t(5), 0.25);
    let response = series
        .query(
            "w1",
            None,
            &[MetricType::Throughput, MetricType::Latency],
            t(0),
            t(60),
            20,
        )
        .unwrap();
    assert!(response.is_partial(), "LATENCY has no samples");
    let body = serde_json::to_value(&response).unwrap();
    assert_eq!(
        body,
        json!({"measurements": [
            {"type": "THROUGHPUT", "labels": null, "values": [
                {"value": "85", "timestamp": "2023-11-14T22:13:20.000Z"},
                {"value": "0.25", "timestamp": "2023-11-14T22:13:25.000Z"},
            ]},
            {"type": "LATENCY", "labels": null, "values": []},
        ]})
    );
    let back: MetricsResponse = serde_json::from_value(body).unwrap();
    assert_eq!(back, response);
}

#[test]
fn queries_downsample_by_averaging_buckets_and_respect_the_range() {
    let series = MetricSeries::default();
    for second in 0..100 {
        series.record(
            "w",
            Some("p"),
            MetricType::CpuUsageCores,
            t(second),
            second as f64,
        );
    }
    let response = series
        .query("w", Some("p"), &[MetricType::CpuUsageCores], t(0), t(99), 10)
        .unwrap();
    let values: Vec<f64> = response.measurements[0]
        .values
        .iter()
        .map(|v| v.value.parse().unwrap())
        .collect();
    assert_eq!(values.len(), 10);
    assert_eq!(values[0], 4.5);
    assert_eq!(values[9], 94.5);
    assert!(!response.is_partial());
    let last = response.measurements[0].values[9].timestamp.as_deref().unwrap();
    assert_eq!(parse_timestamp(last).unwrap(), t(99));

    // Only samples in the range count; 0 samples means all of them.
    let response = series
        .query("w", Some("p"), &[MetricType::CpuUsageCores], t(10), t(19), 0)
        .unwrap();
    assert_eq!(response.measurements[0].values.len(), 10);
    // The workload-level series is separate from the pod's.
    let response = series
        .query("w", None, &[MetricType::CpuUsageCores], t(0), t(99), 10)
        .unwrap();
    assert!(response.measurements[0].values.is_empty());
}

#[test]
fn series_are_bounded_in_length_and_in_number() {
    let series = MetricSeries::with_limits(SeriesLimits {
        samples_per_series: 3,
        max_series: 2,
    });
    for second in 0..10 {
        assert!(series.record("w", None, MetricType::PodCount, t(second), 1.0));
    }
    let all = series
        .query("w", None, &[MetricType::PodCount], t(0), t(10), 0)
        .unwrap();
    let kept: Vec<_> = all.measurements[0]
        .values
        .iter()
        .map(|v| v.timestamp.clone())
        .collect();
    assert_eq!(kept.len(), 3, "the oldest samples are dropped");
    assert_eq!(parse_timestamp(kept[0].as_deref().unwrap()).unwrap(), t(7));

    assert!(series.record("w", Some("p1"), MetricType::PodCount, t(0), 1.0));
    assert!(
        !series.record("w", Some("p2"), MetricType::PodCount, t(0), 1.0),
        "store is full"
    );
    assert!(!series.record("w", None, MetricType::PodCount, t(11), f64::NAN));
    assert_eq!(series.series_count(), 2);

    series.forget_pod("w", "p1");
    assert_eq!(series.series_count(), 1);
    let clone = series.clone();
    clone.forget_workload("w");
    assert_eq!(series.series_count(), 0, "clones share the store");
}

#[test]
fn bad_queries_are_errors_not_panics() {
    let series = MetricSeries::default();
    let types = [MetricType::Throughput];
    assert!(matches!(
        series.query("w", None, &types, t(10), t(0), 20),
        Err(ObserveError::InvalidQuery { .. })
    ));
    assert!(matches!(
        series.query("w", None, &types, t(0), t(10), 1001),
        Err(ObserveError::InvalidQuery { .. })
    ));
    assert!(
        series
            .query("w", None, &types, UNIX_EPOCH, UNIX_EPOCH, 1000)
            .is_ok()
    );
}

#[test]
fn the_store_is_shared_across_threads() {
    let series = MetricSeries::default();
    let writers: Vec<_> = (0..4)
        .map(|thread| {
            let series = series.clone();
            std::thread::spawn(move || {
                for second in 0..100 {
                    series.record(
                        "w",
                        Some(&format!("p{thread}")),
                        MetricType::CpuUsageCores,
                        t(second),
                        1.0,
                    );
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(series.series_count(), 4);
}

// ---------------------------------------------------------------------------------------
// Process sampling

/// A process group that is killed, all of it, when the test ends, even a failing one.
struct SpinningTree(Child);

impl SpinningTree {
    /// A shell that spins and has a spinning child shell of its own.
    fn start() -> Self {
        let child = Command::new("sh")
            .arg("-c")
            .arg("sh -c 'while :; do :; done' & while :; do :; done")
            .process_group(0)
            .spawn()
            .unwrap();
        Self(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for SpinningTree {
    fn drop(&mut self) {
        let group = Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

#[test]
fn the_process_sampler_sees_a_busy_tree_use_cpu_and_memory() {
    let tree = SpinningTree::start();
    let root = tree.pid();
    let mut sampler = ProcessSampler::new();

    let first = sampler.sample(root).expect("the root is running");
    assert_eq!(first.pids[0], root);
    assert_eq!(first.cpu_cores, None, "a first sample has no rate");

    // The shell starts its child asynchronously; wait (boundedly) until the tree has it.
    let mut usage = first;
    for _ in 0..100 {
        if usage.pids.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        usage = sampler.sample(root).unwrap();
    }
    assert!(
        usage.pids.len() >= 2,
        "the child shell is part of the tree: {:?}",
        usage.pids
    );

    std::thread::sleep(Duration::from_millis(300));
    let usage = sampler.sample(root).unwrap();
    assert!(usage.cpu_cores.is_some_and(|cores| cores > 0.0), "{usage:?}");
    assert!(usage.memory_bytes > 0, "{usage:?}");
    let tree_read = sampler.read_tree(root).unwrap();
    assert!(tree_read.cpu_seconds > 0.0 && tree_read.rss_bytes > 0);

    drop(tree);
    assert_eq!(sampler.sample(root), None, "a stopped replica has no usage");
}

#[test]
fn a_missing_process_is_absent_not_an_error() {
    let mut sampler = ProcessSampler::new();
    assert_eq!(sampler.sample(u32::MAX), None);
    assert_eq!(sampler.read_tree(u32::MAX), None);
}

// ---------------------------------------------------------------------------------------
// GPU sampling

#[test]
fn without_nvml_or_a_gpu_gpu_metrics_are_absent() {
    let mut gpus = GpuSampler::new();
    // This machine has no NVIDIA GPU; with or without the `nvml` feature, nothing is
    // reported and nothing fails.
    if gpus.is_available() {
        eprintln!("skipped: NVML is available here");
        return;
    }
    assert_eq!(gpus.sample(&[std::process::id()]), None);
    assert_eq!(gpus.sample(&[]), None);
}

// ---------------------------------------------------------------------------------------
// Model server metrics

const VLLM_PAGE: &str = r#"# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 4.0
vllm:num_requests_running{model_name="sql-lora"} 1.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.37
# HELP vllm:request_success_total Count of successfully processed requests.
# TYPE vllm:request_success_total counter
vllm:request_success_total{finished_reason="stop",model_name="meta-llama/Llama-3.1-8B-Instruct"} 120.0
vllm:request_success_total{finished_reason="length",model_name="meta-llama/Llama-3.1-8B-Instruct"} 30.0
# HELP vllm:request_success_created Count of successfully processed requests.
# TYPE vllm:request_success_created gauge
vllm:request_success_created{finished_reason="stop",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7193e+09
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 30000.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.05",model_name="meta-llama/Llama-3.1-8B-Instruct"} 20.0
vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 60.0
vllm:time_to_first_token_seconds_bucket{le="0.25",model_name="meta-llama/Llama-3.1-8B-Instruct"} 120.0
vllm:time_to_first_token_seconds_bucket{le="0.5",model_name="meta-llama/Llama-3.1-8B-Instruct"} 140.0
vllm:time_to_first_token_seconds_bucket{le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 150.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 150.0
vllm:time_to_first_token_seconds_count{model_name="meta-llama/Llama-3.1-8B-Instruct"} 150.0
vllm:time_to_first_token_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 27.0
# HELP vllm:e2e_request_latency_seconds Histogram of end to end request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 10.0
vllm:e2e_request_latency_seconds_bucket{le="2.5",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
vllm:e2e_request_latency_seconds_bucket{le="5.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 150.0
vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 150.0
vllm:e2e_request_latency_seconds_count{model_name="meta-llama/Llama-3.1-8B-Instruct"} 150.0
vllm:e2e_request_latency_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 300.0
"#;

/// NIM LLM's names: vLLM's without the prefix, plus its own counters.
const NIM_PAGE: &str = r#"# HELP num_requests_running Number of requests currently running on GPU.
# TYPE num_requests_running gauge
num_requests_running{model_name="meta/llama3-8b-instruct"} 3.0
# TYPE num_requests_waiting gauge
num_requests_waiting{model_name="meta/llama3-8b-instruct"} 0.0
# TYPE num_request_max gauge
num_request_max{model_name="meta/llama3-8b-instruct"} 256.0
# TYPE gpu_cache_usage_perc gauge
gpu_cache_usage_perc{model_name="meta/llama3-8b-instruct"} 0.05
# TYPE request_success_total counter
request_success_total{model_name="meta/llama3-8b-instruct"} 10.0
# TYPE request_failure_total counter
request_failure_total{model_name="meta/llama3-8b-instruct"} 2.0
# TYPE e2e_request_latency_seconds histogram
e2e_request_latency_seconds_bucket{le="0.5",model_name="meta/llama3-8b-instruct"} 4.0
e2e_request_latency_seconds_bucket{le="1.0",model_name="meta/llama3-8b-instruct"} 12.0
e2e_request_latency_seconds_bucket{le="+Inf",model_name="meta/llama3-8b-instruct"} 12.0
e2e_request_latency_seconds_count{model_name="meta/llama3-8b-instruct"} 12.0
e2e_request_latency_seconds_sum{model_name="meta/llama3-8b-instruct"} 7.2
"#;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_vllm_page_gives_gauges_counters_and_percentiles() {
    let metrics = ModelMetrics::parse(VLLM_PAGE);
    assert_eq!(metrics.num_requests_running, Some(5.0), "summed over models");
    assert_eq!(metrics.num_requests_waiting, Some(2.0));
    assert_eq!(metrics.kv_cache_usage_perc, Some(0.37));
    assert_eq!(
        metrics.request_success_total,
        Some(150.0),
        "summed over finish reasons"
    );
    assert_eq!(metrics.request_failure_total, None);
    assert_eq!(metrics.generation_tokens_total, Some(30000.0));

    let ttft = metrics.time_to_first_token.as_ref().unwrap();
    assert_eq!(ttft.count, 150.0);
    assert!(close(ttft.mean().unwrap(), 0.18));
    let p = ttft.percentiles().unwrap();
    assert!(close(p.p50, 0.1375), "{p:?}");
    assert!(close(p.p90, 0.4375), "{p:?}");
    assert!(close(p.p99, 0.925), "{p:?}");
    assert!(close(
        metrics.e2e_request_latency.as_ref().unwrap().mean().unwrap(),
        2.0
    ));
}

#[test]
fn a_nim_page_reads_the_unprefixed_names() {
    let metrics = ModelMetrics::parse(NIM_PAGE);
    assert_eq!(metrics.num_requests_running, Some(3.0));
    assert_eq!(metrics.num_requests_waiting, Some(0.0));
    assert_eq!(metrics.num_request_max, Some(256.0));
    assert_eq!(metrics.kv_cache_usage_perc, Some(0.05));
    assert_eq!(metrics.request_failure_total, Some(2.0));
    assert_eq!(metrics.time_to_first_token, None);
    let e2e = metrics.e2e_request_latency.unwrap();
    assert!(close(e2e.quantile(0.5).unwrap(), 0.625));
}

#[test]
fn two_scrapes_give_rates_and_the_latency_in_between() {
    let before = ModelMetrics::parse(NIM_PAGE);
    let after = ModelMetrics::parse(
        &NIM_PAGE
            .replace(
                "request_success_total{model_name=\"meta/llama3-8b-instruct\"} 10.0",
                "request_success_total{model_name=\"meta/llama3-8b-instruct\"} 28.0",
            )
            .replace(
                "_bucket{le=\"1.0\",model_name=\"meta/llama3-8b-instruct\"} 12.0",
                "_bucket{le=\"1.0\",model_name=\"meta/llama3-8b-instruct\"} 22.0",
            )
            .replace(
                "_bucket{le=\"+Inf\",model_name=\"meta/llama3-8b-instruct\"} 12.0",
                "_bucket{le=\"+Inf\",model_name=\"meta/llama3-8b-instruct\"} 22.0",
            )
            .replace(
                "_count{model_name=\"meta/llama3-8b-instruct\"} 12.0",
                "_count{model_name=\"meta/llama3-8b-instruct\"} 22.0",
            )
            .replace(
                "_sum{model_name=\"meta/llama3-8b-instruct\"} 7.2",
                "_sum{model_name=\"meta/llama3-8b-instruct\"} 15.2",
            ),
    );
    let delta = after.since(&before, Duration::from_secs(9));
    assert!(close(delta.requests_per_second.unwrap(), 2.0), "{delta:?}");
    assert_eq!(delta.failures_per_second, Some(0.0));
    let window = delta.e2e_request_latency.unwrap();
    assert_eq!(window.count, 10.0);
    assert!(close(window.mean().unwrap(), 0.8));
    // Every request in between took 0.5 s to 1 s.
    assert!(window.quantile(0.5).unwrap() > 0.5);

    // A restarted server: counters start again from 0, so everything is new.
    let restarted = ModelMetrics::parse("request_success_total 3\n");
    let delta = restarted.since(&before, Duration::from_secs(1));
    assert_eq!(delta.requests_per_second, Some(3.0));
}

/// Serves `routes` on an ephemeral loopback port until the test's runtime ends.
async fn serve(routes: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await });
    format!("http://{address}")
}

#[tokio::test]
async fn scraping_a_real_server_reads_its_page() {
    let base = serve(
        Router::new()
            .route("/metrics", get(|| async { VLLM_PAGE }))
            .route("/big", get(|| async { "x".repeat(10_000) }))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND })),
    )
    .await;
    let scraper = Scraper::new().unwrap();
    let metrics = scraper.scrape(&format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics, ModelMetrics::parse(VLLM_PAGE));
    assert_eq!(
        runai_serve::observe::scrape(&format!("{base}/metrics"))
            .await
            .unwrap(),
        metrics
    );

    let small = scraper.clone().with_max_body_bytes(1024);
    let error = small.scrape(&format!("{base}/big")).await.unwrap_err();
    assert!(
        matches!(error, ObserveError::TooLarge { limit: 1024, .. }),
        "{error}"
    );

    let error = scraper.scrape(&format!("{base}/missing")).await.unwrap_err();
    assert!(
        matches!(error, ObserveError::Status { status: 404, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("/missing"), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // Accept and hold connections without ever answering.
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let scraper = Scraper::new().unwrap().with_timeout(Duration::from_millis(200));
    let error = scraper
        .scrape(&format!("http://{address}/metrics"))
        .await
        .unwrap_err();
    assert!(matches!(error, ObserveError::Timeout { .. }), "{error}");
}

#[tokio::test]
async fn scraping_the_model_simulator_reads_vllm_names() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(ModelSim::new(ModelSimConfig::default()).serve(listener, std::future::pending()));
    let metrics = Scraper::new()
        .unwrap()
        .scrape(&format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.num_requests_running, Some(0.0));
    assert_eq!(metrics.num_requests_waiting, Some(0.0));
    assert!(metrics.kv_cache_usage_perc.is_some());
}

// ---------------------------------------------------------------------------------------
// Prometheus client

fn params(uri: &Uri) -> HashMap<String, String> {
    serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap()
}

async fn instant_query(uri: Uri) -> axum::response::Response {
    let params = params(&uri);
    let query = params.get("query").cloned().unwrap_or_default();
    let time: f64 = params.get("time").map_or(1_700_000_000.0, |t| t.parse().unwrap());
    match query.as_str() {
        "bad(" => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": "error", "errorType": "bad_data", "error": "parse error: unclosed left parenthesis"})),
        )
            .into_response(),
        "scalar(1)" => axum::Json(json!({"status": "success", "data": {"resultType": "scalar", "result": [time, "1"]}})).into_response(),
        "range[5m]" => axum::Json(json!({"status": "success", "data": {"resultType": "matrix", "result": []}})).into_response(),
        "overloaded" => (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response(),
        "garbage" => "<html>not the API</html>".into_response(),
        _ => axum::Json(json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "pod": "llama-0", "echo": query}, "value": [time, "1"]},
            {"metric": {"pod": "llama-1"}, "value": [time, "NaN"]},
        ]}}))
        .into_response(),
    }
}

async fn range_query(uri: Uri) -> axum::Json<Value> {
    let params = params(&uri);
    let start: f64 = params["start"].parse().unwrap();
    let step: f64 = params["step"].parse().unwrap();
    axum::Json(
        json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"gpu": "0", "echo": params["query"]}, "values": [[start, "42"], [start + step, "43.5"]]},
        ]}}),
    )
}

#[tokio::test]
async fn the_prometheus_client_reads_vectors_matrices_and_scalars() {
    let base = serve(
        Router::new()
            .route("/prom/api/v1/query", get(instant_query))
            .route("/prom/api/v1/query_range", get(range_query)),
    )
    .await;
    let prometheus = PrometheusClient::new(&format!("{base}/prom/")).unwrap();
    let selector = PodSelector::workload("runai-team-a", "llama");
    let promql = &promql_for(MetricType::CpuUsageCores, &selector)[0].promql;

    let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
    let samples = prometheus.query(promql, Some(at)).await.unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].labels["echo"], *promql, "the query arrives intact");
    assert_eq!(samples[0].value, 1.0);
    assert_eq!(samples[0].at, at);
    assert!(samples[1].value.is_nan());

    let scalar = prometheus.query("scalar(1)", None).await.unwrap();
    assert_eq!(scalar.len(), 1);
    assert!(scalar[0].labels.is_empty());

    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let series = prometheus
        .query_range(
            promql,
            start,
            start + Duration::from_secs(60),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(
        series[0].samples,
        [(start, 42.0), (start + Duration::from_secs(30), 43.5)]
    );
    let measurement = series[0].to_measurement(MetricType::GpuUtilizationPerGpu);
    assert_eq!(measurement.labels.as_ref().unwrap()["gpu"], "0");
    assert_eq!(measurement.values[1].value, "43.5");
}

#[tokio::test]
async fn prometheus_errors_name_the_query() {
    let base = serve(Router::new().route("/api/v1/query", get(instant_query))).await;
    let prometheus = PrometheusClient::new(&base).unwrap();

    let error = prometheus.query("bad(", None).await.unwrap_err();
    assert!(
        matches!(&error, ObserveError::QueryRefused { query, error_type, .. } if query == "bad(" && error_type == "bad_data"),
        "{error}"
    );
    assert!(error.to_string().contains("unclosed left parenthesis"), "{error}");

    for (query, check) in [
        (
            "overloaded",
            (|e: &ObserveError| matches!(e, ObserveError::Status { status: 503, .. }))
                as fn(&ObserveError) -> bool,
        ),
        ("garbage", |e| matches!(e, ObserveError::Malformed { .. })),
        ("range[5m]", |e| matches!(e, ObserveError::Malformed { .. })),
    ] {
        let error = prometheus.query(query, None).await.unwrap_err();
        let ObserveError::Query { query: named, source } = &error else {
            panic!("{query}: {error}");
        };
        assert_eq!(named, query);
        assert!(check(source), "{query}: {error}");
        assert!(error.to_string().contains(query), "{error}");
    }

    let unreachable = PrometheusClient::new("http://127.0.0.1:1").unwrap();
    let error = unreachable.query("up", None).await.unwrap_err();
    assert!(
        matches!(&error, ObserveError::Query { query, .. } if query == "up"),
        "{error}"
    );

    let now = SystemTime::now();
    let error = prometheus
        .query_range("up", now, now, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(error, ObserveError::InvalidQuery { .. }));
}
