//! The embedded control plane: the pieces that serve the Run:ai API on one machine. Today:
//! tokens for the store's service accounts and access keys and the JWKS that verifies them
//! ([`TokenIssuer`]), and the HTTP API for credentials and inference workloads
//! ([`ControlApi`]), and the loop that runs what the API accepts on a backend
//! ([`ControlLoop`]).

mod api;
mod reconcile;
mod tokens;

pub use api::{ApiSettings, ControlApi};
pub use reconcile::{ControlError, ControlLoop, LoopSettings};
pub use tokens::{IssuedToken, TokenError, TokenIssuer};
