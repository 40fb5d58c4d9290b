//! What runs: image, pull policy and secrets, environment variables, labels and annotations.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::Checker;

/// When the kubelet pulls the image.
///
/// ```
/// use runai_core::spec::ImagePullPolicy;
/// assert_eq!(serde_json::to_string(&ImagePullPolicy::IfNotPresent).unwrap(), r#""IfNotPresent""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ImagePullPolicy {
    /// Pull on every start.
    Always,
    /// Never pull; the image must be on the node.
    Never,
    /// Pull when the node does not have the image.
    IfNotPresent,
}

/// A registry credential used to pull the image.
///
/// ```
/// use runai_core::spec::ImagePullSecret;
/// let secret: ImagePullSecret = serde_json::from_str(r#"{"name": "ngc-registry"}"#).unwrap();
/// assert_eq!(secret.name.as_deref(), Some("ngc-registry"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePullSecret {
    /// Name of the Kubernetes secret (RFC 1123 label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the secret comes from the user's own credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_credential: Option<bool>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl ImagePullSecret {
    pub(crate) fn check(&self, c: &mut Checker) {
        match &self.name {
            None => c.at("name", "is required; name the registry secret"),
            some => c.dns_label("name", some.as_ref()),
        }
    }
}

/// A `name`/`value` pair attached to the pods as a Kubernetes label.
///
/// ```
/// use runai_core::spec::Label;
/// let label = Label::new("team", "search");
/// assert_eq!(serde_json::to_value(&label).unwrap(), serde_json::json!({"name": "team", "value": "search"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// Key, at most 63 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// A `name`/`value` pair attached to the pods as a Kubernetes annotation (same shape as
/// [`Label`]).
pub type Annotation = Label;

impl Label {
    /// A label or annotation with this key and value.
    #[must_use]
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            value: Some(value.into()),
            exclude: None,
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        match &self.name {
            None => c.at("name", "is required"),
            Some(name) if name.is_empty() => c.at("name", "must not be empty"),
            Some(name) if name.len() > 63 => {
                c.at(
                    "name",
                    format!("must be at most 63 characters, got {}", name.len()),
                );
            }
            Some(_) => {}
        }
    }
}

/// An environment variable for the container. Exactly one source gives its value:
/// `value`, `secret`, `configMap`, `podFieldRef` or `userCredential`.
///
/// ```
/// use runai_core::spec::EnvironmentVariable;
/// let var = EnvironmentVariable::value("VLLM_PORT", "8000");
/// assert_eq!(var.name.as_deref(), Some("VLLM_PORT"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVariable {
    /// Variable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A literal value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Read the value from a key of a Kubernetes secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyRef>,
    /// Read the value from a key of a config map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<KeyRef>,
    /// Read the value from a field of the pod (the downward API), for example `metadata.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_field_ref: Option<PodFieldRef>,
    /// Read the value from one of the submitting user's stored credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_credential: Option<KeyRef>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Free text shown in the UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl EnvironmentVariable {
    /// A variable with a literal value.
    #[must_use]
    pub fn value(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// A variable read from `key` of the Kubernetes secret `secret`.
    #[must_use]
    pub fn from_secret(name: impl Into<String>, secret: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            secret: Some(KeyRef::new(secret, key)),
            ..Self::default()
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        match &self.name {
            None => c.at("name", "is required"),
            Some(name) if name.is_empty() => c.at("name", "must not be empty"),
            Some(_) => {}
        }
        let sources = [
            self.value.is_some(),
            self.secret.is_some(),
            self.config_map.is_some(),
            self.pod_field_ref.is_some(),
            self.user_credential.is_some(),
        ];
        if sources.iter().filter(|set| **set).count() > 1 {
            c.here("set only one of value, secret, configMap, podFieldRef and userCredential");
        }
        c.opt("secret", self.secret.as_ref(), |r, c| r.check(c, true));
        c.opt("configMap", self.config_map.as_ref(), |r, c| r.check(c, true));
        c.opt("userCredential", self.user_credential.as_ref(), |r, c| {
            r.check(c, false);
        });
        c.opt("podFieldRef", self.pod_field_ref.as_ref(), |r, c| {
            if r.path.as_deref().is_none_or(str::is_empty) {
                c.at("path", "is required, for example `metadata.name`");
            }
        });
    }
}

/// A key inside a named secret, config map or user credential.
///
/// ```
/// use runai_core::spec::KeyRef;
/// let r = KeyRef::new("hf-token", "HF_TOKEN");
/// assert_eq!(r.key.as_deref(), Some("HF_TOKEN"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    /// Name of the secret, config map or credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key within it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KeyRef {
    /// A reference to `key` in `name`.
    #[must_use]
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            key: Some(key.into()),
        }
    }

    fn check(&self, c: &mut Checker, kubernetes_name: bool) {
        match &self.name {
            None => c.at("name", "is required"),
            Some(name) if kubernetes_name => c.dns_label("name", Some(name)),
            Some(name) => c.non_empty("name", Some(name)),
        }
        match &self.key {
            None => c.at("key", "is required"),
            key => c.non_empty("key", key.as_ref()),
        }
    }
}

/// A field of the pod exposed to the container (Kubernetes downward API).
///
/// ```
/// use runai_core::spec::PodFieldRef;
/// let r = PodFieldRef { path: Some("status.podIP".into()) };
/// assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"path":"status.podIP"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PodFieldRef {
    /// Field path, for example `metadata.name` or `status.podIP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}
