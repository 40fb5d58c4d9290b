//! Volumes mounted into the container.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;
use crate::validate::Checker;

/// Every kind of volume a workload can mount.
///
/// ```
/// use runai_core::spec::{PvcVolume, Storage};
/// let storage = Storage {
///     pvc: Some(vec![PvcVolume { claim_name: Some("model-cache".into()), path: Some("/models".into()), existing_pvc: Some(true), ..Default::default() }]),
///     ..Default::default()
/// };
/// assert!(serde_json::to_string(&storage).unwrap().contains("model-cache"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// Config maps mounted as files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_volume: Option<Vec<ConfigMapVolume>>,
    /// Run:ai data volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<Vec<DataVolume>>,
    /// Scratch space that lives as long as the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir_volume: Option<Vec<EmptyDirVolume>>,
    /// Git repositories cloned at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<Vec<GitVolume>>,
    /// Directories of the node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<Vec<HostPathVolume>>,
    /// NFS exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfs: Option<Vec<NfsVolume>>,
    /// Persistent volume claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc: Option<Vec<PvcVolume>>,
    /// Secrets mounted as files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_volume: Option<Vec<SecretVolume>>,
}

impl Storage {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.each("pvc", self.pvc.as_ref(), PvcVolume::check);
        c.each("nfs", self.nfs.as_ref(), |v, c| {
            required(c, "server", v.server.as_ref());
            required(c, "path", v.path.as_ref());
            mount_path(c, "mountPath", v.mount_path.as_ref());
        });
        c.each("hostPath", self.host_path.as_ref(), |v, c| {
            mount_path(c, "path", v.path.as_ref());
            mount_path(c, "mountPath", v.mount_path.as_ref());
        });
        c.each("git", self.git.as_ref(), |v, c| {
            required(c, "repository", v.repository.as_ref());
            mount_path(c, "path", v.path.as_ref());
            c.opt("secretRef", v.secret_ref.as_ref(), |r, c| {
                required(c, "name", r.name.as_ref());
                if r.authentication_method.is_none() {
                    c.at("authenticationMethod", "is required; use `password` or `ssh-key`");
                }
            });
        });
        c.each("configMapVolume", self.config_map_volume.as_ref(), |v, c| {
            match &v.config_map {
                None => c.at("configMap", "is required; name the config map"),
                name => c.dns_label("configMap", name.as_ref()),
            }
            mount_path(c, "mountPath", v.mount_path.as_ref());
            default_mode(c, v.default_mode.as_ref());
        });
        c.each("secretVolume", self.secret_volume.as_ref(), |v, c| {
            required(c, "secret", v.secret.as_ref());
            mount_path(c, "mountPath", v.mount_path.as_ref());
            default_mode(c, v.default_mode.as_ref());
        });
        c.each("emptyDirVolume", self.empty_dir_volume.as_ref(), |v, c| {
            mount_path(c, "path", v.path.as_ref());
            if let Some(size) = &v.size_limit
                && size.value().is_none()
            {
                c.at(
                    "sizeLimit",
                    format!("`{size}` is not a quantity; write for example 1Gi"),
                );
            }
        });
        c.each("dataVolume", self.data_volume.as_ref(), |v, c| {
            required(c, "id", v.id.as_ref());
            mount_path(c, "mountPath", v.mount_path.as_ref());
        });
    }
}

fn required(c: &mut Checker, name: &str, value: Option<&String>) {
    match value {
        None => c.at(name, "is required"),
        some => c.non_empty(name, some),
    }
}

fn mount_path(c: &mut Checker, name: &str, value: Option<&String>) {
    match value {
        None => c.at(name, "is required; give an absolute path such as /models"),
        Some(path) if !path.starts_with('/') => c.at(name, format!("`{path}` must be an absolute path")),
        Some(_) => {}
    }
}

fn default_mode(c: &mut Checker, mode: Option<&String>) {
    if let Some(mode) = mode {
        let octal =
            mode.len() == 4 && mode.starts_with('0') && mode[1..].chars().all(|ch| ('0'..='7').contains(&ch));
        if !octal {
            c.at(
                "defaultMode",
                format!("`{mode}` must be four octal digits starting with 0, such as 0644"),
            );
        }
    }
}

/// A persistent volume claim: an existing one, or a new one described by `claimInfo`.
///
/// ```
/// use runai_core::{Validate, spec::PvcVolume};
/// let pvc = PvcVolume { claim_name: Some("models".into()), path: Some("/models".into()), existing_pvc: Some(true), ..Default::default() };
/// let storage = runai_core::spec::Storage { pvc: Some(vec![pvc]), ..Default::default() };
/// assert!(storage.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvcVolume {
    /// Unique name of the volume in the workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mount a claim that already exists (`claimName`) instead of creating one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_pvc: Option<bool>,
    /// Name of the claim, at most 63 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// Mount read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// A claim that lives as long as the pod; not supported for inference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// The claim to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_info: Option<ClaimInfo>,
    /// Share the claim with other workloads of the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_sharing: Option<bool>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl PvcVolume {
    pub(crate) fn check(&self, c: &mut Checker) {
        mount_path(c, "path", self.path.as_ref());
        if self.ephemeral == Some(true) {
            c.at(
                "ephemeral",
                "ephemeral claims are not supported for inference; use an existing or a new claim",
            );
        }
        if let Some(name) = &self.claim_name
            && name.len() > 63
        {
            c.at(
                "claimName",
                format!("must be at most 63 characters, got {}", name.len()),
            );
        }
        if self.existing_pvc == Some(true) {
            if self.claim_name.is_none() {
                c.at("claimName", "is required when existingPvc is true");
            }
        } else if let Some(info) = &self.claim_info {
            c.field("claimInfo", |c| info.check(c));
        } else if self.claim_name.is_none() {
            c.here("give claimName with existingPvc: true to mount a claim, or claimInfo to create one");
        }
    }
}

/// A claim the platform creates.
///
/// ```
/// use runai_core::spec::ClaimInfo;
/// let info = ClaimInfo { size: Some("100Gi".into()), storage_class: Some("fast-ssd".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&info).unwrap()["size"], "100Gi");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimInfo {
    /// Size, as a quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
    /// Storage class name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Access modes requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_modes: Option<AccessModes>,
    /// Block or file system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<VolumeMode>,
    /// Extra attributes passed to the storage class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_attr_values: Option<Vec<AddedAttrValue>>,
}

impl ClaimInfo {
    fn check(&self, c: &mut Checker) {
        match &self.size {
            None => c.at("size", "is required when creating a claim, for example 100Gi"),
            Some(size) if size.value().is_none() => {
                c.at(
                    "size",
                    format!("`{size}` is not a quantity; write for example 100Gi"),
                );
            }
            Some(_) => {}
        }
        c.dns_label("storageClass", self.storage_class.as_ref());
        if let Some(modes) = &self.access_modes
            && !modes.any()
        {
            c.at(
                "accessModes",
                "must enable at least one of readWriteOnce, readOnlyMany, readWriteMany",
            );
        }
    }
}

/// Access modes of a claim.
///
/// ```
/// use runai_core::spec::AccessModes;
/// let modes = AccessModes { read_only_many: Some(true), ..Default::default() };
/// assert!(modes.any());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessModes {
    /// Mounted read-write by one node (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_write_once: Option<bool>,
    /// Mounted read-only by many nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_many: Option<bool>,
    /// Mounted read-write by many nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_write_many: Option<bool>,
}

impl AccessModes {
    /// Whether at least one mode is on (an unset `readWriteOnce` counts as on).
    #[must_use]
    pub fn any(&self) -> bool {
        self.read_write_once.unwrap_or(true)
            || self.read_only_many == Some(true)
            || self.read_write_many == Some(true)
    }
}

/// Volume modes.
///
/// ```
/// use runai_core::spec::VolumeMode;
/// assert_eq!(serde_json::to_string(&VolumeMode::Filesystem).unwrap(), r#""Filesystem""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum VolumeMode {
    /// A mounted file system.
    Filesystem,
    /// A raw block device.
    Block,
}

/// An extra storage-class attribute.
///
/// ```
/// use runai_core::spec::AddedAttrValue;
/// let attr = AddedAttrValue { key: "iops".into(), value: Some("3000".into()) };
/// assert_eq!(serde_json::to_value(&attr).unwrap()["key"], "iops");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddedAttrValue {
    /// Attribute key.
    pub key: String,
    /// Attribute value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An NFS export.
///
/// ```
/// use runai_core::spec::NfsVolume;
/// let nfs = NfsVolume { server: Some("nfs.example.com".into()), path: Some("/export/models".into()), mount_path: Some("/models".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&nfs).unwrap()["mountPath"], "/models");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NfsVolume {
    /// Unique name of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exported path on the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mount read-only (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// NFS server host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// A directory of the node.
///
/// ```
/// use runai_core::spec::HostPathVolume;
/// let v = HostPathVolume { path: Some("/raid/models".into()), mount_path: Some("/models".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&v).unwrap()["path"], "/raid/models");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostPathVolume {
    /// Unique name of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Directory on the node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mount read-only (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Whether mounts made on the host later appear in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<MountPropagation>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// Mount propagation modes.
///
/// ```
/// use runai_core::spec::MountPropagation;
/// assert_eq!(serde_json::to_string(&MountPropagation::HostToContainer).unwrap(), r#""HostToContainer""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum MountPropagation {
    /// No propagation.
    None,
    /// Host mounts appear in the container.
    HostToContainer,
}

/// A git repository cloned into the container.
///
/// ```
/// use runai_core::spec::GitVolume;
/// let git = GitVolume { repository: Some("https://github.com/org/prompts.git".into()), path: Some("/prompts".into()), ..Default::default() };
/// assert!(serde_json::to_string(&git).unwrap().contains("prompts.git"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitVolume {
    /// Unique name of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Repository URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Branch to check out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Commit to check out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Where to clone it in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Secret holding the password (older form; prefer `secretRef`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<String>,
    /// Key of the user name in the secret (older form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_of_user: Option<String>,
    /// Key of the password in the secret (older form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_of_password: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Credentials for the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<GitSecretRef>,
}

/// Credentials for a git repository.
///
/// ```
/// use runai_core::spec::{GitAuthenticationMethod, GitSecretRef};
/// let r = GitSecretRef {
///     name: Some("git-creds".into()),
///     authentication_method: Some(GitAuthenticationMethod::SshKey),
///     ..Default::default()
/// };
/// assert_eq!(serde_json::to_value(&r).unwrap()["authenticationMethod"], "ssh-key");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSecretRef {
    /// Name of the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the secret authenticates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_method: Option<GitAuthenticationMethod>,
    /// Key of the user name in the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_of_user: Option<String>,
    /// Key of the password in the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_of_password: Option<String>,
}

/// Git authentication methods.
///
/// ```
/// use runai_core::spec::GitAuthenticationMethod;
/// assert_eq!(serde_json::to_string(&GitAuthenticationMethod::Password).unwrap(), r#""password""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GitAuthenticationMethod {
    /// User name and password (or token).
    Password,
    /// An SSH private key.
    SshKey,
}

/// A config map mounted as files.
///
/// ```
/// use runai_core::spec::ConfigMapVolume;
/// let v = ConfigMapVolume { config_map: Some("chat-template".into()), mount_path: Some("/etc/templates".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&v).unwrap()["configMap"], "chat-template");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolume {
    /// Unique name of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Name of the config map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Mount only this key's file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// File mode as four octal digits, for example `0644`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// A secret mounted as files.
///
/// ```
/// use runai_core::spec::SecretVolume;
/// let v = SecretVolume { secret: Some("tls-cert".into()), mount_path: Some("/etc/tls".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&v).unwrap()["secret"], "tls-cert");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolume {
    /// Unique name of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// File mode as four octal digits, for example `0400`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<String>,
    /// Name of the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// Scratch space that lives as long as the pod.
///
/// ```
/// use runai_core::spec::EmptyDirVolume;
/// let v = EmptyDirVolume { path: Some("/dev/shm".into()), medium: Some("Memory".into()), size_limit: Some("16Gi".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&v).unwrap()["sizeLimit"], "16Gi");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirVolume {
    /// Unique name of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Memory` for a RAM-backed volume; unset for disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// Most space, as a quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// A Run:ai data volume.
///
/// ```
/// use runai_core::spec::DataVolume;
/// let v = DataVolume { id: Some("5b1f8d0e-2a7c-4a57-9a1e-6f4c2d9b8e11".into()), mount_path: Some("/data".into()), exclude: None };
/// assert_eq!(serde_json::to_value(&v).unwrap()["mountPath"], "/data");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataVolume {
    /// The data volume's UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Mount path in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}
