//! The Hugging Face Hub's model API (`/api/models`): search with filters and sorting, every
//! page through the `Link` header, and one model with its gated status.

use futures_util::Stream;
use reqwest::Method;
use url::Url;

use super::{BaseUrl, HubModel, ModelSearch, Secret, link};
use crate::client::{CallAuth, Client};
use crate::error::{Error, Result};

const DEFAULT_BASE: &str = "https://huggingface.co";

/// The Hugging Face Hub, reached through a [`Client`]: its own base URL and an optional
/// `hf_...` token (needed for gated and private models; searches work without one).
///
/// ```no_run
/// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
/// let hub = client.huggingface().token("hf_xxx");
/// let model = hub.model("meta-llama/Llama-3.1-8B-Instruct").await?;
/// println!("{} gated: {:?}", model.id, model.gated);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HuggingFace<'a> {
    client: &'a Client,
    base: BaseUrl,
    token: Option<Secret>,
}

impl Client {
    /// The Hugging Face Hub at `https://huggingface.co`, anonymously until
    /// [`HuggingFace::token`] is given.
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let hub = client.huggingface().base_url("https://hf-mirror.example").token("hf_xxx");
    /// # let _ = hub;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn huggingface(&self) -> HuggingFace<'_> {
        HuggingFace {
            client: self,
            base: BaseUrl::parse(DEFAULT_BASE),
            token: None,
        }
    }
}

impl<'a> HuggingFace<'a> {
    /// Another Hub (a mirror, or a test server). A URL that is not http or https makes every
    /// call fail with [`Error::Config`].
    ///
    /// ```
    /// # let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let hub = client.huggingface().base_url("http://127.0.0.1:8080");
    /// # let _ = hub;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base = BaseUrl::parse(url.as_ref());
        self
    }

    /// A Hub token, sent as `Authorization: Bearer` to the base URL's host only.
    ///
    /// ```
    /// # let client = runai_client::Client::builder("https://acme.run.ai").build()?;
    /// let hub = client.huggingface().token(std::env::var("HF_TOKEN").unwrap_or_default());
    /// # let _ = hub;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret(token.into()));
        self
    }

    /// The first page of models matching `search` (`GET /api/models`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_client::catalog::{ModelSearch, ModelSort};
    /// let search = ModelSearch::new().author("Qwen").sort(ModelSort::TrendingScore).limit(20);
    /// let page = client.huggingface().search(&search).await?;
    /// for model in &page.items {
    ///     println!("{} {}", model.id, model.pipeline_tag.as_deref().unwrap_or("-"));
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a bad base URL, [`Error::Auth`] for a refused token,
    /// [`Error::Decode`] when the answer is not a list of models, or the error of the call.
    pub async fn search(&self, search: &ModelSearch) -> Result<HubPage> {
        let mut url = self.base.endpoint(&["api", "models"])?;
        url.query_pairs_mut().extend_pairs(search.pairs());
        self.fetch(url).await
    }

    /// The page after `page`, or `None` when it was the last.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let hub = client.huggingface();
    /// let first = hub.search(&Default::default()).await?;
    /// if let Some(second) = hub.next_page(&first).await? {
    ///     println!("{} more", second.items.len());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`HuggingFace::search`].
    pub async fn next_page(&self, page: &HubPage) -> Result<Option<HubPage>> {
        match &page.next {
            Some(next) => self.fetch(next.clone()).await.map(Some),
            None => Ok(None),
        }
    }

    /// Every model matching `search`, page after page (each page's size is the search's
    /// [`ModelSearch::limit`]), as a stream; take what you need and the rest is never fetched.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use futures_util::{StreamExt, TryStreamExt};
    /// use runai_client::catalog::ModelSearch;
    /// let models: Vec<_> = client
    ///     .huggingface()
    ///     .search_all(ModelSearch::new().author("mistralai"))
    ///     .take(250)
    ///     .try_collect()
    ///     .await?;
    /// println!("{} models", models.len());
    /// # Ok(()) }
    /// ```
    pub fn search_all(&self, search: ModelSearch) -> impl Stream<Item = Result<HubModel>> + Unpin + use<'a> {
        // The stream owns its handle, so it may outlive the `huggingface()` temporary.
        let hub = self.clone();
        let pages = futures_util::stream::try_unfold(Position::First(search), move |at| {
            let hub = hub.clone();
            async move {
                let page = match at {
                    Position::First(search) => hub.search(&search).await?,
                    Position::Next(next) => hub.fetch(next).await?,
                    Position::End => return Ok(None),
                };
                Ok(Some((
                    page.items,
                    page.next.map_or(Position::End, Position::Next),
                )))
            }
        });
        // Boxed so that callers can poll it with `StreamExt::next` without pinning it first.
        Box::pin(futures_util::TryStreamExt::try_flatten(
            futures_util::TryStreamExt::map_ok(pages, |items| {
                futures_util::stream::iter(items.into_iter().map(Ok))
            }),
        ))
    }

    /// One model (`GET /api/models/{repo_id}`), with its gated status; `repo_id` is
    /// `owner/name` (or a bare legacy `name`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_client::catalog::Gated;
    /// let model = client.huggingface().model("google/gemma-2-9b-it").await?;
    /// if model.gated.is_some_and(Gated::is_gated) {
    ///     println!("accept the license on the model page first");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for an id that is not a repo id (it would change the URL path) or a
    /// bad base URL, with no request sent; [`Error::Auth`] when the Hub answers 401 (how it
    /// answers an anonymous call for a private or unknown model, or a refused token);
    /// [`Error::Api`] with status 404 for an unknown model; [`Error::Decode`] when the answer
    /// is not a model.
    pub async fn model(&self, repo_id: &str) -> Result<HubModel> {
        let segments = repo_segments(repo_id)?;
        let mut path = vec!["api", "models"];
        path.extend(segments);
        let url = self.base.endpoint(&path)?;
        self.client
            .call_url(Method::GET, url.clone(), self.auth(&url))
            .send()
            .await?
            .json(&format!("the Hugging Face model {repo_id}"))
    }

    async fn fetch(&self, url: Url) -> Result<HubPage> {
        let reply = self
            .client
            .call_url(Method::GET, url.clone(), self.auth(&url))
            .send()
            .await?;
        let items: Vec<HubModel> = reply.json("the Hugging Face model list")?;
        // A next link back to this very page would never end.
        let next = link::target(&reply.headers, "next", &url).filter(|next| *next != url);
        Ok(HubPage { items, next })
    }

    /// The token for `url`, when it is on the base URL's origin: a next link elsewhere is
    /// followed without it rather than handing the token to another host.
    fn auth(&self, url: &Url) -> CallAuth {
        match &self.token {
            Some(Secret(token)) if self.base.same_origin(url) => CallAuth::Token(token.clone()),
            _ => CallAuth::Anonymous,
        }
    }
}

/// Where [`HuggingFace::search_all`] stands.
enum Position {
    First(ModelSearch),
    Next(Url),
    End,
}

/// The path segments of a repo id, refused when it would change the URL path or query.
fn repo_segments(repo_id: &str) -> Result<Vec<&str>> {
    let segments: Vec<&str> = repo_id.split('/').collect();
    // The Hub's own rule for names: ASCII letters, digits, `-`, `_` and `.`, never `..`.
    let valid = |s: &str| {
        !s.is_empty()
            && !s.contains("..")
            && s != "."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if segments.len() > 2 || !segments.iter().all(|s| valid(s)) {
        return Err(Error::Config {
            field: "repo_id",
            reason: format!("`{repo_id}` is not a Hugging Face repo id; give one like `owner/name`"),
        });
    }
    Ok(segments)
}

/// One page of Hub models, and the URL of the next one.
///
/// ```
/// let page = runai_client::catalog::HubPage::new(Vec::new(), None);
/// assert!(page.items.is_empty() && page.next.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HubPage {
    /// The models.
    pub items: Vec<HubModel>,
    /// The next page, from the answer's `Link: <...>; rel="next"` header.
    pub next: Option<Url>,
}

impl HubPage {
    /// A page of `items` followed by the one at `next`.
    ///
    /// ```
    /// use runai_client::catalog::HubPage;
    /// let next = url::Url::parse("https://huggingface.co/api/models?cursor=abc")?;
    /// let page = HubPage::new(Vec::new(), Some(next));
    /// assert!(page.next.is_some());
    /// # Ok::<(), url::ParseError>(())
    /// ```
    #[must_use]
    pub fn new(items: Vec<HubModel>, next: Option<Url>) -> Self {
        Self { items, next }
    }
}
