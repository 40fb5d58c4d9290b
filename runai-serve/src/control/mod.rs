//! The embedded control plane: the pieces that serve the Run:ai API on one machine. Today it
//! issues tokens for the store's service accounts and access keys and publishes the JWKS that
//! verifies them.

mod tokens;

pub use tokens::{IssuedToken, TokenError, TokenIssuer};
