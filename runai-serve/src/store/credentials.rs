//! Service accounts and access keys (client id and secret pairs), and the keys that sign the
//! tokens the control plane issues.
//!
//! Secrets are 256 random bits, shown once at creation; the store keeps a salted SHA-256 of
//! each. They are not passwords a person picks, so a slow password hash would add nothing: no
//! dictionary holds them.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, new_id, now, query_all, sqlite};

/// Fills `bytes` from the system's secure random source.
pub(crate) fn random(bytes: &mut [u8]) -> Result<(), StoreError> {
    SystemRandom::new().fill(bytes).map_err(|_| StoreError::Random)
}

/// What a credential is.
///
/// ```
/// use runai_serve::store::CredentialKind;
/// assert_eq!(CredentialKind::AccessKey.as_str(), "access-key");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An organization-level service account.
    ServiceAccount,
    /// A user's personal access key.
    AccessKey,
}

impl CredentialKind {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceAccount => "service-account",
            Self::AccessKey => "access-key",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "service-account" => Ok(Self::ServiceAccount),
            "access-key" => Ok(Self::AccessKey),
            other => Err(StoreError::Corrupt {
                what: "credential kind",
                reason: format!("unknown kind `{other}`"),
            }),
        }
    }
}

/// A stored credential (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credential {
    /// Its id.
    pub id: String,
    /// Service account or access key.
    pub kind: CredentialKind,
    /// Its name.
    pub name: String,
    /// The user an access key belongs to.
    pub owner: Option<String>,
    /// The client id sent to the token endpoints.
    pub client_id: String,
    /// Whether it may get tokens.
    pub enabled: bool,
    /// When it was made.
    pub created_at: String,
    /// When it last got a token.
    pub last_login: Option<String>,
}

/// A credential just created, with its secret: the only time the secret is known.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedCredential {
    /// The stored credential.
    pub credential: Credential,
    /// The client secret.
    pub client_secret: String,
}

impl std::fmt::Debug for IssuedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredential")
            .field("credential", &self.credential)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// A key that signs issued tokens.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigningKey {
    /// The key id (`kid` in token headers and the JWKS).
    pub kid: String,
    /// The JWS algorithm, for example `ES256`.
    pub algorithm: String,
    /// The private key (PKCS#8 DER).
    pub private_der: Vec<u8>,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
    /// When it was made.
    pub created_at: String,
    /// When it stopped signing (it still verifies until tokens it signed expire).
    pub retired_at: Option<String>,
}

impl SigningKey {
    /// A key to store.
    pub fn new(
        kid: impl Into<String>,
        algorithm: impl Into<String>,
        private_der: Vec<u8>,
        public_jwk: impl Into<String>,
    ) -> Self {
        Self {
            kid: kid.into(),
            algorithm: algorithm.into(),
            private_der,
            public_jwk: public_jwk.into(),
            created_at: now(),
            retired_at: None,
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

fn hash(salt: &[u8], secret: &str) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(salt);
    context.update(secret.as_bytes());
    context.finish().as_ref().to_vec()
}

/// Whether an insert failed on a unique constraint (the name or key is taken).
fn is_conflict(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Equal in time that does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const CREDENTIAL_COLUMNS: &str = "id, kind, name, owner, client_id, enabled, created_at, last_login";

fn credential_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Credential, String)> {
    let kind: String = row.get(1)?;
    Ok((
        Credential {
            id: row.get(0)?,
            kind: CredentialKind::ServiceAccount,
            name: row.get(2)?,
            owner: row.get(3)?,
            client_id: row.get(4)?,
            enabled: row.get(5)?,
            created_at: row.get(6)?,
            last_login: row.get(7)?,
        },
        kind,
    ))
}

fn finish((mut credential, kind): (Credential, String)) -> Result<Credential, StoreError> {
    credential.kind = CredentialKind::parse(&kind)?;
    Ok(credential)
}

impl Store {
    /// Creates a credential and returns its secret, which is not stored.
    ///
    /// ```
    /// use runai_serve::store::{CredentialKind, Store};
    /// let store = Store::open_in_memory()?;
    /// let issued = store.create_credential(CredentialKind::ServiceAccount, "chat-bot", None)?;
    /// let found = store.verify_credential(&issued.credential.client_id, &issued.client_secret)?;
    /// assert_eq!(found.map(|c| c.name).as_deref(), Some("chat-bot"));
    /// assert!(store.verify_credential(&issued.credential.client_id, "guess")?.is_none());
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a credential of that kind already has the name.
    pub fn create_credential(
        &self,
        kind: CredentialKind,
        name: &str,
        owner: Option<&str>,
    ) -> Result<IssuedCredential, StoreError> {
        let mut secret_bytes = [0_u8; 32];
        random(&mut secret_bytes)?;
        let client_secret: String = secret_bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.import_credential(kind, name, owner, &new_id()?, &client_secret)
    }

    /// Stores a credential whose client id and secret were chosen elsewhere (the platform's
    /// configured admin account); the secret is kept hashed, as for any other.
    ///
    /// ```
    /// use runai_serve::store::{CredentialKind, Store};
    /// let store = Store::open_in_memory()?;
    /// store.import_credential(CredentialKind::ServiceAccount, "admin", None, "admin", "a-long-enough-secret")?;
    /// assert!(store.verify_credential("admin", "a-long-enough-secret")?.is_some());
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a credential of that kind already has the name, or the
    /// client id is taken.
    pub fn import_credential(
        &self,
        kind: CredentialKind,
        name: &str,
        owner: Option<&str>,
        client_id: &str,
        client_secret: &str,
    ) -> Result<IssuedCredential, StoreError> {
        let mut salt = [0_u8; 16];
        random(&mut salt)?;
        let id = new_id()?;
        let client_id = client_id.to_owned();
        let client_secret = client_secret.to_owned();
        let created_at = now();
        let connection = self.lock();
        let inserted = connection.execute(
            &format!("INSERT INTO credentials ({CREDENTIAL_COLUMNS}, secret_salt, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, NULL, ?7, ?8)"),
            params![id, kind.as_str(), name, owner, client_id, created_at, salt.as_slice(), hash(&salt, &client_secret)],
        );
        match inserted {
            Ok(_) => {}
            Err(error) if is_conflict(&error) => {
                return Err(StoreError::Conflict {
                    what: kind.as_str(),
                    name: name.to_owned(),
                });
            }
            Err(source) => return Err(sqlite("create a credential")(source)),
        }
        Ok(IssuedCredential {
            credential: Credential {
                id,
                kind,
                name: name.to_owned(),
                owner: owner.map(str::to_owned),
                client_id,
                enabled: true,
                created_at,
                last_login: None,
            },
            client_secret,
        })
    }

    /// The enabled credential with this client id and secret, recording the login; `None`
    /// when either is wrong (which one is not said).
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails.
    pub fn verify_credential(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Option<Credential>, StoreError> {
        let connection = self.lock();
        let found = connection
            .query_row(
                &format!("SELECT {CREDENTIAL_COLUMNS}, secret_salt, secret_hash FROM credentials WHERE client_id = ?1 AND enabled = 1"),
                params![client_id],
                |row| {
                    let salt: Vec<u8> = row.get(8)?;
                    let stored: Vec<u8> = row.get(9)?;
                    Ok((credential_row(row)?, salt, stored))
                },
            )
            .optional()
            .map_err(sqlite("look up a credential"))?;
        let Some((row, salt, stored)) = found else {
            return Ok(None);
        };
        if !same(&hash(&salt, client_secret), &stored) {
            return Ok(None);
        }
        let mut credential = finish(row)?;
        let at = now();
        connection
            .execute(
                "UPDATE credentials SET last_login = ?1 WHERE id = ?2",
                params![at, credential.id],
            )
            .map_err(sqlite("record a login"))?;
        credential.last_login = Some(at);
        Ok(Some(credential))
    }

    /// The credentials of one kind, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails.
    pub fn credentials(&self, kind: CredentialKind) -> Result<Vec<Credential>, StoreError> {
        let sql =
            format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = ?1 ORDER BY created_at, id");
        let rows = query_all(
            &self.lock(),
            "list credentials",
            &sql,
            params![kind.as_str()],
            credential_row,
        )?;
        rows.into_iter().map(finish).collect()
    }

    /// Deletes a credential; its client id gets no more tokens.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    pub fn delete_credential(&self, id: &str) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .execute("DELETE FROM credentials WHERE id = ?1", params![id])
            .map_err(sqlite("delete a credential"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "credential",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Stores a signing key.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the key id is taken.
    pub fn add_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let inserted = self.lock().execute(
            "INSERT INTO signing_keys (kid, algorithm, private_der, public_jwk, created_at, retired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key.kid, key.algorithm, key.private_der, key.public_jwk, key.created_at, key.retired_at],
        );
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_conflict(&error) => Err(StoreError::Conflict {
                what: "signing key",
                name: key.kid.clone(),
            }),
            Err(source) => Err(sqlite("store a signing key")(source)),
        }
    }

    /// Every signing key, newest first (retired ones too: they still verify).
    ///
    /// ```
    /// use runai_serve::store::{SigningKey, Store};
    /// let store = Store::open_in_memory()?;
    /// store.add_signing_key(&SigningKey::new("k1", "ES256", vec![1, 2, 3], r#"{"kty":"EC"}"#))?;
    /// assert_eq!(store.signing_keys()?[0].kid, "k1");
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails.
    pub fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        query_all(
            &self.lock(),
            "list signing keys",
            "SELECT kid, algorithm, private_der, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
            [],
            |row| {
                Ok(SigningKey {
                    kid: row.get(0)?,
                    algorithm: row.get(1)?,
                    private_der: row.get(2)?,
                    public_jwk: row.get(3)?,
                    created_at: row.get(4)?,
                    retired_at: row.get(5)?,
                })
            },
        )
    }

    /// Stops a key from signing (it keeps verifying).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown key id.
    pub fn retire_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .execute(
                "UPDATE signing_keys SET retired_at = ?1 WHERE kid = ?2 AND retired_at IS NULL",
                params![now(), kid],
            )
            .map_err(sqlite("retire a signing key"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "signing key",
                id: kid.to_owned(),
            });
        }
        Ok(())
    }

    /// Looks a credential up by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    pub fn credential(&self, id: &str) -> Result<Credential, StoreError> {
        let connection = self.lock();
        let row = connection
            .query_row(
                &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?1"),
                params![id],
                credential_row,
            )
            .optional()
            .map_err(sqlite("read a credential"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "credential",
                id: id.to_owned(),
            })?;
        finish(row)
    }
}
