//! The inference gateway's data plane: routes a request to its workload by host or path,
//! checks the caller's bearer token against the workload's [`AccessPolicy`] (see
//! [`Authenticator`]; 401 or 403 before any byte reaches a replica), picks a revision by
//! traffic weight and a replica (least outstanding requests of two random choices, or
//! LLM-aware), applies Knative's queue-proxy semantics in front of it ([`WorkloadLimits`]: a
//! hard concurrency limit, a bounded queue refused with 503 and `Retry-After` when full, a
//! request timeout answered with 504) and proxies the request and its streaming response
//! without buffering either, with hop-by-hop headers stripped and `X-Forwarded-*` set, over
//! plain HTTP or TLS ([`Gateway::serve_tls`]). With an activator ([`GatewayBuilder::activator`])
//! requests for a workload at zero wait while the control loop is asked to scale it up
//! ([`ScaleFromZero`]). OpenAI-compatible responses are metered on the way (time to first
//! token, inter-token latency, tokens) into Prometheus metrics ([`Gateway::metrics_text`])
//! and rolling per-workload summaries ([`Gateway::summaries`]).
//!
//! The endpoint set is pushed in by whoever runs the gateway ([`Gateway::update_endpoints`])
//! and read on the request path without locks.
//!
//! ```
//! use runai_serve::gateway::{Gateway, GatewayConfig, WorkloadKey};
//! let gateway = Gateway::new(GatewayConfig {
//!     domain: Some("serve.example.com".into()),
//!     ..GatewayConfig::default()
//! });
//! gateway.update_endpoints(&WorkloadKey::new("team-a", "llama"), &["http://10.0.0.7:8000"])?;
//! // Requests to llama-team-a.serve.example.com or to /team-a/llama/... now reach 10.0.0.7.
//! let _router: axum::Router = gateway.router();
//! # Ok::<(), runai_serve::gateway::GatewayError>(())
//! ```

mod activator;
mod balance;
mod headers;
mod metrics;
mod queue;
mod route;
mod scrape;
mod summary;
mod tls;
mod tokens;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};
use std::time::Instant;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::auth;
pub use crate::auth::{AccessPolicy, AuthConfig, AuthError, Authenticator, ClaimNames, KeySource};
use crate::server::{BodyFault, ClientBody, ErrorShape, Peer};
use crate::shared::openai_error as error;
pub use activator::{ActivatorConfig, ScaleFromZero};
use balance::{Outstanding, Replica};
pub use queue::WorkloadLimits;
pub use route::WorkloadKey;
pub use summary::{Percentiles, SUMMARY_WINDOW, WorkloadSummary};
pub use tls::{TlsConfig, TlsError};

/// Settings of the gateway.
///
/// ```
/// use runai_serve::gateway::GatewayConfig;
/// let config = GatewayConfig::default();
/// assert!(config.domain.is_none());
/// assert_eq!(config.drain_timeout.as_secs(), 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The domain under which workloads are reached by host (`{workload}-{project}.{domain}`);
    /// without it, only path routing (`/{project}/{workload}/...`) applies.
    pub domain: Option<String>,
    /// After the shutdown signal, how long requests in flight (streams included) may take to
    /// finish before [`Gateway::serve`] returns anyway.
    pub drain_timeout: std::time::Duration,
    /// How replicas are chosen.
    pub balancing: Balancing,
    /// Largest request body accepted, in bytes: a larger declared length gets 413 before
    /// anything is sent, and a streamed body that grows past it gets 413 too (the replica's
    /// half-sent request is abandoned).
    pub max_request_body_bytes: u64,
    /// How long a request may wait for a replica slot and its response headers when its
    /// workload sets no `requestTimeoutSeconds` (504 after it). A token stream may last
    /// longer once its headers came.
    pub request_timeout: std::time::Duration,
    /// What clients may do to the listener: timeouts, header sizes, connections.
    pub limits: crate::server::ServerLimits,
    /// Speak HTTP/2 to replicas (cleartext, prior knowledge) instead of HTTP/1.1: one
    /// multiplexed connection per replica. The model servers must accept it.
    pub upstream_http2: bool,
}

/// How the gateway chooses among a revision's replicas.
///
/// ```
/// use runai_serve::gateway::Balancing;
/// use std::time::Duration;
/// let llm = Balancing::LlmAware { scrape_interval: Duration::from_millis(500) };
/// assert_ne!(llm, Balancing::default());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Balancing {
    /// The fewer outstanding requests of two replicas drawn at random.
    #[default]
    LeastOutstanding,
    /// As above, but two replicas whose model servers reported within three scrape intervals
    /// are compared first by requests waiting, then by KV-cache use, as read from each
    /// replica's vLLM `/metrics` every `scrape_interval` (while [`Gateway::serve`] runs).
    LlmAware {
        /// Time between scrapes of each replica's metrics.
        scrape_interval: std::time::Duration,
    },
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            domain: None,
            drain_timeout: std::time::Duration::from_secs(30),
            balancing: Balancing::LeastOutstanding,
            // Room for a long prompt with images, and bounded: a gateway must not stream
            // gigabytes upstream.
            max_request_body_bytes: 4 * 1024 * 1024,
            // Knative's default revision timeout.
            request_timeout: std::time::Duration::from_secs(300),
            limits: crate::server::ServerLimits::default(),
            upstream_http2: false,
        }
    }
}

/// What went wrong configuring the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A replica address is not an absolute `http://host:port` URL.
    #[error(
        "replica address `{address}` of workload {workload}: {reason}; give an absolute URL such as http://10.0.0.7:8000"
    )]
    BadReplicaAddress {
        /// The workload.
        workload: WorkloadKey,
        /// The address given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// An access policy needs tokens and the gateway has no [`Authenticator`].
    #[error(
        "workload {workload}: its access policy needs a token, and the gateway verifies none; build it with an Authenticator (Gateway::builder(..).authenticator(..)) or make the workload public"
    )]
    NoAuthenticator {
        /// The workload.
        workload: WorkloadKey,
    },
}

/// The gateway: cheap to clone, all clones share endpoints and connection pool.
///
/// ```
/// use runai_serve::gateway::{Gateway, GatewayConfig, WorkloadKey};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gateway = Gateway::new(GatewayConfig::default());
/// gateway.update_endpoints(&WorkloadKey::new("team-a", "llama"), &["http://127.0.0.1:8000"])?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// // Serve until the shutdown future completes (here: at once).
/// gateway.serve(listener, async {}).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
    /// The upstream connection pool; shared by clones, not by [`Gateway::with_own_pool`].
    client: UpstreamClient,
}

/// The pooled HTTP client that reaches replicas.
type UpstreamClient = Client<HttpConnector, Body>;

/// What the proxy handler holds: the shared state and a connection pool.
#[derive(Debug, Clone)]
struct ProxyState {
    inner: Arc<Inner>,
    client: UpstreamClient,
}

/// A workload's revisions with their traffic weights and replicas, and the limits each
/// replica applies.
#[derive(Debug, Default)]
struct Backend {
    revisions: Vec<Revision>,
    limits: WorkloadLimits,
    access: Arc<AccessPolicy>,
    /// Statistics, kept across endpoint changes.
    stats: Arc<WorkloadStats>,
}

/// What the gateway measures of a workload: its rolling summary and its metric handles.
#[derive(Debug, Default)]
struct WorkloadStats {
    rolling: summary::Rolling,
    /// Set on the workload's first request.
    meters: std::sync::OnceLock<metrics::WorkloadMeters>,
}

impl WorkloadStats {
    fn init_meters(&self, metrics: &metrics::GatewayMetrics, key: &WorkloadKey) {
        self.meters.get_or_init(|| metrics.meters_for(&key.to_string()));
    }
}

#[derive(Debug)]
struct Revision {
    name: Arc<str>,
    weight: u32,
    replicas: Vec<Arc<Replica>>,
}

impl Revision {
    /// The same revision and weight over other replicas.
    fn with_replicas(&self, replicas: Vec<Arc<Replica>>) -> Self {
        Self {
            name: Arc::clone(&self.name),
            weight: self.weight,
            replicas,
        }
    }
}

impl Backend {
    /// No revisions, with the limits, access policy and statistics of `old`.
    fn settings_of(old: Option<&Self>) -> Self {
        old.map_or_else(Self::default, |old| Self {
            revisions: Vec::new(),
            limits: old.limits,
            access: Arc::clone(&old.access),
            stats: Arc::clone(&old.stats),
        })
    }

    /// A revision by weight among those with replicas, then a replica within it.
    fn pick(&self, seed: &AtomicU64, fresh_since_ms: Option<u64>) -> Option<(Arc<str>, Outstanding)> {
        let serving = || {
            self.revisions
                .iter()
                .filter(|r| r.weight > 0 && !r.replicas.is_empty())
        };
        let total: u64 = serving().map(|r| u64::from(r.weight)).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = if serving().nth(1).is_some() {
            balance::next_random(seed) % total
        } else {
            0
        };
        let revision = serving()
            .find(|r| {
                let inside = ticket < u64::from(r.weight);
                ticket = ticket.saturating_sub(u64::from(r.weight));
                inside
            })
            .expect("the ticket falls inside the total weight");
        let outstanding = balance::pick_with(&revision.replicas, seed, fresh_since_ms)?;
        Some((Arc::clone(&revision.name), outstanding))
    }

    /// For a retry: another replica than `failed`, from the revisions by weight. Builds the
    /// candidate lists, which only the retry path pays for.
    fn pick_excluding(
        &self,
        failed: &Uri,
        seed: &AtomicU64,
        fresh_since_ms: Option<u64>,
    ) -> Option<(Arc<str>, Outstanding)> {
        let others = Self {
            revisions: self
                .revisions
                .iter()
                .map(|r| {
                    r.with_replicas(
                        r.replicas
                            .iter()
                            .filter(|replica| replica.base != *failed)
                            .cloned()
                            .collect(),
                    )
                })
                .collect(),
            ..Self::settings_of(Some(self))
        };
        others.pick(seed, fresh_since_ms)
    }

    fn replicas(&self) -> impl Iterator<Item = &Arc<Replica>> {
        self.revisions.iter().flat_map(|r| r.replicas.iter())
    }
}

/// One revision of a workload for [`Gateway::update_revisions`]: its name, its share of the
/// traffic, and its ready replicas.
///
/// ```
/// use runai_serve::gateway::RevisionEndpoints;
/// let canary = RevisionEndpoints { revision: "rev-2", weight: 10, replicas: &["http://10.0.0.9:8000"] };
/// assert_eq!(canary.weight, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionEndpoints<'a> {
    /// The revision's name (reported in metrics).
    pub revision: &'a str,
    /// Its share of the workload's traffic, relative to the other revisions' weights.
    pub weight: u32,
    /// Its ready replicas, as absolute `http://host:port` URLs.
    pub replicas: &'a [&'a str],
}

/// Builds a [`Gateway`] with an activator or an authenticator; see [`Gateway::builder`].
#[derive(Debug)]
#[must_use]
pub struct GatewayBuilder {
    config: GatewayConfig,
    activator: Option<activator::Activator>,
    auth: Option<Authenticator>,
}

impl GatewayBuilder {
    /// Requests for a workload with no ready replica wait (see [`ActivatorConfig`]) while
    /// `hook` is asked to scale the workload from zero.
    pub fn activator(mut self, config: ActivatorConfig, hook: impl ScaleFromZero) -> Self {
        self.activator = Some(activator::Activator::new(config, Arc::new(hook)));
        self
    }

    /// Tokens are verified by `auth` for workloads whose [`AccessPolicy`] needs them.
    pub fn authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The gateway.
    pub fn build(self) -> Gateway {
        Gateway::build(self.config, self.activator, self.auth)
    }
}

/// The revision a response came from, left in its extensions for the metrics.
#[derive(Debug, Clone)]
struct ServedBy(Arc<str>);

#[derive(Debug)]
struct Inner {
    config: GatewayConfig,
    endpoints: ArcSwap<HashMap<WorkloadKey, Arc<Backend>>>,
    seed: AtomicU64,
    metrics: metrics::GatewayMetrics,
    activator: Option<activator::Activator>,
    auth: Option<Authenticator>,
    /// Bumped on every endpoint change, so held requests wake up to look again.
    changes: tokio::sync::watch::Sender<u64>,
    /// The gateway's epoch for report times.
    started: Instant,
    /// The revision label of responses no revision served.
    no_revision: Arc<str>,
    /// Set once the LLM-aware scrape loop runs.
    scraping: std::sync::atomic::AtomicBool,
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Reports at or after this time count, in LLM-aware mode.
    fn fresh_since_ms(&self) -> Option<u64> {
        match self.config.balancing {
            Balancing::LeastOutstanding => None,
            Balancing::LlmAware { scrape_interval } => Some(
                self.now_ms()
                    .saturating_sub(3 * scrape_interval.as_millis() as u64),
            ),
        }
    }
}

impl Gateway {
    /// A gateway with no workloads.
    #[must_use]
    pub fn new(config: GatewayConfig) -> Self {
        Self::builder(config).build()
    }

    /// A gateway with options beyond the config: an activator, an authenticator.
    ///
    /// ```
    /// use runai_serve::gateway::{AuthConfig, Authenticator, Gateway, GatewayConfig, KeySource};
    /// let auth = Authenticator::new(AuthConfig::new(KeySource::SharedSecret(vec![7; 32]), "me"))?;
    /// let gateway = Gateway::builder(GatewayConfig::default()).authenticator(auth).build();
    /// # drop(gateway);
    /// # Ok::<(), runai_serve::gateway::AuthError>(())
    /// ```
    pub fn builder(config: GatewayConfig) -> GatewayBuilder {
        GatewayBuilder {
            config,
            activator: None,
            auth: None,
        }
    }

    /// A gateway whose requests for a workload with no ready replica wait (see
    /// [`ActivatorConfig`]) while `hook` is asked to scale the workload from zero.
    ///
    /// ```
    /// use runai_serve::gateway::{ActivatorConfig, Gateway, GatewayConfig, ScaleFromZero, WorkloadKey};
    /// struct Wake;
    /// impl ScaleFromZero for Wake {
    ///     fn scale_from_zero(&self, _: &WorkloadKey) {}
    /// }
    /// let gateway = Gateway::with_activator(GatewayConfig::default(), ActivatorConfig::default(), Wake);
    /// gateway.update_endpoints(&WorkloadKey::new("p", "idle"), &[])?; // at zero: requests wait
    /// # Ok::<(), runai_serve::gateway::GatewayError>(())
    /// ```
    pub fn with_activator(
        config: GatewayConfig,
        activator: ActivatorConfig,
        hook: impl ScaleFromZero,
    ) -> Self {
        Self::builder(config).activator(activator, hook).build()
    }

    fn build(
        config: GatewayConfig,
        activator: Option<activator::Activator>,
        auth: Option<Authenticator>,
    ) -> Self {
        let client = upstream_client(&config);
        Self {
            inner: Arc::new(Inner {
                config,
                endpoints: ArcSwap::from_pointee(HashMap::new()),
                seed: AtomicU64::new(0x5EED),
                metrics: metrics::GatewayMetrics::new(),
                activator,
                auth,
                changes: tokio::sync::watch::Sender::new(0),
                started: Instant::now(),
                no_revision: Arc::from(""),
                scraping: std::sync::atomic::AtomicBool::new(false),
            }),
            client,
        }
    }

    /// A handle on the same gateway (endpoints, limits, access, metrics) with its own pool
    /// of upstream connections, for a thread that runs its own single-threaded runtime: its
    /// requests then reach replicas over connections driven by that thread alone, with no
    /// cross-thread wake-ups (the thread-per-core layout of nginx's workers).
    ///
    /// ```
    /// use runai_serve::gateway::{Gateway, GatewayConfig};
    /// let gateway = Gateway::new(GatewayConfig::default());
    /// let worker = gateway.with_own_pool();
    /// // `worker.serve(..)` on another thread's runtime shares everything but connections.
    /// # drop(worker);
    /// ```
    #[must_use]
    pub fn with_own_pool(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            client: upstream_client(&self.inner.config),
        }
    }

    /// Sets the replicas of `workload`, as one revision named `default` taking all traffic (an
    /// empty list keeps the workload known, with nothing to serve it). Replicas that stay
    /// keep their outstanding-request counts.
    ///
    /// # Errors
    /// [`GatewayError::BadReplicaAddress`] when an address is not an absolute http URL;
    /// nothing changes then.
    pub fn update_endpoints(&self, workload: &WorkloadKey, replicas: &[&str]) -> Result<(), GatewayError> {
        let revision = RevisionEndpoints {
            revision: "default",
            weight: 100,
            replicas,
        };
        self.update_revisions(workload, &[revision])
    }

    /// Sets the revisions of `workload` with their traffic weights and replicas, for rolling
    /// updates and canaries: each request goes to a revision drawn by weight among those
    /// with replicas, then to the least loaded of two of its replicas.
    ///
    /// ```
    /// use runai_serve::gateway::{Gateway, GatewayConfig, RevisionEndpoints, WorkloadKey};
    /// let gateway = Gateway::new(GatewayConfig::default());
    /// gateway.update_revisions(&WorkloadKey::new("p", "llama"), &[
    ///     RevisionEndpoints { revision: "rev-1", weight: 90, replicas: &["http://10.0.0.7:8000"] },
    ///     RevisionEndpoints { revision: "rev-2", weight: 10, replicas: &["http://10.0.0.9:8000"] },
    /// ])?;
    /// # Ok::<(), runai_serve::gateway::GatewayError>(())
    /// ```
    ///
    /// # Errors
    /// [`GatewayError::BadReplicaAddress`] when an address is not an absolute http URL;
    /// nothing changes then.
    pub fn update_revisions(
        &self,
        workload: &WorkloadKey,
        revisions: &[RevisionEndpoints<'_>],
    ) -> Result<(), GatewayError> {
        let bad = |address: &str, reason: &str| GatewayError::BadReplicaAddress {
            workload: workload.clone(),
            address: address.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parsed = Vec::with_capacity(revisions.len());
        for revision in revisions {
            let mut uris = Vec::with_capacity(revision.replicas.len());
            for address in revision.replicas {
                let uri: Uri = address
                    .parse()
                    .map_err(|e: axum::http::uri::InvalidUri| bad(address, &e.to_string()))?;
                if uri.scheme_str() != Some("http") || uri.authority().is_none() {
                    return Err(bad(address, "only http://host:port addresses are supported"));
                }
                uris.push(uri);
            }
            parsed.push((Arc::<str>::from(revision.revision), revision.weight, uris));
        }
        self.change_backend(workload, |old| {
            let settings = Backend::settings_of(old);
            let find = |uri: &Uri| old.and_then(|old| old.replicas().find(|r| r.base == *uri).cloned());
            let revisions = parsed
                .iter()
                .map(|(name, weight, uris)| Revision {
                    name: Arc::clone(name),
                    weight: *weight,
                    replicas: uris
                        .iter()
                        .map(|uri| {
                            find(uri).unwrap_or_else(|| Arc::new(Replica::new(uri.clone(), &settings.limits)))
                        })
                        .collect(),
                })
                .collect();
            Backend {
                revisions,
                ..settings
            }
        });
        Ok(())
    }

    /// Sets the per-replica limits of `workload` (known or not yet known). Requests already
    /// admitted keep their slots; new ones count against the new limits.
    pub fn set_limits(&self, workload: &WorkloadKey, limits: WorkloadLimits) {
        self.change_backend(workload, |old| {
            let revisions = old.map_or_else(Vec::new, |old| {
                old.revisions
                    .iter()
                    .map(|r| {
                        let fresh = r
                            .replicas
                            .iter()
                            .map(|replica| Arc::new(Replica::new(replica.base.clone(), &limits)));
                        r.with_replicas(fresh.collect())
                    })
                    .collect()
            });
            Backend {
                revisions,
                limits,
                ..Backend::settings_of(old)
            }
        });
    }

    /// Sets who may call `workload` (known or not yet known; public until set). Requests
    /// are checked before any byte is sent to a replica: a missing or bad token gets 401, a
    /// valid one without access 403.
    ///
    /// ```
    /// use runai_serve::gateway::{AccessPolicy, AuthConfig, Authenticator, Gateway, GatewayConfig, KeySource, WorkloadKey};
    /// let auth = Authenticator::new(AuthConfig::new(KeySource::SharedSecret(vec![7; 32]), "me"))?;
    /// let gateway = Gateway::builder(GatewayConfig::default()).authenticator(auth).build();
    /// gateway.set_access(&WorkloadKey::new("p", "llama"), AccessPolicy::groups(["ml-team"]))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`GatewayError::NoAuthenticator`] when the policy needs a token and the gateway was
    /// built without an [`Authenticator`]; nothing changes then.
    pub fn set_access(&self, workload: &WorkloadKey, policy: AccessPolicy) -> Result<(), GatewayError> {
        if policy.requires_token() && self.inner.auth.is_none() {
            return Err(GatewayError::NoAuthenticator {
                workload: workload.clone(),
            });
        }
        let access = Arc::new(policy);
        self.change_backend(workload, |old| Backend {
            revisions: old.map_or_else(Vec::new, |old| {
                old.revisions
                    .iter()
                    .map(|r| r.with_replicas(r.replicas.clone()))
                    .collect()
            }),
            access: Arc::clone(&access),
            ..Backend::settings_of(old)
        });
        Ok(())
    }

    /// Replaces the backend of `workload` with `change(old)` and wakes held requests.
    fn change_backend(&self, workload: &WorkloadKey, change: impl Fn(Option<&Backend>) -> Backend) {
        self.inner.endpoints.rcu(|current| {
            let mut next = HashMap::clone(current);
            let changed = change(current.get(workload).map(AsRef::as_ref));
            next.insert(workload.clone(), Arc::new(changed));
            next
        });
        self.inner.changes.send_modify(|version| *version += 1);
    }

    /// The workload's summary over the last minute, when the gateway knows the workload.
    pub fn summary(&self, workload: &WorkloadKey) -> Option<WorkloadSummary> {
        let endpoints = self.inner.endpoints.load();
        let backend = endpoints.get(workload)?;
        let mut summary = backend.stats.rolling.summarize(workload, Instant::now());
        summary.concurrency = self.concurrency(workload, backend);
        Some(summary)
    }

    /// Requests of `workload` in flight now, queued, or held at zero.
    fn concurrency(&self, workload: &WorkloadKey, backend: &Backend) -> u64 {
        let at_replicas: usize = backend
            .replicas()
            .map(|r| r.outstanding() + r.admission.queued())
            .sum();
        let held = self
            .inner
            .activator
            .as_ref()
            .map_or(0, |activator| activator.held(workload));
        (at_replicas + held) as u64
    }

    /// Every known workload's summary over the last minute, sorted by workload.
    pub fn summaries(&self) -> Vec<WorkloadSummary> {
        let now = Instant::now();
        let endpoints = self.inner.endpoints.load();
        let mut all: Vec<_> = endpoints
            .iter()
            .map(|(key, backend)| {
                let mut summary = backend.stats.rolling.summarize(key, now);
                summary.concurrency = self.concurrency(key, backend);
                summary
            })
            .collect();
        all.sort_by_cached_key(|s| s.workload.to_string());
        all
    }

    /// Forgets `workload`; its requests get 404 from now on.
    pub fn remove_workload(&self, workload: &WorkloadKey) {
        self.inner.endpoints.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.remove(workload);
            next
        });
        self.inner.changes.send_modify(|version| *version += 1);
    }

    /// The gateway's metrics in the Prometheus (OpenMetrics) text format: requests by
    /// workload and status, end-to-end latency, replicas, requests in flight and queued, and
    /// for OpenAI-compatible traffic time to first token, inter-token latency and tokens
    /// (also under vLLM's histogram names).
    pub fn metrics_text(&self) -> String {
        let endpoints = self.inner.endpoints.load();
        let gauges = endpoints.iter().map(|(key, backend)| {
            let gauges = metrics::WorkloadGauges {
                replicas: backend.replicas().count(),
                in_flight: backend.replicas().map(|r| r.outstanding()).sum(),
                queued: backend.replicas().map(|r| r.admission.queued()).sum(),
            };
            (key.to_string(), gauges)
        });
        let reports: Vec<_> = endpoints
            .iter()
            .flat_map(|(key, backend)| {
                backend.replicas().filter_map(move |r| {
                    r.reported.waiting().map(|waiting| metrics::ReplicaReport {
                        workload: key.to_string(),
                        replica: r.base.to_string(),
                        waiting,
                    })
                })
            })
            .collect();
        self.inner.metrics.encode_with(gauges, &reports)
    }

    /// A router for an admin listener apart from the proxied traffic: `GET /metrics` serves
    /// [`Gateway::metrics_text`], `GET /summaries` the [`Gateway::summaries`] as JSON.
    pub fn metrics_router(&self) -> Router {
        let (metrics, summaries) = (self.clone(), self.clone());
        let router = Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.metrics_text(),
                    )
                }),
            )
            .route(
                "/summaries",
                axum::routing::get(move || async move { axum::Json(summaries.summaries()) }),
            );
        ErrorShape::OpenAi.apply(
            router.fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such admin endpoint") }),
        )
    }

    /// The gateway as an axum router: every path is proxied.
    pub fn router(&self) -> Router {
        let state = ProxyState {
            inner: Arc::clone(&self.inner),
            client: self.client.clone(),
        };
        Router::new().fallback(proxy).with_state(state)
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting and lets requests
    /// in flight finish for up to [`GatewayConfig::drain_timeout`].
    ///
    /// # Errors
    /// The I/O error that stopped the server.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_with(listener, None, shutdown).await
    }

    /// As [`Gateway::serve`], terminating TLS on `listener` (HTTP/2 or HTTP/1.1 chosen by
    /// ALPN); replicas are still reached over plain HTTP.
    ///
    /// ```no_run
    /// use runai_serve::gateway::{Gateway, GatewayConfig, TlsConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = TlsConfig::from_pem_files("tls.crt", "tls.key")?;
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
    /// Gateway::new(GatewayConfig::default()).serve_tls(listener, tls, std::future::pending()).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The I/O error that stopped the server.
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        tls: TlsConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_with(listener, Some(&tls), shutdown).await
    }

    async fn serve_with(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<&TlsConfig>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // One scrape loop per gateway, however many threads serve it.
        if let Balancing::LlmAware { scrape_interval } = self.inner.config.balancing
            && !self
                .inner
                .scraping
                .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            tokio::spawn(scrape::scrape_loop(
                Arc::downgrade(&self.inner),
                self.client.clone(),
                scrape_interval,
            ));
        }
        let (signal, deadline) = crate::drain::signal_and_deadline(shutdown, self.inner.config.drain_timeout);
        let state = ProxyState {
            inner: Arc::clone(&self.inner),
            client: self.client.clone(),
        };
        let handler = move |request: Request, peer: Peer| {
            let state = state.clone();
            async move { handle(&state, request, peer).await }
        };
        let limits = self.inner.config.limits;
        let tls = tls.map(|tls| Arc::clone(&tls.server));
        crate::server::serve(
            listener,
            tls,
            limits,
            Some(self.inner.config.max_request_body_bytes),
            ErrorShape::OpenAi,
            handler,
            signal,
            deadline,
        )
        .await
    }
}

/// The handler of [`Gateway::router`], for gateways embedded in another axum server: the
/// peer comes from `ConnectInfo` when the server provides it.
async fn proxy(State(state): State<ProxyState>, request: Request) -> Response {
    let connection = Peer {
        address: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
        over_tls: false,
    };
    handle(&state, request, connection).await
}

/// Proxies one request and counts its response.
async fn handle(state: &ProxyState, request: Request, connection: Peer) -> Response {
    let arrived = Instant::now();
    let inner = &state.inner;
    let (response, stats) = forward(state, request, connection, arrived).await;
    let status = response.status().as_u16();
    let revision = response
        .extensions()
        .get::<ServedBy>()
        .map_or(&inner.no_revision, |r| &r.0);
    match stats.as_ref().and_then(|s| s.meters.get()) {
        Some(meters) => meters.count(&inner.metrics, revision, status),
        None => {
            inner.metrics.requests_counter("", "", status).inc();
        }
    }
    response
}

/// The OpenAI endpoints whose responses are metered in tokens.
const METERED_PATHS: [&str; 3] = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"];

/// Routes, admits and proxies one request: the response, and the statistics of the workload
/// when one matched.
async fn forward(
    state: &ProxyState,
    request: Request,
    connection: Peer,
    arrived: Instant,
) -> (Response, Option<Arc<WorkloadStats>>) {
    let inner = &state.inner;
    let (mut parts, body) = request.into_parts();
    let limit = inner.config.max_request_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        let message = format!("the request body is larger than the gateway's limit of {limit} bytes");
        return (
            error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", &message),
            None,
        );
    }
    // The gateway's listener caps the body and records its faults; a router served by
    // another server gets the cap here.
    let (body, fault) = match parts.extensions.get::<BodyFault>() {
        Some(fault) => (body, fault.clone()),
        None => {
            let fault = BodyFault::default();
            let capped = ClientBody::new(body, None, Some(limit), fault.clone());
            (Body::new(capped), fault)
        }
    };
    let host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let endpoints = inner.endpoints.load();
    let Some(routed) = route::resolve(
        &endpoints,
        inner.config.domain.as_deref(),
        host.as_ref().and_then(|h| h.to_str().ok()),
        path_and_query,
    ) else {
        let message = format!("no workload serves {path_and_query}");
        return (error(StatusCode::NOT_FOUND, "not_found", &message), None);
    };
    let key = routed.key.clone();
    let upstream_path = routed.upstream_path;
    let mut backend = Arc::clone(routed.target);
    drop(endpoints);
    let stats = Arc::clone(&backend.stats);
    stats.init_meters(&inner.metrics, &key);
    if backend.access.requires_token() {
        let checked = match &inner.auth {
            Some(auth) => auth.check(&backend.access, &parts.headers).await,
            // set_access refuses such a policy; kept closed should it ever happen.
            None => Err(auth::Denied::Unauthenticated(None)),
        };
        if let Err(denied) = checked {
            return (denied.into_response(), Some(stats));
        }
    }
    let (revision, outstanding) = match backend.pick(&inner.seed, inner.fresh_since_ms()) {
        Some(picked) => picked,
        None => match &inner.activator {
            Some(activator) => match activator.hold(inner, &key).await {
                Ok((ready, revision, outstanding)) => {
                    backend = ready;
                    (revision, outstanding)
                }
                Err(response) => return (response, Some(stats)),
            },
            None => {
                let message = format!("workload {key} has no ready replica");
                let response = retry_later(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &message));
                return (response, Some(stats));
            }
        },
    };
    let metered = parts.method == axum::http::Method::POST
        && METERED_PATHS
            .iter()
            .any(|p| upstream_path.split('?').next().unwrap_or("").ends_with(p));
    headers::strip_hop_by_hop(&mut parts.headers);
    headers::set_forwarded(&mut parts.headers, connection.address, host, connection.over_tls);
    parts.headers.remove(header::HOST);
    // A small body of known length is kept, so a request that fails to connect can go to
    // another replica; one that reached a replica is never sent again.
    // Only worth keeping when another replica could take the retry.
    let retry_possible = backend.replicas().nth(1).is_some();
    let (body, replay) = match replayable(declared, body, retry_possible, &fault).await {
        Ok(kept) => kept,
        Err(response) => return (served_by(response, &revision), Some(stats)),
    };
    // The headers are copied for a second attempt only when one can happen.
    let retry_headers = replay.as_ref().map(|_| parts.headers.clone());
    let head = UpstreamHead {
        method: parts.method,
        path: upstream_path,
        metered,
        arrived,
        fault,
    };
    let first = send_once(state, &backend, &key, outstanding, &head, parts.headers, body).await;
    let failed = match first {
        Ok(response) => return (served_by(response, &revision), Some(stats)),
        Err(Failure::Respond(response)) => return (served_by(response, &revision), Some(stats)),
        Err(Failure::Connect { replica, message }) => (replica, message),
    };
    let retry = replay.zip(retry_headers).and_then(|kept| {
        let picked = backend.pick_excluding(&failed.0, &inner.seed, inner.fresh_since_ms())?;
        Some((picked, kept))
    });
    let Some(((revision, outstanding), (bytes, headers))) = retry else {
        let response = error(StatusCode::BAD_GATEWAY, "upstream_error", &failed.1);
        return (served_by(response, &revision), Some(stats));
    };
    let response = match send_once(
        state,
        &backend,
        &key,
        outstanding,
        &head,
        headers,
        Body::from(bytes),
    )
    .await
    {
        Ok(response) | Err(Failure::Respond(response)) => response,
        Err(Failure::Connect { message, .. }) => error(StatusCode::BAD_GATEWAY, "upstream_error", &message),
    };
    (served_by(response, &revision), Some(stats))
}

/// Bodies up to this size, with a known length, are kept for a retry after a failed connect.
const REPLAYABLE_BODY: u64 = 64 * 1024;

/// The body to send first, and a copy to resend when a retry is possible and the body is
/// small and of known (`declared`) length.
async fn replayable(
    declared: Option<u64>,
    body: Body,
    retry_possible: bool,
    fault: &BodyFault,
) -> Result<(Body, Option<bytes::Bytes>), Response> {
    match declared {
        Some(length) if retry_possible && length <= REPLAYABLE_BODY => {
            let bytes = http_body_util::BodyExt::collect(http_body_util::Limited::new(
                body,
                REPLAYABLE_BODY as usize,
            ))
            .await
            .map_err(|e| match fault.get() {
                Some(fault) => client_fault(fault),
                None => error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    &format!("request body: {e}"),
                ),
            })?
            .to_bytes();
            Ok((Body::from(bytes.clone()), Some(bytes)))
        }
        _ => Ok((body, None)),
    }
}

/// What every attempt sends besides headers and body: the request line, and what the
/// response's metering needs.
struct UpstreamHead {
    method: axum::http::Method,
    path: String,
    metered: bool,
    arrived: Instant,
    /// Where the client's body records its failures, which are the client's, not the
    /// replica's.
    fault: BodyFault,
}

/// Why an attempt produced no upstream response.
enum Failure {
    /// The replica could not be reached; the request did not leave, so it may go elsewhere.
    Connect { replica: Uri, message: String },
    /// Answer the client with this.
    Respond(Response),
}

/// One attempt on the picked replica: admission, the request, and the response wrapped to
/// keep the slot, count and meter until its body ends.
async fn send_once(
    state: &ProxyState,
    backend: &Backend,
    key: &WorkloadKey,
    outstanding: Outstanding,
    head: &UpstreamHead,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let (inner, client) = (&state.inner, &state.client);
    let replica = outstanding.replica().base.clone();
    let uri = upstream_uri(&replica, &head.path).map_err(|message| {
        Failure::Respond(error(StatusCode::BAD_REQUEST, "invalid_request_error", &message))
    })?;
    let mut upstream = Request::new(body);
    *upstream.method_mut() = head.method.clone();
    // The version spoken to the replica is the gateway's choice, whatever the client spoke.
    *upstream.version_mut() = if inner.config.upstream_http2 {
        axum::http::Version::HTTP_2
    } else {
        axum::http::Version::HTTP_11
    };
    *upstream.headers_mut() = headers;
    // HTTP/2 carries the authority in the URI; HTTP/1.1 needs the header.
    if !inner.config.upstream_http2
        && let Some(host) = &outstanding.replica().host
    {
        upstream.headers_mut().insert(header::HOST, host.clone());
    }
    *upstream.uri_mut() = uri;
    // The deadline covers the wait for a slot and the replica's response headers, not the
    // body: a token stream may rightly last longer than any request timeout.
    let timeout = backend
        .limits
        .request_timeout
        .unwrap_or(inner.config.request_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    let slot = match outstanding.replica().admission.admit(Some(timeout)).await {
        Ok(slot) => slot,
        Err(queue::Refused::QueueFull) => {
            let message = format!("workload {key}: every replica slot and queue place is taken");
            return Err(Failure::Respond(retry_later(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                &message,
            ))));
        }
        Err(queue::Refused::TimedOut) => return Err(Failure::Respond(timed_out(key))),
    };
    let sent = client.request(upstream);
    let answer = tokio::time::timeout_at(deadline, sent)
        .await
        .map_err(|_| Failure::Respond(timed_out(key)))?;
    match answer {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            headers::strip_hop_by_hop(&mut parts.headers);
            let streaming = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            let body = Counted {
                body,
                meter: head
                    .metered
                    .then(|| tokens::TokenMeter::new(head.arrived, streaming)),
                finish: Some(Finish {
                    arrived: head.arrived,
                    stats: Arc::clone(&backend.stats),
                }),
                _slot: slot,
                _outstanding: outstanding,
            };
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        Err(e) => {
            // The client's body failed (stalled, malformed, too large): its fault, answered
            // as such and never counted against the replica.
            if let Some(fault) = head.fault.get() {
                return Err(Failure::Respond(client_fault(fault)));
            }
            let message = format!("replica {replica} of workload {key}: {e}");
            if e.is_connect() {
                Err(Failure::Connect { replica, message })
            } else {
                Err(Failure::Respond(error(
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    &message,
                )))
            }
        }
    }
}

/// A pooled client for replicas: HTTP/1.1, or HTTP/2 when configured.
fn upstream_client(config: &GatewayConfig) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        // Below the usual 60-75 s upstream keep-alive, so the pool does not reuse a socket the
        // replica is closing.
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .http2_only(config.upstream_http2)
        .build(connector)
}

/// Marks `response` as served by `revision`, for the metrics.
fn served_by(mut response: Response, revision: &Arc<str>) -> Response {
    response.extensions_mut().insert(ServedBy(Arc::clone(revision)));
    response
}

/// The answer to a request whose body failed on the client's side.
fn client_fault(fault: &crate::server::BodyError) -> Response {
    let status = fault.status();
    error(status, crate::server::openai_type(status), &fault.to_string())
}

fn retry_later(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn timed_out(workload: &WorkloadKey) -> Response {
    error(
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
        &format!("workload {workload}: no response within the request timeout"),
    )
}

/// The replica's base URL joined with the path and query to send.
fn upstream_uri(base: &Uri, path_and_query: &str) -> Result<Uri, String> {
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|e| format!("path `{path_and_query}`: {e}"))?,
    );
    Uri::from_parts(parts).map_err(|e| format!("path `{path_and_query}`: {e}"))
}

/// A response body that keeps its request's slot and its count against the replica until it
/// ends or the client goes away, measuring tokens on the way and recording the request's
/// metrics at its end.
struct Counted {
    body: hyper::body::Incoming,
    meter: Option<tokens::TokenMeter>,
    finish: Option<Finish>,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    _outstanding: Outstanding,
}

/// What recording a finished request needs.
struct Finish {
    arrived: Instant,
    stats: Arc<WorkloadStats>,
}

impl Counted {
    fn finish(&mut self) {
        if let Some(finish) = self.finish.take() {
            let now = Instant::now();
            let stats = self.meter.take().map(|meter| meter.finish(now));
            let duration = now - finish.arrived;
            if let Some(meters) = finish.stats.meters.get() {
                meters.record(duration.as_secs_f64(), stats.as_ref());
            }
            let (ttft, tokens) = stats
                .as_ref()
                .map_or((None, 0), |s| (s.ttft, s.completion_tokens.unwrap_or(0)));
            finish.stats.rolling.record(now, duration, ttft, tokens);
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        // A client that went away mid-stream still counts, with what was measured.
        self.finish();
    }
}

impl http_body::Body for Counted {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(meter), Some(data)) = (self.meter.as_mut(), frame.data_ref()) {
                    meter.feed(data, Instant::now());
                }
            }
            Poll::Ready(None) => self.finish(),
            Poll::Ready(Some(Err(_))) => {
                if let Some(meters) = self.finish.as_ref().and_then(|f| f.stats.meters.get()) {
                    meters.count_broken_stream();
                }
                self.finish();
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
