//! TLS termination with rustls (aws-lc-rs): the certificate and key, and the server
//! configuration that offers HTTP/2 and HTTP/1.1 by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and private key to terminate TLS with.
///
/// ```no_run
/// use runai_serve::gateway::TlsConfig;
/// let tls = TlsConfig::from_pem_files("/etc/gateway/tls.crt", "/etc/gateway/tls.key")?;
/// # drop(tls);
/// # Ok::<(), runai_serve::gateway::TlsError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub(crate) server: Arc<rustls::ServerConfig>,
}

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PEM text holds no usable certificate or key.
    #[error(
        "{what}: {reason}; give a PEM file (`-----BEGIN CERTIFICATE-----`, `-----BEGIN PRIVATE KEY-----`)"
    )]
    Pem {
        /// Certificate or key.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the pair (the key does not match the certificate, say).
    #[error("the certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1).
    ///
    /// # Errors
    /// [`TlsError`] naming the file and what is wrong with it.
    pub fn from_pem_files(certificate: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        Self::from_pem(&read(certificate.as_ref())?, &read(key.as_ref())?)
    }

    /// The same from PEM text in memory.
    ///
    /// # Errors
    /// [`TlsError`] when either holds nothing usable or they do not match.
    pub fn from_pem(certificate: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(certificate)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem {
                what: "certificate",
                reason: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Pem {
                what: "certificate",
                reason: "no certificate found".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Pem {
            what: "private key",
            reason: e.to_string(),
        })?;
        // The provider is named, not taken from the process default, so another crate's
        // rustls features cannot make this ambiguous.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
        })
    }
}
