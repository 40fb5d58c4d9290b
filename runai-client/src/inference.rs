//! Inference workloads (`/api/v1/workloads/inferences`): create, read, rolling update,
//! delete, revisions and metrics.

use reqwest::Method;
use runai_core::{
    Inference, InferenceCreationRequest, InferenceMetricType, InferenceUpdateRequest, MetricsQuery,
    MetricsResponse, RevisionList,
};

use crate::client::Client;
use crate::error::Result;
use crate::workloads::segment;

/// Metrics and whether the server could gather all of them (HTTP 207 means some are missing).
///
/// ```
/// fn report(metrics: &runai_client::Metrics) -> String {
///     let missing = if metrics.partial { " (some missing)" } else { "" };
///     format!("{} series{missing}", metrics.response.measurements.len())
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// The measurements returned.
    pub response: runai_core::MetricsResponse,
    /// Some of the asked-for metrics are missing (the server answered 207).
    pub partial: bool,
}

/// The inference API of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct Inferences<'a> {
    client: &'a Client,
}

impl Client {
    /// Standard inference workloads.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let inference = client.inferences().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// # let _ = inference;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn inferences(&self) -> Inferences<'_> {
        Inferences { client: self }
    }
}

impl Inferences<'_> {
    /// Submits an inference workload (`POST`, answered 202). Never retried after it may have
    /// reached the server: on a transport error, list the project's workloads before
    /// submitting again.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_core::{InferenceCreationRequest, InferenceSpec};
    /// let request = InferenceCreationRequest {
    ///     name: "llama-3-8b".into(),
    ///     project_id: "1".into(),
    ///     cluster_id: "71f69d83-ba66-4822-adf5-55ce55efd210".into(),
    ///     spec: Some(InferenceSpec::new("vllm/vllm-openai:v0.11.0", 8000)),
    ///     ..Default::default()
    /// };
    /// let created = client.inferences().create(&request).await?;
    /// println!("submitted {}", created.meta.workload_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn create(&self, request: &InferenceCreationRequest) -> Result<Inference> {
        self.client
            .call(Method::POST, "api/v1/workloads/inferences")
            .json(request)
            .not_idempotent()
            .decode()
            .await
    }

    /// One inference workload, with its spec.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let inference = client.inferences().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// println!("{:?}", inference.spec.and_then(|s| s.image));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call (404 when there is none).
    pub async fn get(&self, id: &str) -> Result<Inference> {
        self.client
            .call(
                Method::GET,
                &format!("api/v1/workloads/inferences/{}", segment(id)?),
            )
            .decode()
            .await
    }

    /// A rolling update (`PATCH`): a new revision that takes the traffic once it is ready.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_core::{InferenceUpdateRequest, InferenceUpdateSpec};
    /// let update = InferenceUpdateRequest {
    ///     spec: Some(InferenceUpdateSpec { image: Some("vllm/vllm-openai:v0.11.1".into()), ..Default::default() }),
    /// };
    /// client.inferences().update("0b4e9a3c-1111-4000-8000-00000000abcd", &update).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn update(&self, id: &str, update: &InferenceUpdateRequest) -> Result<Inference> {
        self.client
            .call(
                Method::PATCH,
                &format!("api/v1/workloads/inferences/{}", segment(id)?),
            )
            .json(update)
            .decode()
            .await
    }

    /// Deletes an inference workload (answered 202, with or without a body).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.inferences().delete("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.client
            .call(
                Method::DELETE,
                &format!("api/v1/workloads/inferences/{}", segment(id)?),
            )
            .send()
            .await
            .map(drop)
    }

    /// The workload's revisions, oldest first as the server lists them.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let list = client.inferences().revisions("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// println!("{} revisions", list.revisions.len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn revisions(&self, id: &str) -> Result<RevisionList> {
        self.client
            .call(
                Method::GET,
                &format!("api/v1/workloads/inferences/{}/revisions", segment(id)?),
            )
            .decode()
            .await
    }

    /// Throughput and latency samples; several types in one call.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_core::{InferenceMetricType, MetricsQuery};
    /// let query = MetricsQuery::new(
    ///     [InferenceMetricType::Throughput, InferenceMetricType::Latency],
    ///     "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z",
    /// ).samples(12);
    /// let metrics = client.inferences().metrics("0b4e9a3c-1111-4000-8000-00000000abcd", &query).await?;
    /// if metrics.partial { eprintln!("some metrics are missing"); }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn metrics(&self, id: &str, query: &MetricsQuery<InferenceMetricType>) -> Result<Metrics> {
        let mut call = self.client.call(
            Method::GET,
            &format!("api/v1/workloads/inferences/{}/metrics", segment(id)?),
        );
        for (key, value) in query.to_pairs() {
            call = call.query(key, value);
        }
        let reply = call.send().await?;
        let response: MetricsResponse = reply.json("the metrics")?;
        Ok(Metrics {
            response,
            partial: reply.status == 207,
        })
    }
}
