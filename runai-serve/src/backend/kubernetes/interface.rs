//! The Resource Interface: a declarative description of a workload kind this crate has no
//! code for (its group, version, kind and plural, and JSON pointers to where its pod
//! template, replica count and ready replicas live), so the Kubernetes backend can render,
//! apply, scale and read any such kind: a `Deployment`, an OpenKruise `CloneSet`, an in-house
//! model-server operator.
//!
//! ```yaml
//! apiVersion: apps/v1
//! kind: Deployment
//! plural: deployments
//! podTemplate: /spec/template
//! replicas: /spec/replicas
//! readyReplicas: /status/readyReplicas
//! selector: /spec/selector
//! scaleSubresource: true
//! skeleton:
//!   spec:
//!     strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
//! ```

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, GroupVersionKind};
use runai_core::InferenceSpec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::pod::pod;
use super::{Placement, RenderError, RenderTarget};

/// A workload kind described by where its fields are.
///
/// ```
/// use runai_serve::backend::kubernetes::ResourceInterface;
/// let interface = ResourceInterface::from_yaml(
///     "apiVersion: apps/v1\nkind: Deployment\nplural: deployments\n\
///      podTemplate: /spec/template\nreplicas: /spec/replicas\nreadyReplicas: /status/readyReplicas\n",
/// )?;
/// assert_eq!(interface.api_resource().group, "apps");
/// # Ok::<(), runai_serve::backend::kubernetes::InterfaceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceInterface {
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// The resource's plural name, as in its URL.
    pub plural: String,
    /// Where the pod template (`metadata` and `spec`) goes.
    pub pod_template: String,
    /// Where the replica count is.
    pub replicas: String,
    /// Where the ready replica count is in the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<String>,
    /// Where a label selector matching the pods goes, for kinds that need one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Whether the kind has a `scale` subresource (scaling goes through it when it has).
    #[serde(default)]
    pub scale_subresource: bool,
    /// Fields every object of the kind carries, under the rendered ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skeleton: Option<Value>,
}

/// A Resource Interface description that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InterfaceError {
    /// Not YAML of the expected shape.
    #[error("resource interface: {0}")]
    Parse(String),
    /// A field is wrong.
    #[error("resource interface `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong and what to give.
        reason: String,
    },
}

impl ResourceInterface {
    /// Reads and checks a description (YAML or JSON).
    ///
    /// # Errors
    /// [`InterfaceError`] naming the field that is missing or wrong.
    pub fn from_yaml(text: &str) -> Result<Self, InterfaceError> {
        let interface: Self =
            serde_saphyr::from_str(text).map_err(|e| InterfaceError::Parse(e.to_string()))?;
        interface.check()?;
        Ok(interface)
    }

    /// Checks that every name and pointer is usable.
    ///
    /// # Errors
    /// [`InterfaceError::Invalid`] naming the field.
    pub fn check(&self) -> Result<(), InterfaceError> {
        let invalid = |field, reason: &str| {
            Err(InterfaceError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.api_version.is_empty() || self.api_version.split('/').count() > 2 {
            return invalid(
                "apiVersion",
                "give `group/version`, or `version` for the core group",
            );
        }
        if self.kind.is_empty() {
            return invalid("kind", "give the kind, for example `Deployment`");
        }
        if self.plural.is_empty() || self.plural.chars().any(|c| !c.is_ascii_lowercase() && c != '-') {
            return invalid(
                "plural",
                "give the lowercase plural in the resource's URL, for example `deployments`",
            );
        }
        for (field, pointer) in [
            ("podTemplate", Some(&self.pod_template)),
            ("replicas", Some(&self.replicas)),
            ("readyReplicas", self.ready_replicas.as_ref()),
            ("selector", self.selector.as_ref()),
        ] {
            if let Some(pointer) = pointer
                && (!pointer.starts_with('/') || pointer.len() < 2)
            {
                return invalid(field, "give a JSON pointer, for example `/spec/replicas`");
            }
        }
        if self.skeleton.as_ref().is_some_and(|s| !s.is_object()) {
            return invalid("skeleton", "give a mapping of fields");
        }
        Ok(())
    }

    /// The kind as kube's dynamic API addresses it.
    #[must_use]
    pub fn api_resource(&self) -> ApiResource {
        let (group, version) = self
            .api_version
            .split_once('/')
            .unwrap_or(("", self.api_version.as_str()));
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, &self.kind), &self.plural)
    }

    /// Renders `spec`'s pod into an object of this kind with `replicas` replicas.
    ///
    /// ```
    /// use runai_serve::backend::kubernetes::{Placement, RenderTarget, ResourceInterface};
    /// use runai_serve::gateway::WorkloadKey;
    /// let interface = ResourceInterface::from_yaml(
    ///     "apiVersion: apps/v1\nkind: Deployment\nplural: deployments\n\
    ///      podTemplate: /spec/template\nreplicas: /spec/replicas\nselector: /spec/selector\n",
    /// )?;
    /// let target = RenderTarget::new(WorkloadKey::new("team-a", "llama"), "rev-1");
    /// let spec = runai_core::InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000);
    /// let object = interface.render(&target, &spec, &Placement::default(), 2)?;
    /// assert_eq!(object["spec"]["replicas"], 2);
    /// assert_eq!(object["spec"]["template"]["spec"]["containers"][0]["image"], "vllm/vllm-openai:v0.11.0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`RenderError`] when the pod cannot be rendered or a pointer crosses a field that is not
    /// a mapping in the skeleton.
    pub fn render(
        &self,
        target: &RenderTarget,
        spec: &InferenceSpec,
        placement: &Placement,
        replicas: u32,
    ) -> Result<Value, RenderError> {
        let rendered = pod(target, spec, placement, "described kind")?;
        let template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(rendered.labels),
                annotations: (!rendered.annotations.is_empty()).then_some(rendered.annotations),
                ..ObjectMeta::default()
            }),
            spec: Some(rendered.spec),
        };
        let mut object = self.skeleton.clone().unwrap_or_else(|| Value::Object(Map::new()));
        let invalid = |field: &'static str| {
            move |reason: String| RenderError::Invalid {
                workload: target.workload.clone(),
                field,
                reason,
            }
        };
        object["apiVersion"] = json!(self.api_version);
        object["kind"] = json!(self.kind);
        object["metadata"] = to_json(&target.object_meta());
        set(&mut object, &self.pod_template, to_json(&template)).map_err(invalid("podTemplate"))?;
        set(&mut object, &self.replicas, json!(replicas)).map_err(invalid("replicas"))?;
        if let Some(selector) = &self.selector {
            // Selectors are immutable on most kinds: match what every revision shares.
            let labels = target.labels();
            let stable = json!({"matchLabels": {
                "run.ai/project": labels["run.ai/project"],
                "run.ai/workload": labels["run.ai/workload"],
            }});
            set(&mut object, selector, stable).map_err(invalid("selector"))?;
        }
        Ok(object)
    }
}

/// A typed object as JSON; Kubernetes objects have string keys only, so this cannot fail.
pub(crate) fn to_json<T: Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap_or_default()
}

/// Sets the value at a JSON pointer, creating the mappings on the way.
pub(crate) fn set(object: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    let mut node = object;
    let mut tokens = pointer
        .strip_prefix('/')
        .ok_or_else(|| format!("`{pointer}` is not a JSON pointer"))?
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .peekable();
    while let Some(token) = tokens.next() {
        let Value::Object(map) = node else {
            return Err(format!("`{pointer}` crosses a field that is not a mapping"));
        };
        if tokens.peek().is_none() {
            map.insert(token, value);
            return Ok(());
        }
        node = map.entry(token).or_insert_with(|| Value::Object(Map::new()));
    }
    Err(format!("`{pointer}` names no field"))
}
