//! Fuzzing every parser that reads outside input: workload specs as JSON and YAML with their
//! validation, the platform configuration, JWTs through the verifier, requests through the
//! gateway's routing and token checks, Prometheus text and the trace CSV readers.
//!
//! Each target gets two kinds of input: byte mutations of real samples (the request
//! fixtures of runai-core, the example configuration, tokens signed at run time) and, where
//! a structure helps, generated documents. The property is the same everywhere: a result
//! comes back, never a panic or a hang, and errors are typed values.
//!
//! `cargo test` runs a bounded number of cases (`PROPTEST_CASES`, 64 by default here);
//! `bench/fuzz.sh --minutes N` runs many more, and proptest saves any failing input in
//! `tests/fuzz.proptest-regressions`, replayed first on every later run.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::json;

/// Real samples from the repository, the seeds of the byte mutations.
const WORKLOAD_SEEDS: &[&str] = &[
    include_str!("../runai-core/tests/fixtures/requests/inference-create-full.json"),
    include_str!("../runai-core/tests/fixtures/requests/inference-create-minimal.json"),
    include_str!("../runai-core/tests/fixtures/requests/inference-create-memory.json"),
    include_str!("../runai-core/tests/fixtures/requests/inference-update.json"),
    include_str!("../runai-core/tests/fixtures/requests/distributed-inference-create.json"),
    include_str!("../runai-core/tests/fixtures/requests/nim-service-create.json"),
];

const PLATFORM_YAML: &str = include_str!("../examples/platform.yaml");

/// The README's quickstart workload.
const WORKLOAD_YAML: &str = r#"name: hello
projectId: "1"
clusterId: 00000000-0000-4000-8000-000000000001
spec:
  image: runai/model-sim
  servingPort: {container: 8000, authorizationType: authenticatedUsers}
  compute: {gpuDevicesRequest: 1, gpuPortionRequest: 0.5}
  autoscaling: {minReplicas: 0, maxReplicas: 3, metric: concurrency, metricThreshold: 4}
"#;

/// A vLLM metrics page, in the shape the model servers expose.
const PROMETHEUS_TEXT: &str = r#"# HELP vllm:num_requests_running Number of requests running.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="sim"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="sim"} 1
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="sim"} 0.42
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{model_name="sim",le="0.1"} 4
vllm:time_to_first_token_seconds_bucket{model_name="sim",le="1.0"} 9
vllm:time_to_first_token_seconds_bucket{model_name="sim",le="+Inf"} 10
vllm:time_to_first_token_seconds_sum{model_name="sim"} 3.5
vllm:time_to_first_token_seconds_count{model_name="sim"} 10
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{model_name="sim"} 1.5e3
# EOF
"#;

const NODES_CSV: &str =
    "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nn1,96000,786432,8,V100M32\n";
const PODS_CSV: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np0,6000,12288,1,460,\np1,8000,1024,2,1000,V100M16|V100M32\n";
const AZURE_CSV: &str =
    "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6,4808,10\n2023-11-16 18:15:50.9,3180,8\n";

fn config() -> Config {
    // PROPTEST_CASES overrides this, as bench/fuzz.sh does.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..Config::default()
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Duplicate {
        at: usize,
        len: usize,
    },
    /// An interesting token: delimiters, numbers at the edges of their types, escapes.
    Splice {
        at: usize,
        token: usize,
    },
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "-1",
    "0",
    "1e309",
    "-0",
    "18446744073709551616",
    "9223372036854775807",
    "NaN",
    "\\u0000",
    "\\ud800",
    "\n",
    "\r\n",
    ": ",
    "- ",
    "&a",
    "*a",
    "!!str",
    "\t",
    "\u{feff}",
    "%",
    ".",
    "..",
    "=",
    "\"\"",
    "{{",
    "# ",
    "le=\"",
    "+Inf",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (any::<usize>(), 1usize..32).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Duplicate { at, len }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Edit::Splice { at, token }),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for edit in edits {
        let len = bytes.len();
        let at = |at: usize| if len == 0 { 0 } else { at % (len + 1) };
        match edit {
            Edit::Flip { at: i, bit } if len > 0 => bytes[i % len] ^= 1 << bit,
            Edit::Flip { .. } => {}
            Edit::Insert { at: i, bytes: new } => {
                let i = at(*i);
                bytes.splice(i..i, new.iter().copied());
            }
            Edit::Delete { at: i, len: n } => {
                let i = at(*i);
                let end = (i + n).min(len);
                bytes.drain(i..end);
            }
            Edit::Duplicate { at: i, len: n } => {
                let i = at(*i);
                let end = (i + n).min(len);
                let copy = bytes[i..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Splice { at: i, token } => {
                let i = at(*i);
                bytes.splice(i..i, TOKENS[*token].bytes());
            }
        }
    }
    bytes
}

/// A seed from `seeds`, mutated by up to 16 edits.
fn mutated(seeds: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (0..seeds.len(), proptest::collection::vec(edit(), 0..16))
        .prop_map(move |(seed, edits)| apply(seeds[seed].as_bytes(), &edits))
}

/// Workload specs through the strict parser and, when they parse, validation and defaults.
fn check_workload(text: &str) {
    use runai_core::{
        DistributedInferenceCreationRequest, InferenceCreationRequest, NimServiceCreateRequest, Validate,
    };
    if let Ok(request) = runai_core::parse::strict::<InferenceCreationRequest>(text) {
        let _ = request.validate();
    }
    if let Ok(request) = runai_core::parse::strict::<DistributedInferenceCreationRequest>(text) {
        let _ = request.validate();
    }
    if let Ok(request) = runai_core::parse::strict::<NimServiceCreateRequest>(text) {
        let _ = request.validate();
    }
    let _ = runai_core::parse::lenient::<InferenceCreationRequest>(text);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn workload_json_never_panics(bytes in mutated(WORKLOAD_SEEDS)) {
        check_workload(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn workload_yaml_never_panics(bytes in mutated(&[WORKLOAD_YAML])) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(request) = serde_saphyr::from_str::<runai_core::InferenceCreationRequest>(&text) {
            let _ = runai_core::Validate::validate(&request);
        }
    }

    #[test]
    fn platform_configuration_never_panics(bytes in mutated(&[PLATFORM_YAML])) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = runai::serve::platform::PlatformConfig::from_yaml(&text, "fuzz.yaml");
    }

    #[test]
    fn prometheus_text_never_panics(bytes in mutated(&[PROMETHEUS_TEXT])) {
        let page = String::from_utf8_lossy(&bytes);
        let metrics = runai::serve::observe::ModelMetrics::parse(&page);
        let _ = metrics.since(&runai::serve::observe::ModelMetrics::parse(PROMETHEUS_TEXT), std::time::Duration::from_secs(1));
    }

    #[test]
    fn trace_csv_never_panics(bytes in mutated(&[NODES_CSV, PODS_CSV, AZURE_CSV])) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = runai_sched::sim::parse_nodes(&text);
        let _ = runai_sched::sim::parse_pods(&text);
        let _ = runai_sched::sim::parse_azure_trace(&text);
    }

    #[test]
    fn generated_csv_rows_never_panic(
        rows in proptest::collection::vec(proptest::collection::vec("[-0-9a-zA-Z.|: ]{0,12}", 0..8), 0..8)
    ) {
        for header in ["sn,cpu_milli,memory_mib,gpu,model", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec", "TIMESTAMP,ContextTokens,GeneratedTokens"] {
            let body: Vec<String> = rows.iter().map(|r| r.join(",")).collect();
            let text = format!("{header}\n{}\n", body.join("\n"));
            let _ = runai_sched::sim::parse_nodes(&text);
            let _ = runai_sched::sim::parse_pods(&text);
            let _ = runai_sched::sim::parse_azure_trace(&text);
        }
    }
}

/// A gateway with one protected workload and the issuer's verifier, driven in memory, and a
/// real token to mutate.
struct GatewayTarget {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    tokens: Vec<String>,
}

fn gateway_target() -> &'static GatewayTarget {
    static TARGET: OnceLock<GatewayTarget> = OnceLock::new();
    TARGET.get_or_init(|| {
        use runai::serve::gateway::{AccessPolicy, Gateway, GatewayConfig, WorkloadKey};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let store = runai::serve::store::Store::open_in_memory().unwrap();
        let issuer = runai::serve::control::TokenIssuer::new(store.clone(), "https://fuzz");
        let auth = issuer.authenticator().unwrap();
        let issued = store
            .create_credential(runai::serve::store::CredentialKind::ServiceAccount, "fuzz", None)
            .unwrap();
        let token = issuer
            .issue(&issued.credential.client_id, &issued.client_secret)
            .unwrap()
            .access_token;
        let gateway = Gateway::builder(GatewayConfig::default())
            .authenticator(auth)
            .build();
        let key = WorkloadKey::new("p", "w");
        // Port 9 on loopback refuses connections: an accepted request gets 502, quickly.
        gateway.update_endpoints(&key, &["http://127.0.0.1:9"]).unwrap();
        gateway.set_access(&key, AccessPolicy::authenticated()).unwrap();
        GatewayTarget {
            runtime,
            router: gateway.router(),
            tokens: vec![token],
        }
    })
}

/// Sends one request through the gateway router; its status.
fn through_gateway(method: &[u8], path: &str, headers: &[(Vec<u8>, Vec<u8>)], body: Vec<u8>) -> Option<u16> {
    use tower::ServiceExt as _;
    let target = gateway_target();
    let method = axum::http::Method::from_bytes(method).ok()?;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name.as_slice(), value.as_slice());
    }
    let request = request.body(axum::body::Body::from(body)).ok()?;
    let response = target
        .runtime
        .block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                target.router.clone().oneshot(request),
            )
            .await
        })
        .expect("the gateway answers within 10 s")
        .expect("the router is infallible");
    Some(response.status().as_u16())
}

fn token_seed() -> impl Strategy<Value = Vec<u8>> {
    (proptest::collection::vec(edit(), 0..12)).prop_map(|edits| {
        let token = &gateway_target().tokens[0];
        apply(token.as_bytes(), &edits)
    })
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_tokens_are_refused_or_accepted_never_crash(token in token_seed()) {
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(&token);
        // The header's surrounding whitespace is not part of the token (RFC 9110 §5.5).
        let original = token.trim_ascii() == gateway_target().tokens[0].as_bytes();
        if let Some(status) = through_gateway(b"GET", "/p/w/v1/models", &[(b"authorization".to_vec(), value)], Vec::new()) {
            // The untouched token passes the check (and then meets the closed port: 502);
            // every real change to a signed token is refused.
            let expected = if original { 502 } else { 401 };
            prop_assert_eq!(status, expected, "token {:?}", String::from_utf8_lossy(&token));
        }
    }

    #[test]
    fn generated_claims_never_crash_the_verifier(
        claims in proptest::collection::btree_map(
            prop_oneof![Just("iss".to_owned()), Just("aud".to_owned()), Just("sub".to_owned()), Just("exp".to_owned()), Just("nbf".to_owned()), "[a-z]{1,4}"],
            prop_oneof![
                Just(json!(null)), any::<i64>().prop_map(|n| json!(n)), any::<f64>().prop_map(|f| json!(f)),
                "[ -~]{0,12}".prop_map(|s| json!(s)), Just(json!([])), Just(json!({})), Just(json!(["runai"])),
                Just(json!("https://fuzz")), Just(json!(now() + 100)),
            ],
            0..8,
        ),
        alg in prop_oneof![Just("ES256".to_owned()), Just("HS256".to_owned()), Just("none".to_owned()), Just("RS256".to_owned()), "[A-Za-z0-9]{0,6}"],
    ) {
        use base64::Engine as _;
        let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!("{}.{}.c2ln", b64(&json!({"alg": alg})), b64(&serde_json::to_value(&claims).unwrap()));
        let value = format!("Bearer {token}").into_bytes();
        if let Some(status) = through_gateway(b"GET", "/p/w/", &[(b"authorization".to_vec(), value)], Vec::new()) {
            prop_assert_eq!(status, 401);
        }
    }

    #[test]
    fn arbitrary_requests_get_an_answer(
        method in prop_oneof![Just(b"GET".to_vec()), Just(b"POST".to_vec()), proptest::collection::vec(any::<u8>(), 1..8)],
        path in prop_oneof![
            Just("/p/w/v1/chat/completions".to_owned()),
            "/[a-z%./]{0,12}/[a-z%./]{0,12}(/[ -~]{0,16})?",
            "[ -~]{0,40}",
        ],
        headers in proptest::collection::vec(
            (prop_oneof![Just(b"host".to_vec()), Just(b"content-length".to_vec()), Just(b"connection".to_vec()), Just(b"authorization".to_vec()), Just(b"x-forwarded-for".to_vec()), proptest::collection::vec(any::<u8>(), 1..12)],
             proptest::collection::vec(any::<u8>(), 0..24)),
            0..6,
        ),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        if let Some(status) = through_gateway(&method, &path, &headers, body) {
            prop_assert!((200..600).contains(&status));
        }
    }
}
