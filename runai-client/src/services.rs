//! Distributed inference (`/api/v1/workloads/distributed-inferences`) and NIM services
//! (`/api/v2/workloads/nim-services`).

use reqwest::Method;
use runai_core::{
    DistributedInference, DistributedInferenceCreationRequest, DistributedInferenceUpdateRequest,
    NimServiceCreateRequest, NimServiceResponse, NimServiceUpdateRequest,
};

use crate::client::Client;
use crate::error::Result;
use crate::workloads::segment;

/// The distributed (multi-node) inference API of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct DistributedInferences<'a> {
    client: &'a Client,
}

/// The NIM services API of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct NimServices<'a> {
    client: &'a Client,
}

impl Client {
    /// Distributed inference workloads (a leader and workers per replica).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.distributed_inferences().set_replicas("0b4e9a3c-1111-4000-8000-00000000abcd", 2).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn distributed_inferences(&self) -> DistributedInferences<'_> {
        DistributedInferences { client: self }
    }

    /// NVIDIA NIM services.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let service = client.nim_services().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// # let _ = service;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn nim_services(&self) -> NimServices<'_> {
        NimServices { client: self }
    }
}

const DISTRIBUTED: &str = "api/v1/workloads/distributed-inferences";

impl DistributedInferences<'_> {
    /// Submits a distributed inference (never retried once it may have reached the server).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client, request: runai_core::DistributedInferenceCreationRequest) -> runai_client::Result<()> {
    /// let created = client.distributed_inferences().create(&request).await?;
    /// println!("{}", created.meta.workload_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn create(
        &self,
        request: &DistributedInferenceCreationRequest,
    ) -> Result<DistributedInference> {
        self.client
            .call(Method::POST, DISTRIBUTED)
            .json(request)
            .not_idempotent()
            .decode()
            .await
    }

    /// One distributed inference, with its spec.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let set = client.distributed_inferences().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// println!("{:?}", set.spec.and_then(|s| s.replicas));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn get(&self, id: &str) -> Result<DistributedInference> {
        self.client
            .call(Method::GET, &format!("{DISTRIBUTED}/{}", segment(id)?))
            .decode()
            .await
    }

    /// Changes the number of groups (the only field a distributed inference can change).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.distributed_inferences().set_replicas("0b4e9a3c-1111-4000-8000-00000000abcd", 3).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn set_replicas(&self, id: &str, replicas: i32) -> Result<DistributedInference> {
        let update = DistributedInferenceUpdateRequest::replicas(replicas);
        self.client
            .call(Method::PATCH, &format!("{DISTRIBUTED}/{}", segment(id)?))
            .json(&update)
            .decode()
            .await
    }

    /// Deletes a distributed inference.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.distributed_inferences().delete("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.client
            .call(Method::DELETE, &format!("{DISTRIBUTED}/{}", segment(id)?))
            .send()
            .await
            .map(drop)
    }
}

impl NimServices<'_> {
    /// Submits a NIM service (never retried once it may have reached the server).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client, request: runai_core::NimServiceCreateRequest) -> runai_client::Result<()> {
    /// let created = client.nim_services().create(&request).await?;
    /// println!("{}", created.metadata.id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn create(&self, request: &NimServiceCreateRequest) -> Result<NimServiceResponse> {
        self.client
            .call(Method::POST, "api/v2/workloads/nim-services")
            .json(request)
            .not_idempotent()
            .decode()
            .await
    }

    /// One NIM service.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let service = client.nim_services().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// println!("{}", service.metadata.name);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn get(&self, id: &str) -> Result<NimServiceResponse> {
        self.client
            .call(
                Method::GET,
                &format!("api/v2/workloads/nim-services/{}", segment(id)?),
            )
            .decode()
            .await
    }

    /// Replaces the service's spec (a rolling update).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let current = client.nim_services().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// let update = runai_core::NimServiceUpdateRequest { spec: current.spec };
    /// client.nim_services().update("0b4e9a3c-1111-4000-8000-00000000abcd", &update).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn update(&self, id: &str, update: &NimServiceUpdateRequest) -> Result<NimServiceResponse> {
        self.client
            .call(
                Method::PATCH,
                &format!("api/v2/workloads/nim-services/{}", segment(id)?),
            )
            .json(update)
            .decode()
            .await
    }

    /// Deletes a NIM service (through the generic v2 workloads endpoint, as the API has it).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.nim_services().delete("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.client
            .call(Method::DELETE, &format!("api/v2/workloads/{}", segment(id)?))
            .send()
            .await
            .map(drop)
    }
}
