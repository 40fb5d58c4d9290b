//! The local backend with real child processes: readiness, the initialization timeout,
//! crash restarts, logs, secrets, scaling, graceful stop, and no process left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use runai_core::InferenceSpec;
use runai_core::spec::{EnvironmentVariable, KeyRef, ServingConfiguration};
use runai_serve::backend::{
    Backend, BackendError, Deployment, LocalBackend, LocalConfig, ReplicaPhase, RevisionStatus,
};
use runai_serve::gateway::WorkloadKey;

/// A fresh folder for one test's logs, secrets and pid files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("runai-local-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &Path) -> LocalConfig {
    let mut config = LocalConfig::default();
    config.log_dir = dir.join("logs");
    config.secrets_dir = dir.join("secrets");
    config.config_maps_dir = dir.join("config-maps");
    config.restart_backoff = Duration::from_millis(50);
    config.max_restart_backoff = Duration::from_millis(200);
    config.grace_period = Duration::from_millis(500);
    config
}

fn spec(command: &str) -> InferenceSpec {
    InferenceSpec {
        command: Some(command.to_owned()),
        ..InferenceSpec::default()
    }
}

/// Waits (bounded) until the revision's status satisfies `done`.
async fn wait_for(
    backend: &LocalBackend,
    workload: &WorkloadKey,
    done: impl Fn(&RevisionStatus) -> bool,
) -> RevisionStatus {
    let mut changes = backend.changes();
    for _ in 0..600 {
        let status = backend.status(workload).await.unwrap();
        if let Some(first) = status.first()
            && done(first)
        {
            return first.clone();
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), changes.changed()).await;
    }
    panic!(
        "status never reached: {:?}",
        backend.status(workload).await.unwrap()
    );
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// The pids a test command wrote, one per line.
fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

async fn wait_gone(pids: &[i32]) {
    for _ in 0..100 {
        if pids.iter().all(|&p| !alive(p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("processes left behind: {pids:?}");
}

#[tokio::test]
async fn replicas_become_ready_serve_and_log() {
    let dir = scratch("ready");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "files");
    let server = spec("python3 -u -m http.server $(PORT) --bind 127.0.0.1");
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", server, 2))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.ready == 2).await;
    assert_eq!((status.desired, status.starting, status.failed), (2, 0, 0));
    assert_eq!(status.endpoints.len(), 2);
    assert_ne!(
        status.endpoints[0], status.endpoints[1],
        "each replica has its own port"
    );
    // The replica really serves, and its request log is read back.
    let response = reqwest::get(format!("{}/", status.endpoints[0])).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut logged = String::new();
    for _ in 0..100 {
        logged = backend.logs(&workload, "rev-1", 0, 1 << 16).unwrap();
        if logged.contains("GET / ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(logged.contains("GET / "), "{logged}");
    backend.delete(&workload, None).await.unwrap();
    assert!(backend.status(&workload).await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_environment_carries_port_identity_and_secrets() {
    let dir = scratch("env");
    std::fs::create_dir_all(dir.join("secrets/hf")).unwrap();
    std::fs::write(dir.join("secrets/hf/token"), "hf_secret_value").unwrap();
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "env");
    let out = dir.join("env.txt");
    let mut printer = spec(&format!(
        "sh -c 'echo $PORT $RUNAI_WORKLOAD $RUNAI_REPLICA_INDEX $GREETING $HF_TOKEN > {}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
        out.display()
    ));
    printer.environment_variables = Some(vec![
        EnvironmentVariable {
            name: Some("GREETING".into()),
            value: Some("hello".into()),
            ..EnvironmentVariable::default()
        },
        EnvironmentVariable {
            name: Some("HF_TOKEN".into()),
            secret: Some(KeyRef {
                name: Some("hf".into()),
                key: Some("token".into()),
            }),
            ..EnvironmentVariable::default()
        },
    ]);
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", printer, 1))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.ready == 1).await;
    let port = status.endpoints[0].rsplit(':').next().unwrap().to_owned();
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.trim(), format!("{port} env 0 hello hf_secret_value"));
    backend.delete(&workload, None).await.unwrap();

    // A secret that is not there is an error naming the file, before anything starts.
    let mut missing = spec("true");
    missing.environment_variables = Some(vec![EnvironmentVariable {
        name: Some("KEY".into()),
        secret: Some(KeyRef {
            name: Some("nope".into()),
            key: Some("key".into()),
        }),
        ..EnvironmentVariable::default()
    }]);
    let error = backend
        .apply(&Deployment::new(workload.clone(), "rev-2", missing, 1))
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::MissingValue { .. }), "{error}");
    assert!(error.to_string().contains("secrets/nope/key"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_replica_not_ready_in_time_fails_with_the_reason_and_is_stopped() {
    let dir = scratch("timeout");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "slow");
    let pid_file = dir.join("pids");
    let mut slow = spec(&format!(
        "sh -c 'echo $$ > {}; exec sleep 60'",
        pid_file.display()
    ));
    slow.serving_configuration = Some(ServingConfiguration {
        initialization_timeout_seconds: Some(1),
        ..ServingConfiguration::default()
    });
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", slow, 1))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.failed == 1).await;
    let error = status.last_error.unwrap();
    assert!(error.contains("initializationTimeoutSeconds (1 s)"), "{error}");
    wait_gone(&pids(&pid_file)).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_crashing_replica_restarts_with_backoff_into_a_crash_loop() {
    let dir = scratch("crash");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "crashy");
    backend
        .apply(&Deployment::new(
            workload.clone(),
            "rev-1",
            spec("sh -c 'echo starting; exit 3'"),
            1,
        ))
        .await
        .unwrap();
    let status = wait_for(&backend, &workload, |s| s.replicas[0].restarts >= 4).await;
    let replica = &status.replicas[0];
    assert!(
        matches!(replica.phase, ReplicaPhase::CrashLoop | ReplicaPhase::Starting),
        "{replica:?}"
    );
    assert!(
        replica.last_error.as_deref().unwrap().contains("exit status: 3"),
        "{replica:?}"
    );
    let logged = backend.logs(&workload, "rev-1", 0, 1 << 16).unwrap();
    assert!(logged.matches("starting").count() >= 4, "{logged}");
    backend.delete(&workload, None).await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn stopping_terms_the_group_then_kills_what_ignores_it() {
    let dir = scratch("stop");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "stubborn");
    let pid_file = dir.join("pids");
    // The shell ignores SIGTERM and leaves a grandchild behind: both must go.
    let stubborn = spec(&format!(
        "sh -c 'trap \"\" TERM; echo $$ >> {pids}; sleep 600 & echo $! >> {pids}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
        pids = pid_file.display()
    ));
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", stubborn, 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    let started = pids(&pid_file);
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started.iter().all(|&p| alive(p)));
    backend.delete(&workload, None).await.unwrap();
    wait_gone(&started).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn dropping_the_backend_leaves_no_process_behind() {
    let dir = scratch("drop");
    let pid_file = dir.join("pids");
    let workload = WorkloadKey::new("team", "orphan");
    {
        let backend = LocalBackend::new(config(&dir));
        let child = spec(&format!(
            "sh -c 'echo $$ >> {pids}; sleep 600 & echo $! >> {pids}; exec python3 -m http.server $PORT --bind 127.0.0.1'",
            pids = pid_file.display()
        ));
        backend
            .apply(&Deployment::new(workload.clone(), "rev-1", child, 1))
            .await
            .unwrap();
        wait_for(&backend, &workload, |s| s.ready == 1).await;
    }
    let started = pids(&pid_file);
    assert_eq!(started.len(), 2, "{started:?}");
    wait_gone(&started).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn scaling_adds_and_removes_replicas() {
    let dir = scratch("scale");
    let backend = LocalBackend::new(config(&dir));
    let workload = WorkloadKey::new("team", "scaled");
    let server = spec("python3 -m http.server $(PORT) --bind 127.0.0.1");
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", server.clone(), 1))
        .await
        .unwrap();
    wait_for(&backend, &workload, |s| s.ready == 1).await;
    backend.scale(&workload, "rev-1", 3).await.unwrap();
    let status = wait_for(&backend, &workload, |s| s.ready == 3).await;
    assert_eq!(status.desired, 3);
    backend.scale(&workload, "rev-1", 1).await.unwrap();
    let status = wait_for(&backend, &workload, |s| s.desired == 1).await;
    assert_eq!(status.replicas[0].index, 0);
    // Applying the same spec again changes nothing.
    let before = status.endpoints.clone();
    backend
        .apply(&Deployment::new(workload.clone(), "rev-1", server, 1))
        .await
        .unwrap();
    assert_eq!(
        wait_for(&backend, &workload, |s| s.ready == 1).await.endpoints,
        before
    );
    let unknown = backend.scale(&workload, "rev-9", 1).await.unwrap_err();
    assert!(
        matches!(unknown, BackendError::UnknownRevision { .. }),
        "{unknown}"
    );
    backend.delete(&workload, None).await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
