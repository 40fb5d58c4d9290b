//! The NGC catalog's NIM containers (`/v2/search/catalog/resources/CONTAINER`), page by page,
//! with each container's latest tag.

use std::collections::BTreeMap;

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{BaseUrl, Secret, null_as_default};
use crate::client::{CallAuth, Client};
use crate::error::Result;
use crate::workloads::Page;

const DEFAULT_BASE: &str = "https://api.ngc.nvidia.com";
/// NIM containers are published under the `nim` organisation.
const NIM_QUERY: &str = "orgName:nim";
/// Large enough that the whole NIM catalog is one or two pages.
const DEFAULT_PAGE_SIZE: u32 = 1000;
/// The registry NGC containers are pulled from.
const REGISTRY: &str = "nvcr.io";

/// The NGC catalog, reached through a [`Client`]: its own base URL and an optional NGC API
/// key (the catalog search needs none).
///
/// ```no_run
/// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
/// use futures_util::TryStreamExt;
/// let models: Vec<_> = client.ngc().nim_models().try_collect().await?;
/// for model in &models {
///     println!("{} {}", model.resource_id, model.latest_tag.as_deref().unwrap_or("-"));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Ngc<'a> {
    client: &'a Client,
    base: BaseUrl,
    api_key: Option<Secret>,
    page_size: u32,
}

impl Client {
    /// The NGC catalog at `https://api.ngc.nvidia.com`, anonymously until [`Ngc::api_key`]
    /// is given.
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let ngc = client.ngc().api_key("nvapi-xxx").page_size(200);
    /// # let _ = ngc;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn ngc(&self) -> Ngc<'_> {
        Ngc {
            client: self,
            base: BaseUrl::parse(DEFAULT_BASE),
            api_key: None,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl<'a> Ngc<'a> {
    /// Another NGC API (a test server). A URL that is not http or https makes every call
    /// fail with [`crate::Error::Config`].
    ///
    /// ```
    /// # let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let ngc = client.ngc().base_url("http://127.0.0.1:8080");
    /// # let _ = ngc;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base = BaseUrl::parse(url.as_ref());
        self
    }

    /// An NGC API key (`nvapi-...`), sent as `Authorization: Bearer` to the base URL's host.
    ///
    /// ```
    /// # let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let ngc = client.ngc().api_key(std::env::var("NGC_API_KEY").unwrap_or_default());
    /// # let _ = ngc;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret(key.into()));
        self
    }

    /// How many containers each page asks for (default 1000, at least 1).
    ///
    /// ```
    /// # let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let ngc = client.ngc().page_size(100);
    /// # let _ = ngc;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// One page of NIM containers (`page` counts from 0); the page's `next` is the number of
    /// the following page, when there is one.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let first = client.ngc().nim_models_page(0).await?;
    /// println!("{} models, more: {}", first.items.len(), first.next.is_some());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::Config`] for a bad base URL, [`crate::Error::Decode`] when the answer
    /// is not a catalog search result, or the error of the call.
    pub async fn nim_models_page(&self, page: u32) -> Result<Page<NimModel>> {
        let url = self
            .base
            .endpoint(&["v2", "search", "catalog", "resources", "CONTAINER"])?;
        let q = serde_json::json!({"query": NIM_QUERY, "page": page, "pageSize": self.page_size});
        let auth = match &self.api_key {
            Some(Secret(key)) => CallAuth::Token(key.clone()),
            None => CallAuth::Anonymous,
        };
        let answer: SearchAnswer = self
            .client
            .call_url(Method::GET, url, auth)
            .query("q", q.to_string())
            .send()
            .await?
            .json(&format!("the NGC catalog search (page {page})"))?;
        // The page the server says it sent counts only when it is ahead of the one asked
        // for, so a server that echoes a wrong page cannot keep the stream going forever.
        let current = answer
            .params
            .and_then(|p| p.page)
            .map_or(page, |echoed| echoed.max(page));
        let next = answer
            .result_page_total
            .and_then(|total| current.checked_add(1).filter(|&next| next < total));
        let items = answer
            .results
            .into_iter()
            .flat_map(|group| group.resources)
            .map(NimModel::from)
            .collect();
        Ok(Page::new(items, next))
    }

    /// Every NIM container, page after page, as a stream.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let llama = client
    ///     .ngc()
    ///     .nim_models()
    ///     .try_filter(|m| std::future::ready(m.name.contains("llama")))
    ///     .try_collect::<Vec<_>>()
    ///     .await?;
    /// println!("{} Llama NIMs", llama.len());
    /// # Ok(()) }
    /// ```
    pub fn nim_models(&self) -> impl Stream<Item = Result<NimModel>> + Unpin + use<'a> {
        // The stream owns its handle, so it may outlive the `ngc()` temporary.
        let ngc = self.clone();
        let pages = futures_util::stream::try_unfold(Some(0), move |page| {
            let ngc = ngc.clone();
            async move {
                let Some(page) = page else {
                    return Ok(None);
                };
                let page = ngc.nim_models_page(page).await?;
                Ok(Some((page.items, page.next)))
            }
        });
        // Boxed so that callers can poll it with `StreamExt::next` without pinning it first.
        Box::pin(futures_util::TryStreamExt::try_flatten(
            futures_util::TryStreamExt::map_ok(pages, |items| {
                futures_util::stream::iter(items.into_iter().map(Ok))
            }),
        ))
    }
}

/// A NIM container in the NGC catalog.
///
/// ```
/// # fn show(model: &runai_client::catalog::NimModel) {
/// // nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4, say
/// if let Some(image) = model.image() {
///     println!("{} -> {image}", model.display_name.as_deref().unwrap_or(&model.name));
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NimModel {
    /// `org/team/image`, such as `nim/meta/llama-3.1-8b-instruct`.
    pub resource_id: String,
    /// The image name (the last part of the resource id when the catalog gives none).
    pub name: String,
    /// The name shown to people.
    pub display_name: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// Its newest tag, from the `latestTag` attribute.
    pub latest_tag: Option<String>,
    /// Every attribute the catalog gave, `latestTag` included.
    pub attributes: BTreeMap<String, String>,
}

impl NimModel {
    /// The image reference of its latest tag, as a NIM service or a pod pulls it.
    ///
    /// ```
    /// # fn show(model: &runai_client::catalog::NimModel) {
    /// println!("{}", model.image().unwrap_or_default());
    /// # }
    /// ```
    #[must_use]
    pub fn image(&self) -> Option<String> {
        let tag = self.latest_tag.as_deref()?;
        Some(format!("{REGISTRY}/{}:{tag}", self.resource_id))
    }
}

impl From<Resource> for NimModel {
    fn from(resource: Resource) -> Self {
        let mut attributes = BTreeMap::new();
        for Attribute { key, value } in resource.attributes {
            let value = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            // The first value of a repeated key wins, as in the catalog's own order.
            attributes.entry(key).or_insert(value);
        }
        let name = resource.name.unwrap_or_else(|| {
            resource
                .resource_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        Self {
            latest_tag: attributes.get("latestTag").cloned(),
            name,
            display_name: resource.display_name,
            description: resource.description,
            resource_id: resource.resource_id,
            attributes,
        }
    }
}

/// The catalog search's answer, read leniently.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchAnswer {
    #[serde(default)]
    result_page_total: Option<u32>,
    #[serde(default)]
    params: Option<SearchParams>,
    #[serde(default, deserialize_with = "null_as_default")]
    results: Vec<ResultGroup>,
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    page: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ResultGroup {
    #[serde(default, deserialize_with = "null_as_default")]
    resources: Vec<Resource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    resource_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    attributes: Vec<Attribute>,
}

#[derive(Debug, Deserialize)]
struct Attribute {
    key: String,
    #[serde(default)]
    value: serde_json::Value,
}
