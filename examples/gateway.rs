//! A standalone inference gateway configured by a YAML file: listeners, TLS, token
//! verification, and workloads with their access policy, limits and replicas.
//!
//! ```text
//! cargo run --release --example gateway -- --config gateway.yaml
//! cargo run --release --example gateway -- --config gateway.yaml check
//! cargo run --release --example gateway -- --config gateway.yaml mint-token --subject alice
//! ```
//!
//! `docs/gateway.md` documents the file. `check` validates it and exits; `mint-token` prints
//! a token signed with the configured shared secret, for trying a protected workload.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use runai::core::Validate;
use runai::core::spec::{AuthorizationType, ServingPort};
use runai::serve::gateway::{
    AccessPolicy, AuthConfig, Authenticator, Balancing, ClaimNames, Gateway, GatewayConfig, KeySource,
    RevisionEndpoints, TlsConfig, WorkloadKey, WorkloadLimits,
};
use runai::serve::platform::LimitsConfig;
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(about = "A standalone inference gateway configured by a YAML file")]
struct Cli {
    /// The configuration file (YAML).
    #[arg(long, env = "RUNAI_GATEWAY_CONFIG")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Validate the file and exit.
    Check,
    /// Print a token signed with the configured shared secret.
    MintToken {
        /// The token's subject (`sub` and `preferred_username`).
        #[arg(long)]
        subject: String,
        /// Groups to put in the groups claim.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_s: u64,
    },
}

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileConfig {
    /// Where the proxied traffic arrives.
    #[serde(default = "default_listen")]
    listen: SocketAddr,
    /// An admin listener for `/metrics` and `/summaries`; none when absent.
    metrics_listen: Option<SocketAddr>,
    /// Worker threads, each with its own event loop (default: one per CPU).
    worker_threads: Option<usize>,
    /// Domain for host routing (`{workload}-{project}.{domain}`).
    domain: Option<String>,
    drain_timeout_seconds: Option<u64>,
    max_request_body_bytes: Option<u64>,
    #[serde(default)]
    balancing: BalancingMode,
    scrape_interval_ms: Option<u64>,
    #[serde(default)]
    upstream_http2: bool,
    tls: Option<TlsFile>,
    auth: Option<AuthFile>,
    /// Client limits (timeouts, header and body sizes, connections), as in the platform's
    /// configuration; `maxRequestBodyBytes` above wins over the one here.
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    workloads: Vec<WorkloadFile>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
enum BalancingMode {
    #[default]
    LeastOutstanding,
    LlmAware,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TlsFile {
    certificate: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuthFile {
    issuer: Option<String>,
    #[serde(default)]
    issuers: Vec<String>,
    #[serde(default)]
    audiences: Vec<String>,
    jwks_url: Option<String>,
    jwks_file: Option<PathBuf>,
    shared_secret_file: Option<PathBuf>,
    shared_secret_env: Option<String>,
    refresh_seconds: Option<u64>,
    leeway_seconds: Option<u64>,
    claims: Option<ClaimsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClaimsFile {
    user: Option<Vec<String>>,
    groups: Option<String>,
    account_type: Option<String>,
    service_account_types: Option<Vec<String>>,
    service_account_name: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WorkloadFile {
    project: String,
    name: String,
    #[serde(default)]
    access: AccessFile,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    replicas: Vec<String>,
    #[serde(default)]
    revisions: Vec<RevisionFile>,
}

/// The Run:ai serving-port access fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccessFile {
    authorization_type: Option<AuthorizationType>,
    authorized_users: Option<Vec<String>>,
    authorized_groups: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitsFile {
    concurrency_hard_limit: Option<u32>,
    queue_depth: Option<usize>,
    request_timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevisionFile {
    name: String,
    #[serde(default = "full_weight")]
    weight: u32,
    replicas: Vec<String>,
}

fn full_weight() -> u32 {
    100
}

impl FileConfig {
    fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = serde_saphyr::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    /// Every rule the types do not already enforce, all reported at once.
    fn check(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        if let Err(problem) = self.limits.check() {
            problems.push(problem);
        }
        let mut seen = std::collections::HashSet::new();
        for (i, w) in self.workloads.iter().enumerate() {
            let at = format!("workloads[{i}] ({}/{})", w.project, w.name);
            if !seen.insert((w.project.as_str(), w.name.as_str())) {
                problems.push(format!("{at}: listed twice"));
            }
            if !w.replicas.is_empty() && !w.revisions.is_empty() {
                problems.push(format!("{at}: give `replicas` or `revisions`, not both"));
            }
            if let Err(errors) = w.access.as_serving_port().validate() {
                for v in errors.violations() {
                    problems.push(format!("{at}.access: {v}"));
                }
            }
            if w.access.policy().requires_token() && self.auth.is_none() {
                problems.push(format!(
                    "{at}.access: needs a token but there is no `auth` section; add one or make the workload public"
                ));
            }
            if w.limits.concurrency_hard_limit == Some(0) {
                problems.push(format!(
                    "{at}.limits.concurrencyHardLimit: must be at least 1 (leave it out for no limit)"
                ));
            }
        }
        if let Some(auth) = &self.auth {
            let sources = [
                auth.jwks_url.is_some(),
                auth.jwks_file.is_some(),
                auth.shared_secret_file.is_some(),
                auth.shared_secret_env.is_some(),
            ];
            if sources.iter().filter(|&&s| s).count() != 1 {
                problems.push(
                    "auth: give exactly one of jwksUrl, jwksFile, sharedSecretFile and sharedSecretEnv"
                        .to_owned(),
                );
            }
            if auth.issuer.is_none() && auth.issuers.is_empty() {
                problems.push("auth: give the accepted token issuer (`issuer` or `issuers`)".to_owned());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("{}", problems.join("\n"))
        }
    }

    fn gateway_config(&self) -> GatewayConfig {
        let defaults = GatewayConfig::default();
        GatewayConfig {
            domain: self.domain.clone(),
            drain_timeout: self
                .drain_timeout_seconds
                .map_or(defaults.drain_timeout, Duration::from_secs),
            balancing: match self.balancing {
                BalancingMode::LeastOutstanding => Balancing::LeastOutstanding,
                BalancingMode::LlmAware => Balancing::LlmAware {
                    scrape_interval: Duration::from_millis(self.scrape_interval_ms.unwrap_or(500)),
                },
            },
            max_request_body_bytes: self
                .max_request_body_bytes
                .unwrap_or(self.limits.max_request_body_bytes),
            request_timeout: Duration::from_secs(self.limits.request_timeout_seconds),
            limits: self.limits.server(),
            upstream_http2: self.upstream_http2,
        }
    }
}

impl AccessFile {
    fn as_serving_port(&self) -> ServingPort {
        ServingPort {
            // The gateway has no container port; any valid one lets the access rules be checked.
            container: Some(1),
            authorization_type: self.authorization_type,
            authorized_users: self.authorized_users.clone(),
            authorized_groups: self.authorized_groups.clone(),
            ..ServingPort::default()
        }
    }

    fn policy(&self) -> AccessPolicy {
        AccessPolicy::from_serving_port(&self.as_serving_port())
    }
}

impl AuthFile {
    fn secret(&self) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(path) = &self.shared_secret_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("auth.sharedSecretFile: reading {}", path.display()))?;
            return Ok(Some(text.trim_end().as_bytes().to_vec()));
        }
        if let Some(name) = &self.shared_secret_env {
            let value = std::env::var(name).with_context(|| {
                format!("auth.sharedSecretEnv: the environment variable {name} is not set")
            })?;
            return Ok(Some(value.into_bytes()));
        }
        Ok(None)
    }

    fn issuers(&self) -> Vec<String> {
        self.issuer.iter().chain(&self.issuers).cloned().collect()
    }

    fn auth_config(&self) -> anyhow::Result<AuthConfig> {
        let refresh = Duration::from_secs(self.refresh_seconds.unwrap_or(300));
        let keys = if let Some(url) = &self.jwks_url {
            KeySource::JwksUrl {
                url: url.clone(),
                refresh,
            }
        } else if let Some(path) = &self.jwks_file {
            KeySource::JwksFile {
                path: path.clone(),
                refresh,
            }
        } else {
            KeySource::SharedSecret(self.secret()?.context("auth: no key source")?)
        };
        let issuers = self.issuers();
        let mut config = AuthConfig::new(keys, issuers[0].clone());
        config.issuers = issuers;
        config.audiences.clone_from(&self.audiences);
        if let Some(leeway) = self.leeway_seconds {
            config.leeway = Duration::from_secs(leeway);
        }
        if let Some(claims) = &self.claims {
            let defaults = ClaimNames::default();
            config.claims = ClaimNames {
                user: claims.user.clone().unwrap_or(defaults.user),
                groups: claims.groups.clone().unwrap_or(defaults.groups),
                account_type: claims.account_type.clone().unwrap_or(defaults.account_type),
                service_account_types: claims
                    .service_account_types
                    .clone()
                    .unwrap_or(defaults.service_account_types),
                service_account_name: claims
                    .service_account_name
                    .clone()
                    .unwrap_or(defaults.service_account_name),
            };
        }
        Ok(config)
    }
}

impl LimitsFile {
    fn limits(&self) -> WorkloadLimits {
        let mut limits = self
            .concurrency_hard_limit
            .map_or_else(WorkloadLimits::default, WorkloadLimits::with_hard_limit);
        if let Some(depth) = self.queue_depth {
            limits.queue_depth = depth;
        }
        limits.request_timeout = self.request_timeout_seconds.map(Duration::from_secs);
        limits
    }
}

/// Builds the gateway and pushes every workload in.
fn build(config: &FileConfig) -> anyhow::Result<Gateway> {
    let mut builder = Gateway::builder(config.gateway_config());
    if let Some(auth) = &config.auth {
        builder = builder.authenticator(Authenticator::new(auth.auth_config()?).context("auth")?);
    }
    let gateway = builder.build();
    for w in &config.workloads {
        let key = WorkloadKey::new(&w.project, &w.name);
        gateway.set_limits(&key, w.limits.limits());
        gateway.set_access(&key, w.access.policy())?;
        if w.revisions.is_empty() {
            let replicas: Vec<&str> = w.replicas.iter().map(String::as_str).collect();
            gateway.update_endpoints(&key, &replicas)?;
        } else {
            let replicas: Vec<Vec<&str>> = w
                .revisions
                .iter()
                .map(|r| r.replicas.iter().map(String::as_str).collect())
                .collect();
            let revisions: Vec<RevisionEndpoints<'_>> = w
                .revisions
                .iter()
                .zip(&replicas)
                .map(|(r, replicas)| RevisionEndpoints {
                    revision: &r.name,
                    weight: r.weight,
                    replicas,
                })
                .collect();
            gateway.update_revisions(&key, &revisions)?;
        }
    }
    Ok(gateway)
}

fn mint_token(config: &FileConfig, subject: &str, groups: &[String], ttl_s: u64) -> anyhow::Result<String> {
    let auth = config
        .auth
        .as_ref()
        .context("mint-token needs an `auth` section")?;
    let secret = auth.secret()?.context(
        "mint-token needs auth.sharedSecretFile or auth.sharedSecretEnv (a JWKS issuer signs its own tokens)",
    )?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = serde_json::json!({
        "iss": auth.issuers()[0], "sub": subject, "preferred_username": subject,
        "groups": groups, "iat": now, "exp": now + ttl_s,
    });
    if let Some(audience) = auth.audiences.first() {
        claims["aud"] = audience.as_str().into();
    }
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    Ok(jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )?)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return interrupt.await.unwrap_or(());
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}

/// Serves with one event loop per worker thread, as nginx's workers: each thread runs a
/// single-threaded runtime with its own listener on the same address (`SO_REUSEPORT`, the
/// kernel spreads connections) and its own upstream connections, so a request never crosses
/// threads. Endpoints, limits, access and metrics are shared.
fn serve(config: &FileConfig) -> anyhow::Result<()> {
    let gateway = build(config)?;
    let tls = match &config.tls {
        Some(tls) => Some(TlsConfig::from_pem_files(&tls.certificate, &tls.key).context("tls")?),
        None => None,
    };
    let workers = config
        .worker_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .max(1);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (bound, bindings) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    let mut threads = Vec::with_capacity(workers);
    for index in 0..workers {
        let (gateway, tls, address) = (gateway.with_own_pool(), tls.clone(), config.listen);
        let (mut stopped, bound) = (stopped.clone(), bound.clone());
        let thread = std::thread::Builder::new()
            .name(format!("gateway-{index}"))
            .spawn(move || -> anyhow::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    let listener = match bind_shared(address) {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = bound.send(Err(e));
                            return Ok(());
                        }
                    };
                    let _ = bound.send(Ok(()));
                    let shutdown = async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    };
                    match tls {
                        Some(tls) => gateway.serve_tls(listener, tls, shutdown).await,
                        None => gateway.serve(listener, shutdown).await,
                    }
                })?;
                Ok(())
            })?;
        threads.push(thread);
    }
    drop(bound);
    for binding in bindings.iter().take(workers) {
        binding?;
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "gateway on {scheme}://{} ({workers} worker thread(s)) with {} workload(s)",
        config.listen,
        config.workloads.len()
    );
    for w in &config.workloads {
        eprintln!("  {scheme}://{}/{}/{}/", config.listen, w.project, w.name);
    }
    // The main thread answers signals and serves the admin listener.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if let Some(address) = config.metrics_listen {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("metricsListen: binding {address}"))?;
            let router = gateway.metrics_router();
            eprintln!("metrics and summaries on http://{address}/metrics and /summaries");
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
        shutdown_signal().await;
        let _ = stop.send(true);
        anyhow::Ok(())
    })?;
    for thread in threads {
        match thread.join() {
            Ok(result) => result?,
            Err(_) => bail!("a worker thread panicked"),
        }
    }
    eprintln!("gateway stopped");
    Ok(())
}

/// A listener on `address` that other threads may bind too (`SO_REUSEPORT`).
fn bind_shared(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket
        .bind(address)
        .with_context(|| format!("listen: binding {address}"))?;
    Ok(socket.listen(1024)?)
}

fn main() -> std::process::ExitCode {
    // The error and its causes, without a backtrace: most are mistakes in the file.
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    // One crypto provider for every rustls user in the process (TLS, JWKS fetches).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let config = FileConfig::load(&cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check => {
            build(&config)?;
            println!(
                "{}: ok, {} workload(s)",
                cli.config.display(),
                config.workloads.len()
            );
            Ok(())
        }
        Command::MintToken {
            subject,
            groups,
            ttl_s,
        } => {
            println!("{}", mint_token(&config, &subject, &groups, ttl_s)?);
            Ok(())
        }
        Command::Serve => serve(&config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r"
listen: 127.0.0.1:8443
metricsListen: 127.0.0.1:9090
workerThreads: 2
domain: serve.example.com
balancing: llmAware
scrapeIntervalMs: 250
auth:
  issuer: https://runai.example.com
  audiences: [runai]
  jwksUrl: https://idp.example.com/.well-known/jwks.json
  claims:
    groups: realm_access.roles
workloads:
  - project: team-a
    name: llama
    access:
      authorizationType: authorizedGroups
      authorizedGroups: [ml]
    limits:
      concurrencyHardLimit: 4
      requestTimeoutSeconds: 600
    revisions:
      - {name: rev-1, weight: 90, replicas: [http://10.0.0.7:8000]}
      - {name: rev-2, weight: 10, replicas: [http://10.0.0.9:8000]}
  - project: team-a
    name: public-model
    replicas: [http://10.0.0.8:8000]
";

    #[test]
    fn a_full_file_builds_a_gateway() {
        let config = FileConfig::parse(FULL).unwrap();
        assert_eq!(config.worker_threads, Some(2));
        assert_eq!(config.workloads[0].limits.limits().queue_depth, 40);
        assert!(matches!(
            config.gateway_config().balancing,
            Balancing::LlmAware { .. }
        ));
        let auth = config.auth.as_ref().unwrap().auth_config().unwrap();
        assert_eq!(auth.claims.groups, "realm_access.roles");
        assert_eq!(auth.audiences, ["runai"]);
        let gateway = build(&config).unwrap();
        for name in ["llama", "public-model"] {
            assert!(
                gateway.summary(&WorkloadKey::new("team-a", name)).is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn mistakes_are_reported_with_where_they_are() {
        let unknown = FileConfig::parse("listen: 127.0.0.1:80\nworkload: []\n").unwrap_err();
        assert!(format!("{unknown:#}").contains("workload"), "{unknown:#}");
        let bad_policy = FileConfig::parse(
            "workloads:\n  - {project: p, name: w, access: {authorizationType: authorizedUsers}, replicas: []}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(bad_policy.contains("workloads[0] (p/w).access"), "{bad_policy}");
        assert!(bad_policy.contains("authorizedUsers"), "{bad_policy}");
        assert!(bad_policy.contains("no `auth` section"), "{bad_policy}");
        let two_sources = FileConfig::parse(
            "auth: {issuer: x, jwksUrl: 'https://idp/jwks', sharedSecretEnv: S}\nworkloads: []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(two_sources.contains("exactly one of"), "{two_sources}");
        let bad_kind = FileConfig::parse(
            "workloads:\n  - {project: p, name: w, access: {authorizationType: everyone}}\n",
        )
        .unwrap_err();
        assert!(format!("{bad_kind:#}").contains("everyone"), "{bad_kind:#}");
    }

    #[test]
    fn minted_tokens_carry_the_configured_issuer_and_audience() {
        let dir = std::env::temp_dir().join(format!("runai-gateway-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
        let text = format!(
            "auth: {{issuer: https://me, audiences: [bench], sharedSecretFile: {}}}\n",
            secret.display()
        );
        let config = FileConfig::parse(&text).unwrap();
        let token = mint_token(&config, "alice", &["ml".into()], 60).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&["https://me"]);
        validation.set_audience(&["bench"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["groups"][0], "ml");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
