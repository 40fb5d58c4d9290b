//! A model as the Hub describes it, and its gated status.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::null_as_default;

/// A model on the Hub. Read leniently: a field the Hub leaves out is `None` (or empty), and
/// fields this type does not know are ignored.
///
/// ```
/// use runai_client::catalog::{Gated, HubModel};
/// let model: HubModel = serde_json::from_str(r#"{"id": "google/gemma-2-9b-it", "gated": "manual", "likes": 700}"#)?;
/// assert_eq!(model.gated, Some(Gated::Manual));
/// assert_eq!(model.likes, Some(700));
/// assert_eq!(model.downloads, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct HubModel {
    /// The repo id, `owner/name`.
    pub id: String,
    /// The user or organisation that owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit of the main revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// Downloads in the last 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    /// Downloads since it was created.
    #[serde(default, rename = "downloadsAllTime", skip_serializing_if = "Option::is_none")]
    pub downloads_all_time: Option<u64>,
    /// Likes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    /// Recent activity, the Hub's trending order.
    #[serde(default, rename = "trendingScore", skip_serializing_if = "Option::is_none")]
    pub trending_score: Option<f64>,
    /// Whether downloading needs an accepted license; `None` when the Hub did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gated: Option<Gated>,
    /// Whether only its owner can see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Whether the Hub has disabled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Its task, such as `text-generation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    /// Its library, such as `transformers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    /// Its tags (task, library, languages, license, ...).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// When it last changed (RFC 3339).
    #[serde(default, rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(default, rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Whether a model's files need an accepted license, and how access is granted.
///
/// On the wire it is `false`, `"auto"` or `"manual"`; `true` reads as [`Gated::Auto`], and a
/// gating mode this type does not know reads as [`Gated::Manual`].
///
/// ```
/// use runai_client::catalog::Gated;
/// let gated: Vec<Gated> = serde_json::from_str(r#"[false, "auto", "manual", true]"#)?;
/// assert_eq!(gated, [Gated::No, Gated::Auto, Gated::Manual, Gated::Auto]);
/// assert_eq!(serde_json::to_string(&Gated::No)?, "false");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Gated {
    /// Open: anyone can download it.
    #[default]
    No,
    /// Access is granted as soon as the user accepts the license.
    Auto,
    /// Access is granted when the owner approves the user's request.
    Manual,
}

impl Gated {
    /// Whether downloading needs an accepted license.
    ///
    /// ```
    /// use runai_client::catalog::Gated;
    /// assert!(Gated::Manual.is_gated() && !Gated::No.is_gated());
    /// ```
    #[must_use]
    pub fn is_gated(self) -> bool {
        self != Self::No
    }

    /// `no`, `auto` or `manual`.
    ///
    /// ```
    /// assert_eq!(runai_client::catalog::Gated::Auto.as_str(), "auto");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Auto => "auto",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for Gated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Gated {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::No => serializer.serialize_bool(false),
            Self::Auto | Self::Manual => serializer.serialize_str(self.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for Gated {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct GatedVisitor;

        impl Visitor<'_> for GatedVisitor {
            type Value = Gated;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"false, true, "auto" or "manual""#)
            }

            fn visit_bool<E: de::Error>(self, gated: bool) -> std::result::Result<Gated, E> {
                // `true` is what the Hub sent before it told the two modes apart; access then
                // came with accepting the license.
                Ok(if gated { Gated::Auto } else { Gated::No })
            }

            fn visit_str<E: de::Error>(self, mode: &str) -> std::result::Result<Gated, E> {
                Ok(match mode {
                    "false" | "" => Gated::No,
                    "true" | "auto" => Gated::Auto,
                    // A mode added later still restricts access; taking it as the stricter
                    // one keeps a caller from offering a model it cannot fetch.
                    _ => Gated::Manual,
                })
            }
        }

        deserializer.deserialize_any(GatedVisitor)
    }
}
