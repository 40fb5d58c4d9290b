//! LLM-aware balancing's input: every interval, each replica's `/metrics` is read for what
//! vLLM reports of its queue and KV cache (`vllm:num_requests_waiting`,
//! `vllm:gpu_cache_usage_perc` or `vllm:kv_cache_usage_perc`).

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;

use super::{Inner, UpstreamClient};

/// Largest metrics page read.
const MAX_PAGE: usize = 1 << 20;

/// Scrapes every replica each `interval` until the gateway is dropped.
pub(crate) async fn scrape_loop(inner: Weak<Inner>, client: UpstreamClient, interval: Duration) {
    loop {
        let Some(gateway) = inner.upgrade() else { return };
        let replicas: Vec<_> = gateway
            .endpoints
            .load()
            .values()
            .flat_map(|backend| backend.replicas().cloned().collect::<Vec<_>>())
            .collect();
        let scrapes = replicas.iter().map(|replica| {
            let gateway = Arc::clone(&gateway);
            let replica = Arc::clone(replica);
            let client = &client;
            async move {
                if let Ok(Ok(Some((waiting, kv)))) =
                    tokio::time::timeout(interval, read_load(client, &replica.base)).await
                {
                    replica.reported.store(waiting, kv, gateway.now_ms());
                }
            }
        });
        futures_util::future::join_all(scrapes).await;
        drop(gateway);
        tokio::time::sleep(interval).await;
    }
}

/// (waiting, KV-cache use) from the replica at `base`, or `None` when its page has neither.
async fn read_load(
    client: &UpstreamClient,
    base: &axum::http::Uri,
) -> Result<Option<(u32, f64)>, Box<dyn std::error::Error + Send + Sync>> {
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some("/metrics".parse()?);
    let request = axum::http::Request::get(axum::http::Uri::from_parts(parts)?).body(Body::empty())?;
    let response = client.request(request).await?;
    if !response.status().is_success() {
        return Ok(None);
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_PAGE)
        .collect()
        .await?
        .to_bytes();
    Ok(parse_load(std::str::from_utf8(&body)?))
}

/// Sums `vllm:num_requests_waiting` and takes the largest KV-cache use over all label sets.
pub(crate) fn parse_load(page: &str) -> Option<(u32, f64)> {
    let (mut waiting, mut kv, mut seen) = (0.0f64, 0.0f64, false);
    for line in page.lines() {
        let (name, value) = match line.split_once('{') {
            Some((name, rest)) => (name, rest.rsplit_once('}').map(|(_, v)| v)),
            None => (
                line.split_whitespace().next().unwrap_or(""),
                line.split_once(' ').map(|(_, v)| v),
            ),
        };
        let Some(value) = value
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        match name.trim() {
            "vllm:num_requests_waiting" => {
                waiting += value;
                seen = true;
            }
            "vllm:gpu_cache_usage_perc" | "vllm:kv_cache_usage_perc" => {
                kv = kv.max(value);
                seen = true;
            }
            _ => {}
        }
    }
    seen.then(|| (waiting.max(0.0) as u32, kv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_pages_give_waiting_and_kv_use() {
        let page = "# HELP vllm:num_requests_waiting Requests waiting.\n\
                    # TYPE vllm:num_requests_waiting gauge\n\
                    vllm:num_requests_waiting{model_name=\"a\"} 3\n\
                    vllm:num_requests_waiting{model_name=\"b\"} 2.0\n\
                    vllm:gpu_cache_usage_perc{model_name=\"a\"} 0.25 1700000000\n\
                    vllm:kv_cache_usage_perc 0.5\n\
                    other_metric 9\n";
        assert_eq!(parse_load(page), Some((5, 0.5)));
        assert_eq!(parse_load("process_cpu_seconds_total 1\n"), None);
    }
}
