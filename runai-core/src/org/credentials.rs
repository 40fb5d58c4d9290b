//! Machine credentials: organisation-wide service accounts (`/api/v1/service-accounts`) and
//! personal access keys (`/api/v1/access-keys`). Both are a client ID and secret pair that
//! `POST /api/v1/token` exchanges for a bearer token.
//!
//! The secret comes back once, in the `201` answer to the create call, and never again. `Debug`
//! output of the types that carry it hides it, so it never reaches logs.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::{Checker, impl_validate};

string_id!(
    /// A service account's ID, as `DELETE /api/v1/service-accounts/{serviceAccountId}` takes
    /// it (that call answers `204` with no body).
    ///
    /// ```
    /// use runai_core::org::ServiceAccountId;
    /// assert_eq!(ServiceAccountId::new("e9c1f3a2").as_str(), "e9c1f3a2");
    /// ```
    ServiceAccountId
);

string_id!(
    /// An access key's ID, as `DELETE /api/v1/access-keys/{accessKeyId}` takes it (that call
    /// answers `204` with no body).
    ///
    /// ```
    /// use runai_core::org::AccessKeyId;
    /// assert_eq!(AccessKeyId::from("4b7d0e61").to_string(), "4b7d0e61");
    /// ```
    AccessKeyId
);

/// The body of `POST /api/v1/service-accounts`.
///
/// ```
/// use runai_core::{parse, ServiceAccountCreationRequest, Validate};
/// let request: ServiceAccountCreationRequest = parse::strict(r#"{"name": "ci-deployer"}"#).unwrap();
/// assert!(request.validate().is_ok());
/// assert!(ServiceAccountCreationRequest::new("CI").validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountCreationRequest {
    /// Unique within the organisation; matches `^[a-z][-_a-z0-9]*[a-z0-9]$`.
    pub name: String,
}

impl ServiceAccountCreationRequest {
    /// A request for a service account called `name`.
    ///
    /// ```
    /// use runai_core::ServiceAccountCreationRequest;
    /// let body = serde_json::to_string(&ServiceAccountCreationRequest::new("ci-deployer")).unwrap();
    /// assert_eq!(body, r#"{"name":"ci-deployer"}"#);
    /// ```
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    fn check(&self, c: &mut Checker) {
        check_credential_name(c, &self.name);
    }
}

/// The `201` answer to `POST /api/v1/service-accounts`: the new account with its secret, which
/// the control plane shows only this once.
///
/// ```
/// use runai_core::{parse, ServiceAccountPostResponse};
/// let created: ServiceAccountPostResponse = parse::lenient(r#"{"id": "e9c1f3a2", "name": "ci-deployer",
///     "clientId": "ci-deployer", "clientSecret": "s3cr3t"}"#).unwrap();
/// assert_eq!(created.client_secret, "s3cr3t");
/// assert!(!format!("{created:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountPostResponse {
    /// The account's ID.
    pub id: ServiceAccountId,
    /// The account's name.
    pub name: String,
    /// The secret paired with the client ID; shown only in this answer.
    pub client_secret: String,
    /// The client ID to request tokens with (optional in the document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl fmt::Debug for ServiceAccountPostResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountPostResponse")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("client_secret", &REDACTED)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// One service account, as `GET /api/v1/service-accounts` lists it (without its secret).
///
/// The timestamps are always present on the wire but may be `null`.
///
/// ```
/// use runai_core::{parse, ServiceAccount};
/// let account: ServiceAccount = parse::lenient(r#"{"id": "e9c1f3a2", "name": "ci-deployer",
///     "clientId": "ci-deployer", "createdBy": "admin@example.com", "enabled": true,
///     "createdAt": "2026-11-20T10:00:00Z", "updatedAt": "2026-11-20T10:00:00Z", "lastLogin": null}"#).unwrap();
/// assert!(account.enabled);
/// assert_eq!(account.last_login, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    /// The account's name.
    pub name: String,
    /// Email of the user who created it.
    pub created_by: String,
    /// Creation time (RFC 3339), or `null`.
    pub created_at: Option<String>,
    /// Last update (RFC 3339), or `null`.
    pub updated_at: Option<String>,
    /// Whether the account may authenticate.
    pub enabled: bool,
    /// The tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Last authentication (RFC 3339), or `null` if it never authenticated.
    pub last_login: Option<String>,
    /// The account's ID.
    pub id: ServiceAccountId,
    /// The client ID to request tokens with.
    pub client_id: String,
}

/// The body of `GET /api/v1/service-accounts`: a bare JSON array, with no paging.
///
/// ```
/// use runai_core::{parse, ServiceAccountList};
/// let list: ServiceAccountList = parse::lenient(r#"[{"id": "e9c1f3a2", "name": "ci-deployer",
///     "clientId": "ci-deployer", "createdBy": "admin@example.com", "enabled": false,
///     "createdAt": null, "updatedAt": null, "lastLogin": null}]"#).unwrap();
/// assert_eq!(list.service_accounts[0].name, "ci-deployer");
/// assert_eq!(serde_json::to_value(&list).unwrap().as_array().map(Vec::len), Some(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ServiceAccountList {
    /// The service accounts.
    pub service_accounts: Vec<ServiceAccount>,
}

/// The body of `POST /api/v1/access-keys`: a personal key of the calling user.
///
/// ```
/// use runai_core::{parse, AccessKeyCreationRequest, Validate};
/// let request: AccessKeyCreationRequest = parse::strict(r#"{"name": "laptop-cli"}"#).unwrap();
/// assert!(request.validate().is_ok());
/// let errors = AccessKeyCreationRequest::new("laptop-").validate().unwrap_err();
/// assert_eq!(errors.violations()[0].path, "name");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyCreationRequest {
    /// Unique among the user's keys; matches `^[a-z][-_a-z0-9]*[a-z0-9]$`.
    pub name: String,
}

impl AccessKeyCreationRequest {
    /// A request for an access key called `name`.
    ///
    /// ```
    /// use runai_core::AccessKeyCreationRequest;
    /// let body = serde_json::to_string(&AccessKeyCreationRequest::new("laptop-cli")).unwrap();
    /// assert_eq!(body, r#"{"name":"laptop-cli"}"#);
    /// ```
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    fn check(&self, c: &mut Checker) {
        check_credential_name(c, &self.name);
    }
}

/// The `201` answer to `POST /api/v1/access-keys`: the new key with its secret, which the
/// control plane shows only this once.
///
/// ```
/// use runai_core::{parse, AccessKeyPostResponse};
/// let created: AccessKeyPostResponse = parse::lenient(r#"{"id": "4b7d0e61", "name": "laptop-cli",
///     "clientId": "ak-4b7d0e61", "clientSecret": "s3cr3t", "createdAt": "2026-11-20T10:00:00Z"}"#).unwrap();
/// assert_eq!(created.client_id, "ak-4b7d0e61");
/// assert!(!format!("{created:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyPostResponse {
    /// The key's ID.
    pub id: AccessKeyId,
    /// The client ID to request tokens with.
    pub client_id: String,
    /// The key's name.
    pub name: String,
    /// The secret paired with the client ID; shown only in this answer.
    pub client_secret: String,
    /// Creation time (RFC 3339), or `null`.
    pub created_at: Option<String>,
}

impl fmt::Debug for AccessKeyPostResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeyPostResponse")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("client_secret", &REDACTED)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// One access key of the calling user, as `GET /api/v1/access-keys` lists it (without its
/// secret). The timestamps are always present on the wire but may be `null`.
///
/// ```
/// use runai_core::{parse, AccessKey};
/// let key: AccessKey = parse::lenient(r#"{"id": "4b7d0e61", "name": "laptop-cli",
///     "clientId": "ak-4b7d0e61", "createdAt": "2026-11-20T10:00:00Z", "lastLogin": null}"#).unwrap();
/// assert_eq!(key.id.as_str(), "4b7d0e61");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    /// The key's name.
    pub name: String,
    /// The client ID to request tokens with.
    pub client_id: String,
    /// The key's ID.
    pub id: AccessKeyId,
    /// Creation time (RFC 3339), or `null`.
    pub created_at: Option<String>,
    /// Last authentication (RFC 3339), or `null` if it never authenticated.
    pub last_login: Option<String>,
}

/// The body of `GET /api/v1/access-keys`: every key of the calling user, with no paging.
///
/// ```
/// use runai_core::{parse, AccessKeyList};
/// let list: AccessKeyList = parse::lenient(r#"{"accessKeys": []}"#).unwrap();
/// assert!(list.access_keys.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyList {
    /// The keys.
    pub access_keys: Vec<AccessKey>,
}

const REDACTED: &str = "<redacted>";

/// The name rule both credential kinds share: `^[a-z][-_a-z0-9]*[a-z0-9]$`.
fn check_credential_name(c: &mut Checker, name: &str) {
    let bytes = name.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_');
    let first_ok = bytes.first().is_some_and(u8::is_ascii_lowercase);
    let last_ok = bytes
        .last()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if bytes.len() < 2 || !inner_ok || !first_ok || !last_ok {
        c.at(
            "name",
            format!(
                "`{name}` is not a valid name; use at least 2 lower-case letters, digits, '-' or '_', \
                 starting with a letter and ending with a letter or digit"
            ),
        );
    }
}

impl_validate!(ServiceAccountCreationRequest, AccessKeyCreationRequest);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Validate;

    #[test]
    fn credential_names_follow_the_documented_pattern() {
        for good in ["ci", "ci-deployer", "a_b-9", "x1"] {
            assert!(AccessKeyCreationRequest::new(good).validate().is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "1ci",
            "ci-",
            "ci_",
            "Ci",
            "ci deployer",
            "ci.deployer",
            "ĉi",
        ] {
            assert!(
                ServiceAccountCreationRequest::new(bad).validate().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let created = ServiceAccountPostResponse {
            id: "1".into(),
            name: "ci".into(),
            client_secret: "hunter2".into(),
            client_id: Some("ci".into()),
        };
        let shown = format!("{created:?}");
        assert!(
            shown.contains("<redacted>") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn required_nullable_timestamps_are_written_as_null() {
        let key = AccessKey {
            name: "k".into(),
            client_id: "c".into(),
            id: "1".into(),
            created_at: None,
            last_login: None,
        };
        let json = serde_json::to_value(&key).unwrap();
        assert!(
            json["createdAt"].is_null() && json.get("lastLogin").is_some(),
            "{json}"
        );
    }
}
