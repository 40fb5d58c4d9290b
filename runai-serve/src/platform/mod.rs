//! The whole platform in one process: the store, the Run:ai API with its token issuer, the
//! control loop with the scheduler and autoscaler, the local backend and the inference
//! gateway (token checks, activator), wired as `examples/platform.rs` runs them.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use runai_serve::platform::{Platform, PlatformConfig};
//! let platform = Platform::start(PlatformConfig::default()).await?;
//! println!("API on {}, gateway on {}", platform.api_url(), platform.gateway_url());
//! platform.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
mod data_dir;
mod limits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::{AdminCredentials, CanaryStepConfig, ConfigError, PlatformConfig, PrometheusSettings};
pub use data_dir::DataDirError;
pub use limits::LimitsConfig;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::backend::{Backend, ImageCommand, LocalBackend, LocalConfig};
use crate::control::{
    ApiSettings, CanaryStep, ControlApi, ControlLoop, CustomMetrics, LoopSettings, TokenIssuer, Wakeups,
};
use crate::gateway::{ActivatorConfig, Gateway, GatewayConfig};
use crate::observe::{MetricSeries, PrometheusClient};
use crate::server::ErrorShape;
use crate::store::{CredentialKind, IssuedCredential, NewWorkload, Store, WorkloadKind};

/// The image the sample workload names; map it in [`PlatformConfig::images`] to a command
/// that serves an OpenAI-compatible API on `$(PORT)` (the example maps it to the model
/// simulator).
pub const SAMPLE_IMAGE: &str = "runai/model-sim";

/// What stopped the platform from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The data folder could not be made, or others can read it.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The token issuer failed.
    #[error(transparent)]
    Tokens(#[from] crate::control::TokenError),
    /// The gateway's token checks could not be set up.
    #[error(transparent)]
    Auth(#[from] crate::gateway::AuthError),
    /// An address could not be listened on.
    #[error("listening on {address} for the {what} (choose another address in the config): {source}")]
    Listen {
        /// The API or the gateway.
        what: &'static str,
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The running platform.
#[derive(Debug)]
pub struct Platform {
    api: SocketAddr,
    gateway: SocketAddr,
    admin: Option<IssuedCredential>,
    store: Store,
    issuer: TokenIssuer,
    auth: crate::auth::Authenticator,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Platform {
    /// Opens the store in `config.data_dir`, creates the admin service account on a fresh
    /// store (its secret is in [`Platform::admin`], this once), and serves the API and the
    /// gateway until [`Platform::shutdown`].
    ///
    /// # Errors
    /// [`PlatformError`] when the store, the keys or a listener cannot be set up.
    pub async fn start(config: PlatformConfig) -> Result<Self, PlatformError> {
        let store = Store::open(data_dir::prepare(&config.data_dir)?)?;
        let listen = |what: &'static str, address: SocketAddr| async move {
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| PlatformError::Listen {
                    what,
                    address,
                    source,
                })
        };
        let api_listener = listen("Run:ai API", config.api).await?;
        let gateway_listener = listen("gateway", config.gateway).await?;
        let api = api_listener.local_addr().unwrap_or(config.api);
        let gateway_address = gateway_listener.local_addr().unwrap_or(config.gateway);
        let api_url = format!("http://{api}");
        let issuer = TokenIssuer::new(store.clone(), api_url);

        // The admin's secret exists only in this first start's answer.
        let has_admin = store
            .credentials(CredentialKind::ServiceAccount)?
            .iter()
            .any(|c| c.name == "admin");
        let admin = match &config.admin {
            _ if has_admin => None,
            Some(given) => Some(store.import_credential(
                CredentialKind::ServiceAccount,
                "admin",
                None,
                &given.client_id,
                &given.client_secret,
            )?),
            None => Some(store.create_credential(CredentialKind::ServiceAccount, "admin", None)?),
        };

        // The gateway checks the tokens this control plane issues, and holds requests for
        // workloads at zero while the loop starts a replica.
        // One verifier for the API and the gateway, so a rotated key reaches both at once.
        let auth = issuer.authenticator()?;
        let wakeups = Wakeups::default();
        let gateway_config = GatewayConfig {
            max_request_body_bytes: config.limits.max_request_body_bytes,
            request_timeout: Duration::from_secs(config.limits.request_timeout_seconds),
            limits: config.limits.server(),
            ..GatewayConfig::default()
        };
        let gateway = Gateway::builder(gateway_config)
            .authenticator(auth.clone())
            .activator(ActivatorConfig::default(), wakeups.clone())
            .build();

        let mut local = LocalConfig {
            log_dir: config.data_dir.join("logs"),
            secrets_dir: config.data_dir.join("secrets"),
            config_maps_dir: config.data_dir.join("config-maps"),
            ..LocalConfig::default()
        };
        for (image, command) in &config.images {
            local
                .images
                .insert(image.clone(), ImageCommand::new(command.clone()));
        }
        let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(local));
        let metrics = MetricSeries::default();
        let settings = LoopSettings::default()
            .interval(Duration::from_millis(config.loop_interval_ms))
            .rollout_deadline(Duration::from_secs(config.rollout_deadline_seconds))
            .kpa_timing(config.stable_window_seconds, config.scale_to_zero_grace_seconds)
            .canary(
                config
                    .canary
                    .iter()
                    .map(|step| CanaryStep::new(step.weight, Duration::from_secs(step.hold_seconds))),
            );
        let mut control = ControlLoop::new(store.clone(), backend, settings)
            .with_gateway(gateway.clone())
            .with_wakeups(wakeups)
            .with_cluster(config.cluster.clone())
            .with_metrics(metrics.clone());
        if let Some(prometheus) = &config.prometheus {
            // The URL was checked when the config was read.
            if let Ok(client) = PrometheusClient::new(&prometheus.url) {
                control = control.with_custom_metrics(
                    CustomMetrics::new(client).with_query(prometheus.custom_metric_query.clone()),
                );
            }
        }

        if config.sample_workload && store.workloads()?.is_empty() {
            store.create_workload(&sample_workload(&config))?;
        }

        let mut api_settings = ApiSettings::default();
        api_settings.cluster_name.clone_from(&config.cluster_name);
        api_settings.cluster = config.cluster.clone();
        api_settings.metrics = metrics.clone();
        api_settings.gateway_url = Some(format!("http://{gateway_address}"));
        let scrape = (gateway.clone(), metrics);
        let router =
            ControlApi::with_authenticator(store.clone(), issuer.clone(), auth.clone(), api_settings)
                .router()
                .route(
                    "/metrics",
                    axum::routing::get(move || {
                        let (gateway, series) = scrape.clone();
                        async move {
                            (
                                [(
                                    axum::http::header::CONTENT_TYPE,
                                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                )],
                                metrics_text(&gateway, &series),
                            )
                        }
                    }),
                );
        let api_limits = config.limits.server();
        let (stop, stopped) = watch::channel(false);
        let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let loop_stopped = stopped.clone();
        let tasks = vec![
            tokio::spawn(async move { control.run(loop_stopped).await }),
            tokio::spawn({
                let stopped = until_stopped(stopped.clone());
                async move {
                    let _ = crate::server::serve_router(
                        api_listener,
                        router,
                        api_limits,
                        ErrorShape::RunAi,
                        stopped,
                    )
                    .await;
                }
            }),
            tokio::spawn({
                let stopped = until_stopped(stopped);
                async move {
                    let _ = gateway.serve(gateway_listener, stopped).await;
                }
            }),
        ];
        Ok(Self {
            api,
            gateway: gateway_address,
            admin,
            store,
            issuer,
            auth,
            stop,
            tasks,
        })
    }

    /// The Run:ai API's URL.
    #[must_use]
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The gateway's URL; a workload serves at `{gateway}/{projectId}/{name}/`.
    #[must_use]
    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.gateway)
    }

    /// The admin service account created at this start, with its secret (the configured one,
    /// or a random one); `None` when the store already had one.
    #[must_use]
    pub fn admin(&self) -> Option<&IssuedCredential> {
        self.admin.as_ref()
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes a new token-signing key and retires the old one; the API and the gateway accept
    /// tokens of both until the old key's last token expires. Returns the new key's id.
    ///
    /// # Errors
    /// [`PlatformError`] when the store fails or no key can be made.
    pub fn rotate_signing_key(&self) -> Result<String, PlatformError> {
        let kid = self.issuer.rotate_key()?;
        self.auth.replace_jwks(&self.issuer.jwks()?.to_string())?;
        Ok(kid)
    }

    /// Stops serving, stops the loop, and waits for both; replicas stop with the backend.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The sample: the model simulator behind a token check, scaling between one and two
/// replicas on a quarter of a GPU each.
fn sample_workload(config: &PlatformConfig) -> NewWorkload {
    let project = config
        .cluster
        .projects
        .first()
        .map_or_else(|| "1".to_owned(), |p| p.id.as_str().to_owned());
    let spec = json!({
        "image": SAMPLE_IMAGE,
        "servingPort": {"container": 8000, "authorizationType": "authenticatedUsers"},
        "compute": {"gpuDevicesRequest": 1, "gpuPortionRequest": 0.25},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 2, "metric": "concurrency", "metricThreshold": 8},
    });
    NewWorkload::new(project, "chat", WorkloadKind::Inference, spec)
}

/// The gateway's metrics and the newest sample of every workload and replica series, in the
/// OpenMetrics text format: `runai_workload_<type>{workload_id, pod}` (for example
/// `runai_workload_cpu_usage_cores`).
fn metrics_text(gateway: &Gateway, series: &MetricSeries) -> String {
    use std::fmt::Write;
    let gateway_text = gateway.metrics_text();
    let mut text = gateway_text
        .strip_suffix("# EOF\n")
        .unwrap_or(&gateway_text)
        .to_owned();
    let mut declared = None;
    let mut samples = series.latest();
    samples.sort_by_key(|s| s.metric);
    for sample in &samples {
        let name = format!("runai_workload_{}", sample.metric.as_str().to_ascii_lowercase());
        if declared != Some(sample.metric) {
            let _ = writeln!(text, "# TYPE {name} gauge");
            let _ = writeln!(text, "# HELP {name} The newest {} sample.", sample.metric);
            declared = Some(sample.metric);
        }
        let pod = sample.pod.as_deref().unwrap_or("");
        let _ = writeln!(
            text,
            "{name}{{workload_id=\"{}\",pod=\"{pod}\"}} {}",
            sample.workload, sample.value
        );
    }
    text.push_str("# EOF\n");
    text
}
