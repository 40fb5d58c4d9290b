//! A small client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), for
//! the Kubernetes mode, where DCGM exporter, cAdvisor, kube-state-metrics and the model
//! servers are scraped by a Prometheus server rather than by this crate.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::fetch::{self, Limits};
use super::{Measurement, MeasurementValue, MetricType, ObserveError, exposition, format_timestamp};

/// One series' value at one instant (a `vector` result).
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    /// The series' labels (`metric` on the wire), `__name__` included when Prometheus sends it.
    pub labels: BTreeMap<String, String>,
    /// The evaluation time.
    pub at: SystemTime,
    /// The value (Prometheus' `"NaN"` and `"+Inf"` included).
    pub value: f64,
}

/// One series over a range (a `matrix` result).
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// (time, value), oldest first.
    pub samples: Vec<(SystemTime, f64)>,
}

impl RangeSeries {
    /// The series as a Run:ai measurement of `metric`, its labels as the measurement's
    /// (`null` when it has none). Values that are not finite are left out: the wire has no
    /// form for them.
    pub fn to_measurement(&self, metric: MetricType) -> Measurement {
        Measurement {
            metric,
            labels: (!self.labels.is_empty()).then(|| self.labels.clone()),
            values: self
                .samples
                .iter()
                .filter(|(_, value)| value.is_finite())
                .map(|&(at, value)| MeasurementValue {
                    value: value.to_string(),
                    timestamp: Some(format_timestamp(at)),
                })
                .collect(),
        }
    }
}

/// A Prometheus HTTP API client.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// use runai_serve::observe::PrometheusClient;
///
/// # async fn run() -> Result<(), runai_serve::observe::ObserveError> {
/// let prometheus = PrometheusClient::new("http://prometheus.monitoring:9090")?;
/// let now = prometheus.query("sum(up)", None).await?;
/// let end = SystemTime::now();
/// let hour = prometheus
///     .query_range("sum(up)", end - Duration::from_secs(3600), end, Duration::from_secs(60))
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PrometheusClient {
    base: String,
    client: reqwest::Client,
    limits: Limits,
}

impl PrometheusClient {
    /// A client of the Prometheus server at `base_url` (such as
    /// `http://prometheus.monitoring:9090`; a path prefix is kept), with a 30 s timeout and
    /// a 16 MiB limit on answers.
    ///
    /// # Errors
    ///
    /// [`ObserveError::Client`] when the HTTP client cannot be built.
    pub fn new(base_url: &str) -> Result<Self, ObserveError> {
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            client: fetch::client()?,
            limits: Limits {
                timeout: Duration::from_secs(30),
                max_body_bytes: 16 << 20,
            },
        })
    }

    /// The same client with another timeout for a whole query.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// The same client with another limit on an answer's size.
    #[must_use]
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.limits.max_body_bytes = max_body_bytes;
        self
    }

    /// Evaluates `promql` at `at` (now when `None`). A scalar result comes back as one
    /// sample without labels.
    ///
    /// # Errors
    ///
    /// [`ObserveError::QueryRefused`] when Prometheus rejects the query, and
    /// [`ObserveError::Query`] (naming the query, the HTTP failure as its source) when it
    /// cannot be asked or answers something other than a vector or scalar.
    pub async fn query(
        &self,
        promql: &str,
        at: Option<SystemTime>,
    ) -> Result<Vec<InstantSample>, ObserveError> {
        let mut params = vec![("query", promql.to_owned())];
        if let Some(at) = at {
            params.push(("time", unix_seconds(at)));
        }
        let (url, data) = self.get(promql, "query", &params).await?;
        match data {
            Data::Vector(items) => Ok(items
                .into_iter()
                .filter_map(|item| {
                    // Native-histogram samples carry `histogram` instead of `value`.
                    let (at, value) = point(item.value?)?;
                    Some(InstantSample {
                        labels: item.metric,
                        at,
                        value,
                    })
                })
                .collect()),
            Data::Scalar(raw) => Ok(point(raw)
                .map(|(at, value)| InstantSample {
                    labels: BTreeMap::new(),
                    at,
                    value,
                })
                .into_iter()
                .collect()),
            other => Err(unexpected(promql, &url, "vector or scalar", &other)),
        }
    }

    /// Evaluates `promql` at every `step` from `start` to `end`.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query); a `step` of zero or `start` after `end` is an
    /// [`ObserveError::InvalidQuery`].
    pub async fn query_range(
        &self,
        promql: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, ObserveError> {
        if step.is_zero() || start > end {
            return Err(ObserveError::InvalidQuery {
                reason: format!("query_range of `{promql}` needs start <= end and a step above 0"),
            });
        }
        let params = [
            ("query", promql.to_owned()),
            ("start", unix_seconds(start)),
            ("end", unix_seconds(end)),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        let (url, data) = self.get(promql, "query_range", &params).await?;
        match data {
            Data::Matrix(items) => Ok(items
                .into_iter()
                .map(|item| RangeSeries {
                    labels: item.metric,
                    samples: item
                        .values
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(point)
                        .collect(),
                })
                .collect()),
            other => Err(unexpected(promql, &url, "matrix", &other)),
        }
    }

    async fn get(
        &self,
        promql: &str,
        endpoint: &str,
        params: &[(&str, String)],
    ) -> Result<(String, Data), ObserveError> {
        let in_query = |source: ObserveError| ObserveError::Query {
            query: promql.to_owned(),
            source: Box::new(source),
        };
        let encoded = serde_urlencoded::to_string(params).map_err(|e| {
            in_query(ObserveError::InvalidQuery {
                reason: e.to_string(),
            })
        })?;
        let url = format!("{}/api/v1/{endpoint}?{encoded}", self.base);
        let (status, body) = fetch::get_text(&self.client, &url, self.limits, true)
            .await
            .map_err(in_query)?;
        // Prometheus explains 4xx and 5xx answers in the same JSON envelope.
        let envelope: Envelope = match serde_json::from_str(&body) {
            Ok(envelope) => envelope,
            Err(_) if !(200..300).contains(&status) => {
                return Err(in_query(ObserveError::Status { url, status }));
            }
            Err(e) => {
                return Err(in_query(ObserveError::Malformed {
                    url,
                    reason: format!("not a Prometheus API answer: {e}"),
                }));
            }
        };
        if envelope.status != "success" {
            return Err(ObserveError::QueryRefused {
                query: promql.to_owned(),
                error_type: envelope.error_type.unwrap_or_else(|| format!("HTTP {status}")),
                message: envelope.error.unwrap_or_default(),
            });
        }
        let data = envelope.data.ok_or_else(|| {
            in_query(ObserveError::Malformed {
                url: url.clone(),
                reason: "`data` is missing".to_owned(),
            })
        })?;
        Ok((url, data))
    }
}

fn unexpected(promql: &str, url: &str, wanted: &str, got: &Data) -> ObserveError {
    let got = match got {
        Data::Vector(_) => "vector",
        Data::Matrix(_) => "matrix",
        Data::Scalar(_) => "scalar",
        Data::String(_) => "string",
    };
    ObserveError::Query {
        query: promql.to_owned(),
        source: Box::new(ObserveError::Malformed {
            url: url.to_owned(),
            reason: format!("expected a {wanted} result, got a {got}"),
        }),
    }
}

fn unix_seconds(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", since.as_secs(), since.subsec_millis())
}

/// `[1435781451.781, "1"]` as (time, value); `None` when the value does not parse or the
/// time is before 1970.
fn point((seconds, value): (f64, String)) -> Option<(SystemTime, f64)> {
    let at = UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(seconds).ok()?)?;
    Some((at, exposition::parse_value(&value)?))
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
    Scalar((f64, String)),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Option<(f64, String)>,
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Option<Vec<(f64, String)>>,
}
