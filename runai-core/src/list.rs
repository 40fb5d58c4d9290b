//! List conventions shared by every collection endpoint: paging with `offset`/`limit` and
//! `next`, sorting, and `filterBy` expressions.

use std::fmt;

/// The largest page the API serves.
///
/// ```
/// use runai_core::list::{ListQuery, MAX_LIMIT};
/// assert_eq!(ListQuery::default().limit(10_000).limit, Some(MAX_LIMIT));
/// ```
pub const MAX_LIMIT: u16 = 500;
/// The page size the API uses when none is given.
///
/// ```
/// assert_eq!(runai_core::list::DEFAULT_LIMIT, 50);
/// ```
pub const DEFAULT_LIMIT: u16 = 50;

/// Sort direction.
///
/// ```
/// use runai_core::list::SortOrder;
/// assert_eq!(SortOrder::Desc.to_string(), "desc");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

impl fmt::Display for SortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        })
    }
}

/// A `filterBy` operator.
///
/// ```
/// use runai_core::list::FilterOp;
/// assert_eq!(FilterOp::Contains.as_str(), "=@");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `=@`, contains.
    Contains,
    /// `!@`, does not contain.
    NotContains,
    /// `=^`, starts with.
    StartsWith,
    /// `=$`, ends with.
    EndsWith,
}

impl FilterOp {
    /// The operator as written in a filter.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Le => "<=",
            Self::Ge => ">=",
            Self::Contains => "=@",
            Self::NotContains => "!@",
            Self::StartsWith => "=^",
            Self::EndsWith => "=$",
        }
    }

    /// Every operator, longest-match first for parsing.
    const ALL: [Self; 8] = [
        Self::Eq,
        Self::Ne,
        Self::Le,
        Self::Ge,
        Self::Contains,
        Self::NotContains,
        Self::StartsWith,
        Self::EndsWith,
    ];
}

/// One `filterBy` expression: `<field><op><value>`.
///
/// ```
/// use runai_core::list::{Filter, FilterOp};
/// let f: Filter = "allocatedGPU>=2".parse().unwrap();
/// assert_eq!(f, Filter::new("allocatedGPU", FilterOp::Ge, "2"));
/// assert_eq!(f.to_string(), "allocatedGPU>=2");
/// assert!("no-operator".parse::<Filter>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    /// Field name, for example `type`.
    pub field: String,
    /// Operator.
    pub op: FilterOp,
    /// Value, for example `inference`.
    pub value: String,
}

impl Filter {
    /// A filter `field op value`.
    #[must_use]
    pub fn new(field: impl Into<String>, op: FilterOp, value: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            op,
            value: value.into(),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.field, self.op.as_str(), self.value)
    }
}

/// A filter expression that could not be read.
///
/// ```
/// use runai_core::list::Filter;
/// let err = "name".parse::<Filter>().unwrap_err();
/// assert!(err.to_string().contains("name"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "filter `{0}` has no operator; write <field><op><value> with op one of ==, !=, <=, >=, =@, !@, =^, =$"
)]
#[non_exhaustive]
pub struct FilterParseError(pub String);

impl std::str::FromStr for Filter {
    type Err = FilterParseError;

    fn from_str(expression: &str) -> Result<Self, Self::Err> {
        // The earliest operator wins, so a value may itself contain operator characters.
        let found = FilterOp::ALL
            .iter()
            .filter_map(|op| expression.find(op.as_str()).map(|at| (at, *op)))
            .min_by_key(|(at, _)| *at);
        match found {
            Some((at, op)) if at > 0 => Ok(Self::new(
                &expression[..at],
                op,
                &expression[at + op.as_str().len()..],
            )),
            _ => Err(FilterParseError(expression.to_owned())),
        }
    }
}

/// Paging, sorting and filtering of a list request.
///
/// ```
/// use runai_core::list::{Filter, FilterOp, ListQuery};
/// let query = ListQuery::default()
///     .limit(100)
///     .filter(Filter::new("type", FilterOp::Eq, "inference"))
///     .filter(Filter::new("phase", FilterOp::Ne, "Stopped"));
/// assert_eq!(
///     query.to_pairs(),
///     vec![("limit", "100".to_string()), ("filterBy", "type==inference,phase!=Stopped".to_string())]
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Items to skip.
    pub offset: Option<u32>,
    /// Page size, 1..=500 (server default 50).
    pub limit: Option<u16>,
    /// Field to sort by.
    pub sort_by: Option<String>,
    /// Sort direction.
    pub sort_order: Option<SortOrder>,
    /// Filters, all of which must hold.
    pub filter_by: Vec<Filter>,
    /// Free-text search.
    pub search: Option<String>,
    /// List deleted items only.
    pub deleted: Option<bool>,
}

impl ListQuery {
    /// The same query starting at `offset` (the `next` of the previous page).
    #[must_use]
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The same query with page size `limit`, clamped to 1..=500.
    #[must_use]
    pub fn limit(mut self, limit: u16) -> Self {
        self.limit = Some(limit.clamp(1, MAX_LIMIT));
        self
    }

    /// The same query sorted by `field` in `order`.
    #[must_use]
    pub fn sort(mut self, field: impl Into<String>, order: SortOrder) -> Self {
        self.sort_by = Some(field.into());
        self.sort_order = Some(order);
        self
    }

    /// The same query with one more filter.
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter_by.push(filter);
        self
    }

    /// The same query with a free-text search.
    #[must_use]
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// The query parameters, with filters joined by commas (`explode: false`).
    #[must_use]
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(sort_by) = &self.sort_by {
            pairs.push(("sortBy", sort_by.clone()));
        }
        if let Some(order) = self.sort_order {
            pairs.push(("sortOrder", order.to_string()));
        }
        if !self.filter_by.is_empty() {
            let joined = self
                .filter_by
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            pairs.push(("filterBy", joined));
        }
        if let Some(search) = &self.search {
            pairs.push(("search", search.clone()));
        }
        if let Some(deleted) = self.deleted {
            pairs.push(("deleted", deleted.to_string()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_parsing_takes_the_first_operator() {
        let f: Filter = "name=@a==b".parse().unwrap();
        assert_eq!(f, Filter::new("name", FilterOp::Contains, "a==b"));
        let f: Filter = "createdAt>=2021-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(f.op, FilterOp::Ge);
        assert!("==x".parse::<Filter>().is_err());
    }

    #[test]
    fn limit_is_clamped() {
        assert_eq!(ListQuery::default().limit(0).limit, Some(1));
        assert_eq!(ListQuery::default().limit(9999).limit, Some(MAX_LIMIT));
    }
}
