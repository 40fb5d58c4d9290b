//! The runtime of a GPU inference platform.
//!
//! This crate holds the all-in-one [`platform`] (store, Run:ai API, control loop, local
//! backend and gateway in one process), the embedded control plane ([`store`],
//! [`control`]), bearer-token verification shared by the API and the gateway ([`auth`]),
//! resource and model metrics ([`observe`]), the inference [`gateway`]
//! (routing, authentication and access policies, TLS, queueing, balancing, an activator,
//! streaming proxying and token-level metrics), the deployment [`backend`]s (the contract,
//! the local backend that runs replicas as supervised child processes, and with the `kube`
//! feature the Kubernetes backend and the `InferenceWorkload` controller) and
//! [`model_sim`], an OpenAI-compatible model-server simulator with vLLM's metric names and
//! configurable time to first token, inter-token latency, concurrency and error rate. The
//! gateway's tests and benchmarks run against it, and so can anyone who wants an inference
//! endpoint without a GPU.
//!
//! ```no_run
//! use runai_serve::model_sim::{ModelSim, ModelSimConfig};
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! ModelSim::new(ModelSimConfig::default()).serve(listener, std::future::pending()).await
//! # }
//! ```

pub mod auth;
pub mod backend;
pub mod control;
#[cfg(feature = "kube")]
pub mod controller;
mod drain;
pub mod gateway;
pub mod model_sim;
pub mod observe;
pub mod platform;
pub mod server;
mod shared;
pub mod store;
