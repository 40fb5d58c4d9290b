//! The Kubernetes controller for the `InferenceWorkload` custom resource
//! ([`runai_core::crd`]): each object is applied through the
//! [`KubernetesBackend`](crate::backend::kubernetes::KubernetesBackend) and its status
//! subresource reports the Run:ai phase, conditions, revisions, replicas and URL.
//!
//! - [`reconcile`] and [`error_policy`] are what [`kube::runtime::Controller`] calls;
//!   [`run`] wires them to a watch of the custom resources.
//! - [`status`] derives the status from what the backend reports, as pure functions.
//! - [`LeaderElector`] holds a `coordination.k8s.io/v1` Lease so one replica of several
//!   reconciles; [`lease`] holds its rules, as pure functions.
//! - [`ControllerMetrics`] counts reconciles, errors and durations for `/metrics`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use runai_core::crd::InferenceWorkload;
//! use runai_serve::controller::{self, Context, ControllerConfig, LeaderElector, LeaseConfig};
//! let client = kube::Client::try_default().await?;
//! let elector = LeaderElector::new(client.clone(), LeaseConfig::new("runai-controller", "runai-system", "pod-a"));
//! let Some(leadership) = elector.acquire(tokio::signal::ctrl_c()).await? else { return Ok(()) };
//! let context = Arc::new(Context::new(client.clone(), ControllerConfig::default()));
//! let lost = leadership.lost();
//! controller::run(context, kube::Api::<InferenceWorkload>::all(client), async move { lost.await; }).await;
//! leadership.step_down().await?;
//! # Ok(()) }
//! ```

mod context;
mod error;
mod leader;
pub mod lease;
mod metrics;
mod reconcile;
mod revision;
pub mod status;

use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use kube::Api;
use kube::runtime::{Controller, Predicate, WatchStreamExt, predicates, reflector, watcher};
use runai_core::crd::InferenceWorkload;

pub use context::{Context, ControllerConfig};
pub use error::ControllerError;
pub use leader::{LeaderElector, Leadership, LeaseConfig, LeaseState};
pub use metrics::ControllerMetrics;
pub use reconcile::{FINALIZER, PROJECT_LABEL, error_policy, reconcile, workload_key};
pub use revision::revision_name;

/// Runs the controller over the `InferenceWorkload`s `api` sees (one namespace, or all)
/// until `shutdown` resolves, then lets running reconciles finish.
///
/// Only changes of `metadata.generation` (spec edits, and the start of a deletion) and of
/// the finalizers trigger a reconcile: status writes, the controller's own included, do
/// not. Each reconcile asks to be looked at again after a while, which is how changes in
/// the workload's objects (replicas becoming ready) reach the status.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use runai_core::crd::InferenceWorkload;
/// use runai_serve::controller::{self, Context, ControllerConfig};
/// let client = kube::Client::try_default().await?;
/// let context = Arc::new(Context::new(client.clone(), ControllerConfig::default()));
/// let api = kube::Api::<InferenceWorkload>::namespaced(client, "team-a");
/// controller::run(context, api, async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # Ok(()) }
/// ```
pub async fn run(
    context: Arc<Context>,
    api: Api<InferenceWorkload>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    // Adding the finalizer leaves the generation alone; it must still trigger the
    // reconcile that applies the spec.
    let changed = predicates::generation.combine(predicates::finalizers);
    let trigger = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(changed, Default::default());
    // The controller wants a `Sync` shutdown future; a oneshot receiver is one, whatever
    // the caller's future is.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(());
    });
    Controller::for_stream(trigger, reader)
        .graceful_shutdown_on(stopped.map(drop))
        .run(reconcile, error_policy, context)
        .for_each(|_| std::future::ready(()))
        .await;
}
