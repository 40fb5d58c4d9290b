//! GPU, CPU and memory requests of one pod.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;
use crate::validate::Checker;

/// The unit of the GPU request fields.
///
/// ```
/// use runai_core::spec::GpuRequestType;
/// assert_eq!(serde_json::to_string(&GpuRequestType::Portion).unwrap(), r#""portion""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum GpuRequestType {
    /// A share of each device, `gpuPortionRequest` in 0..=1.
    Portion,
    /// An amount of each device's memory, `gpuMemoryRequest`.
    Memory,
}

/// Compute resources requested by each pod (per device for the GPU fields).
///
/// ```
/// use runai_core::{Validate, spec::Compute};
/// let half_gpu = Compute::gpu_portion(0.5);
/// assert!(half_gpu.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compute {
    /// Most CPU cores the container may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_core_limit: Option<f64>,
    /// CPU cores guaranteed to the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_core_request: Option<f64>,
    /// Most memory the container may use, as a quantity such as `"20G"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_memory_limit: Option<Quantity>,
    /// Memory guaranteed to the container, as a quantity such as `"20G"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_memory_request: Option<Quantity>,
    /// Other Kubernetes extended resources (for example `rdma/ib`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_resources: Option<Vec<ExtendedResource>>,
    /// Number of GPU devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_devices_request: Option<i32>,
    /// Most GPU memory per device, when `gpuRequestType` is `memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory_limit: Option<Quantity>,
    /// GPU memory per device, required when `gpuRequestType` is `memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_memory_request: Option<Quantity>,
    /// Most share of each device, when `gpuRequestType` is `portion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_portion_limit: Option<f64>,
    /// Share of each device (0..=1), required when `gpuRequestType` is `portion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_portion_request: Option<f64>,
    /// The unit of the GPU request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_request_type: Option<GpuRequestType>,
    /// Mount a large `/dev/shm` (RAM-backed) into the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_shm_request: Option<bool>,
}

/// An extended resource request such as `{"resource": "rdma/ib", "quantity": "1"}`.
///
/// ```
/// use runai_core::spec::ExtendedResource;
/// let ib = ExtendedResource::new("rdma/ib", "1");
/// assert_eq!(ib.resource.as_deref(), Some("rdma/ib"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedResource {
    /// Resource name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Amount, as a quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl ExtendedResource {
    /// A request for `quantity` of `resource`.
    #[must_use]
    pub fn new(resource: impl Into<String>, quantity: &str) -> Self {
        Self {
            resource: Some(resource.into()),
            quantity: Some(Quantity::from(quantity)),
            exclude: None,
        }
    }
}

impl Compute {
    /// `devices` whole GPUs.
    #[must_use]
    pub fn gpus(devices: i32) -> Self {
        Self {
            gpu_devices_request: Some(devices),
            gpu_request_type: Some(GpuRequestType::Portion),
            gpu_portion_request: Some(1.0),
            ..Self::default()
        }
    }

    /// A share of one GPU.
    #[must_use]
    pub fn gpu_portion(portion: f64) -> Self {
        Self {
            gpu_portion_request: Some(portion),
            ..Self::gpus(1)
        }
    }

    /// The GPU request type in force: the explicit one, or the one implied by the fields set.
    #[must_use]
    pub fn effective_gpu_request_type(&self) -> Option<GpuRequestType> {
        self.gpu_request_type.or_else(|| {
            if self.gpu_memory_request.is_some() || self.gpu_memory_limit.is_some() {
                Some(GpuRequestType::Memory)
            } else if self.gpu_portion_request.is_some() || self.gpu_portion_limit.is_some() {
                Some(GpuRequestType::Portion)
            } else {
                None
            }
        })
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        self.check_gpu(c);
        c.at_least("cpuCoreRequest", self.cpu_core_request, 0.0);
        c.at_least("cpuCoreLimit", self.cpu_core_limit, 0.0);
        if let (Some(request), Some(limit)) = (self.cpu_core_request, self.cpu_core_limit)
            && limit < request
        {
            c.at(
                "cpuCoreLimit",
                format!("must be >= cpuCoreRequest ({request}), got {limit}"),
            );
        }
        check_quantity_pair(
            c,
            ("cpuMemoryRequest", self.cpu_memory_request.as_ref()),
            ("cpuMemoryLimit", self.cpu_memory_limit.as_ref()),
        );
        c.each("extendedResources", self.extended_resources.as_ref(), |r, c| {
            if r.resource.as_deref().is_none_or(str::is_empty) {
                c.at("resource", "is required, for example `rdma/ib`");
            }
            match &r.quantity {
                None => c.at("quantity", "is required"),
                Some(q) => check_quantity(c, "quantity", q),
            }
        });
    }

    fn check_gpu(&self, c: &mut Checker) {
        c.at_least("gpuDevicesRequest", self.gpu_devices_request, 0);
        let devices = self.gpu_devices_request.unwrap_or(1);
        let has_portion = self.gpu_portion_request.is_some() || self.gpu_portion_limit.is_some();
        let has_memory = self.gpu_memory_request.is_some() || self.gpu_memory_limit.is_some();

        for (name, value) in [
            ("gpuPortionRequest", self.gpu_portion_request),
            ("gpuPortionLimit", self.gpu_portion_limit),
        ] {
            if let Some(value) = value
                && !(0.0..=1.0).contains(&value)
            {
                c.at(
                    name,
                    format!("is a share of one device and must be between 0 and 1, got {value}"),
                );
            }
        }
        if let (Some(request), Some(limit)) = (self.gpu_portion_request, self.gpu_portion_limit)
            && limit < request
        {
            c.at(
                "gpuPortionLimit",
                format!("must be >= gpuPortionRequest ({request}), got {limit}"),
            );
        }
        check_quantity_pair(
            c,
            ("gpuMemoryRequest", self.gpu_memory_request.as_ref()),
            ("gpuMemoryLimit", self.gpu_memory_limit.as_ref()),
        );

        match self.gpu_request_type {
            Some(GpuRequestType::Portion) if has_memory => {
                c.at(
                    "gpuRequestType",
                    "is `portion`; remove gpuMemoryRequest/gpuMemoryLimit or use `memory`",
                );
            }
            Some(GpuRequestType::Memory) if has_portion => {
                c.at(
                    "gpuRequestType",
                    "is `memory`; remove gpuPortionRequest/gpuPortionLimit or use `portion`",
                );
            }
            Some(GpuRequestType::Memory) if self.gpu_memory_request.is_none() => {
                c.at(
                    "gpuMemoryRequest",
                    "is required when gpuRequestType is `memory`, for example \"10G\"",
                );
            }
            None if has_portion && has_memory => {
                c.at(
                    "gpuRequestType",
                    "is required when both portion and memory fields are set; choose one",
                );
            }
            _ => {}
        }

        if devices > 1 {
            if self.gpu_request_type == Some(GpuRequestType::Memory) {
                c.at(
                    "gpuRequestType",
                    format!("must be `portion` when gpuDevicesRequest is {devices} (> 1)"),
                );
            }
            if has_memory {
                c.here(format!(
                    "gpuMemoryRequest/gpuMemoryLimit cannot be set when gpuDevicesRequest is {devices} (> 1); \
                     request whole devices"
                ));
            }
            for (name, value) in [
                ("gpuPortionRequest", self.gpu_portion_request),
                ("gpuPortionLimit", self.gpu_portion_limit),
            ] {
                if value.is_some_and(|v| v < 1.0) {
                    c.at(
                        name,
                        format!("must be 1 (whole devices) when gpuDevicesRequest is {devices} (> 1)"),
                    );
                }
            }
        }
    }
}

fn check_quantity(c: &mut Checker, name: &str, quantity: &Quantity) {
    if quantity.value().is_none() {
        c.at(
            name,
            format!(
                "`{quantity}` is not a quantity; write a number with an optional unit such as 500M or 10Gi"
            ),
        );
    }
}

fn check_quantity_pair(
    c: &mut Checker,
    request: (&str, Option<&Quantity>),
    limit: (&str, Option<&Quantity>),
) {
    if let Some(q) = request.1 {
        check_quantity(c, request.0, q);
    }
    if let Some(q) = limit.1 {
        check_quantity(c, limit.0, q);
    }
    if let (Some(r), Some(l)) = (request.1, limit.1)
        && let (Some(rv), Some(lv)) = (r.value(), l.value())
        && lv < rv
    {
        c.at(limit.0, format!("must be >= {} ({r}), got {l}", request.0));
    }
}
