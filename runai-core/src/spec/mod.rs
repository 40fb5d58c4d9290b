//! The building blocks of workload specs, shared by standard inference, distributed
//! inference and NIM services. Field names and enum spellings follow the Run:ai API exactly.

mod autoscaling;
mod compute;
mod container;
pub(crate) mod pod;
mod probes;
mod scheduling;
mod security;
mod serving;
mod storage;

pub use autoscaling::{
    AutoScaling, DEFAULT_METRIC_THRESHOLD_PERCENTAGE, MAX_DELAY_SECONDS, Metric, ResolvedAutoscaling,
    ServingConfiguration,
};
pub use compute::{Compute, ExtendedResource, GpuRequestType};
pub use container::{
    Annotation, EnvironmentVariable, ImagePullPolicy, ImagePullSecret, KeyRef, Label, PodFieldRef,
};
pub use probes::{HttpGetAction, Probe, ProbeHandler, ProbeScheme, Probes};
pub use scheduling::{
    MatchExpression, MatchOperator, NodeAffinityRequired, NodeSelectorTerm, PodAffinity, PodAffinityType,
    Preemptibility, PriorityClass, Toleration, TolerationEffect, TolerationOperator,
};
pub(crate) use scheduling::{check_node_pools, check_priority};
pub use security::{Capability, SeccompProfileType, Security, UidGidSource};
pub(crate) use serving::check_access;
pub use serving::{
    AuthorizationType, ExposedUrl, Port, PortServiceType, RelatedUrl, ServingPort, ServingProtocol,
    ToolAuthorizationType,
};
pub use storage::{
    AccessModes, AddedAttrValue, ClaimInfo, ConfigMapVolume, DataVolume, EmptyDirVolume,
    GitAuthenticationMethod, GitSecretRef, GitVolume, HostPathVolume, MountPropagation, NfsVolume, PvcVolume,
    SecretVolume, Storage, VolumeMode,
};

crate::validate::impl_validate!(
    AutoScaling,
    ServingConfiguration,
    Compute,
    ServingPort,
    Probe,
    Security,
    Storage,
    Toleration,
    NodeAffinityRequired,
    EnvironmentVariable,
);
