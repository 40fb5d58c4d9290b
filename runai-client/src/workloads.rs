//! The workloads of every type (`/api/v1/workloads`): lists with filters, sorting and search,
//! a stream over every page, the status view, and waiting for a phase.

use std::time::{Duration, Instant};

use futures_util::Stream;
use reqwest::Method;
use runai_core::list::ListQuery;
use runai_core::{Phase, Workload, WorkloadList};

use crate::client::Client;
use crate::error::{Error, Result};

/// The page size the API uses when a query sets none.
const DEFAULT_LIMIT: u16 = 50;

/// One page of a list, and where the next one starts.
///
/// ```
/// let page = runai_client::Page::new(vec![1, 2], Some(2));
/// assert!(page.next.is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The offset of the next page, when there is one.
    pub next: Option<u32>,
}

impl<T> Page<T> {
    /// A page of `items` followed by the page at `next`.
    ///
    /// ```
    /// let page: runai_client::Page<&str> = runai_client::Page::new(vec!["a"], None);
    /// assert!(page.next.is_none());
    /// ```
    #[must_use]
    pub fn new(items: Vec<T>, next: Option<u32>) -> Self {
        Self { items, next }
    }

    /// The page a Run:ai list answered for `query`. `next` is the next offset; a short page
    /// or a `next` that does not move on ends the list, whatever `next` says.
    pub(crate) fn of_list(query: &ListQuery, items: Vec<T>, next: Option<i64>) -> Self {
        let offset = query.offset.unwrap_or(0);
        let limit = usize::from(query.limit.unwrap_or(DEFAULT_LIMIT));
        let next = next
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > offset && items.len() >= limit);
        Self::new(items, next)
    }
}

/// Every item of a paged list, fetching one page after another with `page`.
pub(crate) fn every_page<'a, T, F, Fut>(query: ListQuery, page: F) -> impl Stream<Item = Result<T>> + 'a
where
    T: 'a,
    F: Fn(ListQuery) -> Fut + Copy + 'a,
    Fut: std::future::Future<Output = Result<Page<T>>> + 'a,
{
    let pages = futures_util::stream::try_unfold(Some(query), move |query| async move {
        let Some(query) = query else {
            return Ok(None);
        };
        let fetched = page(query.clone()).await?;
        let following = fetched.next.map(|next| query.offset(next));
        Ok(Some((fetched.items, following)))
    });
    futures_util::TryStreamExt::try_flatten(futures_util::TryStreamExt::map_ok(pages, |items| {
        futures_util::stream::iter(items.into_iter().map(Ok))
    }))
}

/// How long and how often [`Workloads::wait_for`] looks.
///
/// ```
/// use std::time::Duration;
/// let options = runai_client::WaitOptions::default().timeout(Duration::from_secs(1200));
/// assert_eq!(options.interval, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Look this often.
    pub interval: Duration,
}

impl Default for WaitOptions {
    /// Ten minutes (Run:ai's default rollout deadline), every 2 s.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            interval: Duration::from_secs(2),
        }
    }
}

impl WaitOptions {
    /// Gives up after `timeout`.
    ///
    /// ```
    /// let options = runai_client::WaitOptions::default().timeout(std::time::Duration::from_secs(1800));
    /// assert_eq!(options.timeout.as_secs(), 1800);
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Looks every `interval`.
    ///
    /// ```
    /// let options = runai_client::WaitOptions::default().interval(std::time::Duration::from_secs(5));
    /// assert_eq!(options.interval.as_secs(), 5);
    /// ```
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

/// The workloads API of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct Workloads<'a> {
    client: &'a Client,
}

impl Client {
    /// Workloads of every type: lists, status, waiting.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let page = client.workloads().list(&Default::default()).await?;
    /// # let _ = page;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn workloads(&self) -> Workloads<'_> {
        Workloads { client: self }
    }
}

impl Workloads<'_> {
    /// One page of workloads (`GET /api/v1/workloads`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_core::list::{Filter, FilterOp, ListQuery, SortOrder};
    /// let query = ListQuery::default()
    ///     .filter(Filter::new("projectName", FilterOp::Eq, "team-a"))
    ///     .sort("createdAt", SortOrder::Desc)
    ///     .limit(20);
    /// let page = client.workloads().list(&query).await?;
    /// for workload in &page.items {
    ///     println!("{} {}", workload.name, workload.phase.as_str());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error`] from the call.
    pub async fn list(&self, query: &ListQuery) -> Result<Page<Workload>> {
        let mut call = self.client.call(Method::GET, "api/v1/workloads");
        for (key, value) in query.to_pairs() {
            call = call.query(key, value);
        }
        let list: WorkloadList = call.decode().await?;
        Ok(Page::of_list(query, list.workloads, list.next))
    }

    /// Every workload the query matches, page after page, as a stream.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let all: Vec<_> = client.workloads().list_all(Default::default()).try_collect().await?;
    /// println!("{} workloads", all.len());
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self, query: ListQuery) -> impl Stream<Item = Result<Workload>> + '_ {
        every_page(query, move |query| async move { self.list(&query).await })
    }

    /// The status view of one workload (`GET /api/v1/workloads/{id}`): phase, conditions,
    /// URLs.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let workload = client.workloads().get("0b4e9a3c-1111-4000-8000-00000000abcd").await?;
    /// println!("{} {:?}", workload.phase.as_str(), workload.urls);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Api`] with status 404 when there is no such workload.
    pub async fn get(&self, id: &str) -> Result<Workload> {
        self.client
            .call(Method::GET, &format!("api/v1/workloads/{}", segment(id)?))
            .decode()
            .await
    }

    /// Follows a workload until it reaches `phase`, calling `progress` with each status read.
    /// Fails early, with the workload's own message, when it goes to `Failed` (or is being
    /// deleted) instead.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_client::WaitOptions;
    /// use runai_core::Phase;
    /// let started = std::time::Instant::now();
    /// let running = client.workloads()
    ///     .wait_for("0b4e9a3c-1111-4000-8000-00000000abcd", Phase::Running, WaitOptions::default(), |w| {
    ///         println!("{:>4}s {}", started.elapsed().as_secs(), w.phase.as_str());
    ///     })
    ///     .await?;
    /// println!("serving at {:?}", running.urls);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::WorkloadFailed`] when it fails, [`Error::Timeout`] when `options.timeout`
    /// passes first, or the error of a status call.
    pub async fn wait_for(
        &self,
        id: &str,
        phase: Phase,
        options: WaitOptions,
        mut progress: impl FnMut(&Workload),
    ) -> Result<Workload> {
        let deadline = Instant::now() + options.timeout;
        loop {
            let workload = self.get(id).await?;
            progress(&workload);
            if workload.phase == phase {
                return Ok(workload);
            }
            if phase != Phase::Failed && matches!(workload.phase, Phase::Failed | Phase::Deleting) {
                return Err(Error::WorkloadFailed {
                    workload: workload.name.clone(),
                    phase: workload.phase.clone(),
                    message: workload
                        .phase_message
                        .clone()
                        .or_else(|| workload.conditions.iter().find_map(|c| c.message.clone()))
                        .unwrap_or_else(|| "no reason given".to_owned()),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout {
                    action: format!("waiting for {} to be {}", workload.name, phase.as_str()),
                    after: options.timeout,
                });
            }
            tokio::time::sleep(options.interval.min(deadline - now)).await;
        }
    }
}

/// An id as one path segment: refused when it would change the path.
pub(crate) fn segment(id: &str) -> Result<&str> {
    if id.is_empty() || id.contains(['/', '?', '#']) || id == "." || id == ".." {
        return Err(Error::Config {
            field: "id",
            reason: format!("`{id}` is not a workload id"),
        });
    }
    Ok(id)
}
