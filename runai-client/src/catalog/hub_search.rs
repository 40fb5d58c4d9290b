//! What to ask the Hub's model search for: text, owner, task, library, tags, order, page size
//! and the properties each listed model carries.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// What to search the Hub for. By default it asks the Hub to include the fields of
/// [`ModelSearch::DEFAULT_EXPAND`] in each listed model, which a plain list leaves out.
///
/// ```
/// use runai_client::catalog::{ModelSearch, ModelSort};
/// let search = ModelSearch::new()
///     .search("llama")
///     .author("meta-llama")
///     .pipeline_tag("text-generation")
///     .library("transformers")
///     .filter("gguf")
///     .sort(ModelSort::Likes)
///     .limit(50);
/// # let _ = search;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ModelSearch {
    search: Option<String>,
    author: Option<String>,
    pipeline_tag: Option<String>,
    library: Option<String>,
    filters: Vec<String>,
    sort: Option<ModelSort>,
    limit: Option<u32>,
    expand: Vec<String>,
}

impl Default for ModelSearch {
    /// Every model, in the Hub's order, with [`ModelSearch::DEFAULT_EXPAND`].
    fn default() -> Self {
        Self {
            search: None,
            author: None,
            pipeline_tag: None,
            library: None,
            filters: Vec::new(),
            sort: None,
            limit: None,
            expand: Self::DEFAULT_EXPAND.iter().map(|&f| f.to_owned()).collect(),
        }
    }
}

impl ModelSearch {
    /// The model properties asked for by default: enough to show a model in a list and to
    /// tell whether it can be deployed without accepting a license first.
    ///
    /// ```
    /// use runai_client::catalog::ModelSearch;
    /// assert!(ModelSearch::DEFAULT_EXPAND.contains(&"gated"));
    /// ```
    pub const DEFAULT_EXPAND: &'static [&'static str] = &[
        "author",
        "downloads",
        "likes",
        "gated",
        "private",
        "pipeline_tag",
        "library_name",
        "tags",
        "lastModified",
    ];

    /// Every model, in the Hub's order, with [`ModelSearch::DEFAULT_EXPAND`].
    ///
    /// ```
    /// assert_eq!(runai_client::catalog::ModelSearch::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Models whose id contains `text` (`search`).
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().search("mistral 7b");
    /// # let _ = search;
    /// ```
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// Models of one user or organisation (`author`).
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().author("nvidia");
    /// # let _ = search;
    /// ```
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// Models for one task (`pipeline_tag`, such as `text-generation`).
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().pipeline_tag("feature-extraction");
    /// # let _ = search;
    /// ```
    pub fn pipeline_tag(mut self, task: impl Into<String>) -> Self {
        self.pipeline_tag = Some(task.into());
        self
    }

    /// Models of one library (`library`, such as `transformers` or `gguf`).
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().library("transformers");
    /// # let _ = search;
    /// ```
    pub fn library(mut self, library: impl Into<String>) -> Self {
        self.library = Some(library.into());
        self
    }

    /// Models carrying the tag `tag` (`filter`); each call adds one, and a model must carry
    /// them all.
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().filter("safetensors").filter("en");
    /// # let _ = search;
    /// ```
    pub fn filter(mut self, tag: impl Into<String>) -> Self {
        self.filters.push(tag.into());
        self
    }

    /// The order (always descending on the Hub).
    ///
    /// ```
    /// use runai_client::catalog::{ModelSearch, ModelSort};
    /// let search = ModelSearch::new().sort(ModelSort::LastModified);
    /// # let _ = search;
    /// ```
    pub fn sort(mut self, sort: ModelSort) -> Self {
        self.sort = Some(sort);
        self
    }

    /// At most `limit` models per page (`limit`).
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().limit(100);
    /// # let _ = search;
    /// ```
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The model properties each listed model should carry (`expand`), in place of
    /// [`ModelSearch::DEFAULT_EXPAND`]; none leaves the Hub's default fields.
    ///
    /// ```
    /// let search = runai_client::catalog::ModelSearch::new().expand(["downloads", "safetensors"]);
    /// # let _ = search;
    /// ```
    pub fn expand<I>(mut self, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.expand = fields.into_iter().map(Into::into).collect();
        self
    }

    /// The query parameters, repeated keys included, in a fixed order.
    pub(super) fn pairs(&self) -> Vec<(&'static str, String)> {
        let single = [
            ("search", &self.search),
            ("author", &self.author),
            ("pipeline_tag", &self.pipeline_tag),
            ("library", &self.library),
        ];
        let mut pairs: Vec<(&'static str, String)> = single
            .into_iter()
            .filter_map(|(key, value)| value.clone().map(|value| (key, value)))
            .collect();
        pairs.extend(self.filters.iter().map(|tag| ("filter", tag.clone())));
        if let Some(sort) = self.sort {
            pairs.push(("sort", sort.as_str().to_owned()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs.extend(self.expand.iter().map(|field| ("expand", field.clone())));
        pairs
    }
}

/// The orders the Hub sorts models by (always descending).
///
/// ```
/// use runai_client::catalog::ModelSort;
/// assert_eq!(ModelSort::TrendingScore.as_str(), "trendingScore");
/// assert_eq!("downloads".parse::<ModelSort>()?, ModelSort::Downloads);
/// # Ok::<(), runai_client::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelSort {
    /// Downloads in the last 30 days.
    Downloads,
    /// Likes.
    Likes,
    /// Recent activity.
    TrendingScore,
    /// Last update.
    LastModified,
    /// Creation.
    CreatedAt,
}

impl ModelSort {
    /// Every order, in the order shown to users.
    ///
    /// ```
    /// assert_eq!(runai_client::catalog::ModelSort::ALL.len(), 5);
    /// ```
    pub const ALL: [Self; 5] = [
        Self::Downloads,
        Self::Likes,
        Self::TrendingScore,
        Self::LastModified,
        Self::CreatedAt,
    ];

    /// The Hub's name for it.
    ///
    /// ```
    /// assert_eq!(runai_client::catalog::ModelSort::CreatedAt.as_str(), "createdAt");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Downloads => "downloads",
            Self::Likes => "likes",
            Self::TrendingScore => "trendingScore",
            Self::LastModified => "lastModified",
            Self::CreatedAt => "createdAt",
        }
    }
}

impl fmt::Display for ModelSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelSort {
    type Err = Error;

    /// The Hub's name, without regard to case (`trendingscore` is `TrendingScore`).
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|sort| sort.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::Config {
                field: "sort",
                reason: format!(
                    "`{s}` is not a Hub sort order; give one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ),
            })
    }
}
