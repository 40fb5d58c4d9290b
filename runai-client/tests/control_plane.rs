//! The control-plane client against a wiremock server: tokens, retries, the inference API,
//! lists and waiting. Request bodies are validated against the Run:ai OpenAPI document when
//! `RUNAI_OPENAPI_SPEC` names it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use futures_util::TryStreamExt;
use runai_client::{Client, Credentials, Error, RetryPolicy, WaitOptions};
use runai_core::list::{Filter, FilterOp, ListQuery, SortOrder};
use runai_core::{InferenceCreationRequest, InferenceMetricType, InferenceSpec, MetricsQuery, Phase};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[allow(dead_code, unreachable_pub)]
#[path = "../../runai-core/tests/support/openapi.rs"]
mod openapi;

/// A JWT-shaped token that expires `seconds` from now (only `exp` matters to the client).
fn jwt(seconds: u64, tag: &str) -> String {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + seconds;
    let encode = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{tag}",
        encode(json!({"alg": "RS256"})),
        encode(json!({"exp": exp, "sub": "sa"}))
    )
}

fn client(server: &MockServer, credentials: Credentials) -> Client {
    Client::builder(server.uri())
        .credentials(credentials)
        .retry(
            RetryPolicy::default()
                .min_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

fn service_account() -> Credentials {
    Credentials::client_credentials("sa-id", "sa-secret")
}

async fn token_endpoint(server: &MockServer, token: &str, expected: u64) {
    Mock::given(method("POST"))
        .and(path("/api/v1/token"))
        .and(body_json(
            json!({"grantType": "client_credentials", "clientId": "sa-id", "clientSecret": "sa-secret"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"accessToken": token, "expiresIn": 3600})),
        )
        .expect(expected)
        .mount(server)
        .await;
}

/// A workload status view, from runai-core's fixture of a real answer, in `phase`.
fn workload(phase: &str, message: Option<&str>) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../runai-core/tests/fixtures/responses/workloads-list.json"
    );
    let list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut workload = list["workloads"][0].clone();
    workload["name"] = json!("llama");
    workload["phase"] = json!(phase);
    workload["phaseMessage"] = json!(message);
    workload["urls"] = json!(["https://llama.team-a.example.com"]);
    workload
}

/// Validates a request body against the operation's schema in the OpenAPI document.
fn assert_valid_request(path: &'static str, method: &'static str, body: &Value) {
    let Some(spec_path) = std::env::var_os("RUNAI_OPENAPI_SPEC") else {
        eprintln!("skipped the OpenAPI check: RUNAI_OPENAPI_SPEC is not set");
        return;
    };
    let mut spec_path = std::path::PathBuf::from(spec_path);
    if !spec_path.exists() {
        spec_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(spec_path);
    }
    let spec = openapi::OpenApi::load(&spec_path).unwrap();
    let validator = spec
        .validator(
            openapi::Locator::RequestBody { path, method },
            openapi::Direction::Request,
        )
        .unwrap();
    let violations = openapi::violations(&validator, body);
    assert!(
        violations.is_empty(),
        "{method} {path}: {violations:#?}\n{body:#}"
    );
}

#[tokio::test]
async fn fifty_concurrent_calls_share_one_token_request() {
    let server = MockServer::start().await;
    let token = jwt(3600, "one");
    token_endpoint(&server, &token, 1).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/0b4e9a3c-1111-4000-8000-00000000abcd"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(workload("Running", None)))
        .expect(50)
        .mount(&server)
        .await;
    let client = client(&server, service_account());
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .workloads()
                .get("0b4e9a3c-1111-4000-8000-00000000abcd")
                .await
        })
    });
    for call in futures_util::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().phase, Phase::Running);
    }
}

#[tokio::test]
async fn a_token_about_to_expire_is_replaced_and_a_refused_one_is_retried_once() {
    let server = MockServer::start().await;
    // The first token expires within the 60 s margin: the next call fetches another.
    let issued = Arc::new(AtomicUsize::new(0));
    let tokens = [jwt(30, "first"), jwt(3600, "second"), jwt(3600, "third")];
    struct Issue(Arc<AtomicUsize>, [String; 3]);
    impl Respond for Issue {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({"accessToken": self.1[n.min(2)]}))
        }
    }
    Mock::given(method("POST"))
        .and(path("/api/v1/token"))
        .respond_with(Issue(Arc::clone(&issued), tokens.clone()))
        .mount(&server)
        .await;
    let client = client(&server, service_account());
    assert_eq!(client.token().await.unwrap().as_deref(), Some(tokens[0].as_str()));
    assert_eq!(client.token().await.unwrap().as_deref(), Some(tokens[1].as_str()));
    assert_eq!(issued.load(Ordering::SeqCst), 2);

    // The server refuses the second token: one new token, one retry, success.
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w1"))
        .and(header("authorization", format!("Bearer {}", tokens[1]).as_str()))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": 401, "message": "Issuer is not familiar."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w1"))
        .and(header("authorization", format!("Bearer {}", tokens[2]).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(workload("Running", None)))
        .expect(1)
        .mount(&server)
        .await;
    client.workloads().get("w1").await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn refused_credentials_and_a_refused_bearer_token_are_auth_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=sa-id"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "invalid_client", "error_description": "unknown client"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let oauth = client(
        &server,
        Credentials::OAuth2ClientCredentials {
            client_id: "sa-id".into(),
            client_secret: "sa-secret".into(),
        },
    );
    let error = oauth.workloads().get("w1").await.unwrap_err();
    assert!(matches!(error, Error::Auth(_)), "{error}");
    insta::assert_snapshot!("refused_client_credentials", error);

    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"code": 401, "message": "token expired"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let bearer = client(&server, Credentials::Bearer("stale".into()));
    let error = bearer.workloads().get("w1").await.unwrap_err();
    assert!(matches!(error, Error::Auth(_)), "{error}");
    insta::assert_snapshot!("refused_bearer_token", error);
}

/// Answers with the listed statuses in turn, then 200 with `body`.
struct Sequence {
    statuses: Vec<(u16, Option<&'static str>)>,
    body: Value,
    seen: AtomicUsize,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        match self.statuses.get(n) {
            Some((status, retry_after)) => {
                let template =
                    ResponseTemplate::new(*status).set_body_json(json!({"code": status, "message": "busy"}));
                match retry_after {
                    Some(seconds) => template.insert_header("retry-after", *seconds),
                    None => template,
                }
            }
            None => ResponseTemplate::new(200).set_body_json(self.body.clone()),
        }
    }
}

#[tokio::test]
async fn reads_are_retried_on_429_and_5xx_but_a_create_is_not_retried_on_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w1"))
        .respond_with(Sequence {
            statuses: vec![(503, None), (429, Some("0")), (502, None)],
            body: workload("Running", None),
            seen: AtomicUsize::new(0),
        })
        .expect(4)
        .mount(&server)
        .await;
    let client = client(&server, Credentials::None);
    assert_eq!(client.workloads().get("w1").await.unwrap().phase, Phase::Running);

    // Out of retries: the last answer is the error.
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w2"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"code": 500, "message": "database down"})),
        )
        .expect(4)
        .mount(&server)
        .await;
    let error = client.workloads().get("w2").await.unwrap_err();
    assert_eq!(error.status(), Some(500));

    // A create that failed on the server may have happened: tried once.
    Mock::given(method("POST"))
        .and(path("/api/v1/workloads/inferences"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let error = client.inferences().create(&creation()).await.unwrap_err();
    insta::assert_snapshot!("create_not_retried", error);

    // A create refused with 429 never started: it is retried.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/workloads/inferences"))
        .respond_with(Sequence {
            statuses: vec![(429, Some("0"))],
            body: inference_response(),
            seen: AtomicUsize::new(0),
        })
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server);
    client.inferences().create(&creation()).await.unwrap();
}

fn client_for(server: &MockServer) -> Client {
    client(server, Credentials::None)
}

fn creation() -> InferenceCreationRequest {
    InferenceCreationRequest {
        name: "llama".into(),
        project_id: "1".into(),
        cluster_id: "71f69d83-ba66-4822-adf5-55ce55efd210".into(),
        spec: Some(serde_json::from_value::<InferenceSpec>(json!({
            "image": "vllm/vllm-openai:v0.11.0",
            "servingPort": {"container": 8000, "protocol": "http"},
            "compute": {"gpuDevicesRequest": 1},
            "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "metric": "concurrency", "metricThreshold": 8}
        }))
        .unwrap()),
        ..InferenceCreationRequest::default()
    }
}

fn inference_response() -> Value {
    json!({
        "name": "llama", "requestedName": "llama", "workloadId": "0b4e9a3c-1111-4000-8000-00000000abcd",
        "projectId": "1", "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210", "createdBy": "sa",
        "createdAt": "2026-11-26T10:00:00Z", "desiredPhase": "Running",
        "spec": {"image": "vllm/vllm-openai:v0.11.0"}
    })
}

#[tokio::test]
async fn the_inference_api_sends_what_the_openapi_document_describes() {
    let server = MockServer::start().await;
    let id = "0b4e9a3c-1111-4000-8000-00000000abcd";
    let client = client_for(&server);

    Mock::given(method("POST"))
        .and(path("/api/v1/workloads/inferences"))
        .and(header("content-type", "application/json"))
        .and(header(
            "user-agent",
            concat!("runai-client/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(inference_response()))
        .expect(1)
        .mount(&server)
        .await;
    let created = client.inferences().create(&creation()).await.unwrap();
    assert_eq!(created.meta.workload_id.as_str(), id);

    Mock::given(method("PATCH"))
        .and(path(format!("/api/v1/workloads/inferences/{id}")))
        .and(body_json(json!({"spec": {"image": "vllm/vllm-openai:v0.11.1"}})))
        .respond_with(ResponseTemplate::new(202).set_body_json(inference_response()))
        .expect(1)
        .mount(&server)
        .await;
    let update = runai_core::InferenceUpdateRequest {
        spec: Some(runai_core::InferenceUpdateSpec {
            image: Some("vllm/vllm-openai:v0.11.1".into()),
            ..Default::default()
        }),
    };
    client.inferences().update(id, &update).await.unwrap();

    Mock::given(method("GET"))
        .and(path(format!("/api/v1/workloads/inferences/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(inference_response()))
        .expect(1)
        .mount(&server)
        .await;
    client.inferences().get(id).await.unwrap();

    Mock::given(method("GET"))
        .and(path(format!("/api/v1/workloads/inferences/{id}/revisions")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revisions": []})))
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        client
            .inferences()
            .revisions(id)
            .await
            .unwrap()
            .revisions
            .is_empty()
    );

    // Several metric types in one comma-separated parameter; 207 is a partial answer.
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/workloads/inferences/{id}/metrics")))
        .and(query_param("metricType", "THROUGHPUT,LATENCY"))
        .and(query_param("start", "2026-11-26T10:00:00Z"))
        .and(query_param("end", "2026-11-26T11:00:00Z"))
        .and(query_param("numberOfSamples", "12"))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({"measurements": [
            {"type": "THROUGHPUT", "labels": null, "values": [{"value": "85", "timestamp": "2026-11-26T10:05:00Z"}]}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let query = MetricsQuery::new(
        [InferenceMetricType::Throughput, InferenceMetricType::Latency],
        "2026-11-26T10:00:00Z",
        "2026-11-26T11:00:00Z",
    )
    .samples(12);
    let metrics = client.inferences().metrics(id, &query).await.unwrap();
    assert!(metrics.partial);
    assert_eq!(metrics.response.measurements.len(), 1);

    // DELETE answers 202 with or without a body.
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/workloads/inferences/{id}")))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    client.inferences().delete(id).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let body = |m: &str| -> Value {
        let request = requests.iter().find(|r| r.method.as_str() == m).unwrap();
        serde_json::from_slice(&request.body).unwrap()
    };
    assert_valid_request("/api/v1/workloads/inferences", "post", &body("POST"));
    assert_valid_request(
        "/api/v1/workloads/inferences/{workloadId}",
        "patch",
        &body("PATCH"),
    );

    // Ids that would change the path never leave the client.
    let error = client.inferences().get("../clusters").await.unwrap_err();
    assert!(matches!(error, Error::Config { field: "id", .. }), "{error}");
}

#[tokio::test]
async fn lists_are_filtered_sorted_and_paged_to_the_end() {
    let server = MockServer::start().await;
    let page = |names: &[&str], next: Option<u32>| {
        let workloads: Vec<Value> = names
            .iter()
            .map(|name| {
                let mut w = workload("Running", None);
                w["name"] = json!(name);
                w
            })
            .collect();
        let mut body = json!({"workloads": workloads});
        if let Some(next) = next {
            body["next"] = json!(next);
        }
        ResponseTemplate::new(200).set_body_json(body)
    };
    for (offset, names, next) in [
        ("0", vec!["a", "b"], Some(2)),
        ("2", vec!["c", "d"], Some(4)),
        ("4", vec!["e"], None),
    ] {
        Mock::given(method("GET"))
            .and(path("/api/v1/workloads"))
            .and(query_param("offset", offset))
            .and(query_param("limit", "2"))
            .and(query_param("filterBy", "projectName==team-a,phase!=Deleted"))
            .and(query_param("sortBy", "createdAt"))
            .and(query_param("sortOrder", "desc"))
            .respond_with(page(&names, next))
            .expect(1)
            .mount(&server)
            .await;
    }
    let query = ListQuery::default()
        .offset(0)
        .limit(2)
        .filter(Filter::new("projectName", FilterOp::Eq, "team-a"))
        .filter(Filter::new("phase", FilterOp::Ne, "Deleted"))
        .sort("createdAt", SortOrder::Desc);
    let client = client_for(&server);
    let names: Vec<String> = client
        .workloads()
        .list_all(query)
        .map_ok(|w| w.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
}

/// Answers each status read with the next phase of a script.
struct Phases(Vec<(&'static str, Option<&'static str>)>, AtomicUsize);

impl Respond for Phases {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.1.fetch_add(1, Ordering::SeqCst).min(self.0.len() - 1);
        let (phase, message) = self.0[n];
        ResponseTemplate::new(200).set_body_json(workload(phase, message))
    }
}

#[tokio::test]
async fn waiting_follows_the_phases_and_stops_early_on_failure() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w1"))
        .respond_with(Phases(
            vec![("Creating", None), ("Initializing", None), ("Running", None)],
            AtomicUsize::new(0),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w2"))
        .respond_with(Phases(
            vec![
                ("Initializing", None),
                ("Failed", Some("ImagePullBackOff: vllm:nope not found")),
            ],
            AtomicUsize::new(0),
        ))
        .mount(&server)
        .await;
    let client = client_for(&server);
    let options = WaitOptions::default().interval(Duration::from_millis(5));
    let mut seen = Vec::new();
    let running = client
        .workloads()
        .wait_for("w1", Phase::Running, options, |w| {
            seen.push(w.phase.as_str().to_owned());
        })
        .await
        .unwrap();
    assert_eq!(running.urls.unwrap(), ["https://llama.team-a.example.com"]);
    assert_eq!(seen, ["Creating", "Initializing", "Running"]);

    let error = client
        .workloads()
        .wait_for("w2", Phase::Running, options, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, Error::WorkloadFailed { .. }), "{error}");
    insta::assert_snapshot!("wait_failed", error);

    let error = client
        .workloads()
        .wait_for(
            "w1",
            Phase::Stopped,
            options.timeout(Duration::from_millis(30)),
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
}

#[tokio::test]
async fn answers_that_are_not_json_show_what_came_back() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workloads/w1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html><body>Sign in</body></html>"))
        .mount(&server)
        .await;
    let error = client_for(&server).workloads().get("w1").await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error}");
    insta::assert_snapshot!("not_json", error);
}

fn core_fixture(relative: &str) -> Value {
    let path = format!(
        "{}/../runai-core/tests/fixtures/{relative}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn projects_clusters_node_pools_and_credentials() {
    let server = MockServer::start().await;
    let client = client_for(&server);
    let mounts = [
        (
            "GET",
            "/api/v1/org-unit/projects",
            200,
            "responses/projects-list.json",
        ),
        ("GET", "/api/v1/clusters", 200, "responses/clusters-list.json"),
        ("GET", "/api/v1/node-pools", 200, "responses/node-pools-list.json"),
        (
            "GET",
            "/api/v1/service-accounts",
            200,
            "responses/service-accounts-list.json",
        ),
        (
            "POST",
            "/api/v1/service-accounts",
            201,
            "responses/service-account-created.json",
        ),
        (
            "GET",
            "/api/v1/access-keys",
            200,
            "responses/access-keys-list.json",
        ),
        (
            "POST",
            "/api/v1/access-keys",
            201,
            "responses/access-key-created.json",
        ),
    ];
    for (verb, at, status, fixture) in mounts {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(ResponseTemplate::new(status).set_body_json(core_fixture(fixture)))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("DELETE"))
        .and(path("/api/v1/service-accounts/42"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let projects = client.org().projects(&ListQuery::default()).await.unwrap();
    assert!(!projects.items.is_empty());
    assert!(!client.org().clusters().await.unwrap().is_empty());
    assert!(!client.org().node_pools().await.unwrap().is_empty());
    assert!(!client.access().service_accounts().await.unwrap().is_empty());
    let created = client
        .access()
        .create_service_account(&runai_core::ServiceAccountCreationRequest::new("chat-bot"))
        .await
        .unwrap();
    assert!(!created.client_secret.is_empty());
    assert!(!client.access().access_keys().await.unwrap().is_empty());
    client
        .access()
        .create_access_key(&runai_core::AccessKeyCreationRequest::new("laptop"))
        .await
        .unwrap();
    client.access().delete_service_account("42").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let body = |at: &str| -> Value {
        let request = requests
            .iter()
            .find(|r| r.method.as_str() == "POST" && r.url.path() == at)
            .unwrap();
        serde_json::from_slice(&request.body).unwrap()
    };
    assert_eq!(body("/api/v1/service-accounts"), json!({"name": "chat-bot"}));
    assert_valid_request(
        "/api/v1/service-accounts",
        "post",
        &body("/api/v1/service-accounts"),
    );
    assert_valid_request("/api/v1/access-keys", "post", &body("/api/v1/access-keys"));
}

#[tokio::test]
async fn distributed_inference_and_nim_services() {
    let server = MockServer::start().await;
    let client = client_for(&server);
    let id = "0b2c1a7e-5f3d-4e21-9a8b-6c4d2e1f3a90";
    let distributed = core_fixture("responses/distributed-inference.json");
    let nim = core_fixture("responses/nim-service.json");
    let mounts = [
        (
            "POST",
            "/api/v1/workloads/distributed-inferences".to_owned(),
            202,
            distributed.clone(),
        ),
        (
            "GET",
            format!("/api/v1/workloads/distributed-inferences/{id}"),
            200,
            distributed.clone(),
        ),
        (
            "PATCH",
            format!("/api/v1/workloads/distributed-inferences/{id}"),
            202,
            distributed,
        ),
        (
            "DELETE",
            format!("/api/v1/workloads/distributed-inferences/{id}"),
            202,
            json!({"code": 202, "message": "accepted"}),
        ),
        (
            "POST",
            "/api/v2/workloads/nim-services".to_owned(),
            202,
            nim.clone(),
        ),
        (
            "GET",
            format!("/api/v2/workloads/nim-services/{id}"),
            200,
            nim.clone(),
        ),
        ("PATCH", format!("/api/v2/workloads/nim-services/{id}"), 202, nim),
        (
            "DELETE",
            format!("/api/v2/workloads/{id}"),
            202,
            json!({"code": 202, "message": "accepted"}),
        ),
    ];
    for (verb, at, status, body) in mounts {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let create: runai_core::DistributedInferenceCreationRequest =
        serde_json::from_value(core_fixture("requests/distributed-inference-create.json")).unwrap();
    client.distributed_inferences().create(&create).await.unwrap();
    client.distributed_inferences().get(id).await.unwrap();
    client.distributed_inferences().set_replicas(id, 3).await.unwrap();
    client.distributed_inferences().delete(id).await.unwrap();
    let create: runai_core::NimServiceCreateRequest =
        serde_json::from_value(core_fixture("requests/nim-service-create.json")).unwrap();
    client.nim_services().create(&create).await.unwrap();
    let current = client.nim_services().get(id).await.unwrap();
    let update: runai_core::NimServiceUpdateRequest =
        serde_json::from_value(json!({"spec": current.spec})).unwrap();
    client.nim_services().update(id, &update).await.unwrap();
    client.nim_services().delete(id).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let body = |verb: &str, prefix: &str| -> Value {
        let request = requests
            .iter()
            .find(|r| r.method.as_str() == verb && r.url.path().starts_with(prefix))
            .unwrap();
        serde_json::from_slice(&request.body).unwrap()
    };
    assert_eq!(
        body("PATCH", "/api/v1/workloads/distributed"),
        json!({"spec": {"replicas": 3}})
    );
    assert_valid_request(
        "/api/v1/workloads/distributed-inferences",
        "post",
        &body("POST", "/api/v1/workloads/distributed"),
    );
    assert_valid_request(
        "/api/v1/workloads/distributed-inferences/{workloadId}",
        "patch",
        &body("PATCH", "/api/v1/workloads/distributed"),
    );
    assert_valid_request(
        "/api/v2/workloads/nim-services",
        "post",
        &body("POST", "/api/v2/workloads/nim"),
    );
}

#[tokio::test]
async fn an_unreachable_control_plane_is_a_transport_error_naming_the_call() {
    // Nothing listens on port 1: every try (the first and three retries) is refused.
    let client = Client::builder("http://127.0.0.1:1")
        .retry(RetryPolicy::default().min_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let error = client.workloads().get("w1").await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert!(
        error.to_string().starts_with("GET /api/v1/workloads/w1: "),
        "{error}"
    );
    let error = Client::builder("ftp://acme.run.ai").build().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Config {
                field: "base_url",
                ..
            }
        ),
        "{error}"
    );
}
