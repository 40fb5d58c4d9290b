//! The gateway over real loopback sockets, in front of model-server simulators.

use axum::http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use runai_serve::gateway::{
    ActivatorConfig, Balancing, Gateway, GatewayConfig, GatewayError, RevisionEndpoints, ScaleFromZero,
    WorkloadKey, WorkloadLimits,
};
use runai_serve::model_sim::{ModelSim, ModelSimConfig};
use serde_json::{Value, json};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    (listener, format!("http://{address}"))
}

async fn start_sim(model: &str) -> String {
    let (listener, base) = listen().await;
    let config = ModelSimConfig {
        model: model.to_owned(),
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(config).serve(listener, std::future::pending()));
    base
}

async fn start_gateway(gateway: &Gateway) -> String {
    let (listener, base) = listen().await;
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));
    base
}

/// An upstream that answers every request with the headers and path it received.
async fn start_echo() -> String {
    let (listener, base) = listen().await;
    let app = axum::Router::new().fallback(|headers: HeaderMap, uri: axum::http::Uri| async move {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(v.to_str().unwrap_or(""))))
            .collect();
        axum::Json(json!({"path": uri.to_string(), "headers": headers}))
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(client: &HttpClient, request: hyper::Request<Full<Bytes>>) -> (u16, HeaderMap, String) {
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn post(url: &str, body: &Value) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[tokio::test]
async fn a_stream_passes_through_by_path_and_by_host() {
    let sim = start_sim("llama").await;
    let gateway = Gateway::new(GatewayConfig {
        domain: Some("serve.test".to_owned()),
        ..GatewayConfig::default()
    });
    gateway
        .update_endpoints(&WorkloadKey::new("team-a", "llama"), &[&sim])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let body = json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": true});

    let (status, headers, text) = send(
        &client(),
        post(&format!("{base}/team-a/llama/v1/chat/completions"), &body),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "text/event-stream");
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 4 + 1 + 1, "{text}");
    assert_eq!(*events.last().unwrap(), "data: [DONE]");

    let mut by_host = post(&format!("{base}/v1/chat/completions"), &body);
    by_host
        .headers_mut()
        .insert("host", "llama-team-a.serve.test".parse().unwrap());
    let (status, _, text) = send(&client(), by_host).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn unknown_workloads_get_404_and_empty_ones_503_with_retry_after() {
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "idle"), &[])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let (status, _, text) = send(
        &client(),
        post(&format!("{base}/p/nothing/v1/completions"), &json!({})),
    )
    .await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_str(&text).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/p/nothing/v1/completions")
    );
    let (status, headers, text) = send(
        &client(),
        post(&format!("{base}/p/idle/v1/completions"), &json!({})),
    )
    .await;
    assert_eq!(status, 503, "{text}");
    assert_eq!(headers["retry-after"], "1");
    assert!(text.contains("p/idle has no ready replica"), "{text}");
}

#[tokio::test]
async fn hop_by_hop_headers_stay_behind_and_forwarded_headers_are_the_gateways() {
    let echo = start_echo().await;
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "echo"), &[&echo])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let request = hyper::Request::get(format!("{base}/p/echo/v1/models?x=1"))
        .header("connection", "x-secret")
        .header("x-secret", "do not forward")
        .header("te", "trailers")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-kept", "yes")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, text) = send(&client(), request).await;
    assert_eq!(status, 200, "{text}");
    let seen: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(seen["path"], "/v1/models?x=1");
    let headers = &seen["headers"];
    assert!(headers.get("x-secret").is_none(), "{headers}");
    assert!(headers.get("te").is_none(), "{headers}");
    assert_eq!(headers["x-kept"], "yes");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(
        headers["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
}

#[tokio::test]
async fn requests_spread_over_replicas() {
    let (a, b) = (start_sim("m").await, start_sim("m").await);
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &[&a, &b])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let client = client();
    for _ in 0..40 {
        let (status, _, _) = send(
            &client,
            post(
                &format!("{base}/p/m/v1/completions"),
                &json!({"prompt": "x", "max_tokens": 1}),
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
    let mut served = Vec::new();
    for sim in [&a, &b] {
        let (_, _, metrics) = send(
            &client,
            hyper::Request::get(format!("{sim}/metrics"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
        let line = metrics
            .lines()
            .find(|l| l.starts_with("vllm:prompt_tokens_total"))
            .unwrap();
        served.push(line.rsplit(' ').next().unwrap().parse::<u32>().unwrap());
    }
    assert_eq!(served.iter().sum::<u32>(), 40);
    assert!(served.iter().all(|n| *n >= 10), "{served:?}");
}

#[tokio::test]
async fn a_replica_that_refuses_connections_gives_502() {
    // Bind and drop a listener to get a port nothing listens on.
    let (listener, dead) = listen().await;
    drop(listener);
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &[&dead])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let (status, _, text) = send(
        &client(),
        post(&format!("{base}/p/m/v1/completions"), &json!({"prompt": "x"})),
    )
    .await;
    assert_eq!(status, 502, "{text}");
    assert!(text.contains("p/m"), "{text}");
}

#[test]
fn bad_replica_addresses_are_refused_with_the_reason() {
    let gateway = Gateway::new(GatewayConfig::default());
    let err = gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &["10.0.0.1:8000/x"])
        .unwrap_err();
    assert!(matches!(err, GatewayError::BadReplicaAddress { .. }));
    assert!(err.to_string().contains("10.0.0.1:8000/x"), "{err}");
    let err = gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &["https://a:1"])
        .unwrap_err();
    assert!(err.to_string().contains("only http://"), "{err}");
}

/// Waits until the simulator at `sim` runs `n` requests (bounded, so a bug fails the test
/// instead of hanging it).
async fn wait_running(client: &HttpClient, sim: &str, n: u32) {
    let wanted = format!("vllm:num_requests_running{{model_name=\"sim-model\"}} {n}");
    for _ in 0..500 {
        let request = hyper::Request::get(format!("{sim}/metrics"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        if send(client, request).await.2.contains(&wanted) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the simulator never ran {n} requests");
}

#[tokio::test]
async fn the_hard_limit_queues_then_refuses_and_the_timeout_bounds_the_wait() {
    let (listener, sim) = listen().await;
    let slow = ModelSimConfig {
        itl: std::time::Duration::from_millis(100),
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(slow).serve(listener, std::future::pending()));
    let gateway = Gateway::new(GatewayConfig::default());
    let key = WorkloadKey::new("p", "m");
    gateway.update_endpoints(&key, &[&sim]).unwrap();
    gateway.set_limits(
        &key,
        WorkloadLimits {
            concurrency_hard_limit: Some(1),
            queue_depth: 1,
            request_timeout: None,
        },
    );
    let base = start_gateway(&gateway).await;
    let url = format!("{base}/p/m/v1/completions");
    let client = client();
    let spawn_request = |max_tokens: u32, stream: bool| {
        let body = json!({"prompt": "x", "max_tokens": max_tokens, "stream": stream});
        let (client, request) = (client.clone(), post(&url, &body));
        tokio::spawn(async move { send(&client, request).await })
    };
    // One request holds the only slot (2 s of tokens) ...
    let running = spawn_request(20, false);
    wait_running(&client, &sim, 1).await;
    // ... of the next two, one takes the only queue place and the other is refused.
    let (second, third) = (spawn_request(1, false), spawn_request(1, false));
    let (second, third) = (second.await.unwrap(), third.await.unwrap());
    let mut statuses = [second.0, third.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 503], "{second:?} {third:?}");
    let refused = if second.0 == 503 { &second } else { &third };
    assert_eq!(refused.1["retry-after"], "1");
    assert_eq!(running.await.unwrap().0, 200);

    // With a request timeout, a request that cannot get a slot in time gets 504. The timeout
    // covers the response headers, not the body: a stream that outlasts it goes on.
    gateway.set_limits(
        &key,
        WorkloadLimits {
            concurrency_hard_limit: Some(1),
            queue_depth: 10,
            request_timeout: Some(std::time::Duration::from_millis(150)),
        },
    );
    let holding = spawn_request(20, true);
    wait_running(&client, &sim, 1).await;
    let (status, _, text) = send(&client, post(&url, &json!({"prompt": "x", "max_tokens": 1}))).await;
    assert_eq!(status, 504, "{text}");
    let (status, _, events) = holding.await.unwrap();
    assert_eq!(status, 200);
    assert!(events.ends_with("data: [DONE]\n\n"), "{events}");
}

/// The value of the sample in `metrics` whose line starts with `prefix`.
fn sample(metrics: &str, prefix: &str) -> f64 {
    let line = metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no sample {prefix} in\n{metrics}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn token_metrics_follow_the_stream() {
    let (listener, sim) = listen().await;
    let timed = ModelSimConfig {
        ttft: std::time::Duration::from_millis(50),
        itl: std::time::Duration::from_millis(10),
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(timed).serve(listener, std::future::pending()));
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &[&sim])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let client = client();
    let url = format!("{base}/p/m/v1/chat/completions");
    let messages = json!([{"role": "user", "content": "three word prompt"}]);
    // Without usage the gateway counts content chunks; with it, usage wins.
    let plain = json!({"messages": messages, "max_tokens": 5, "stream": true});
    let with_usage = json!({"messages": messages, "max_tokens": 4, "stream": true,
                            "stream_options": {"include_usage": true}});
    assert_eq!(send(&client, post(&url, &plain)).await.0, 200);
    assert_eq!(send(&client, post(&url, &with_usage)).await.0, 200);
    assert_eq!(
        send(&client, post(&format!("{base}/p/nothing/v1/models"), &json!({})))
            .await
            .0,
        404
    );

    // A request is recorded when its response body ends, which the server may see a moment
    // after the client has read the last byte: wait for both (bounded).
    let w = "{workload=\"p/m\"";
    let duration_count = format!("runai_gateway_request_duration_seconds_count{w}}} 2");
    let mut metrics = gateway.metrics_text();
    for _ in 0..200 {
        if metrics.contains(&duration_count) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        metrics = gateway.metrics_text();
    }
    assert_eq!(
        sample(
            &metrics,
            "runai_gateway_requests_total{workload=\"p/m\",revision=\"default\",status=\"200\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &metrics,
            "runai_gateway_requests_total{workload=\"\",revision=\"\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("runai_gateway_tokens_total{w},kind=\"completion\"}}")
        ),
        9.0
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("runai_gateway_tokens_total{w},kind=\"prompt\"}}")
        ),
        3.0
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("runai_gateway_time_to_first_token_seconds_count{w}}}")
        ),
        2.0
    );
    // The first token cannot come before the server's configured 50 ms.
    assert!(
        sample(
            &metrics,
            &format!("runai_gateway_time_to_first_token_seconds_sum{w}}}")
        ) >= 0.1
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("runai_gateway_inter_token_latency_seconds_count{w}}}")
        ),
        4.0 + 3.0
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("runai_gateway_request_duration_seconds_count{w}}}")
        ),
        2.0
    );

    // The same figures under vLLM's names, and the endpoint gauges.
    assert_eq!(
        sample(
            &metrics,
            "vllm:time_to_first_token_seconds_count{model_name=\"p/m\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &metrics,
            "vllm:time_per_output_token_seconds_count{model_name=\"p/m\"}"
        ),
        7.0
    );
    assert_eq!(sample(&metrics, "runai_gateway_replicas{workload=\"p/m\"}"), 1.0);
    assert_eq!(sample(&metrics, "runai_gateway_in_flight{workload=\"p/m\"}"), 0.0);
    assert_eq!(sample(&metrics, "runai_gateway_queued{workload=\"p/m\"}"), 0.0);

    // The metrics router serves the same text.
    let (admin_listener, admin) = listen().await;
    let router = gateway.metrics_router();
    tokio::spawn(async move { axum::serve(admin_listener, router).await });
    let request = hyper::Request::get(format!("{admin}/metrics"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, text) = send(&client, request).await;
    assert_eq!(status, 200);
    assert!(text.contains("runai_gateway_tokens_total"), "{text}");
}

/// Records the workloads the activator asked to scale from zero.
#[derive(Clone, Default)]
struct Wakes(std::sync::Arc<std::sync::Mutex<Vec<WorkloadKey>>>);

impl ScaleFromZero for Wakes {
    fn scale_from_zero(&self, workload: &WorkloadKey) {
        self.0.lock().unwrap().push(workload.clone());
    }
}

#[tokio::test]
async fn the_activator_holds_requests_until_a_replica_is_pushed_in() {
    let wakes = Wakes::default();
    let activator = ActivatorConfig {
        max_held: 1,
        timeout: std::time::Duration::from_secs(30),
    };
    let gateway = Gateway::with_activator(GatewayConfig::default(), activator, wakes.clone());
    let key = WorkloadKey::new("p", "cold");
    gateway.update_endpoints(&key, &[]).unwrap();
    let base = start_gateway(&gateway).await;
    let client = client();
    let url = format!("{base}/p/cold/v1/completions");
    let held = tokio::spawn({
        let (client, request) = (
            client.clone(),
            post(&url, &json!({"prompt": "x", "max_tokens": 2})),
        );
        async move { send(&client, request).await }
    });
    // Wait (bounded) until the gateway asked for a replica.
    for _ in 0..500 {
        if !wakes.0.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(wakes.0.lock().unwrap().as_slice(), std::slice::from_ref(&key));
    // One request is all this workload may hold: the next is refused at once.
    let (status, headers, text) = send(&client, post(&url, &json!({"prompt": "x"}))).await;
    assert_eq!(status, 503, "{text}");
    assert_eq!(headers["retry-after"], "1");
    // A replica comes up; the held request flows to it.
    let sim = start_sim("m").await;
    gateway.update_endpoints(&key, &[&sim]).unwrap();
    let (status, _, text) = held.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"completion_tokens\":2"), "{text}");
}

#[tokio::test]
async fn a_held_request_gives_up_after_the_activator_timeout() {
    let activator = ActivatorConfig {
        max_held: 10,
        timeout: std::time::Duration::from_millis(100),
    };
    let gateway = Gateway::with_activator(GatewayConfig::default(), activator, Wakes::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "cold"), &[])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let (status, headers, text) = send(
        &client(),
        post(&format!("{base}/p/cold/v1/completions"), &json!({})),
    )
    .await;
    assert_eq!(status, 503, "{text}");
    assert_eq!(headers["retry-after"], "1");
    assert!(text.contains("no ready replica within"), "{text}");
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_stream_beyond_the_drain_timeout() {
    let (listener, sim) = listen().await;
    let slow = ModelSimConfig {
        itl: std::time::Duration::from_millis(100),
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(slow).serve(listener, std::future::pending()));
    let gateway = Gateway::new(GatewayConfig {
        drain_timeout: std::time::Duration::from_millis(200),
        ..GatewayConfig::default()
    });
    gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &[&sim])
        .unwrap();
    let (listener, base) = listen().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gateway.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    // A stream of 1,000 tokens, 100 s long, is open when shutdown comes.
    let request = post(
        &format!("{base}/p/m/v1/completions"),
        &json!({"prompt": "x", "max_tokens": 1000, "stream": true}),
    );
    let response = client().request(request).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    stop.send(()).unwrap();
    let finished = tokio::time::timeout(std::time::Duration::from_secs(20), server).await;
    assert!(
        finished
            .expect("serve returned after the drain timeout")
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn traffic_splits_between_revisions_by_weight() {
    let (stable, canary) = (start_sim("m").await, start_sim("m").await);
    let gateway = Gateway::new(GatewayConfig::default());
    let key = WorkloadKey::new("p", "m");
    let (stable_replicas, canary_replicas) = ([stable.as_str()], [canary.as_str()]);
    gateway
        .update_revisions(
            &key,
            &[
                RevisionEndpoints {
                    revision: "rev-1",
                    weight: 80,
                    replicas: &stable_replicas,
                },
                RevisionEndpoints {
                    revision: "rev-2",
                    weight: 20,
                    replicas: &canary_replicas,
                },
                // A revision without replicas takes no traffic: its weight goes to the others.
                RevisionEndpoints {
                    revision: "rev-3",
                    weight: 50,
                    replicas: &[],
                },
            ],
        )
        .unwrap();
    let base = start_gateway(&gateway).await;
    let client = client();
    for _ in 0..200 {
        let request = post(
            &format!("{base}/p/m/v1/completions"),
            &json!({"prompt": "x", "max_tokens": 1}),
        );
        assert_eq!(send(&client, request).await.0, 200);
    }
    let metrics = gateway.metrics_text();
    let served = |revision: &str| {
        sample(
            &metrics,
            &format!(
                "runai_gateway_requests_total{{workload=\"p/m\",revision=\"{revision}\",status=\"200\"}}"
            ),
        )
    };
    let (first, second) = (served("rev-1"), served("rev-2"));
    assert_eq!(first + second, 200.0);
    // 80 % of 200 is 160, with a standard deviation of about 5.7: allow four of them.
    assert!((137.0..=183.0).contains(&first), "rev-1 served {first}");
    assert!(!metrics.contains("revision=\"rev-3\""), "{metrics}");
}

#[tokio::test]
async fn llm_aware_balancing_avoids_the_replica_whose_server_is_queueing() {
    // Replica `busy` runs one request at a time and is kept full, with one more waiting, by
    // traffic that does not pass the gateway: the gateway's own counts cannot see it.
    let (listener, busy) = listen().await;
    let one_at_a_time = ModelSimConfig {
        itl: std::time::Duration::from_millis(100),
        max_concurrency: 1,
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(one_at_a_time).serve(listener, std::future::pending()));
    let idle = start_sim("sim-model").await;
    let client = client();
    let long = json!({"prompt": "x", "max_tokens": 600});
    let mut direct = Vec::new();
    for _ in 0..2 {
        let (client, request) = (client.clone(), post(&format!("{busy}/v1/completions"), &long));
        direct.push(tokio::spawn(async move { send(&client, request).await }));
    }
    let gateway = Gateway::new(GatewayConfig {
        balancing: Balancing::LlmAware {
            scrape_interval: std::time::Duration::from_millis(50),
        },
        ..GatewayConfig::default()
    });
    let key = WorkloadKey::new("p", "m");
    gateway.update_endpoints(&key, &[&busy, &idle]).unwrap();
    let base = start_gateway(&gateway).await;
    // Wait (bounded) until the gateway has read the busy server's queue.
    let reported =
        format!("runai_gateway_replica_reported_waiting{{workload=\"p/m\",replica=\"{busy}/\"}} 1");
    for _ in 0..500 {
        if gateway.metrics_text().contains(&reported) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        gateway.metrics_text().contains(&reported),
        "{}",
        gateway.metrics_text()
    );
    // Every request goes to the idle replica, and completes while `busy` is still busy (a
    // request sent to `busy` would wait a minute: the timeout turns that into a failure).
    for _ in 0..20 {
        let request = post(
            &format!("{base}/p/m/v1/completions"),
            &json!({"prompt": "x", "max_tokens": 1}),
        );
        let answered = tokio::time::timeout(std::time::Duration::from_secs(20), send(&client, request)).await;
        assert_eq!(answered.expect("served by the idle replica").0, 200);
    }
    let request = hyper::Request::get(format!("{idle}/metrics"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let metrics = send(&client, request).await.2;
    assert_eq!(sample(&metrics, "vllm:prompt_tokens_total"), 20.0, "{metrics}");
    for handle in direct {
        handle.abort();
    }
}

#[tokio::test]
async fn a_request_that_cannot_connect_is_retried_once_on_another_replica() {
    let (listener, dead) = listen().await;
    drop(listener);
    let sim = start_sim("m").await;
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("p", "m"), &[&dead, &sim])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let client = client();
    for _ in 0..20 {
        let request = post(
            &format!("{base}/p/m/v1/completions"),
            &json!({"prompt": "x", "max_tokens": 1}),
        );
        let (status, _, text) = send(&client, request).await;
        assert_eq!(status, 200, "{text}");
    }
    let request = hyper::Request::get(format!("{sim}/metrics"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(
        sample(&send(&client, request).await.2, "vllm:prompt_tokens_total"),
        20.0
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_before_any_replica_sees_them() {
    let echo = start_echo().await;
    let gateway = Gateway::new(GatewayConfig {
        max_request_body_bytes: 1_000,
        ..GatewayConfig::default()
    });
    gateway
        .update_endpoints(&WorkloadKey::new("p", "echo"), &[&echo])
        .unwrap();
    let base = start_gateway(&gateway).await;
    let big = json!({"prompt": "x".repeat(2_000)});
    let (status, _, text) = send(&client(), post(&format!("{base}/p/echo/v1/completions"), &big)).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("1000 bytes"), "{text}");
    let small = json!({"prompt": "x"});
    assert_eq!(
        send(&client(), post(&format!("{base}/p/echo/v1/completions"), &small))
            .await
            .0,
        200
    );
}

/// A replica that answers a stream with two tokens and then dies: the socket closes in the
/// middle of the chunked body.
async fn start_dying_replica() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (listener, base) = listen().await;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Read the request head and its (small, known-length) body.
                while let Ok(n) = stream.read(&mut buffer).await {
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(str::to_owned)
                            })
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                stream.write_all(head.as_bytes()).await.unwrap();
                for token in ["a", "b"] {
                    let event = format!(
                        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{token}\"}}}}]}}\n\n"
                    );
                    let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                    stream.write_all(chunk.as_bytes()).await.unwrap();
                    stream.flush().await.unwrap();
                }
                // Dies: no final chunk, the connection just closes.
            });
        }
    });
    base
}

#[tokio::test]
async fn a_replica_dying_mid_stream_gives_the_client_a_clean_error_and_is_counted() {
    let dying = start_dying_replica().await;
    let gateway = Gateway::new(GatewayConfig::default());
    let workload = WorkloadKey::new("p", "m");
    gateway.update_endpoints(&workload, &[&dying]).unwrap();
    let base = start_gateway(&gateway).await;
    let body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let response = client()
        .request(post(&format!("{base}/p/m/v1/chat/completions"), &body))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = Vec::new();
    let outcome = loop {
        match body.frame().await {
            Some(Ok(frame)) => received.extend_from_slice(frame.data_ref().map_or(&[][..], |d| &d[..])),
            Some(Err(error)) => break Err(error),
            None => break Ok(()),
        }
    };
    assert!(
        outcome.is_err(),
        "the client must see that the stream broke off, not a clean end"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.contains(r#""content":"a""#) && text.contains(r#""content":"b""#),
        "{text}"
    );
    // The request is finished in the metrics: counted as broken, nothing left in flight.
    let metrics = gateway.metrics_text();
    assert_eq!(
        sample(
            &metrics,
            r#"runai_gateway_upstream_body_errors_total{workload="p/m"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&metrics, r#"runai_gateway_in_flight{workload="p/m"}"#),
        0.0
    );
    assert_eq!(
        sample(
            &metrics,
            r#"runai_gateway_request_duration_seconds_count{workload="p/m"}"#
        ),
        1.0
    );
}

#[tokio::test]
async fn rolling_summaries_report_throughput_latency_and_ttft() {
    let (listener, sim) = listen().await;
    let timed = ModelSimConfig {
        model: "m".into(),
        ttft: std::time::Duration::from_millis(30),
        itl: std::time::Duration::from_millis(2),
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(timed).serve(listener, std::future::pending()));
    let gateway = Gateway::new(GatewayConfig::default());
    let workload = WorkloadKey::new("p", "m");
    gateway.update_endpoints(&workload, &[&sim]).unwrap();
    let base = start_gateway(&gateway).await;
    let client = client();
    let body = json!({"model": "m", "stream": true, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..3 {
        let (status, ..) = send(&client, post(&format!("{base}/p/m/v1/chat/completions"), &body)).await;
        assert_eq!(status, 200);
    }
    let summary = gateway.summary(&workload).unwrap();
    assert_eq!(summary.requests, 3);
    assert!(summary.requests_per_second > 0.0);
    let ttft = summary.time_to_first_token.unwrap();
    let latency = summary.latency.unwrap();
    assert!(ttft.p50 >= std::time::Duration::from_millis(30), "{ttft:?}");
    assert!(latency.p50 >= ttft.p50, "{latency:?} vs {ttft:?}");
    assert!(summary.output_tokens_per_second > 0.0);
    // The same through the admin router, as JSON.
    let (admin, admin_base) = listen().await;
    let router = gateway.metrics_router();
    tokio::spawn(async move { axum::serve(admin, router).await });
    let request = hyper::Request::get(format!("{admin_base}/summaries"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, text) = send(&client, request).await;
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed[0]["workload"], "p/m");
    assert_eq!(listed[0]["requests"], 3);
    assert!(
        listed[0]["timeToFirstToken"]["p50"].as_f64().unwrap() >= 0.03,
        "{listed}"
    );
}
