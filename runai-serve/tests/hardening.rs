//! The edges a hostile or broken client reaches, over raw sockets: slow heads, idle and
//! stalled connections, framing and header abuse, oversized bodies, requests that wait for
//! ever, every API route with a wrong method and an oversized body, and the data folder's
//! permissions. Timeouts here are short so that the tests are; what is asserted is the
//! outcome (closed, refused, the status and its shape), never how long it took.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use runai_serve::control::{ApiSettings, ControlApi, TokenIssuer};
use runai_serve::gateway::{Gateway, GatewayConfig, WorkloadKey};
use runai_serve::server::{ErrorShape, ServerLimits, serve_router};
use runai_serve::store::{CredentialKind, Store};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn quick_limits() -> ServerLimits {
    let mut limits = ServerLimits::default();
    limits.header_read_timeout = Duration::from_millis(500);
    limits.idle_timeout = Duration::from_millis(500);
    limits.body_read_timeout = Duration::from_millis(500);
    limits
}

/// A replica that reads the whole body, then answers; counting the requests it answered.
async fn replica() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::any(|| async { std::future::pending::<&str>().await }),
        )
        .fallback(move |body: axum::body::Bytes| {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                format!("read {} bytes", body.len())
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

async fn gateway(config: GatewayConfig) -> (SocketAddr, Gateway, Arc<AtomicUsize>) {
    let (replica, hits) = replica().await;
    let gateway = Gateway::new(config);
    gateway
        .update_endpoints(&WorkloadKey::new("p", "w"), &[replica.as_str()])
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));
    (address, gateway, hits)
}

fn quick_gateway_config() -> GatewayConfig {
    GatewayConfig {
        limits: quick_limits(),
        ..GatewayConfig::default()
    }
}

/// Sends `request` and reads until the server closes or 10 s pass; the bytes read and
/// whether the server closed.
async fn exchange(address: SocketAddr, request: &[u8]) -> (String, bool) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .is_ok();
    (String::from_utf8_lossy(&response).into_owned(), closed)
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn json_body(response: &str) -> Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

#[tokio::test]
async fn a_dribbled_head_is_cut_off_and_a_silent_connection_closed() {
    let (address, _, hits) = gateway(quick_gateway_config()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /p/w/ HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One header byte every 100 ms, for up to 20 s: far past the 0.5 s allowed.
    let mut cut_off = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if stream.write_all(b"X").await.is_err() {
            cut_off = true;
            break;
        }
        let mut probe = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the dribbling client was never cut off");
    let (silent, closed) = exchange(address, b"").await;
    assert!(
        closed && silent.is_empty(),
        "a silent connection is closed: {silent:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_replica_is_not_blamed() {
    let (address, gateway, _) = gateway(quick_gateway_config()).await;
    let (response, _) = exchange(
        address,
        b"POST /p/w/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"partial\":",
    )
    .await;
    assert_eq!(status_of(&response), 408, "{response}");
    assert_eq!(json_body(&response)["error"]["type"], "timeout");
    assert!(
        !gateway.metrics_text().contains("code=\"502\""),
        "{}",
        gateway.metrics_text()
    );
}

#[tokio::test]
async fn malformed_framing_is_400_and_not_counted_against_the_replica() {
    let (address, gateway, hits) = gateway(quick_gateway_config()).await;
    let (response, _) = exchange(
        address,
        b"POST /p/w/v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
    )
    .await;
    assert_eq!(status_of(&response), 400, "{response}");
    assert_eq!(json_body(&response)["error"]["type"], "invalid_request_error");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let metrics = gateway.metrics_text();
    assert!(!metrics.contains("code=\"502\""), "{metrics}");
}

#[tokio::test]
async fn host_and_header_rules() {
    let (address, _, hits) = gateway(quick_gateway_config()).await;
    let cases: [(&str, String, u16); 6] = [
        ("no Host on HTTP/1.1", "GET /p/w/ HTTP/1.1\r\n\r\n".into(), 400),
        (
            "Host with a space",
            "GET /p/w/ HTTP/1.1\r\nHost: a b\r\n\r\n".into(),
            400,
        ),
        (
            "two Host headers",
            "GET /p/w/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(),
            400,
        ),
        (
            "Host with user info",
            "GET /p/w/ HTTP/1.1\r\nHost: me@a\r\n\r\n".into(),
            400,
        ),
        (
            "one 40 KiB header",
            format!(
                "GET /p/w/ HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
                "x".repeat(40 * 1024)
            ),
            431,
        ),
        ("HTTP/1.0 without Host", "GET /p/w/ HTTP/1.0\r\n\r\n".into(), 200),
    ];
    for (name, request, expected) in cases {
        let (response, _) = exchange(address, request.as_bytes()).await;
        assert_eq!(status_of(&response), expected, "{name}: {response}");
        if expected != 200 {
            assert!(
                json_body(&response)["error"]["message"].is_string(),
                "{name}: {response}"
            );
        }
    }
    // A head over the total limit is refused by the HTTP parser itself.
    let many = (0..4)
        .map(|i| format!("X-H{i}: {}\r\n", "y".repeat(20 * 1024)))
        .collect::<String>();
    let (response, _) = exchange(
        address,
        format!("GET /p/w/ HTTP/1.1\r\nHost: a\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&response), 431, "{response}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the HTTP/1.0 request reached the replica"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_before_or_while_they_stream() {
    let config = GatewayConfig {
        max_request_body_bytes: 1024,
        ..quick_gateway_config()
    };
    let (address, _, hits) = gateway(config).await;
    let declared = format!(
        "POST /p/w/v1/embeddings HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024
    );
    let (response, _) = exchange(address, declared.as_bytes()).await;
    assert_eq!(status_of(&response), 413, "{response}");
    assert_eq!(json_body(&response)["error"]["type"], "invalid_request_error");
    let chunk = "z".repeat(600);
    let streamed = format!(
        "POST /p/w/v1/embeddings HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let (response, _) = exchange(address, streamed.as_bytes()).await;
    assert_eq!(status_of(&response), 413, "{response}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_workload_without_a_timeout_gets_the_default_504() {
    let config = GatewayConfig {
        request_timeout: Duration::from_millis(300),
        ..quick_gateway_config()
    };
    let (address, _, _) = gateway(config).await;
    let (response, _) = exchange(
        address,
        b"GET /p/w/slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&response), 504, "{response}");
    assert_eq!(json_body(&response)["error"]["type"], "timeout");
}

/// Every route of the control API with the methods it takes.
const ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/token", &["POST"]),
    ("/api/v2/token", &["POST"]),
    ("/.well-known/jwks.json", &["GET"]),
    ("/api/v1/service-accounts", &["GET", "POST"]),
    ("/api/v1/service-accounts/x", &["DELETE"]),
    ("/api/v1/access-keys", &["GET", "POST"]),
    ("/api/v1/access-keys/x", &["DELETE"]),
    ("/api/v1/workloads/inferences", &["POST"]),
    ("/api/v1/workloads/inferences/x", &["GET", "PATCH", "DELETE"]),
    ("/api/v1/workloads/inferences/x/revisions", &["GET"]),
    ("/api/v1/workloads", &["GET"]),
    ("/api/v1/workloads/x", &["GET"]),
    ("/api/v1/workloads/inferences/x/metrics", &["GET"]),
    ("/api/v1/workloads/inferences/x/pods/y/metrics", &["GET"]),
    ("/api/v1/workloads/x/metrics", &["GET"]),
    ("/api/v1/workloads/x/pods/y/metrics", &["GET"]),
    ("/api/v1/workloads/distributed-inferences", &["POST"]),
    (
        "/api/v1/workloads/distributed-inferences/x",
        &["GET", "PATCH", "DELETE"],
    ),
    ("/api/v2/workloads/nim-services", &["POST"]),
    ("/api/v2/workloads/nim-services/x", &["GET", "PATCH"]),
    ("/api/v2/workloads/x", &["DELETE"]),
    ("/api/v1/clusters", &["GET"]),
    ("/api/v1/node-pools", &["GET"]),
    ("/api/v1/org-unit/projects", &["GET"]),
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn api() -> (SocketAddr, String) {
    let store = Store::open_in_memory().unwrap();
    let issuer = TokenIssuer::new(store.clone(), "http://api.test");
    let admin = store
        .create_credential(CredentialKind::ServiceAccount, "admin", None)
        .unwrap();
    let token = issuer
        .issue(&admin.credential.client_id, &admin.client_secret)
        .unwrap()
        .access_token;
    let router = ControlApi::new(store, issuer, ApiSettings::default())
        .unwrap()
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_router(
        listener,
        router,
        quick_limits(),
        ErrorShape::RunAi,
        std::future::pending(),
    ));
    (address, token)
}

fn request(method: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn every_api_route_answers_a_wrong_method_and_an_oversized_body_in_the_run_ai_shape() {
    let (address, token) = api().await;
    let oversized = format!("{{\"name\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let mut checked = 0;
    for (path, allowed) in ROUTES {
        for method in METHODS.iter().filter(|m| !allowed.contains(m)) {
            let (response, _) = exchange(address, &request(method, path, &token, "")).await;
            assert_eq!(status_of(&response), 405, "{method} {path}: {response}");
            let body = json_body(&response);
            assert_eq!(body["code"], 405, "{method} {path}: {response}");
            assert!(
                body["message"].as_str().unwrap().contains(allowed[0]),
                "{method} {path}: {body}"
            );
            checked += 1;
        }
        for method in allowed.iter().filter(|m| ["POST", "PATCH"].contains(m)) {
            let (response, _) = exchange(address, &request(method, path, &token, &oversized)).await;
            assert_eq!(
                status_of(&response),
                413,
                "{method} {path}: {}",
                &response[..response.len().min(300)]
            );
            assert_eq!(json_body(&response)["code"], 413, "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} cases");
    let (response, _) = exchange(address, &request("GET", "/api/v9/nothing", &token, "")).await;
    assert_eq!(json_body(&response)["code"], 404);
}

#[tokio::test]
async fn the_api_refuses_slow_and_malformed_clients_in_its_shape() {
    let (address, token) = api().await;
    let (response, _) = exchange(address, b"GET /api/v1/workloads HTTP/1.1\r\n\r\n").await;
    assert_eq!(status_of(&response), 400, "{response}");
    assert_eq!(json_body(&response)["code"], 400);
    let stalled = format!(
        "POST /api/v1/workloads/inferences HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Length: 500\r\n\r\n{{\"name\":"
    );
    let (response, _) = exchange(address, stalled.as_bytes()).await;
    assert_eq!(status_of(&response), 408, "{response}");
    assert_eq!(json_body(&response)["code"], 408);
}

#[tokio::test]
async fn the_platform_keeps_its_data_private_and_refuses_an_exposed_folder() {
    use runai_serve::platform::{Platform, PlatformConfig};
    let dir = std::env::temp_dir().join(format!("runai-hardening-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = PlatformConfig::from_yaml(
        &format!(
            "dataDir: {}\napi: 127.0.0.1:0\ngateway: 127.0.0.1:0\nsampleWorkload: false\n",
            dir.display()
        ),
        "test",
    )
    .unwrap();
    let platform = Platform::start(config.clone()).await.unwrap();
    let mode = |name: &str| std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(""), 0o700);
    for file in ["runai.db", "runai.db-wal", "runai.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    platform.shutdown().await;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = Platform::start(config.clone()).await.unwrap_err().to_string();
    assert!(error.contains("chmod 700"), "{error}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(dir.join("runai.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = Platform::start(config).await.unwrap_err().to_string();
    assert!(
        error.contains("chmod 600") && error.contains("runai.db"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_gateway_s_admin_listener_answers_errors_in_the_openai_shape() {
    let gateway = Gateway::new(GatewayConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = gateway.metrics_router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    for (request, expected) in [
        (
            "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            405,
        ),
        (
            "GET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            404,
        ),
    ] {
        let (response, _) = exchange(address, request.as_bytes()).await;
        assert_eq!(status_of(&response), expected, "{response}");
        assert!(json_body(&response)["error"]["message"].is_string(), "{response}");
    }
}

#[tokio::test]
async fn the_platform_s_limits_section_reaches_both_listeners() {
    use runai_serve::platform::{Platform, PlatformConfig};
    let dir = std::env::temp_dir().join(format!("runai-hardening-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = PlatformConfig::from_yaml(
        &format!(
            "dataDir: {}\napi: 127.0.0.1:0\ngateway: 127.0.0.1:0\nsampleWorkload: false\nlimits: {{maxHeaderBytes: 1024, maxRequestBodyBytes: 2048}}\n",
            dir.display()
        ),
        "test",
    )
    .unwrap();
    let platform = Platform::start(config).await.unwrap();
    let address = |url: String| url.trim_start_matches("http://").parse::<SocketAddr>().unwrap();
    let (api, gateway) = (address(platform.api_url()), address(platform.gateway_url()));
    let big_header = format!(
        "GET /api/v1/workloads HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "x".repeat(2000)
    );
    let (response, _) = exchange(api, big_header.as_bytes()).await;
    assert_eq!(status_of(&response), 431, "API: {response}");
    assert_eq!(json_body(&response)["code"], 431);
    let (response, _) = exchange(
        gateway,
        big_header.replace("/api/v1/workloads", "/1/any/").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&response), 431, "gateway: {response}");
    let big_body =
        "POST /1/any/v1/completions HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 4096\r\n\r\n";
    let (response, _) = exchange(gateway, big_body.as_bytes()).await;
    assert_eq!(status_of(&response), 413, "gateway: {response}");
    platform.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
