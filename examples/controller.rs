//! The `InferenceWorkload` controller: applies each custom resource as Knative (or KServe)
//! objects through the Kubernetes backend and reports status on it. Of several replicas,
//! the one holding the Lease reconciles; the others wait to take over.
//!
//! ```text
//! cargo run --example controller --features kube -- --print-crd | kubectl apply -f -
//! cargo run --example controller --features kube -- --lease-namespace default
//! ```
//!
//! It needs only a kubeconfig (or the in-cluster service account). `/healthz`, `/readyz`
//! and `/metrics` are served on `--health-addr`. SIGTERM or ctrl-c stops it: running
//! reconciles finish and the lease is given up, so another replica takes over at once.
//! `docs/kubernetes.md` ("Controller") lists the RBAC it needs.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use clap::{Parser, ValueEnum};
use k8s_openapi::jiff::Timestamp;
use kube::CustomResourceExt;
use runai::core::crd::InferenceWorkload;
use runai::serve::backend::kubernetes::{KubernetesConfig, SingleNodeKind};
use runai::serve::controller::{
    self, Context, ControllerConfig, ControllerMetrics, LeaderElector, LeaseConfig, LeaseState,
};
use tokio::sync::watch;

#[derive(Debug, Parser)]
#[command(about = "The InferenceWorkload controller")]
struct Cli {
    /// Print the InferenceWorkload CustomResourceDefinition as YAML and exit.
    #[arg(long)]
    print_crd: bool,
    /// Watch InferenceWorkloads in this namespace only (default: all namespaces).
    #[arg(long, env = "RUNAI_CONTROLLER_NAMESPACE")]
    namespace: Option<String>,
    /// The Lease that elects the leader.
    #[arg(long, env = "RUNAI_CONTROLLER_LEASE_NAME", default_value = "runai-controller")]
    lease_name: String,
    /// The Lease's namespace (default: the client's, which in a pod is the pod's).
    #[arg(long, env = "RUNAI_CONTROLLER_LEASE_NAMESPACE")]
    lease_namespace: Option<String>,
    /// This replica's identity in the Lease and in events (default: the pod name, from
    /// `POD_NAME` or the host name).
    #[arg(long, env = "RUNAI_CONTROLLER_IDENTITY")]
    identity: Option<String>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    #[arg(long, env = "RUNAI_CONTROLLER_HEALTH_ADDR", default_value = "0.0.0.0:8081")]
    health_addr: SocketAddr,
    /// The kind single-node inference runs as.
    #[arg(long, value_enum, default_value_t = SingleNode::Knative)]
    single_node: SingleNode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SingleNode {
    /// A Knative `Service`.
    Knative,
    /// A KServe `InferenceService`.
    Kserve,
}

/// What the health endpoints report.
#[derive(Debug)]
struct Health {
    /// The API server answered a lease request: this replica leads or is a ready candidate.
    ready: AtomicBool,
    metrics: Arc<ControllerMetrics>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_crd {
        return match serde_saphyr::to_string(&InferenceWorkload::crd()) {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: encoding the CRD: {error}");
                ExitCode::FAILURE
            }
        };
    }
    // One crypto provider for every rustls user in the process; without it kube's client
    // cannot choose between the providers its dependencies enable.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// This replica's name: `POD_NAME` (set from the downward API), else the host name, which
/// in a pod is the pod's name.
fn default_identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("runai-controller-{}", std::process::id()))
}

/// Resolves once SIGTERM or ctrl-c arrives (and never if neither can be listened for).
async fn terminated() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        terminated().await;
        eprintln!("stopping: running reconciles finish, then the lease is given up");
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut stop = stop.clone();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    };

    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (from the kubeconfig or the pod's service account)")?;
    let identity = cli.identity.unwrap_or_else(default_identity);
    let lease_namespace = cli
        .lease_namespace
        .unwrap_or_else(|| client.default_namespace().to_owned());

    let metrics = Arc::new(ControllerMetrics::new());
    let health = Arc::new(Health {
        ready: AtomicBool::new(false),
        metrics: Arc::clone(&metrics),
    });
    let listener = tokio::net::TcpListener::bind(cli.health_addr)
        .await
        .with_context(|| format!("--health-addr: binding {}", cli.health_addr))?;
    let router = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(Arc::clone(&health));
    let server = tokio::spawn(
        axum::serve(listener, router)
            .with_graceful_shutdown(stopped())
            .into_future(),
    );
    eprintln!(
        "health and metrics on http://{}/healthz, /readyz and /metrics",
        cli.health_addr
    );

    let elector = LeaderElector::new(
        client.clone(),
        LeaseConfig::new(cli.lease_name, &lease_namespace, &identity),
    );
    let lease = format!("{lease_namespace}/{}", elector.config().name);
    let mut last_holder = None;
    loop {
        match elector.try_acquire_or_renew(Timestamp::now()).await {
            Ok(LeaseState::Leading) => break,
            Ok(LeaseState::Following { holder }) => {
                health.ready.store(true, Ordering::Relaxed);
                if holder.is_some() && holder != last_holder {
                    eprintln!(
                        "waiting for the lease {lease}, held by {}",
                        holder.as_deref().unwrap_or("")
                    );
                    last_holder = holder;
                }
            }
            // A state a later version adds: try again.
            Ok(_) => {}
            Err(error) => eprintln!("error: {error}; trying again"),
        }
        tokio::select! {
            () = stopped() => return finish(server).await,
            () = tokio::time::sleep(elector.config().retry_period) => {}
        }
    }
    health.ready.store(true, Ordering::Relaxed);
    metrics.set_leader(true);
    eprintln!("leading as {identity} (lease {lease})");
    let leadership = elector.hold();

    let api = match &cli.namespace {
        Some(namespace) => kube::Api::<InferenceWorkload>::namespaced(client.clone(), namespace),
        None => kube::Api::<InferenceWorkload>::all(client.clone()),
    };
    let single_node = match cli.single_node {
        SingleNode::Knative => SingleNodeKind::Knative,
        SingleNode::Kserve => SingleNodeKind::KServe,
    };
    let config = ControllerConfig::default()
        .instance(&identity)
        .backend(KubernetesConfig::default().single_node(single_node));
    let context = Arc::new(Context::new(client, config).with_metrics(Arc::clone(&metrics)));
    let lost = leadership.lost();
    let stop = stopped();
    // A leader that lost the lease must stop at once: another replica may already lead.
    controller::run(context, api, async move {
        tokio::select! {
            () = stop => {}
            reason = lost => eprintln!("lost the lease {lease}: {reason}"),
        }
    })
    .await;
    metrics.set_leader(false);
    if !leadership.is_leading() {
        // Exit with an error so that the pod restarts and stands again as a candidate.
        leadership.step_down().await?;
        anyhow::bail!("stopped after losing the lease");
    }
    leadership.step_down().await.context("giving up the lease")?;
    eprintln!("gave up the lease");
    finish(server).await
}

/// Waits for the health server to finish its graceful shutdown.
async fn finish(server: tokio::task::JoinHandle<std::io::Result<()>>) -> anyhow::Result<()> {
    server
        .await
        .context("the health server panicked")?
        .context("serving health")
}

async fn readyz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    if health.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not connected to the API server yet",
        )
    }
}

async fn metrics_text(State(health): State<Arc<Health>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        health.metrics.encode(),
    )
}
