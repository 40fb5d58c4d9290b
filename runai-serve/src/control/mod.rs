//! The embedded control plane: tokens for the store's service accounts and access keys and
//! the JWKS that verifies them ([`TokenIssuer`]); the Run:ai HTTP API for credentials,
//! inference, distributed inference and NIM workloads, metrics and the organisation
//! ([`ControlApi`]); and the loop that admits, places, autoscales and rolls out what the API
//! accepts on a backend ([`ControlLoop`], woken from zero by the gateway through
//! [`Wakeups`]).

mod admission;
mod api;
mod autoscale;
mod collect;
mod reconcile;
mod tokens;

pub use api::{ApiSettings, ControlApi};
pub use autoscale::{CustomMetrics, DEFAULT_CUSTOM_METRIC_QUERY, Wakeups};
pub use reconcile::{CanaryStep, ControlError, ControlLoop, LoopSettings};
pub use tokens::{IssuedToken, TokenError, TokenIssuer};
