//! Checks shared by every pod-shaped spec (standard inference, leader, worker, NIM).

use super::{
    Annotation, Compute, EnvironmentVariable, ImagePullSecret, Label, NodeAffinityRequired, PodAffinity,
    Probes, Security, Storage, Toleration,
};
use crate::validate::Checker;

/// Borrowed view of the container and scheduling fields that pod-shaped specs share, so the
/// rules are written once.
#[derive(Default)]
pub(crate) struct PodFields<'a> {
    pub(crate) image: Option<&'a String>,
    pub(crate) image_required: bool,
    pub(crate) command: Option<&'a String>,
    pub(crate) args: Option<&'a String>,
    pub(crate) working_dir: Option<&'a String>,
    pub(crate) node_type: Option<&'a String>,
    pub(crate) compute: Option<&'a Compute>,
    pub(crate) environment_variables: Option<&'a Vec<EnvironmentVariable>>,
    pub(crate) image_pull_secrets: Option<&'a Vec<ImagePullSecret>>,
    pub(crate) labels: Option<&'a Vec<Label>>,
    pub(crate) annotations: Option<&'a Vec<Annotation>>,
    pub(crate) node_affinity_required: Option<&'a NodeAffinityRequired>,
    pub(crate) pod_affinity: Option<&'a PodAffinity>,
    pub(crate) probes: Option<&'a Probes>,
    pub(crate) security: Option<&'a Security>,
    pub(crate) storage: Option<&'a Storage>,
    pub(crate) tolerations: Option<&'a Vec<Toleration>>,
}

impl PodFields<'_> {
    pub(crate) fn check(&self, c: &mut Checker) {
        match self.image {
            None if self.image_required => {
                c.at(
                    "image",
                    "is required; give the container image, for example vllm/vllm-openai:v0.11.0",
                );
            }
            Some(image) if image.trim().is_empty() => c.at("image", "must not be empty"),
            Some(image) if image.chars().any(char::is_whitespace) => {
                c.at("image", format!("`{image}` must not contain spaces"));
            }
            _ => {}
        }
        c.non_empty("command", self.command);
        c.non_empty("args", self.args);
        c.non_empty("workingDir", self.working_dir);
        c.non_empty("nodeType", self.node_type);
        c.opt("compute", self.compute, Compute::check);
        c.each(
            "environmentVariables",
            self.environment_variables,
            EnvironmentVariable::check,
        );
        check_unique_names(c, "environmentVariables", self.environment_variables, |v| {
            v.name.as_deref()
        });
        c.each(
            "imagePullSecrets",
            self.image_pull_secrets,
            ImagePullSecret::check,
        );
        c.each("labels", self.labels, Label::check);
        c.each("annotations", self.annotations, Label::check);
        c.opt(
            "nodeAffinityRequired",
            self.node_affinity_required,
            NodeAffinityRequired::check,
        );
        c.opt("podAffinity", self.pod_affinity, PodAffinity::check);
        c.opt("probes", self.probes, |probes, c| {
            c.opt("readiness", probes.readiness.as_ref(), |p, c| p.check(c));
        });
        c.opt("security", self.security, Security::check);
        c.opt("storage", self.storage, Storage::check);
        c.each("tolerations", self.tolerations, Toleration::check);
    }
}

/// Reports the second and later entries that repeat a name.
pub(crate) fn check_unique_names<T>(
    c: &mut Checker,
    list_name: &str,
    items: Option<&Vec<T>>,
    name_of: impl Fn(&T) -> Option<&str>,
) {
    let mut seen = std::collections::BTreeSet::new();
    c.each(list_name, items, |item, c| {
        if let Some(name) = name_of(item)
            && !seen.insert(name.to_owned())
        {
            c.at(
                "name",
                format!("`{name}` is set twice; each name may appear once"),
            );
        }
    });
}
