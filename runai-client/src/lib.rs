//! An authenticated async client for Run:ai-compatible control planes (a Run:ai tenant or the
//! embedded control plane of this project), model catalogs and OpenAI-compatible endpoints.
//!
//! - Tokens from a service account or access key (`/api/v1/token` or `/api/v2/token`), a
//!   static bearer token or the `runai` CLI's stored login; refreshed 60 s before expiry, one
//!   refresh at a time, and once more on a 401.
//! - Retries with exponential backoff and jitter on connect failures, 429 and 5xx, honouring
//!   `Retry-After`; a create that may have reached the server is never repeated blindly.
//! - Every control-plane request and response type comes from [`runai_core`].
//! - [`catalog`]: the Hugging Face Hub and the NGC catalog; [`openai`]: the OpenAI-compatible
//!   endpoints a workload serves, with typed streams and time to first token.
//!
//! ```no_run
//! # async fn run() -> runai_client::Result<()> {
//! use runai_client::{Client, Credentials};
//! let client = Client::builder("https://acme.run.ai")
//!     .credentials(Credentials::client_credentials("my-sa", "s3cret"))
//!     .build()?;
//! let workload = client.workloads().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
//! println!("{} is {}", workload.name, workload.phase.as_str());
//! # Ok(()) }
//! ```

mod auth;
pub mod catalog;
mod client;
mod error;
mod inference;
pub mod openai;
mod org;
mod retry;
mod services;
mod workloads;

pub use auth::Credentials;
pub use client::{Client, ClientBuilder};
pub use error::{Error, Result};
pub use inference::{Inferences, Metrics};
pub use org::{Access, Org};
pub use retry::RetryPolicy;
pub use services::{DistributedInferences, NimServices};
pub use workloads::{Page, WaitOptions, Workloads};
