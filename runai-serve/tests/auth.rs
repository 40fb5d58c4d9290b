//! Authentication and access through the gateway over real loopback sockets: every access
//! policy against every kind of token, keys from a JWKS served over HTTP (with rotation), a
//! shared secret, and the guarantee that a refused request never reaches a replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use runai_core::spec::AuthorizationType;
use runai_serve::gateway::{
    AccessPolicy, AuthConfig, Authenticator, Gateway, GatewayConfig, GatewayError, KeySource, WorkloadKey,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://runai.test";
const AUDIENCE: &str = "runai-inference";

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// base64url without padding, as JWTs and JWKs use it.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// An ES256 signing key and its public JWK.
struct SigningKey {
    kid: &'static str,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn es256(kid: &'static str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let point = pair.public_key_raw();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        Self {
            kid,
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "kid": kid,
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
            }),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn claims(user: &str, groups: &[&str]) -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": user, "preferred_username": user,
        "groups": groups, "iat": now(), "exp": now() + 600,
    })
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

/// A JWKS document served over HTTP, replaceable while serving, counting its fetches.
#[derive(Clone)]
struct JwksServer {
    document: Arc<std::sync::Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    url: String,
}

impl JwksServer {
    async fn start(keys: &[&SigningKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let server = Self {
            document: Arc::new(std::sync::Mutex::new(Value::Null)),
            fetches: Arc::new(AtomicUsize::new(0)),
            url,
        };
        server.publish(keys);
        let shared = server.clone();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let shared = shared.clone();
                async move {
                    shared.fetches.fetch_add(1, Ordering::SeqCst);
                    axum::Json(shared.document.lock().unwrap().clone())
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        server
    }

    fn publish(&self, keys: &[&SigningKey]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
        *self.document.lock().unwrap() = json!({ "keys": keys });
    }
}

/// A replica that answers 200 and counts every connection it accepts, so a test can tell
/// that no byte reached it.
async fn start_counting_replica() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                        Bytes::from_static(b"served"),
                    )))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (base, connections)
}

async fn start_gateway(gateway: &Gateway) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gateway.clone().serve(listener, std::future::pending()));
    base
}

async fn get(client: &HttpClient, url: &str, token: Option<&str>) -> (u16, HeaderMap, String) {
    let mut request = hyper::Request::get(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = client.request(request.body(Empty::new()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn jwks_auth(url: &str) -> Authenticator {
    let mut config = AuthConfig::new(
        KeySource::JwksUrl {
            url: url.to_owned(),
            refresh: Duration::from_secs(300),
        },
        ISSUER,
    )
    .with_audience(AUDIENCE);
    config.min_refresh_interval = Duration::ZERO;
    Authenticator::new(config).unwrap()
}

#[tokio::test]
async fn every_policy_against_every_kind_of_token() {
    let key = SigningKey::es256("k1");
    let stranger = SigningKey::es256("k1"); // same kid, key the gateway does not know
    let jwks = JwksServer::start(&[&key]).await;
    let gateway = Gateway::builder(GatewayConfig::default())
        .authenticator(jwks_auth(&jwks.url))
        .build();
    let (replica, _) = start_counting_replica().await;
    let policies = [
        ("public", AccessPolicy::public()),
        ("authenticated", AccessPolicy::authenticated()),
        ("users", AccessPolicy::users(["alice"])),
        ("groups", AccessPolicy::groups(["ml"])),
        (
            "either",
            AccessPolicy {
                authorization: AuthorizationType::AuthorizedUsersOrGroups,
                users: Vec::new(),
                groups: vec!["ml".into()],
            },
        ),
    ];
    for (name, policy) in &policies {
        let workload = WorkloadKey::new("team", *name);
        gateway.update_endpoints(&workload, &[&replica]).unwrap();
        gateway.set_access(&workload, policy.clone()).unwrap();
    }
    let alice = claims("alice", &["ml"]);
    let none_token = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(alice.to_string().as_bytes())
    );
    // An HMAC token keyed with the public key's JSON: the classic algorithm confusion.
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &hs_header,
        &alice,
        &EncodingKey::from_secret(key.jwk.to_string().as_bytes()),
    )
    .unwrap();
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("garbage", Some("not-a-jwt".into())),
        (
            "expired",
            Some(key.sign(&with(alice.clone(), "exp", json!(now() - 3600)))),
        ),
        (
            "not yet valid",
            Some(key.sign(&with(alice.clone(), "nbf", json!(now() + 3600)))),
        ),
        (
            "wrong audience",
            Some(key.sign(&with(alice.clone(), "aud", json!("someone-else")))),
        ),
        (
            "wrong issuer",
            Some(key.sign(&with(alice.clone(), "iss", json!("https://evil.test")))),
        ),
        ("alg none", Some(none_token)),
        ("algorithm confusion", Some(confused)),
        ("unknown signer", Some(stranger.sign(&alice))),
        ("valid without access", Some(key.sign(&claims("carol", &["ops"])))),
        ("valid", Some(key.sign(&alice))),
    ];
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let gateway_url = start_gateway(&gateway).await;
    for (policy, _) in &policies {
        for (token_name, token) in &tokens {
            let expected = match (*policy, *token_name) {
                ("public", _) | (_, "valid") => 200,
                ("authenticated", "valid without access") => 200,
                (_, "valid without access") => 403,
                _ => 401,
            };
            let url = format!("{gateway_url}/team/{policy}/v1/models");
            let (status, headers, body) = get(&client, &url, token.as_deref()).await;
            assert_eq!(status, expected, "policy {policy}, token {token_name}: {body}");
            if status == 401 {
                let challenge = headers["www-authenticate"].to_str().unwrap();
                assert!(challenge.starts_with("Bearer"), "{challenge}");
                let message = serde_json::from_str::<Value>(&body).unwrap()["error"]["message"].clone();
                assert!(message.is_string(), "{body}");
            }
        }
    }
}

/// A gateway verifying with `auth` and one workload, `team/llm` under `policy`, in front of a
/// replica that counts its connections: the URL of `path` on the workload, a client, and the
/// replica's connection count.
async fn protected(
    auth: Authenticator,
    policy: AccessPolicy,
    path: &str,
) -> (String, HttpClient, Arc<AtomicUsize>) {
    let gateway = Gateway::builder(GatewayConfig::default())
        .authenticator(auth)
        .build();
    let (replica, connections) = start_counting_replica().await;
    let workload = WorkloadKey::new("team", "llm");
    gateway.update_endpoints(&workload, &[&replica]).unwrap();
    gateway.set_access(&workload, policy).unwrap();
    let url = format!("{}/team/llm{path}", start_gateway(&gateway).await);
    (
        url,
        Client::builder(TokioExecutor::new()).build_http(),
        connections,
    )
}

#[tokio::test]
async fn a_refused_request_never_reaches_the_replica() {
    let key = SigningKey::es256("k1");
    let jwks = JwksServer::start(&[&key]).await;
    let policy = AccessPolicy::users(["alice"]);
    let (url, client, connections) = protected(jwks_auth(&jwks.url), policy, "/v1/chat/completions").await;
    let carol = key.sign(&claims("carol", &[]));
    for token in [None, Some("bad"), Some(carol.as_str())] {
        let (status, ..) = get(&client, &url, token).await;
        assert!(status == 401 || status == 403, "{status}");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a refused request reached the replica"
    );
    let (status, _, body) = get(&client, &url, Some(&key.sign(&claims("alice", &[])))).await;
    assert_eq!((status, body.as_str()), (200, "served"));
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let old = SigningKey::es256("2026-01");
    let new = SigningKey::es256("2026-02");
    let jwks = JwksServer::start(&[&old]).await;
    let (url, client, _) = protected(jwks_auth(&jwks.url), AccessPolicy::authenticated(), "/v1/models").await;
    let token = old.sign(&claims("alice", &[]));
    assert_eq!(get(&client, &url, Some(&token)).await.0, 200);
    // The same token again is remembered: no second fetch.
    assert_eq!(get(&client, &url, Some(&token)).await.0, 200);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
    // The issuer rotates: the new key appears, and a token naming it triggers one fetch.
    jwks.publish(&[&old, &new]);
    assert_eq!(
        get(&client, &url, Some(&new.sign(&claims("bob", &[])))).await.0,
        200
    );
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unknown_key_does_not_refetch_faster_than_the_rate_limit() {
    let key = SigningKey::es256("k1");
    let jwks = JwksServer::start(&[&key]).await;
    // The default rate limit: at most one fetch per 10 s for unknown keys.
    let config = AuthConfig::new(
        KeySource::JwksUrl {
            url: jwks.url.clone(),
            refresh: Duration::from_secs(300),
        },
        ISSUER,
    );
    let auth = Authenticator::new(config).unwrap();
    let (url, client, _) = protected(auth, AccessPolicy::authenticated(), "/v1/models").await;
    let forger = SigningKey::es256("made-up");
    for _ in 0..20 {
        let (status, _, body) = get(&client, &url, Some(&forger.sign(&claims("x", &[])))).await;
        assert_eq!(status, 401);
        assert!(body.contains("made-up"), "{body}");
    }
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        1,
        "unknown keys hammered the JWKS"
    );
}

#[tokio::test]
async fn service_accounts_are_matched_by_their_client_id() {
    let key = SigningKey::es256("k1");
    let jwks = JwksServer::start(&[&key]).await;
    let (url, client, _) = protected(
        jwks_auth(&jwks.url),
        AccessPolicy::users(["ci-bot"]),
        "/v1/models",
    )
    .await;
    let mut bot = claims("service-account-1234", &[]);
    bot["client_id"] = json!("ci-bot");
    assert_eq!(get(&client, &url, Some(&key.sign(&bot))).await.0, 403);
    bot["account_type"] = json!("service_account");
    assert_eq!(get(&client, &url, Some(&key.sign(&bot))).await.0, 200);
}

#[tokio::test]
async fn a_shared_secret_verifies_hmac_tokens_and_nothing_else() {
    let secret = b"0123456789abcdef0123456789abcdef-shared".to_vec();
    let auth = Authenticator::new(AuthConfig::new(KeySource::SharedSecret(secret.clone()), ISSUER)).unwrap();
    let (url, client, _) = protected(auth, AccessPolicy::authenticated(), "/v1/models").await;
    let hmac = |key: &[u8]| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims("alice", &[]),
            &EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    assert_eq!(get(&client, &url, Some(&hmac(&secret))).await.0, 200);
    let es = SigningKey::es256("k1").sign(&claims("alice", &[]));
    assert_eq!(get(&client, &url, Some(&es)).await.0, 401);
    let (status, _, body) = get(
        &client,
        &url,
        Some(&hmac(b"another-secret-another-secret-another")),
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("signature"), "{body}");
}

#[tokio::test]
async fn an_unreachable_jwks_gives_503_not_401() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks.json", closed.local_addr().unwrap());
    drop(closed);
    let (url, client, _) = protected(jwks_auth(&jwks_url), AccessPolicy::authenticated(), "/").await;
    let token = SigningKey::es256("k1").sign(&claims("alice", &[]));
    let (status, headers, body) = get(&client, &url, Some(&token)).await;
    assert_eq!(status, 503, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert!(body.contains("jwks.json"), "{body}");
}

#[test]
fn a_protected_policy_without_an_authenticator_is_refused() {
    let gateway = Gateway::new(GatewayConfig::default());
    let error = gateway
        .set_access(&WorkloadKey::new("team", "llm"), AccessPolicy::authenticated())
        .unwrap_err();
    assert!(matches!(error, GatewayError::NoAuthenticator { .. }));
    assert!(error.to_string().contains("Authenticator"), "{error}");
    gateway
        .set_access(&WorkloadKey::new("team", "llm"), AccessPolicy::public())
        .unwrap();
}
