//! The whole platform end to end, as separate real processes on ephemeral ports: the
//! platform (this test binary re-run as `platform_child`), replicas of the model simulator
//! (re-run as `model_sim_child`), and `runai-client` plus plain HTTP from the test.
//!
//! Covered: a workload reaches Running, answers through the gateway with a token and shows
//! its traffic in the metrics API; a rolling update under steady load fails no request; an
//! idle workload scales to zero and a request brings it back; a restricted workload refuses a
//! token without access; a workload beyond its project's quota waits with the reason; a
//! higher-priority workload preempts a lower one; killing the platform loses nothing; and
//! deleting stops every process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use runai::client::{Client, Credentials};
use runai::core::{InferenceCreationRequest, InferenceUpdateRequest, Phase};
use serde_json::{Value, json};

/// A platform running as a child process.
struct Platform {
    child: Child,
    api: String,
    gateway: String,
    dir: PathBuf,
}

/// The admin's credentials, printed once at the first start.
#[derive(Clone)]
struct Admin {
    id: String,
    secret: String,
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("runai-e2e-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The platform keeps its data here and refuses a folder that others can read.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    dir
}

impl Platform {
    /// Starts the platform on `dir` with the YAML `config` (ports are always ephemeral).
    fn start(dir: &Path, config: &str) -> (Self, Option<Admin>) {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(&exe)
            .args([
                "platform_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RUNAI_E2E_DIR", dir)
            .env("RUNAI_E2E_CONFIG", config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let (mut api, mut gateway, mut admin) = (None, None, None);
        for line in lines.by_ref() {
            let line = line.unwrap();
            // The test harness starts the first line with `test platform_child ... `.
            let line = line.rsplit("... ").next().unwrap_or_default();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["API", url] => api = Some((*url).to_owned()),
                ["GATEWAY", url] => gateway = Some((*url).to_owned()),
                ["ADMIN", id, secret] => {
                    admin = Some(Admin {
                        id: (*id).to_owned(),
                        secret: (*secret).to_owned(),
                    });
                }
                ["READY"] => break,
                _ => {}
            }
        }
        // Keep reading so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let platform = Self {
            child,
            api: api.expect("the platform printed its API URL"),
            gateway: gateway.expect("the platform printed its gateway URL"),
            dir: dir.to_owned(),
        };
        (platform, admin)
    }

    fn client(&self, admin: &Admin) -> Client {
        Client::builder(&self.api)
            .credentials(Credentials::client_credentials(
                admin.id.clone(),
                admin.secret.clone(),
            ))
            .build()
            .unwrap()
    }

    /// SIGKILL: no chance to clean up.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the platform exited with {status}");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Model-simulator processes of the platform on `dir` (their command line names it).
fn model_sims(dir: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    let dir = dir.to_string_lossy();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.contains("model_sim_child") && cmdline.contains(dir.as_ref()) {
            found.push(pid);
        }
    }
    found
}

fn create_request(name: &str, spec: &Value) -> InferenceCreationRequest {
    let body = json!({
        "name": name,
        "projectId": "1",
        "clusterId": "00000000-0000-4000-8000-000000000001",
        "spec": spec,
    });
    runai::core::parse::strict(&body.to_string()).unwrap()
}

fn sim_spec(extra: &Value) -> Value {
    let mut spec = json!({
        "image": "runai/model-sim",
        "servingPort": {"container": 8000, "authorizationType": "authenticatedUsers"},
        "compute": {"gpuDevicesRequest": 1},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 1},
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            spec.insert(key.clone(), value.clone());
        }
    }
    spec
}

/// Polls the workload until `done` holds (bounded), and returns its last status.
async fn until(
    client: &Client,
    id: &str,
    what: &str,
    done: impl Fn(&runai::core::Workload) -> bool,
) -> runai::core::Workload {
    let mut last = None;
    for _ in 0..600 {
        let workload = client.workloads().get(id).await.unwrap();
        if done(&workload) {
            return workload;
        }
        last = Some(workload);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {last:?}");
}

async fn running(client: &Client, id: &str) -> runai::core::Workload {
    until(client, id, "waiting for Running", |w| w.phase == Phase::Running).await
}

fn chat_body() -> Value {
    json!({"model": "sim", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4})
}

async fn chat(http: &reqwest::Client, url: &str, token: &str) -> u16 {
    http.post(url)
        .bearer_auth(token)
        .json(&chat_body())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_workload_runs_serves_reports_metrics_and_is_deleted_with_its_processes() {
    let dir = scratch("lifecycle");
    let (platform, admin) = Platform::start(&dir, "loopIntervalMs: 200\n");
    let admin = admin.unwrap();
    let client = platform.client(&admin);
    let created = client
        .inferences()
        .create(&create_request("chat", &sim_spec(&json!({}))))
        .await
        .unwrap();
    let id = created.meta.workload_id.to_string();
    running(&client, &id).await;

    // Through the gateway with a token; without one the gateway refuses.
    let http = reqwest::Client::new();
    let token = client.token().await.unwrap().unwrap();
    let url = format!("{}/1/chat/v1/chat/completions", platform.gateway);
    for _ in 0..5 {
        assert_eq!(chat(&http, &url, &token).await, 200);
    }
    let anonymous = http.post(&url).json(&chat_body()).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // The traffic shows in the metrics API, and the replica's resources in the general one.
    let metrics_url = format!("{}/api/v1/workloads/inferences/{id}/metrics", platform.api);
    let mut throughput_seen = false;
    for _ in 0..100 {
        let body: Value = http
            .get(&metrics_url)
            .query(&[("metricType", "THROUGHPUT,LATENCY")])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let values = body["measurements"][0]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if values.iter().any(|v| {
            v["value"]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                > 0.0
        }) {
            throughput_seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(throughput_seen, "no throughput in the metrics API");
    let resources: Value = http
        .get(format!("{}/api/v1/workloads/{id}/metrics", platform.api))
        .query(&[("metricType", "CPU_MEMORY_USAGE_BYTES,RUNNING_POD_COUNT")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let memory = &resources["measurements"][0]["values"];
    assert!(memory.as_array().is_some_and(|v| !v.is_empty()), "{resources}");
    // The status view counts the running replica and names the serving URL.
    let status = until(&client, &id, "waiting for the running pod count", |w| {
        w.running_pods == 1
    })
    .await;
    assert_eq!(status.urls, Some(vec![format!("{}/1/chat/", platform.gateway)]));
    let bad = http
        .get(&metrics_url)
        .query(&[("metricType", "THROUGHPUT,BANDWIDTH")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("BANDWIDTH"));

    // A restricted workload refuses a token that is not on its list.
    let restricted = sim_spec(&json!({
        "servingPort": {"container": 8000, "authorizationType": "authorizedUsersOrGroups", "authorizedUsers": ["someone-else"]},
        "compute": {"gpuPortionRequest": 0.5},
    }));
    let private = client
        .inferences()
        .create(&create_request("private", &restricted))
        .await
        .unwrap();
    running(&client, private.meta.workload_id.as_ref()).await;
    let refused = chat(
        &http,
        &format!("{}/1/private/v1/chat/completions", platform.gateway),
        &token,
    )
    .await;
    assert_eq!(refused, 403);

    // A NIM service runs its image through the images table; its port is public.
    let nim: runai::core::NimServiceCreateRequest = runai::core::parse::strict(
        &json!({
            "metadata": {"name": "nim", "projectId": "1"},
            "spec": {"image": "runai/model-sim", "servingPort": {"port": 8000}, "replicas": 1},
        })
        .to_string(),
    )
    .unwrap();
    let nim = client.nim_services().create(&nim).await.unwrap();
    let nim_id = nim.metadata.id.to_string();
    running(&client, &nim_id).await;
    let answer = http
        .post(format!("{}/1/nim/v1/chat/completions", platform.gateway))
        .json(&chat_body())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    client.nim_services().delete(&nim_id).await.unwrap();

    // Deleting stops every replica process.
    for _ in 0..100 {
        if model_sims(&platform.dir).len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(model_sims(&platform.dir).len(), 2);
    client.inferences().delete(&id).await.unwrap();
    client
        .inferences()
        .delete(private.meta.workload_id.as_ref())
        .await
        .unwrap();
    for _ in 0..200 {
        if model_sims(&platform.dir).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(model_sims(&platform.dir), Vec::<u32>::new());
    platform.stop();
}

#[tokio::test]
async fn a_rolling_update_under_load_fails_no_request() {
    let dir = scratch("rollout");
    let (platform, admin) = Platform::start(&dir, "loopIntervalMs: 200\n");
    let admin = admin.unwrap();
    let client = platform.client(&admin);
    let spec = sim_spec(&json!({"environmentVariables": [{"name": "VERSION", "value": "1"}]}));
    let created = client
        .inferences()
        .create(&create_request("chat", &spec))
        .await
        .unwrap();
    let id = created.meta.workload_id.to_string();
    running(&client, &id).await;

    // An open-loop load of about 62 requests per second: each request is sent on its tick
    // whether or not earlier ones have finished.
    let token = client.token().await.unwrap().unwrap();
    let url = format!("{}/1/chat/v1/chat/completions", platform.gateway);
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let generator = {
        let (sent, failed) = (Arc::clone(&sent), Arc::clone(&failed));
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut tick = tokio::time::interval(Duration::from_millis(16));
            let mut requests = Vec::new();
            while !*stopped.borrow() {
                tick.tick().await;
                let (http, url, token, sent, failed) = (
                    http.clone(),
                    url.clone(),
                    token.clone(),
                    Arc::clone(&sent),
                    Arc::clone(&failed),
                );
                requests.push(tokio::spawn(async move {
                    let status = chat(&http, &url, &token).await;
                    sent.fetch_add(1, Ordering::Relaxed);
                    if status != 200 {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("request failed with {status}");
                    }
                }));
            }
            for request in requests {
                request.await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The update makes revision 2; traffic moves once it is ready and revision 1 stops.
    let update: InferenceUpdateRequest = serde_json::from_value(json!({
        "spec": {"environmentVariables": [{"name": "VERSION", "value": "2"}]}
    }))
    .unwrap();
    client.inferences().update(&id, &update).await.unwrap();
    for _ in 0..300 {
        let revisions = client.inferences().revisions(&id).await.unwrap();
        let value = serde_json::to_value(&revisions).unwrap();
        let phases: Vec<String> = value["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["phase"].as_str().unwrap_or_default().to_owned())
            .collect();
        if phases.len() == 2
            && phases.iter().filter(|p| *p == "Running").count() == 1
            && phases.iter().any(|p| p == "Stopped")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running(&client, &id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(true);
    generator.await.unwrap();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("{sent} requests during the update, {failed} failed");
    // At least two seconds before the update and two after it, at about 62 per second.
    assert!(sent >= 200, "only {sent} requests were sent");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed during the update");
    assert_eq!(model_sims(&platform.dir).len(), 1, "the old replica still runs");
    platform.stop();
}

#[tokio::test]
async fn an_idle_workload_scales_to_zero_and_a_request_brings_it_back() {
    let dir = scratch("zero");
    let config = "loopIntervalMs: 200\nstableWindowSeconds: 6\nscaleToZeroGraceSecondsx: 0\n";
    // A misspelt field is refused with its name: the platform must not start on it.
    let refused = Command::new(std::env::current_exe().unwrap())
        .args(["platform_child", "--exact", "--ignored", "--nocapture"])
        .env("RUNAI_E2E_DIR", &dir)
        .env("RUNAI_E2E_CONFIG", config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("scaleToZeroGraceSecondsx"));

    // The admin account comes from the configuration this time.
    let config = "loopIntervalMs: 200\nstableWindowSeconds: 6\nscaleToZeroGraceSeconds: 1\n\
                  admin: {clientId: ops, clientSecret: a-configured-secret-for-tests}\n";
    let (platform, admin) = Platform::start(&dir, config);
    let admin = admin.unwrap();
    assert_eq!(
        (admin.id.as_str(), admin.secret.as_str()),
        ("ops", "a-configured-secret-for-tests")
    );
    let client = platform.client(&admin);
    let spec = sim_spec(&json!({"autoscaling": {"minReplicas": 0, "maxReplicas": 1}}));
    let created = client
        .inferences()
        .create(&create_request("chat", &spec))
        .await
        .unwrap();
    let id = created.meta.workload_id.to_string();
    running(&client, &id).await;
    let token = client.token().await.unwrap().unwrap();
    let url = format!("{}/1/chat/v1/chat/completions", platform.gateway);
    let http = reqwest::Client::new();
    assert_eq!(chat(&http, &url, &token).await, 200);

    // Idle: the replica goes.
    until(&client, &id, "waiting for zero", |w| {
        w.phase_message
            .as_deref()
            .is_some_and(|m| m.contains("scaled to zero"))
    })
    .await;
    for _ in 0..100 {
        if model_sims(&platform.dir).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(model_sims(&platform.dir).is_empty());

    // A request waits in the activator while a replica starts, then succeeds.
    assert_eq!(chat(&http, &url, &token).await, 200);
    assert_eq!(model_sims(&platform.dir).len(), 1);
    platform.stop();
}

/// One node with two GPUs; the project deserves two.
const SMALL_CLUSTER: &str = "loopIntervalMs: 200
cluster:
  nodes:
    - name: node-1
      gpuCount: 2
      gpuModel: H100
      gpuMemoryMib: 81559
      cpuMillicores: 64000
      memoryBytes: 274877906944
  projects:
    - id: \"1\"
      name: team-a
      quotas:
        - nodePool: default
          gpus:
            deserved: 2
";

#[tokio::test]
async fn quota_keeps_a_workload_pending_and_priority_preempts() {
    let dir = scratch("sched");
    let (platform, admin) = Platform::start(&dir, SMALL_CLUSTER);
    let client = platform.client(&admin.unwrap());

    // Preemptible low-priority work takes both GPUs.
    let low = sim_spec(&json!({"priorityClass": "low", "compute": {"gpuDevicesRequest": 2}}));
    let low = client
        .inferences()
        .create(&create_request("batch", &low))
        .await
        .unwrap();
    let low_id = low.meta.workload_id.to_string();
    running(&client, &low_id).await;

    // A workload asking for more than the project deserves waits, saying why.
    let big = sim_spec(&json!({"compute": {"gpuDevicesRequest": 4}}));
    let big = client
        .inferences()
        .create(&create_request("big", &big))
        .await
        .unwrap();
    let big_id = big.meta.workload_id.to_string();
    let pending = until(&client, &big_id, "waiting for Pending", |w| {
        w.phase == Phase::Pending
    })
    .await;
    let reason = pending.phase_message.unwrap_or_default();
    assert!(reason.contains("quota") || reason.contains("GPU"), "{reason}");

    // Inference at the default very-high priority preempts the low-priority workload.
    let chat = client
        .inferences()
        .create(&create_request(
            "chat",
            &sim_spec(&json!({"compute": {"gpuDevicesRequest": 2}})),
        ))
        .await
        .unwrap();
    let chat_id = chat.meta.workload_id.to_string();
    running(&client, &chat_id).await;
    let evicted = until(&client, &low_id, "waiting for the preempted workload", |w| {
        w.phase == Phase::Pending
    })
    .await;
    assert!(evicted.phase_message.is_some());
    let store = runai::serve::store::Store::open(dir.join("runai.db")).unwrap();
    let events = store.events(&low_id, 100).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.reason == "Preempted" && e.message.contains("chat")),
        "{events:?}"
    );
    // Only the preemptor's replica runs.
    assert_eq!(model_sims(&platform.dir).len(), 1);
    platform.stop();
}

#[tokio::test]
async fn killing_the_platform_loses_no_workload_or_revision() {
    let dir = scratch("crash");
    let (platform, admin) = Platform::start(&dir, "loopIntervalMs: 200\n");
    let admin = admin.unwrap();
    let client = platform.client(&admin);
    let mut ids = Vec::new();
    for name in ["one", "two"] {
        let created = client
            .inferences()
            .create(&create_request(
                name,
                &sim_spec(&json!({"compute": {"gpuPortionRequest": 0.5}})),
            ))
            .await
            .unwrap();
        ids.push(created.meta.workload_id.to_string());
    }
    running(&client, &ids[0]).await;
    let update: InferenceUpdateRequest = serde_json::from_value(json!({
        "spec": {"environmentVariables": [{"name": "VERSION", "value": "2"}]}
    }))
    .unwrap();
    client.inferences().update(&ids[0], &update).await.unwrap();
    // Mid-operation: the update was accepted, the second workload may still be starting.
    platform.kill();
    // The replicas do not outlive it.
    for _ in 0..100 {
        if model_sims(&dir).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(model_sims(&dir).is_empty());

    let (platform, again) = Platform::start(&dir, "loopIntervalMs: 200\n");
    assert!(
        again.is_none(),
        "the admin account survived, so no new secret is printed"
    );
    let client = platform.client(&admin);
    for id in &ids {
        running(&client, id).await;
    }
    let revisions = client.inferences().revisions(&ids[0]).await.unwrap();
    assert_eq!(revisions.revisions.len(), 2);
    let spec = client.inferences().get(&ids[0]).await.unwrap().spec.unwrap();
    assert_eq!(spec.environment_variables.unwrap()[0].value.as_deref(), Some("2"));
    assert_eq!(model_sims(&platform.dir).len(), 2);
    platform.stop();
}

/// The platform process of the tests above: started by [`Platform::start`].
#[tokio::test]
#[ignore = "run by the other tests as the platform process"]
async fn platform_child() {
    // A test that fails or is interrupted must not leave its platform running.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    let dir = PathBuf::from(std::env::var("RUNAI_E2E_DIR").unwrap());
    let text = std::env::var("RUNAI_E2E_CONFIG").unwrap_or_default();
    let mut config = match runai::serve::platform::PlatformConfig::from_yaml(&text, "RUNAI_E2E_CONFIG") {
        Ok(config) => config,
        Err(error) => {
            println!("CONFIG ERROR {error}");
            std::process::exit(2);
        }
    };
    config.data_dir.clone_from(&dir);
    config.api = "127.0.0.1:0".parse().unwrap();
    config.gateway = "127.0.0.1:0".parse().unwrap();
    config.sample_workload = false;
    let exe = std::env::current_exe().unwrap();
    config.images.insert(
        "runai/model-sim".to_owned(),
        // The data folder is a second test-name filter that matches nothing: it marks the
        // replica as this platform's.
        format!(
            "{} model_sim_child {} --exact --ignored --nocapture --test-threads=1",
            exe.display(),
            dir.display()
        ),
    );
    let platform = runai::serve::platform::Platform::start(config).await.unwrap();
    println!("API {}", platform.api_url());
    println!("GATEWAY {}", platform.gateway_url());
    if let Some(admin) = platform.admin() {
        println!("ADMIN {} {}", admin.credential.client_id, admin.client_secret);
    }
    println!("READY");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    terminate.recv().await;
    platform.shutdown().await;
}

/// A replica: the model simulator on `$PORT`.
#[tokio::test]
#[ignore = "run by the platform as a replica"]
async fn model_sim_child() {
    let port: u16 = std::env::var("PORT").unwrap().parse().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    let config = runai::serve::model_sim::ModelSimConfig {
        model: "sim".to_owned(),
        ..Default::default()
    };
    runai::serve::model_sim::ModelSim::new(config)
        .serve(listener, async move {
            terminate.recv().await;
        })
        .await
        .unwrap();
}
