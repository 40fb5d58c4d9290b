//! Module-level functions: the models and the simulators. Both run without the GIL.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{Json, document};
use super::errors::Failure;
use crate::{models, sim};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(with_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(model_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(fgd, m)?)?;
    m.add_function(wrap_pyfunction!(fgd_policies, m)?)?;
    m.add_function(wrap_pyfunction!(autoscale, m)?)?;
    m.add_function(wrap_pyfunction!(synthetic_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(synthetic_llm_trace, m)?)?;
    Ok(())
}

/// Parses a document strictly as the model `kind` and checks every rule; returns it as the
/// model writes it. Raises `ValidationError` listing every violation with its path.
#[pyfunction]
#[pyo3(signature = (kind, document=None, /, **fields))]
fn validate(
    py: Python<'_>,
    kind: &str,
    document: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<Json> {
    let value = self::document(document, fields).map_err(|f| f.into_pyerr(py))?;
    py.detach(|| models::validate(kind, value))
        .map(Json)
        .map_err(|e| Failure::from(e).into_pyerr(py))
}

/// Like `validate`, with the platform's defaults filled in (spec kinds only).
#[pyfunction]
#[pyo3(signature = (kind, document=None, /, **fields))]
fn with_defaults(
    py: Python<'_>,
    kind: &str,
    document: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<Json> {
    let value = self::document(document, fields).map_err(|f| f.into_pyerr(py))?;
    py.detach(|| models::with_defaults(kind, value))
        .map(Json)
        .map_err(|e| Failure::from(e).into_pyerr(py))
}

/// The model kinds `validate` takes.
#[pyfunction]
fn model_kinds() -> Vec<&'static str> {
    models::KINDS.to_vec()
}

/// The FGD placement benchmark on a node list and a pod list (CSV text); see `runai.sim.fgd`.
#[pyfunction]
#[pyo3(signature = (nodes_csv, pods_csv, *, policy="fgd", seeds=None, inflation=1.3))]
fn fgd(
    py: Python<'_>,
    nodes_csv: &str,
    pods_csv: &str,
    policy: &str,
    seeds: Option<Vec<u64>>,
    inflation: f64,
) -> PyResult<Json> {
    let defaults = sim::FgdOptions::default();
    let options = sim::FgdOptions {
        policy: policy.to_owned(),
        seeds: seeds.unwrap_or(defaults.seeds),
        inflation,
    };
    py.detach(|| sim::fgd(nodes_csv, pods_csv, &options))
        .map(Json)
        .map_err(|e| Failure::from(e).into_pyerr(py))
}

/// The placement policies `fgd` takes.
#[pyfunction]
fn fgd_policies() -> Vec<&'static str> {
    sim::FGD_POLICIES.to_vec()
}

/// The autoscaling trace replay on a request trace (CSV text); see `runai.sim.autoscale`.
#[pyfunction]
#[pyo3(signature = (trace_csv, *, policy="runai", min_replicas=1, rate_scale=1.0, warmup_s=0.0, series_every_s=10.0, cold_start_s=None, ttft_slo_s=None, prefill_tokens_per_s=None, itl_base_s=None, itl_per_sequence_s=None, kv_cache_tokens=None, max_running=None))]
#[allow(clippy::too_many_arguments)]
fn autoscale(
    py: Python<'_>,
    trace_csv: &str,
    policy: &str,
    min_replicas: u32,
    rate_scale: f64,
    warmup_s: f64,
    series_every_s: f64,
    cold_start_s: Option<f64>,
    ttft_slo_s: Option<f64>,
    prefill_tokens_per_s: Option<f64>,
    itl_base_s: Option<f64>,
    itl_per_sequence_s: Option<f64>,
    kv_cache_tokens: Option<u64>,
    max_running: Option<u32>,
) -> PyResult<Json> {
    let mut options = sim::AutoscaleOptions {
        policy: policy.to_owned(),
        min_replicas,
        rate_scale,
        warmup_s,
        series_every_s,
        ..sim::AutoscaleOptions::default()
    };
    let config = &mut options.config;
    let server = &mut config.server;
    server.startup_s = cold_start_s.unwrap_or(server.startup_s);
    server.prefill_tokens_per_s = prefill_tokens_per_s.unwrap_or(server.prefill_tokens_per_s);
    server.itl_base_s = itl_base_s.unwrap_or(server.itl_base_s);
    server.itl_per_sequence_s = itl_per_sequence_s.unwrap_or(server.itl_per_sequence_s);
    server.kv_cache_tokens = kv_cache_tokens.unwrap_or(server.kv_cache_tokens);
    server.max_running = max_running.unwrap_or(server.max_running);
    config.ttft_slo_s = ttft_slo_s.unwrap_or(config.ttft_slo_s);
    py.detach(|| sim::autoscale(trace_csv, &options))
        .map(Json)
        .map_err(|e| Failure::from(e).into_pyerr(py))
}

/// A small synthetic cluster: `(nodes_csv, pods_csv)` for `fgd`.
#[pyfunction]
#[pyo3(signature = (nodes=8, gpus_per_node=8, pods=400, seed=0))]
fn synthetic_cluster(nodes: u32, gpus_per_node: u32, pods: u32, seed: u64) -> (String, String) {
    sim::synthetic_cluster(nodes, gpus_per_node, pods, seed)
}

/// A synthetic request trace (CSV text) for `autoscale`.
#[pyfunction]
#[pyo3(signature = (requests=1000, rate_per_s=2.0, seed=0))]
fn synthetic_llm_trace(requests: u32, rate_per_s: f64, seed: u64) -> String {
    sim::synthetic_llm_trace(requests, rate_per_s, seed)
}
