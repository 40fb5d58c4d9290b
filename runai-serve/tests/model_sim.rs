//! The model-server simulator over real loopback sockets.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use runai_serve::model_sim::{ModelSim, ModelSimConfig};
use serde_json::{Value, json};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Starts a simulator on an ephemeral loopback port; it stops when the test's runtime ends.
async fn start(config: ModelSimConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(ModelSim::new(config).serve(listener, std::future::pending()));
    format!("http://{address}")
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn post(client: &HttpClient, url: &str, body: &Value) -> hyper::Response<hyper::body::Incoming> {
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    client.request(request).await.unwrap()
}

async fn get_text(client: &HttpClient, url: &str) -> String {
    let request = hyper::Request::get(url).body(Full::new(Bytes::new())).unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// The `data:` payloads of a server-sent event stream, with when each arrived.
async fn events(response: hyper::Response<hyper::body::Incoming>) -> Vec<(Instant, String)> {
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            buffer.push_str(std::str::from_utf8(&data).unwrap());
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let payload = event
                    .trim_end()
                    .strip_prefix("data: ")
                    .expect("every event is data")
                    .to_owned();
                out.push((Instant::now(), payload));
            }
        }
    }
    assert!(buffer.is_empty(), "a partial event was left: {buffer:?}");
    out
}

#[tokio::test]
async fn a_streamed_chat_completion_has_one_chunk_per_token_then_usage_then_done() {
    let ttft = Duration::from_millis(80);
    let itl = Duration::from_millis(20);
    let base = start(ModelSimConfig {
        ttft,
        itl,
        ..ModelSimConfig::default()
    })
    .await;
    let client = client();
    let sent = Instant::now();
    let response = post(
        &client,
        &format!("{base}/v1/chat/completions"),
        &json!({"model": "sim-model", "messages": [{"role": "user", "content": "four words of prompt"}],
                "max_tokens": 5, "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = events(response).await;
    assert_eq!(events.len(), 5 + 1 + 1 + 1, "{events:?}");
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..7]
        .iter()
        .map(|(_, e)| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    for chunk in &chunks[..5] {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["choices"][0]["delta"]["content"].is_string());
        assert!(chunk["usage"].is_null() && chunk.get("usage").is_some());
    }
    assert_eq!(chunks[5]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[6]["choices"], json!([]));
    assert_eq!(
        chunks[6]["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9})
    );
    // The schedule is a lower bound the server keeps: no token before its time.
    assert!(events[0].0 - sent >= ttft);
    assert!(events[4].0 - sent >= ttft + itl * 4);
}

#[tokio::test]
async fn without_include_usage_no_usage_field_and_no_usage_chunk() {
    let base = start(ModelSimConfig::default()).await;
    let response = post(
        &client(),
        &format!("{base}/v1/completions"),
        &json!({"model": "sim-model", "prompt": "x", "max_tokens": 2, "stream": true}),
    )
    .await;
    let events = events(response).await;
    assert_eq!(events.len(), 2 + 1 + 1);
    for (_, event) in &events[..3] {
        let chunk: Value = serde_json::from_str(event).unwrap();
        assert_eq!(chunk["object"], "text_completion");
        assert!(chunk.get("usage").is_none(), "{chunk}");
    }
}

#[tokio::test]
async fn a_whole_completion_carries_usage() {
    let base = start(ModelSimConfig::default()).await;
    let response = post(
        &client(),
        &format!("{base}/v1/chat/completions"),
        &json!({"messages": [{"role": "user", "content": "one two"}], "max_completion_tokens": 3}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], " the model says");
    assert_eq!(body["usage"]["completion_tokens"], 3);
    assert_eq!(body["usage"]["prompt_tokens"], 2);
}

#[tokio::test]
async fn bad_requests_get_an_openai_error_naming_the_field() {
    let base = start(ModelSimConfig::default()).await;
    let client = client();
    let response = post(
        &client,
        &format!("{base}/v1/chat/completions"),
        &json!({"messages": [], "max_tokens": 0}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`max_tokens`"),
        "{body}"
    );
}

#[tokio::test]
async fn the_error_rate_fails_that_share_of_requests() {
    let base = start(ModelSimConfig {
        error_rate: 1.0,
        ..ModelSimConfig::default()
    })
    .await;
    let response = post(
        &client(),
        &format!("{base}/v1/completions"),
        &json!({"prompt": "x"}),
    )
    .await;
    assert_eq!(response.status(), 500);

    let base = start(ModelSimConfig {
        error_rate: 0.3,
        seed: 7,
        ..ModelSimConfig::default()
    })
    .await;
    let client = client();
    let mut failed = 0;
    for _ in 0..200 {
        let response = post(
            &client,
            &format!("{base}/v1/completions"),
            &json!({"prompt": "x", "max_tokens": 1}),
        )
        .await;
        failed += usize::from(response.status() == 500);
    }
    // 30 % of 200 is 60; the seeded sequence stays well inside 40..80.
    assert!((40..80).contains(&failed), "{failed}");
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_wait_and_show_in_metrics() {
    let base = start(ModelSimConfig {
        itl: Duration::from_millis(100),
        max_concurrency: 1,
        ..ModelSimConfig::default()
    })
    .await;
    let client = client();
    let body = json!({"prompt": "a b", "max_tokens": 10, "stream": true});
    let first = post(&client, &format!("{base}/v1/completions"), &body).await;
    let second = {
        let (client, url, body) = (client.clone(), format!("{base}/v1/completions"), body.clone());
        tokio::spawn(async move { post(&client, &url, &body).await })
    };
    // Poll the metrics until the second request is seen waiting (bounded, so a bug fails
    // the test instead of hanging it).
    let mut seen = String::new();
    for _ in 0..100 {
        seen = get_text(&client, &format!("{base}/metrics")).await;
        if seen.contains("vllm:num_requests_waiting{model_name=\"sim-model\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen.contains("vllm:num_requests_waiting{model_name=\"sim-model\"} 1"),
        "{seen}"
    );
    assert!(
        seen.contains("vllm:num_requests_running{model_name=\"sim-model\"} 1"),
        "{seen}"
    );
    assert!(
        seen.contains("vllm:gpu_cache_usage_perc{model_name=\"sim-model\"} 1.0"),
        "{seen}"
    );
    assert_eq!(events(first).await.len(), 10 + 1 + 1);
    assert_eq!(events(second.await.unwrap()).await.len(), 10 + 1 + 1);
    let after = get_text(&client, &format!("{base}/metrics")).await;
    assert!(
        after.contains("vllm:num_requests_running{model_name=\"sim-model\"} 0"),
        "{after}"
    );
    assert!(
        after.contains("vllm:generation_tokens_total{model_name=\"sim-model\"} 20"),
        "{after}"
    );
    assert!(
        after.contains("vllm:prompt_tokens_total{model_name=\"sim-model\"} 4"),
        "{after}"
    );
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_frees_its_slot() {
    let base = start(ModelSimConfig {
        itl: Duration::from_millis(50),
        max_concurrency: 1,
        ..ModelSimConfig::default()
    })
    .await;
    let client = client();
    let long = json!({"prompt": "x", "max_tokens": 1000, "stream": true});
    let response = post(&client, &format!("{base}/v1/completions"), &long).await;
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    // The slot comes back: a second request completes.
    let short = json!({"prompt": "x", "max_tokens": 1});
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        post(&client, &format!("{base}/v1/completions"), &short),
    )
    .await
    .expect("the abandoned stream's slot is released");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn models_health_and_metrics_answer() {
    let base = start(ModelSimConfig {
        model: "llama-sim".to_owned(),
        ..ModelSimConfig::default()
    })
    .await;
    let client = client();
    let models: Value = serde_json::from_str(&get_text(&client, &format!("{base}/v1/models")).await).unwrap();
    assert_eq!(models["data"][0]["id"], "llama-sim");
    get_text(&client, &format!("{base}/health")).await;
    let metrics = get_text(&client, &format!("{base}/metrics")).await;
    assert!(
        metrics.contains("# TYPE vllm:num_requests_running gauge"),
        "{metrics}"
    );
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
}
