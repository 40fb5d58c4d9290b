//! Model catalogs: the Hugging Face Hub and the NGC catalog of NIM containers.
//!
//! Catalog calls go through the same [`Client`](crate::Client) as control-plane calls, so they
//! get its timeouts, retries and error mapping; each catalog has its own base URL and its own
//! optional credential, and the control plane's token is never sent to a catalog.
//!
//! ```no_run
//! # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
//! use runai_client::catalog::{ModelSearch, ModelSort};
//! let search = ModelSearch::new().search("llama").pipeline_tag("text-generation").sort(ModelSort::Downloads);
//! let page = client.huggingface().search(&search.limit(10)).await?;
//! for model in &page.items {
//!     println!("{} {:?} downloads", model.id, model.downloads);
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer};
use url::Url;

use crate::error::{Error, Result};

mod hub_model;
mod hub_search;
mod huggingface;
mod link;
mod ngc;

pub use hub_model::{Gated, HubModel};
pub use hub_search::{ModelSearch, ModelSort};
pub use huggingface::{HubPage, HuggingFace};
pub use ngc::{Ngc, NimModel};

/// A catalog's base URL, or why the one given is not usable. The error waits for the first
/// call so that the handles' builder methods chain without a `?` at each step.
#[derive(Debug, Clone)]
struct BaseUrl(std::result::Result<Url, String>);

impl BaseUrl {
    fn parse(url: &str) -> Self {
        let parsed = match Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(parsed),
            Ok(_) => Err(format!("`{url}` is not an http or https URL")),
            Err(e) => Err(format!("`{url}` is not a URL ({e})")),
        };
        Self(parsed)
    }

    /// The base with `segments` appended, each percent-encoded as one path segment, whatever
    /// the base ends with.
    fn endpoint(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.0.clone().map_err(|reason| Error::Config {
            field: "base_url",
            reason,
        })?;
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| Error::Config {
                field: "base_url",
                reason: format!("`{}` cannot have a path", self.as_str()),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Whether `url` is on the base's scheme, host and port: credentials go nowhere else.
    fn same_origin(&self, url: &Url) -> bool {
        self.0.as_ref().is_ok_and(|base| base.origin() == url.origin())
    }

    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("", Url::as_str)
    }
}

/// A credential that `Debug` output does not show.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// Reads `null` as the default: catalogs send `null` for empty lists as readily as `[]`.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
