//! `runai`: build your own GPU inference platform in the spirit of NVIDIA Run:ai Inference.
//!
//! This facade re-exports the member crates so one dependency brings the whole family:
//!
//! | module | crate | what it holds |
//! | --- | --- | --- |
//! | [`core`] | `runai-core` | Run:ai wire-format models, strict and lenient parsing, validation, the cluster model, the `InferenceWorkload` CRD (feature `kube`) |
//! | [`sched`] | `runai-sched` | GPU scheduling engine: per-device accounting, gangs, topology and NVLink cliques, queues and preemption, scoring policies (fragmentation-aware by default); autoscaling (Knative KPA, Run:ai semantics, an LLM-aware policy); trace simulators |
//! | `serve` | `runai-serve` | the runtime (feature `serve`, on by default): the inference gateway, deployment backends (local processes; Kubernetes with feature `kube`), an OpenAI-compatible model-server simulator |
//! | `client` | `runai-client` | the client (feature `client`, on by default): Run:ai control planes, Hugging Face and NGC catalogs, OpenAI-compatible endpoints |
//!
//! ```
//! use runai::core::{parse, InferenceCreationRequest, Validate};
//!
//! let request: InferenceCreationRequest = parse::strict(r#"{
//!     "name": "llama-3-8b",
//!     "projectId": "1",
//!     "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
//!     "spec": {"image": "vllm/vllm-openai:v0.11.0", "servingPort": {"container": 8000}}
//! }"#)?;
//! request.validate()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use runai_client as client;
pub use runai_core as core;
pub use runai_sched as sched;
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub use runai_serve as serve;

// The README's example is compiled and run with the tests, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
