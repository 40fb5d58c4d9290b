//! Autoscaling engines: pure functions of (configuration, metric windows, replica counts,
//! now) to a desired replica count with a reason.
//!
//! - [`Kpa`]: the Knative Pod Autoscaler, exactly, with Knative's defaults.
//! - [`RunaiAutoscaler`]: Run:ai's autoscaling fields mapped onto the KPA (concurrency,
//!   throughput) or a ratio rule with tolerance (latency, custom metrics).
//! - [`LlmAutoscaler`]: our policy for LLM serving, planned from request and token rates
//!   against a time-to-first-token objective.
//! - [`MetricWindow`]: per-second buckets for windowed averages.

mod kpa;
mod llm;
mod runai;
mod window;

pub use kpa::{Decision, Kpa, KpaConfig, KpaInput};
pub use llm::{LlmAutoscaler, LlmDecision, LlmPolicyConfig, LlmSignals, Pressure};
pub use runai::{RATIO_STABILIZATION_S, RATIO_TOLERANCE, RunaiAutoscaler, WorkloadMetrics};
pub use window::MetricWindow;
