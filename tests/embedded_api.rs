//! `runai-client` against the embedded control plane's API on a real socket: tokens on both
//! endpoints, credentials, and an inference workload's life (create, read, rolling update,
//! revisions, delete), with errors in the Run:ai shape.

use runai::client::{Client, Credentials, Error};
use runai::core::{InferenceCreationRequest, InferenceUpdateRequest, InferenceUpdateSpec, Phase};
use runai::serve::control::{ApiSettings, ControlApi, TokenIssuer};
use runai::serve::store::{CredentialKind, Store};

/// Serves the API on an ephemeral port; returns its URL and the admin's credentials.
async fn control_plane(name: &str) -> (String, String, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("runai-embedded-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(dir.join("runai.db")).unwrap();
    let admin = store
        .create_credential(CredentialKind::ServiceAccount, "admin", None)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = TokenIssuer::new(store.clone(), url.clone());
    let router = ControlApi::new(store, issuer, ApiSettings::default())
        .unwrap()
        .router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, admin.credential.client_id, admin.client_secret, dir)
}

fn request() -> InferenceCreationRequest {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/runai-core/tests/fixtures/requests/inference-create-minimal.json"
    );
    runai::core::parse::strict(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn an_inference_workload_is_created_updated_and_deleted_through_the_client() {
    let (url, id, secret, dir) = control_plane("lifecycle").await;
    let client = Client::builder(&url)
        .credentials(Credentials::client_credentials(id, secret))
        .build()
        .unwrap();

    let created = client.inferences().create(&request()).await.unwrap();
    let workload_id = created.meta.workload_id.to_string();
    assert_eq!(created.meta.name, "qwen-chat");
    assert_eq!(created.meta.created_by, "admin");
    // Defaults are applied on acceptance, as Run:ai does.
    let spec = created.spec.clone().unwrap();
    assert!(spec.priority_class.is_some());
    assert!(spec.autoscaling.unwrap().min_replicas.is_some());

    let status = client.workloads().get(&workload_id).await.unwrap();
    assert_eq!(
        (status.name.as_str(), status.phase.clone()),
        ("qwen-chat", Phase::Creating)
    );

    // A rolling update makes a second revision; the same update again makes none.
    let update = InferenceUpdateRequest {
        spec: Some(InferenceUpdateSpec {
            image: Some("vllm/vllm-openai:v0.11.1".into()),
            ..Default::default()
        }),
    };
    let updated = client.inferences().update(&workload_id, &update).await.unwrap();
    assert_eq!(
        updated.spec.unwrap().image.as_deref(),
        Some("vllm/vllm-openai:v0.11.1")
    );
    client.inferences().update(&workload_id, &update).await.unwrap();
    let revisions = client.inferences().revisions(&workload_id).await.unwrap();
    assert_eq!(revisions.revisions.len(), 2);

    // The name is taken while the workload lives.
    let error = client.inferences().create(&request()).await.unwrap_err();
    assert_eq!(error.status(), Some(409), "{error}");

    client.inferences().delete(&workload_id).await.unwrap();
    let error = client.inferences().get(&workload_id).await.unwrap_err();
    assert_eq!(error.status(), Some(404), "{error}");
    client.inferences().create(&request()).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn tokens_come_from_both_endpoints_and_credentials_are_managed() {
    let (url, id, secret, dir) = control_plane("tokens").await;
    let oauth = Client::builder(&url)
        .credentials(Credentials::OAuth2ClientCredentials {
            client_id: id.clone(),
            client_secret: secret.clone(),
        })
        .build()
        .unwrap();
    let account = oauth
        .access()
        .create_service_account(&runai::core::ServiceAccountCreationRequest::new("chat-bot"))
        .await
        .unwrap();
    assert_eq!(oauth.access().service_accounts().await.unwrap().len(), 2);

    // The new account gets its own tokens; a wrong secret gets none.
    let bot = Client::builder(&url)
        .credentials(Credentials::client_credentials(
            account.client_id.clone().unwrap(),
            account.client_secret.clone(),
        ))
        .build()
        .unwrap();
    bot.token().await.unwrap().unwrap();
    let wrong = Client::builder(&url)
        .credentials(Credentials::client_credentials(id, "not-the-secret"))
        .build()
        .unwrap();
    assert!(matches!(wrong.token().await.unwrap_err(), Error::Auth(_)));

    // Without a token the API refuses; a deleted account gets no more tokens.
    let anonymous = Client::builder(&url).build().unwrap();
    let error = anonymous.inferences().get("anything").await.unwrap_err();
    assert!(matches!(error, Error::Auth(_)), "{error}");
    oauth
        .access()
        .delete_service_account(account.id.as_ref())
        .await
        .unwrap();
    let again = Client::builder(&url)
        .credentials(Credentials::client_credentials(
            account.client_id.unwrap(),
            account.client_secret,
        ))
        .build()
        .unwrap();
    assert!(again.token().await.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_requests_get_every_problem_in_the_run_ai_error_shape() {
    let (url, id, secret, dir) = control_plane("errors").await;
    let token = Client::builder(&url)
        .credentials(Credentials::client_credentials(id, secret))
        .build()
        .unwrap()
        .token()
        .await
        .unwrap()
        .unwrap();
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{url}/api/v1/workloads/inferences"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "name": "bad", "projectId": "1", "clusterId": "d73a738f-fab3-430a-8fa3-5241493d7128",
            "spec": {"image": "x", "servingPort": {"container": 70000}, "autoscaling": {"minReplicas": 3, "maxReplicas": 1}}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("spec.servingPort.container") && message.contains("spec.autoscaling.maxReplicas"),
        "{message}"
    );

    let answer = http
        .get(format!("{url}/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 404);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn workloads_are_listed_filtered_sorted_and_paged() {
    use futures_util::TryStreamExt;
    use runai::core::list::{Filter, FilterOp, ListQuery, SortOrder};
    let (url, id, secret, dir) = control_plane("list").await;
    let client = Client::builder(&url)
        .credentials(Credentials::client_credentials(id, secret))
        .build()
        .unwrap();
    for (project, name) in [
        ("4", "alpha"),
        ("4", "bravo"),
        ("4", "charlie"),
        ("7", "delta"),
        ("4", "echo"),
    ] {
        let mut request = request();
        request.name = name.into();
        request.project_id = project.into();
        client.inferences().create(&request).await.unwrap();
    }
    // Two per page across three pages, only project 4, by name descending.
    let query = ListQuery::default()
        .limit(2)
        .filter(Filter::new("projectId", FilterOp::Eq, "4"))
        .sort("name", SortOrder::Desc);
    let names: Vec<String> = client
        .workloads()
        .list_all(query)
        .map_ok(|w| w.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["echo", "charlie", "bravo", "alpha"]);
    let first = client
        .workloads()
        .list(&ListQuery::default().limit(2).search("a"))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.next, Some(2));

    let error = client
        .workloads()
        .list(&ListQuery::default().filter(Filter::new("gpu", FilterOp::Ge, "2")))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(error.to_string().contains("cannot filter by `gpu`"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fixture<T: serde::de::DeserializeOwned + schemars::JsonSchema>(name: &str) -> T {
    let path = format!(
        "{}/runai-core/tests/fixtures/requests/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    runai::core::parse::strict(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn distributed_inference_and_nim_services_are_served_like_inference() {
    let (url, id, secret, dir) = control_plane("services").await;
    let client = Client::builder(&url)
        .credentials(Credentials::client_credentials(id, secret))
        .build()
        .unwrap();

    // Distributed inference: create, read, a replica change that makes no revision, delete.
    let request: runai::core::DistributedInferenceCreationRequest =
        fixture("distributed-inference-create.json");
    let created = client.distributed_inferences().create(&request).await.unwrap();
    let workload_id = created.meta.workload_id.to_string();
    assert_eq!(created.meta.name, "llama-3-1-405b-fp8");
    assert_eq!(created.spec.as_ref().unwrap().workers, Some(1));
    let scaled = client
        .distributed_inferences()
        .set_replicas(&workload_id, 3)
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    let read = client.distributed_inferences().get(&workload_id).await.unwrap();
    assert_eq!(read.spec.unwrap().replicas, Some(3));
    // The inference endpoints do not answer for it.
    let error = client.inferences().get(&workload_id).await.unwrap_err();
    assert_eq!(error.status(), Some(404), "{error}");
    client
        .distributed_inferences()
        .delete(&workload_id)
        .await
        .unwrap();
    let error = client
        .distributed_inferences()
        .get(&workload_id)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404), "{error}");

    // NIM services: create, read, update (a new revision), delete through /api/v2/workloads.
    let request: runai::core::NimServiceCreateRequest = fixture("nim-service-create.json");
    let created = client.nim_services().create(&request).await.unwrap();
    let nim_id = created.metadata.id.to_string();
    assert_eq!(created.metadata.name, request.metadata.name);
    assert_eq!(created.metadata.gvk.kind, "NIMService");
    let mut spec = created.spec.clone();
    spec.replicas = Some(2);
    let updated = client
        .nim_services()
        .update(&nim_id, &runai::core::NimServiceUpdateRequest { spec })
        .await
        .unwrap();
    assert_eq!(updated.spec.replicas, Some(2));
    assert_eq!(
        client.nim_services().get(&nim_id).await.unwrap().spec.replicas,
        Some(2)
    );
    client.nim_services().delete(&nim_id).await.unwrap();
    let error = client.nim_services().get(&nim_id).await.unwrap_err();
    assert_eq!(error.status(), Some(404), "{error}");

    // The organisation as configured (here: none described, so only the cluster and the
    // default node pool).
    let clusters = client.org().clusters().await.unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].name, "local");
    let pools = client.org().node_pools().await.unwrap();
    assert_eq!(pools[0].name, "default");
    assert!(
        client
            .org()
            .projects(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
