//! Tokens the embedded control plane issues for its service accounts and access keys:
//! ES256 JWTs signed with a key kept in the store (made on first use, rotated on demand),
//! the JWKS that verifies them, which the gateway and anyone else can load, and the
//! [`Authenticator`] that checks them.
//!
//! Rotation makes a new key and retires the old one: the old key stops signing at once but
//! stays in the JWKS until every token it signed has expired, so no caller is cut off.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::auth::{AuthConfig, Authenticator, KeySource};
use crate::store::{Credential, CredentialKind, SigningKey, Store, StoreError};

/// What went wrong issuing a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The client id and secret do not match an enabled credential.
    #[error("the client id or secret is wrong, or the credential is disabled")]
    BadCredentials,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be made or used.
    #[error("signing key: {0}")]
    Key(String),
    /// The verifier for issued tokens could not be built.
    #[error(transparent)]
    Verifier(#[from] crate::auth::AuthError),
}

/// A token just issued.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Issues tokens for the store's credentials.
///
/// ```
/// use runai_serve::control::TokenIssuer;
/// use runai_serve::store::{CredentialKind, Store};
/// let store = Store::open_in_memory()?;
/// let issued = store.create_credential(CredentialKind::ServiceAccount, "chat-bot", None)?;
/// let issuer = TokenIssuer::new(store, "https://runai.localhost");
/// let token = issuer.issue(&issued.credential.client_id, &issued.client_secret)?;
/// assert_eq!(token.access_token.split('.').count(), 3);
/// assert!(issuer.jwks()?["keys"][0]["kid"].is_string());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    store: Store,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl TokenIssuer {
    /// Tokens from `issuer` (the `iss` claim, the control plane's URL), for audience `runai`,
    /// valid for an hour.
    pub fn new(store: Store, issuer: impl Into<String>) -> Self {
        // jsonwebtoken signs through the process's one crypto provider: aws-lc-rs, as the
        // rest of the crate uses.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        Self {
            store,
            issuer: issuer.into(),
            audience: "runai".to_owned(),
            lifetime: Duration::from_secs(3600),
        }
    }

    /// Sets how long tokens live.
    ///
    /// ```
    /// # let store = runai_serve::store::Store::open_in_memory()?;
    /// let issuer = runai_serve::control::TokenIssuer::new(store, "https://runai.localhost")
    ///     .lifetime(std::time::Duration::from_secs(600));
    /// assert_eq!(issuer.issuer(), "https://runai.localhost");
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The `iss` of issued tokens.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` of issued tokens.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// A token for the credential with this client id and secret (the client-credentials
    /// grant of `/api/v1/token` and `/api/v2/token`).
    ///
    /// # Errors
    /// [`TokenError::BadCredentials`] for a wrong pair, or a store or key failure.
    pub fn issue(&self, client_id: &str, client_secret: &str) -> Result<IssuedToken, TokenError> {
        let credential = self
            .store
            .verify_credential(client_id, client_secret)?
            .ok_or(TokenError::BadCredentials)?;
        self.issue_for(&credential)
    }

    /// A token for a credential already checked (an admin bootstrap, say).
    ///
    /// # Errors
    /// [`TokenError`] when no key can sign.
    pub fn issue_for(&self, credential: &Credential) -> Result<IssuedToken, TokenError> {
        let key = self.signing_key()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let expires_in = self.lifetime.as_secs();
        // Service accounts are named by their name and client id; an access key acts as the
        // user who owns it.
        let claims = match credential.kind {
            CredentialKind::AccessKey => {
                let user = credential
                    .owner
                    .clone()
                    .unwrap_or_else(|| credential.name.clone());
                json!({
                    "sub": user, "email": user, "preferred_username": user,
                    "client_id": credential.client_id, "account_type": "user",
                })
            }
            _ => json!({
                "sub": credential.id, "preferred_username": credential.name,
                "client_id": credential.client_id, "account_type": "service_account",
            }),
        };
        let mut claims = claims;
        claims["iss"] = json!(self.issuer);
        claims["aud"] = json!(self.audience);
        claims["iat"] = json!(now);
        claims["nbf"] = json!(now);
        claims["exp"] = json!(now + expires_in);
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        let access_token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.private_der))
                .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(IssuedToken {
            access_token,
            expires_in,
        })
    }

    /// The JWKS with the public half of the signing key and of every retired key whose
    /// tokens may not have expired yet.
    ///
    /// # Errors
    /// [`TokenError`] when the store fails or the first key cannot be made.
    pub fn jwks(&self) -> Result<Value, TokenError> {
        self.signing_key()?;
        // A retired key verifies for a token lifetime after retirement, and a minute of
        // clock skew beyond it.
        let horizon = SystemTime::now()
            .checked_sub(self.lifetime + Duration::from_secs(60))
            .unwrap_or(UNIX_EPOCH);
        let mut keys = Vec::new();
        for key in self.store.signing_keys()? {
            if let Some(retired) = &key.retired_at {
                let retired = crate::observe::parse_timestamp(retired)
                    .map_err(|e| TokenError::Key(format!("key {}: retirement time: {e}", key.kid)))?;
                if retired < horizon {
                    continue;
                }
            }
            let public: Value = serde_json::from_str(&key.public_jwk)
                .map_err(|e| TokenError::Key(format!("key {}: public JWK: {e}", key.kid)))?;
            keys.push(public);
        }
        Ok(json!({ "keys": keys }))
    }

    /// A verifier for the tokens this issuer signs: its issuer and audience required, its
    /// JWKS as the keys. After [`TokenIssuer::rotate_key`], give it the new JWKS
    /// ([`Authenticator::replace_jwks`]).
    ///
    /// ```
    /// use runai_serve::control::TokenIssuer;
    /// let store = runai_serve::store::Store::open_in_memory()?;
    /// let verifier = TokenIssuer::new(store, "https://runai.localhost").authenticator()?;
    /// # drop(verifier);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`TokenError`] when the store fails or the first key cannot be made.
    pub fn authenticator(&self) -> Result<Authenticator, TokenError> {
        let jwks = self.jwks()?.to_string();
        let config =
            AuthConfig::new(KeySource::Jwks(jwks), self.issuer.clone()).with_audience(self.audience.clone());
        Ok(Authenticator::new(config)?)
    }

    /// Makes a new signing key and retires the one in use; returns the new key's id. Tokens
    /// signed before keep verifying until they expire (the old key stays in the JWKS).
    ///
    /// ```
    /// use runai_serve::control::TokenIssuer;
    /// let store = runai_serve::store::Store::open_in_memory()?;
    /// let issuer = TokenIssuer::new(store, "https://runai.localhost");
    /// let first = issuer.jwks()?["keys"][0]["kid"].as_str().unwrap().to_owned();
    /// let second = issuer.rotate_key()?;
    /// assert_ne!(first, second);
    /// assert_eq!(issuer.jwks()?["keys"].as_array().unwrap().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`TokenError`] when the store fails or no key can be made.
    pub fn rotate_key(&self) -> Result<String, TokenError> {
        let old = self.signing_key()?;
        self.store.retire_signing_key(&old.kid)?;
        Ok(self.signing_key()?.kid)
    }

    /// The newest key that still signs, made and stored when there is none.
    fn signing_key(&self) -> Result<SigningKey, TokenError> {
        if let Some(key) = self
            .store
            .signing_keys()?
            .into_iter()
            .find(|k| k.retired_at.is_none())
        {
            return Ok(key);
        }
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| TokenError::Key("could not generate a P-256 key".to_owned()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|e| TokenError::Key(e.to_string()))?;
        // The public key is the uncompressed point: 0x04, then 32 bytes of x and 32 of y.
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(TokenError::Key("unexpected public key encoding".to_owned()));
        }
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let kid = {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, point);
            b64(&digest.as_ref()[..12])
        };
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        });
        let key = SigningKey::new(kid, "ES256", pkcs8.as_ref().to_vec(), jwk.to_string());
        match self.store.add_signing_key(&key) {
            // Another issuer sharing the store made one at the same moment: use the newest.
            Ok(()) | Err(StoreError::Conflict { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        self.store
            .signing_keys()?
            .into_iter()
            .find(|k| k.retired_at.is_none())
            .ok_or_else(|| TokenError::Key("no signing key after creating one".to_owned()))
    }
}
