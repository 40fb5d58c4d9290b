//! How an inference workload is reached: the serving port and who may call it, plus the
//! auxiliary ports and tool URLs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::Checker;

/// The protocol the model server speaks on the serving port.
///
/// ```
/// use runai_core::spec::ServingProtocol;
/// assert_eq!(serde_json::to_string(&ServingProtocol::Grpc).unwrap(), r#""grpc""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ServingProtocol {
    /// HTTP/1.1 or HTTP/2 (the default).
    #[default]
    Http,
    /// gRPC.
    Grpc,
}

/// Who may call the serving URL.
///
/// ```
/// use runai_core::spec::AuthorizationType;
/// let t: AuthorizationType = serde_json::from_str(r#""authorizedUsersOrGroups""#).unwrap();
/// assert_eq!(t, AuthorizationType::AuthorizedUsersOrGroups);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthorizationType {
    /// Anyone, no token needed (the default).
    #[default]
    Public,
    /// Any authenticated user or service account.
    AuthenticatedUsers,
    /// Only the users and service accounts in `authorizedUsers`.
    AuthorizedUsers,
    /// Only members of the groups in `authorizedGroups`.
    AuthorizedGroups,
    /// The users in `authorizedUsers` or the groups in `authorizedGroups` (exactly one list).
    AuthorizedUsersOrGroups,
}

impl AuthorizationType {
    /// Whether a caller must present a valid token.
    #[must_use]
    pub fn requires_token(self) -> bool {
        !matches!(self, Self::Public)
    }
}

/// The port the model server listens on, and its access policy.
///
/// ```
/// use runai_core::{Validate, spec::{AuthorizationType, ServingPort}};
/// let port = ServingPort {
///     container: Some(8000),
///     authorization_type: Some(AuthorizationType::AuthorizedUsers),
///     authorized_users: Some(vec!["alice@example.com".into()]),
///     ..Default::default()
/// };
/// assert!(port.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServingPort {
    /// Container port, 1..=65535. Required by the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<i32>,
    /// Protocol (default `http`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ServingProtocol>,
    /// Who may call the URL (default `public`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_type: Option<AuthorizationType>,
    /// User emails or names and service-account names allowed to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_users: Option<Vec<String>>,
    /// Identity-provider group names allowed to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_groups: Option<Vec<String>>,
    /// Reachable only from inside the cluster (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_local_access_only: Option<bool>,
}

impl ServingPort {
    pub(crate) fn check(&self, c: &mut Checker) {
        match self.container {
            None => c.at(
                "container",
                "is required; give the port the model server listens on (1-65535)",
            ),
            some => c.range("container", some, 1, 65535),
        }
        check_access(
            c,
            self.authorization_type.unwrap_or_default(),
            self.authorized_users.as_ref(),
            self.authorized_groups.as_ref(),
        );
    }
}

/// Checks the access fields shared by standard and distributed serving ports.
pub(crate) fn check_access(
    c: &mut Checker,
    kind: AuthorizationType,
    users: Option<&Vec<String>>,
    groups: Option<&Vec<String>>,
) {
    let has_users = users.is_some_and(|u| !u.is_empty());
    let has_groups = groups.is_some_and(|g| !g.is_empty());
    if has_users && has_groups {
        c.here("authorizedUsers and authorizedGroups are mutually exclusive; set only one");
    }
    let lists_allowed = !matches!(
        kind,
        AuthorizationType::Public | AuthorizationType::AuthenticatedUsers
    );
    if !lists_allowed && (has_users || has_groups) {
        c.at(
            "authorizationType",
            "must be authorizedUsers, authorizedGroups or authorizedUsersOrGroups when users or groups are listed",
        );
    }
    match kind {
        AuthorizationType::AuthorizedUsers if !has_users => {
            c.at(
                "authorizedUsers",
                "must list at least one user when authorizationType is `authorizedUsers`",
            );
        }
        AuthorizationType::AuthorizedGroups if !has_groups => {
            c.at(
                "authorizedGroups",
                "must list at least one group when authorizationType is `authorizedGroups`",
            );
        }
        AuthorizationType::AuthorizedUsersOrGroups if !has_users && !has_groups => c.at(
            "authorizationType",
            "is `authorizedUsersOrGroups`; list users in authorizedUsers or groups in authorizedGroups",
        ),
        _ => {}
    }
    // Only one list may be set; when both are, the exclusivity message above says so.
    if !(has_users && has_groups) {
        if kind == AuthorizationType::AuthorizedUsers && has_groups {
            c.at(
                "authorizedGroups",
                "cannot be set when authorizationType is `authorizedUsers`",
            );
        }
        if kind == AuthorizationType::AuthorizedGroups && has_users {
            c.at(
                "authorizedUsers",
                "cannot be set when authorizationType is `authorizedGroups`",
            );
        }
    }
    for (name, list) in [("authorizedUsers", users), ("authorizedGroups", groups)] {
        c.each(name, list, |entry, c| {
            if entry.trim().is_empty() {
                c.here("must not be empty");
            }
        });
    }
}

/// How an auxiliary container port is exposed.
///
/// ```
/// use runai_core::spec::PortServiceType;
/// assert_eq!(serde_json::to_string(&PortServiceType::NodePort).unwrap(), r#""NodePort""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PortServiceType {
    /// A cloud load balancer.
    LoadBalancer,
    /// A port on every node.
    NodePort,
    /// Cluster-internal only.
    ClusterIP,
}

/// An additional container port exposed through a Kubernetes Service.
///
/// ```
/// use runai_core::spec::Port;
/// let port: Port = serde_json::from_str(r#"{"container": 9090, "serviceType": "ClusterIP"}"#).unwrap();
/// assert_eq!(port.container, Some(9090));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Container port, 1..=65535.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<i32>,
    /// How the port is exposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<PortServiceType>,
    /// Port on the service, when different from the container port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<i32>,
    /// Kind of tool behind the port, for example `jupyter-notebook`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_type: Option<String>,
    /// Display name of the tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Unique name of the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl Port {
    pub(crate) fn check(&self, c: &mut Checker) {
        match self.container {
            None => c.at("container", "is required"),
            some => c.range("container", some, 1, 65535),
        }
        c.range("external", self.external, 1, 65535);
    }
}

/// Who may open a tool URL (no `public` option, unlike the serving port).
///
/// ```
/// use runai_core::spec::ToolAuthorizationType;
/// assert_eq!(serde_json::to_string(&ToolAuthorizationType::AuthenticatedUsers).unwrap(), r#""authenticatedUsers""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ToolAuthorizationType {
    /// Any authenticated user.
    AuthenticatedUsers,
    /// Only the listed users.
    AuthorizedUsers,
    /// Only members of the listed groups.
    AuthorizedGroups,
}

/// A tool URL exposed by the workload (for example a dashboard next to the model server).
///
/// ```
/// use runai_core::spec::ExposedUrl;
/// let url: ExposedUrl = serde_json::from_str(r#"{"container": 8265, "toolType": "ray-dashboard"}"#).unwrap();
/// assert_eq!(url.tool_type.as_deref(), Some("ray-dashboard"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExposedUrl {
    /// Container port behind the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<i32>,
    /// A custom URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who may open it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_type: Option<ToolAuthorizationType>,
    /// Users allowed, for `authorizedUsers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_users: Option<Vec<String>>,
    /// Groups allowed, for `authorizedGroups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_groups: Option<Vec<String>>,
    /// Kind of tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_type: Option<String>,
    /// Display name of the tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Unique name of the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl ExposedUrl {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.range("container", self.container, 1, 65535);
        // Tool URLs have no public option: an unset type is read as authenticated users, so
        // listed users or groups still need a matching type.
        let kind = self
            .authorization_type
            .unwrap_or(ToolAuthorizationType::AuthenticatedUsers);
        check_access(
            c,
            kind.into(),
            self.authorized_users.as_ref(),
            self.authorized_groups.as_ref(),
        );
    }
}

impl From<ToolAuthorizationType> for AuthorizationType {
    fn from(kind: ToolAuthorizationType) -> Self {
        match kind {
            ToolAuthorizationType::AuthenticatedUsers => Self::AuthenticatedUsers,
            ToolAuthorizationType::AuthorizedUsers => Self::AuthorizedUsers,
            ToolAuthorizationType::AuthorizedGroups => Self::AuthorizedGroups,
        }
    }
}

/// A link shown next to the workload (documentation, a dashboard).
///
/// ```
/// use runai_core::spec::RelatedUrl;
/// let link = RelatedUrl { url: Some("https://example.com/model-card".into()), ..Default::default() };
/// assert!(serde_json::to_string(&link).unwrap().contains("model-card"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelatedUrl {
    /// The URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Kind of link.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}
