//! The Run:ai metrics endpoints over the series the control loop records:
//! `GET /api/v1/workloads/inferences/{id}/metrics`, `…/pods/{podId}/metrics`, and the general
//! `GET /api/v1/workloads/{id}/metrics` and `…/pods/{podId}/metrics`. `metricType` takes one
//! or more types comma-separated; `start` and `end` are RFC 3339 (default: the last hour);
//! `numberOfSamples` (default 20) buckets the range. A type with no samples answers an empty
//! list and the status 207 (partial), as Run:ai does.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::{Answer, Refusal, Shared, caller, failure, store_failure};
use crate::observe::{MetricType, parse_metric_types, parse_timestamp};

/// How far back a query without `start` reaches.
const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// Samples per type when the query does not say.
const DEFAULT_SAMPLES: usize = 20;

/// The inference endpoints serve only the inference metric types.
const INFERENCE_TYPES: &[MetricType] = &[MetricType::Throughput, MetricType::Latency];

struct MetricsQuery {
    types: Vec<MetricType>,
    start: SystemTime,
    end: SystemTime,
    samples: usize,
}

fn bad_request(message: impl Into<String>) -> Refusal {
    failure(StatusCode::BAD_REQUEST, message)
}

fn parse_query(raw: Option<&str>, inference_only: bool) -> Result<MetricsQuery, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| bad_request(format!("the query string does not parse: {e}")))?;
    let (mut types, mut start, mut end, mut samples) = (None, None, None, DEFAULT_SAMPLES);
    for (key, value) in &pairs {
        match key.as_str() {
            "metricType" => {
                let parsed =
                    parse_metric_types(value).map_err(|e| bad_request(format!("metricType: {e}")))?;
                types.get_or_insert_with(Vec::new).extend(parsed);
            }
            "start" => start = Some(parse_timestamp(value).map_err(|e| bad_request(format!("start: {e}")))?),
            "end" => end = Some(parse_timestamp(value).map_err(|e| bad_request(format!("end: {e}")))?),
            "numberOfSamples" => {
                samples = value.parse().map_err(|_| {
                    bad_request(format!(
                        "numberOfSamples: {value:?} is not a whole number of samples"
                    ))
                })?;
            }
            other => {
                return Err(bad_request(format!(
                    "unknown query parameter {other:?}; use metricType, start, end and numberOfSamples"
                )));
            }
        }
    }
    let types = types
        .ok_or_else(|| bad_request("metricType is required, for example metricType=THROUGHPUT,LATENCY"))?;
    if inference_only && let Some(other) = types.iter().find(|t| !INFERENCE_TYPES.contains(t)) {
        return Err(bad_request(format!(
            "metricType: {other} is not an inference metric type; use THROUGHPUT or LATENCY here, or /api/v1/workloads/{{id}}/metrics for the others"
        )));
    }
    let end = end.unwrap_or_else(SystemTime::now);
    let start = start.unwrap_or_else(|| end.checked_sub(DEFAULT_RANGE).unwrap_or(SystemTime::UNIX_EPOCH));
    Ok(MetricsQuery {
        types,
        start,
        end,
        samples,
    })
}

fn answer(shared: &Shared, id: &str, pod: Option<&str>, raw: Option<&str>, inference_only: bool) -> Answer {
    let query = parse_query(raw, inference_only)?;
    // The workload must exist (deleted ones included: their history may still be read).
    shared.store.workload(id).map_err(|e| store_failure(&e))?;
    let response = shared
        .settings
        .metrics
        .query(id, pod, &query.types, query.start, query.end, query.samples)
        .map_err(|e| bad_request(e.to_string()))?;
    let status = if response.is_partial() {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(response)).into_response())
}

pub(super) async fn inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller(&shared, &headers).await?;
    answer(&shared, &id, None, raw.as_deref(), true)
}

pub(super) async fn inference_pod(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, pod)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller(&shared, &headers).await?;
    answer(&shared, &id, Some(&pod), raw.as_deref(), true)
}

pub(super) async fn workload(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller(&shared, &headers).await?;
    answer(&shared, &id, None, raw.as_deref(), false)
}

pub(super) async fn workload_pod(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, pod)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller(&shared, &headers).await?;
    answer(&shared, &id, Some(&pod), raw.as_deref(), false)
}
