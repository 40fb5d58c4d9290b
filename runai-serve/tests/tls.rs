//! TLS termination and HTTP/2 on both sides of the gateway, over real loopback sockets.

use axum::extract::Request;
use runai_serve::gateway::{Gateway, GatewayConfig, TlsConfig, TlsError, WorkloadKey};
use runai_serve::model_sim::{ModelSim, ModelSimConfig};
use serde_json::{Value, json};

/// An upstream that answers with the HTTP version and forwarding headers it saw.
async fn start_version_echo() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|request: Request| async move {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("").to_owned())
        };
        axum::Json(json!({
            "version": format!("{:?}", request.version()),
            "proto": header("x-forwarded-proto"),
        }))
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

struct Issued {
    certificate: String,
    key: String,
}

fn self_signed() -> Issued {
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Issued {
        certificate: issued.cert.pem(),
        key: issued.signing_key.serialize_pem(),
    }
}

async fn start_tls_gateway(gateway: &Gateway, issued: &Issued) -> String {
    let tls = TlsConfig::from_pem(issued.certificate.as_bytes(), issued.key.as_bytes()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(gateway.clone().serve_tls(listener, tls, std::future::pending()));
    format!("https://localhost:{port}")
}

fn https_client(issued: &Issued, http1_only: bool) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(issued.certificate.as_bytes()).unwrap();
    let mut builder = reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", "127.0.0.1:0".parse().unwrap());
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn tls_is_terminated_for_http1_and_http2_clients() {
    let gateway = Gateway::new(GatewayConfig::default());
    let echo = start_version_echo().await;
    gateway
        .update_endpoints(&WorkloadKey::new("team", "echo"), &[&echo])
        .unwrap();
    let issued = self_signed();
    let base = start_tls_gateway(&gateway, &issued).await;
    for (http1_only, expected) in [
        (true, reqwest::Version::HTTP_11),
        (false, reqwest::Version::HTTP_2),
    ] {
        let response = https_client(&issued, http1_only)
            .get(format!("{base}/team/echo/anything"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), expected);
        let status = response.status();
        let seen: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{seen}");
        assert_eq!(seen["proto"], "https", "{seen}");
        // Replicas are reached over plain HTTP/1.1 by default.
        assert_eq!(seen["version"], "HTTP/1.1", "{seen}");
    }
}

#[tokio::test]
async fn a_token_stream_passes_through_tls() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = format!("http://{}", listener.local_addr().unwrap());
    let config = ModelSimConfig {
        model: "m".into(),
        ..ModelSimConfig::default()
    };
    tokio::spawn(ModelSim::new(config).serve(listener, std::future::pending()));
    let gateway = Gateway::new(GatewayConfig::default());
    gateway
        .update_endpoints(&WorkloadKey::new("team", "m"), &[&sim])
        .unwrap();
    let issued = self_signed();
    let base = start_tls_gateway(&gateway, &issued).await;
    let body = json!({
        "model": "m", "stream": true, "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let response = https_client(&issued, false)
        .post(format!("{base}/team/m/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let chunks = text.lines().filter(|l| l.starts_with("data: {")).count();
    assert!(chunks >= 5, "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
}

#[tokio::test]
async fn replicas_can_be_reached_over_http2() {
    let gateway = Gateway::new(GatewayConfig {
        upstream_http2: true,
        ..GatewayConfig::default()
    });
    let echo = start_version_echo().await;
    gateway
        .update_endpoints(&WorkloadKey::new("team", "echo"), &[&echo])
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));
    let seen: Value = reqwest::get(format!("{base}/team/echo/x"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["version"], "HTTP/2.0", "{seen}");
    assert_eq!(seen["proto"], "http", "{seen}");
}

#[test]
fn unusable_certificates_and_keys_are_refused_with_the_reason() {
    let issued = self_signed();
    let other = self_signed();
    let missing = TlsConfig::from_pem_files("/nonexistent/tls.crt", "/nonexistent/tls.key").unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/tls.crt"), "{missing}");
    let empty = TlsConfig::from_pem(b"", issued.key.as_bytes()).unwrap_err();
    assert!(
        matches!(
            empty,
            TlsError::Pem {
                what: "certificate",
                ..
            }
        ),
        "{empty}"
    );
    let no_key = TlsConfig::from_pem(issued.certificate.as_bytes(), b"junk").unwrap_err();
    assert!(no_key.to_string().contains("private key"), "{no_key}");
    let mismatched = TlsConfig::from_pem(issued.certificate.as_bytes(), other.key.as_bytes()).unwrap_err();
    assert!(matches!(mismatched, TlsError::Rustls(_)), "{mismatched}");
}
