//! The token matrix: every row is a way to present a token (missing, null or mistyped
//! claims, `alg: none` in every casing, HMAC keyed with the public key, unknown and
//! traversal key ids, embedded keys, damaged signatures, oversized tokens, wrong schemes,
//! two headers) with the status it must get. Each row is sent as raw bytes over a real
//! socket to the gateway and to the control API, which share one verifier, and to a
//! gateway keyed with a shared secret. A refused token never reaches the replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use runai_serve::control::{ApiSettings, ControlApi, TokenIssuer};
use runai_serve::gateway::{
    AccessPolicy, AuthConfig, Authenticator, Gateway, GatewayConfig, KeySource, WorkloadKey,
};
use runai_serve::server::{ErrorShape, ServerLimits, serve_router};
use runai_serve::store::Store;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUER: &str = "https://runai.matrix";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-matrix";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A token from raw header and claims JSON, signed with `key` under `alg`.
fn signed(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// The key that really signs, with what an attacker can know of it.
struct Signer {
    kid: String,
    key: EncodingKey,
    alg: Algorithm,
    /// The public key as PEM, DER (SPKI) and JWK text: what an attacker tries as an HMAC key.
    public_forms: Vec<(&'static str, Vec<u8>)>,
}

impl Signer {
    fn token(&self, claims: &Value) -> String {
        signed(
            &json!({"alg": alg_name(self.alg), "typ": "JWT", "kid": self.kid}),
            claims,
            &self.key,
            self.alg,
        )
    }
}

fn alg_name(alg: Algorithm) -> String {
    serde_json::to_value(alg).unwrap().as_str().unwrap().to_owned()
}

fn good_claims(audience: &str) -> Value {
    json!({"iss": ISSUER, "aud": audience, "sub": "alice", "preferred_username": "alice", "iat": now(), "exp": now() + 600})
}

fn with(mut claims: Value, field: &str, value: Option<Value>) -> Value {
    match value {
        Some(value) => claims[field] = value,
        None => {
            claims.as_object_mut().unwrap().remove(field);
        }
    }
    claims
}

/// One row: what is sent in place of the Authorization header(s), and the status due.
struct Row {
    name: String,
    authorization: Vec<String>,
    status: u16,
}

fn row(name: impl Into<String>, token: &str, status: u16) -> Row {
    Row {
        name: name.into(),
        authorization: vec![format!("Bearer {token}")],
        status,
    }
}

/// Rows about claims, for any signer.
fn claim_rows(signer: &Signer, audience: &str) -> Vec<Row> {
    let good = good_claims(audience);
    let mut rows = vec![row("valid", &signer.token(&good), 200)];
    let claim_cases: Vec<(&str, &str, Option<Value>, u16)> = vec![
        ("aud missing", "aud", None, 401),
        ("aud null", "aud", Some(json!(null)), 401),
        ("aud numeric", "aud", Some(json!(123)), 401),
        ("aud object", "aud", Some(json!({})), 401),
        ("aud empty array", "aud", Some(json!([])), 401),
        ("aud array with a number", "aud", Some(json!([audience, 1])), 401),
        ("aud wrong string", "aud", Some(json!("someone-else")), 401),
        ("aud wrong array", "aud", Some(json!(["someone-else"])), 401),
        (
            "aud array naming it",
            "aud",
            Some(json!(["someone-else", audience])),
            200,
        ),
        ("iss missing", "iss", None, 401),
        ("iss null", "iss", Some(json!(null)), 401),
        ("iss as an array", "iss", Some(json!([ISSUER])), 401),
        ("iss numeric", "iss", Some(json!(1)), 401),
        ("iss wrong", "iss", Some(json!("https://evil.example")), 401),
        ("sub missing", "sub", None, 401),
        ("sub null", "sub", Some(json!(null)), 401),
        ("sub numeric", "sub", Some(json!(42)), 401),
        ("sub empty", "sub", Some(json!("")), 401),
        ("exp missing", "exp", None, 401),
        ("exp null", "exp", Some(json!(null)), 401),
        ("exp as text", "exp", Some(json!("tomorrow")), 401),
        ("exp past", "exp", Some(json!(now() - 3600)), 401),
        ("nbf future", "nbf", Some(json!(now() + 3600)), 401),
        ("nbf past", "nbf", Some(json!(now() - 60)), 200),
        ("nbf as text", "nbf", Some(json!("now")), 401),
        ("iat as an object", "iat", Some(json!({})), 401),
    ];
    for (name, field, value, status) in claim_cases {
        rows.push(row(
            name,
            &signer.token(&with(good.clone(), field, value)),
            status,
        ));
    }
    let header = json!({"alg": alg_name(signer.alg), "kid": signer.kid});
    rows.push(row(
        "claims an array",
        &signed(&header, &json!([1, 2]), &signer.key, signer.alg),
        401,
    ));
    rows.push(row(
        "claims a string",
        &signed(&header, &json!("alice"), &signer.key, signer.alg),
        401,
    ));
    rows
}

/// Rows about the token's form, header and signature, for any signer.
fn form_rows(signer: &Signer, audience: &str) -> Vec<Row> {
    let good = good_claims(audience);
    let token = signer.token(&good);
    let (message, signature) = token.rsplit_once('.').unwrap();
    let payload = b64(good.to_string().as_bytes());
    let mut rows = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        rows.push(row(
            format!("alg {alg}, no signature"),
            &format!("{header}.{payload}."),
            401,
        ));
        rows.push(row(
            format!("alg {alg}, signature kept"),
            &format!("{header}.{payload}.{signature}"),
            401,
        ));
    }
    for (form, bytes) in &signer.public_forms {
        let hmac = EncodingKey::from_secret(bytes);
        for kid in [Some(signer.kid.as_str()), None] {
            let header = match kid {
                Some(kid) => json!({"alg": "HS256", "kid": kid}),
                None => json!({"alg": "HS256"}),
            };
            let name = format!("HS256 keyed with the public key ({form}, kid {kid:?})");
            rows.push(row(name, &signed(&header, &good, &hmac, Algorithm::HS256), 401));
        }
    }
    let resigned = |header: Value| signed(&header, &good, &signer.key, signer.alg);
    let alg = alg_name(signer.alg);
    rows.push(row(
        "unknown kid",
        &resigned(json!({"alg": alg, "kid": "no-such-key"})),
        401,
    ));
    rows.push(row(
        "traversal kid",
        &resigned(json!({"alg": alg, "kid": "../../../../etc/passwd"})),
        401,
    ));
    rows.push(row(
        "injection kid",
        &resigned(json!({"alg": alg, "kid": "' OR '1'='1"})),
        401,
    ));
    rows.push(row(
        "critical extension",
        &resigned(json!({"alg": alg, "kid": signer.kid, "crit": ["exp"]})),
        401,
    ));
    // An attacker's own key, offered in the header.
    let attacker = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = attacker.public_key_raw();
    let attacker_jwk =
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    let attacker_key = EncodingKey::from_ec_der(&attacker.serialize_der());
    for (name, header) in [
        ("embedded jwk", json!({"alg": "ES256", "jwk": attacker_jwk})),
        (
            "jku to elsewhere",
            json!({"alg": "ES256", "jku": "http://127.0.0.1:9/jwks.json"}),
        ),
        (
            "own key under the real kid",
            json!({"alg": "ES256", "kid": signer.kid}),
        ),
    ] {
        rows.push(row(
            name,
            &signed(&header, &good, &attacker_key, Algorithm::ES256),
            401,
        ));
    }
    rows.push(row("signature stripped", &format!("{message}."), 401));
    rows.push(row("signature missing", message, 401));
    rows.push(row(
        "signature truncated",
        &format!("{message}.{}", &signature[..signature.len() / 2]),
        401,
    ));
    let mut flipped = signature.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    rows.push(row("signature flipped", &format!("{message}.{flipped}"), 401));
    let (header_part, _) = message.split_once('.').unwrap();
    let forged = b64(with(good.clone(), "sub", Some(json!("admin")))
        .to_string()
        .as_bytes());
    rows.push(row(
        "payload swapped",
        &format!("{header_part}.{forged}.{signature}"),
        401,
    ));
    rows.push(row("four segments", &format!("{token}.{signature}"), 401));
    rows.push(row("not base64", "!!!.???.***", 401));
    let padded = with(good.clone(), "pad", Some(json!("x".repeat(17 * 1024))));
    rows.push(row("token over 16 KiB", &signer.token(&padded), 401));
    let huge = with(good, "pad", Some(json!("x".repeat(40 * 1024))));
    rows.push(row("header over the per-header limit", &signer.token(&huge), 431));
    let schemes = [
        ("lower-case scheme", format!("bearer {token}"), 200),
        ("Basic scheme", format!("Basic {}", b64(b"alice:secret")), 401),
        ("Token scheme", format!("Token {token}"), 401),
        ("no scheme", token.clone(), 401),
        ("empty bearer", "Bearer ".to_owned(), 401),
    ];
    for (name, value, status) in schemes {
        rows.push(Row {
            name: name.into(),
            authorization: vec![value],
            status,
        });
    }
    rows.push(Row {
        name: "no Authorization header".into(),
        authorization: Vec::new(),
        status: 401,
    });
    rows.push(Row {
        name: "two Authorization headers, both valid".into(),
        authorization: vec![format!("Bearer {token}"), format!("Bearer {token}")],
        status: 401,
    });
    rows.push(Row {
        name: "two Authorization headers, one valid".into(),
        authorization: vec!["Bearer garbage".into(), format!("Bearer {token}")],
        status: 401,
    });
    rows
}

/// Sends a GET with the row's Authorization headers as raw bytes; the response's status.
async fn status_of(address: std::net::SocketAddr, path: &str, row: &Row) -> u16 {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for value in &row.authorization {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("row `{}`: no status line in {text:?}", row.name))
}

/// Every row against `address`; a list of the rows whose status differs.
async fn run(address: std::net::SocketAddr, path: &str, rows: &[Row]) -> Vec<String> {
    let mut wrong = Vec::new();
    for row in rows {
        let status = status_of(address, path, row).await;
        if status != row.status {
            wrong.push(format!("{}: expected {}, got {status}", row.name, row.status));
        }
    }
    wrong
}

/// A replica that answers 200 and counts the requests it gets.
async fn counting_replica() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app = axum::Router::new().fallback(move || {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            "served"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

async fn serve_gateway(auth: Authenticator, replica: &str) -> std::net::SocketAddr {
    let gateway = Gateway::builder(GatewayConfig::default())
        .authenticator(auth)
        .build();
    let key = WorkloadKey::new("p", "w");
    gateway.update_endpoints(&key, &[replica]).unwrap();
    gateway.set_access(&key, AccessPolicy::authenticated()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(gateway.serve(listener, std::future::pending()));
    address
}

fn expected_successes(rows: &[Row]) -> usize {
    rows.iter().filter(|r| r.status == 200).count()
}

#[tokio::test]
async fn the_embedded_issuer_s_tokens_through_the_gateway_and_the_api() {
    let store = Store::open_in_memory().unwrap();
    let issuer = TokenIssuer::new(store.clone(), ISSUER);
    let auth = issuer.authenticator().unwrap();
    let key = store.signing_keys().unwrap().remove(0);
    let pair = rcgen::KeyPair::try_from(key.private_der.as_slice()).unwrap();
    let jwk: Value = serde_json::from_str(&key.public_jwk).unwrap();
    let signer = Signer {
        kid: key.kid.clone(),
        key: EncodingKey::from_ec_der(&key.private_der),
        alg: Algorithm::ES256,
        public_forms: vec![
            ("PEM", pair.public_key_pem().into_bytes()),
            ("DER", rcgen::PublicKeyData::subject_public_key_info(&pair)),
            ("raw point", pair.public_key_raw().to_vec()),
            ("JWK", jwk.to_string().into_bytes()),
        ],
    };
    let audience = issuer.audience().to_owned();
    let mut rows = claim_rows(&signer, &audience);
    rows.extend(form_rows(&signer, &audience));
    println!("{} rows", rows.len());

    let (replica, hits) = counting_replica().await;
    let gateway = serve_gateway(auth.clone(), &replica).await;
    let wrong = run(gateway, "/p/w/v1/models", &rows).await;
    assert!(wrong.is_empty(), "gateway rows:\n{}", wrong.join("\n"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        expected_successes(&rows),
        "only accepted tokens reach the replica"
    );

    let api = ControlApi::with_authenticator(store, issuer, auth, ApiSettings::default()).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_router(
        listener,
        api,
        ServerLimits::default(),
        ErrorShape::RunAi,
        std::future::pending(),
    ));
    let wrong = run(address, "/api/v1/workloads", &rows).await;
    assert!(wrong.is_empty(), "control API rows:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn shared_secret_tokens_follow_the_same_rules() {
    let audience = "inference";
    let auth = Authenticator::new(
        AuthConfig::new(KeySource::SharedSecret(SECRET.to_vec()), ISSUER).with_audience(audience),
    )
    .unwrap();
    let signer = Signer {
        kid: "shared".into(),
        key: EncodingKey::from_secret(SECRET),
        alg: Algorithm::HS256,
        public_forms: Vec::new(),
    };
    let mut rows = claim_rows(&signer, audience);
    // A token asymmetrically signed is refused by a secret-keyed gateway.
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let es = EncodingKey::from_ec_der(&pair.serialize_der());
    rows.push(row(
        "ES256 token",
        &signed(
            &json!({"alg": "ES256"}),
            &good_claims(audience),
            &es,
            Algorithm::ES256,
        ),
        401,
    ));
    let other = EncodingKey::from_secret(b"another secret of at least 32 bytes long");
    rows.push(row(
        "HS256 with another secret",
        &signed(
            &json!({"alg": "HS256"}),
            &good_claims(audience),
            &other,
            Algorithm::HS256,
        ),
        401,
    ));
    let header = b64(json!({"alg": "none"}).to_string().as_bytes());
    let payload = b64(good_claims(audience).to_string().as_bytes());
    rows.push(row("alg none", &format!("{header}.{payload}."), 401));
    println!("{} rows", rows.len());

    let (replica, hits) = counting_replica().await;
    let gateway = serve_gateway(auth, &replica).await;
    let wrong = run(gateway, "/p/w/v1/models", &rows).await;
    assert!(wrong.is_empty(), "shared-secret rows:\n{}", wrong.join("\n"));
    assert_eq!(hits.load(Ordering::SeqCst), expected_successes(&rows));
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_old_ones_still_verify() {
    let store = Store::open_in_memory().unwrap();
    let issuer = TokenIssuer::new(store.clone(), ISSUER);
    let auth = issuer.authenticator().unwrap();
    let credential = store
        .create_credential(runai_serve::store::CredentialKind::ServiceAccount, "bot", None)
        .unwrap();
    let before = issuer
        .issue(&credential.credential.client_id, &credential.client_secret)
        .unwrap()
        .access_token;
    let new_kid = issuer.rotate_key().unwrap();
    auth.replace_jwks(&issuer.jwks().unwrap().to_string()).unwrap();
    let after = issuer
        .issue(&credential.credential.client_id, &credential.client_secret)
        .unwrap()
        .access_token;
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    assert_ne!(
        jsonwebtoken::decode_header(&before).unwrap().kid,
        jsonwebtoken::decode_header(&after).unwrap().kid
    );
    let (replica, _) = counting_replica().await;
    let gateway = serve_gateway(auth, &replica).await;
    for (name, token) in [("before rotation", &before), ("after rotation", &after)] {
        let status = status_of(gateway, "/p/w/", &row(name, token, 200)).await;
        assert_eq!(status, 200, "{name}");
    }
}
