//! Organization objects (projects, clusters, node pools) and credentials (service accounts,
//! user access keys).

use futures_util::Stream;
use reqwest::Method;
use runai_core::list::ListQuery;
use runai_core::org::{NodePool, Project};
use runai_core::{
    AccessKey, AccessKeyCreationRequest, AccessKeyList, AccessKeyPostResponse, ClusterList, DisplayedCluster,
    NodePoolList, ProjectList, ServiceAccount, ServiceAccountCreationRequest, ServiceAccountList,
    ServiceAccountPostResponse,
};

use crate::client::Client;
use crate::error::Result;
use crate::workloads::{Page, every_page, segment};

/// Projects, clusters and node pools of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct Org<'a> {
    client: &'a Client,
}

/// Service accounts and access keys of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    client: &'a Client,
}

impl Client {
    /// Projects, clusters and node pools.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let clusters = client.org().clusters().await?;
    /// # let _ = clusters;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn org(&self) -> Org<'_> {
        Org { client: self }
    }

    /// Service accounts and user access keys.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let keys = client.access().access_keys().await?;
    /// # let _ = keys;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn access(&self) -> Access<'_> {
        Access { client: self }
    }
}

impl Org<'_> {
    /// One page of projects (`GET /api/v1/org-unit/projects`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let page = client.org().projects(&Default::default()).await?;
    /// for project in &page.items {
    ///     println!("{} {}", project.id, project.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn projects(&self, query: &ListQuery) -> Result<Page<Project>> {
        let mut call = self.client.call(Method::GET, "api/v1/org-unit/projects");
        for (key, value) in query.to_pairs() {
            call = call.query(key, value);
        }
        let list: ProjectList = call.decode().await?;
        Ok(Page::of_list(query, list.projects, list.next))
    }

    /// Every project the query matches, page after page.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let projects: Vec<_> = client.org().all_projects(Default::default()).try_collect().await?;
    /// println!("{} projects", projects.len());
    /// # Ok(()) }
    /// ```
    pub fn all_projects(&self, query: ListQuery) -> impl Stream<Item = Result<Project>> + '_ {
        every_page(query, move |query| async move { self.projects(&query).await })
    }

    /// The clusters (`GET /api/v1/clusters`, not paged).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// for cluster in client.org().clusters().await? {
    ///     println!("{} {}", cluster.uuid, cluster.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn clusters(&self) -> Result<Vec<DisplayedCluster>> {
        let list: ClusterList = self.client.call(Method::GET, "api/v1/clusters").decode().await?;
        Ok(list.clusters)
    }

    /// The node pools of every cluster (`GET /api/v1/node-pools`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// for pool in client.org().node_pools().await? {
    ///     println!("{}", pool.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn node_pools(&self) -> Result<Vec<NodePool>> {
        let list: NodePoolList = self
            .client
            .call(Method::GET, "api/v1/node-pools")
            .decode()
            .await?;
        Ok(list.nodepools.unwrap_or_default())
    }
}

impl Access<'_> {
    /// Creates a service account; the answer holds its secret, shown only this once.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_core::ServiceAccountCreationRequest;
    /// let account = client.access().create_service_account(&ServiceAccountCreationRequest::new("chat-bot")).await?;
    /// let bot = runai_client::Client::builder(client.base_url().as_str())
    ///     .credentials(runai_client::Credentials::client_credentials(
    ///         account.client_id.clone().unwrap_or_default(), account.client_secret.clone()))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call (409 when the name is taken).
    pub async fn create_service_account(
        &self,
        request: &ServiceAccountCreationRequest,
    ) -> Result<ServiceAccountPostResponse> {
        self.client
            .call(Method::POST, "api/v1/service-accounts")
            .json(request)
            .not_idempotent()
            .decode()
            .await
    }

    /// The service accounts.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// for account in client.access().service_accounts().await? {
    ///     println!("{} {}", account.id, account.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn service_accounts(&self) -> Result<Vec<ServiceAccount>> {
        let list: ServiceAccountList = self
            .client
            .call(Method::GET, "api/v1/service-accounts")
            .decode()
            .await?;
        Ok(list.service_accounts)
    }

    /// Deletes a service account.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.access().delete_service_account("42").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn delete_service_account(&self, id: &str) -> Result<()> {
        self.client
            .call(
                Method::DELETE,
                &format!("api/v1/service-accounts/{}", segment(id)?),
            )
            .send()
            .await
            .map(drop)
    }

    /// Creates a user access key; the answer holds its secret, shown only this once.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_core::AccessKeyCreationRequest;
    /// let key = client.access().create_access_key(&AccessKeyCreationRequest::new("laptop")).await?;
    /// println!("{} (keep the secret now: it is not shown again)", key.client_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn create_access_key(
        &self,
        request: &AccessKeyCreationRequest,
    ) -> Result<AccessKeyPostResponse> {
        self.client
            .call(Method::POST, "api/v1/access-keys")
            .json(request)
            .not_idempotent()
            .decode()
            .await
    }

    /// The user's access keys.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// for key in client.access().access_keys().await? {
    ///     println!("{} {}", key.id, key.name);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn access_keys(&self) -> Result<Vec<AccessKey>> {
        let list: AccessKeyList = self
            .client
            .call(Method::GET, "api/v1/access-keys")
            .decode()
            .await?;
        Ok(list.access_keys)
    }

    /// Deletes an access key.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// client.access().delete_access_key("17").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error`] from the call.
    pub async fn delete_access_key(&self, id: &str) -> Result<()> {
        self.client
            .call(Method::DELETE, &format!("api/v1/access-keys/{}", segment(id)?))
            .send()
            .await
            .map(drop)
    }
}
