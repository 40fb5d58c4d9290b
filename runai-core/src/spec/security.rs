//! The container's security context.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::Checker;

/// Security settings of the container.
///
/// ```
/// use runai_core::spec::Security;
/// let s = Security { run_as_non_root: Some(true), run_as_uid: Some(1000), ..Default::default() };
/// assert_eq!(serde_json::to_value(&s).unwrap()["runAsUid"], 1000);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Security {
    /// Linux capabilities to add, for example `["IPC_LOCK"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<Capability>>,
    /// Mount the root file system read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
    /// Group ID of the process; the platform uses it only when `uidGidSource` is `custom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_gid: Option<i64>,
    /// Refuse to start as root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    /// User ID of the process; the platform uses it only when `uidGidSource` is `custom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_uid: Option<i64>,
    /// Seccomp profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp_profile_type: Option<SeccompProfileType>,
    /// Extra groups as a comma-separated list of IDs, for example `"1001,1002"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplemental_groups: Option<String>,
    /// Where the user and group IDs come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_gid_source: Option<UidGidSource>,
}

impl Security {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.at_least("runAsUid", self.run_as_uid, 0);
        c.at_least("runAsGid", self.run_as_gid, 0);
        if let Some(groups) = &self.supplemental_groups
            && !groups.is_empty()
            && !groups.split(',').all(|g| g.trim().parse::<u32>().is_ok())
        {
            c.at(
                "supplementalGroups",
                format!("`{groups}` must be a comma-separated list of group IDs, such as 1001,1002"),
            );
        }
        if self.run_as_non_root == Some(true) && self.run_as_uid == Some(0) {
            c.at("runAsUid", "is 0 (root) but runAsNonRoot is true");
        }
    }
}

/// Seccomp profile types.
///
/// ```
/// use runai_core::spec::SeccompProfileType;
/// assert_eq!(serde_json::to_string(&SeccompProfileType::RuntimeDefault).unwrap(), r#""RuntimeDefault""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SeccompProfileType {
    /// The container runtime's default profile.
    RuntimeDefault,
    /// No seccomp filtering.
    Unconfined,
    /// A profile file on the node.
    Localhost,
}

/// Where the process's user and group IDs come from.
///
/// ```
/// use runai_core::spec::UidGidSource;
/// assert_eq!(serde_json::to_string(&UidGidSource::FromIdpToken).unwrap(), r#""fromIdpToken""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UidGidSource {
    /// As the image defines.
    FromTheImage,
    /// From the submitting user's identity-provider token.
    FromIdpToken,
    /// From `runAsUid` and `runAsGid`.
    Custom,
}

/// Linux capabilities, spelled as the API spells them.
///
/// ```
/// use runai_core::spec::Capability;
/// assert_eq!(serde_json::to_string(&Capability::IpcLock).unwrap(), r#""IPC_LOCK""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    /// `CAP_AUDIT_CONTROL`
    AuditControl,
    /// `CAP_AUDIT_READ`
    AuditRead,
    /// `CAP_AUDIT_WRITE`
    AuditWrite,
    /// `CAP_BLOCK_SUSPEND`
    BlockSuspend,
    /// `CAP_CHOWN`
    Chown,
    /// `CAP_DAC_OVERRIDE`
    DacOverride,
    /// `CAP_DAC_READ_SEARCH`
    DacReadSearch,
    /// `CAP_FOWNER`
    Fowner,
    /// `CAP_FSETID`
    Fsetid,
    /// `CAP_IPC_LOCK`
    IpcLock,
    /// `CAP_IPC_OWNER`
    IpcOwner,
    /// `CAP_KILL`
    Kill,
    /// `CAP_LEASE`
    Lease,
    /// `CAP_LINUX_IMMUTABLE`
    LinuxImmutable,
    /// `CAP_MAC_ADMIN`
    MacAdmin,
    /// `CAP_MAC_OVERRIDE`
    MacOverride,
    /// `CAP_MKNOD`
    Mknod,
    /// `CAP_NET_ADMIN`
    NetAdmin,
    /// `CAP_NET_BIND_SERVICE`
    NetBindService,
    /// `CAP_NET_BROADCAST`
    NetBroadcast,
    /// `CAP_NET_RAW`
    NetRaw,
    /// `CAP_SETGID`
    Setgid,
    /// `CAP_SETFCAP`
    Setfcap,
    /// `CAP_SETPCAP`
    Setpcap,
    /// `CAP_SETUID`
    Setuid,
    /// `CAP_SYS_ADMIN`
    SysAdmin,
    /// `CAP_SYS_BOOT`
    SysBoot,
    /// `CAP_SYS_CHROOT`
    SysChroot,
    /// `CAP_SYS_MODULE`
    SysModule,
    /// `CAP_SYS_NICE`
    SysNice,
    /// `CAP_SYS_PACCT`
    SysPacct,
    /// `CAP_SYS_PTRACE`
    SysPtrace,
    /// `CAP_SYS_RAWIO`
    SysRawio,
    /// `CAP_SYS_RESOURCE`
    SysResource,
    /// `CAP_SYS_TIME`
    SysTime,
    /// `CAP_SYS_TTY_CONFIG`
    SysTtyConfig,
    /// `CAP_SYSLOG`
    Syslog,
    /// `CAP_WAKE_ALARM`
    WakeAlarm,
}
