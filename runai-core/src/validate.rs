//! Validation: every rule checked, every violation reported with its JSON path.
//!
//! Types implement [`Validate`]; internally each walks its fields with a [`Checker`], which
//! keeps the current path so nested types never need to know where they sit in a document.

use crate::error::{ValidationErrors, Violation};

/// A model that can check itself against the rules the platform enforces.
///
/// ```
/// use runai_core::{Validate, spec::ServingPort};
/// let port = ServingPort { container: Some(70000), ..Default::default() };
/// let errors = port.validate().unwrap_err();
/// assert_eq!(errors.violations()[0].path, "container");
/// ```
pub trait Validate {
    /// Checks every rule and returns all violations at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each broken rule with its JSON path.
    fn validate(&self) -> Result<(), ValidationErrors>;
}

/// Implements [`Validate`] for types that have a `check(&self, &mut Checker)` method.
macro_rules! impl_validate {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::validate::Validate for $ty {
            fn validate(&self) -> Result<(), $crate::error::ValidationErrors> {
                let mut checker = $crate::validate::Checker::default();
                self.check(&mut checker);
                checker.finish()
            }
        }
    )+};
}
pub(crate) use impl_validate;

/// Walks a document, tracking the JSON path and collecting violations.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    path: String,
    violations: Vec<Violation>,
}

impl Checker {
    /// Runs `check` with `name` appended to the path.
    pub(crate) fn field(&mut self, name: &str, check: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        check(self);
        self.path.truncate(len);
    }

    /// Runs `check` for an optional nested value, if present.
    pub(crate) fn opt<T>(&mut self, name: &str, value: Option<&T>, check: impl FnOnce(&T, &mut Self)) {
        if let Some(value) = value {
            self.field(name, |c| check(value, c));
        }
    }

    /// Runs `check` for every item of an optional list, with `[i]` in the path.
    pub(crate) fn each<'a, T>(
        &mut self,
        name: &str,
        items: Option<&'a Vec<T>>,
        mut check: impl FnMut(&'a T, &mut Self),
    ) {
        let Some(items) = items else { return };
        self.field(name, |c| {
            for (i, item) in items.iter().enumerate() {
                let len = c.path.len();
                c.path.push_str(&format!("[{i}]"));
                check(item, c);
                c.path.truncate(len);
            }
        });
    }

    /// Records a violation at the current path.
    pub(crate) fn here(&mut self, message: impl Into<String>) {
        self.violations.push(Violation::new(self.path.clone(), message));
    }

    /// Records a violation at the child field `name` of the current path.
    pub(crate) fn at(&mut self, name: &str, message: impl Into<String>) {
        let message = message.into();
        self.field(name, |c| c.here(message));
    }

    /// Records a violation at `name` unless `ok` holds.
    pub(crate) fn ensure(&mut self, ok: bool, name: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.at(name, message());
        }
    }

    /// Checks an optional integer against an inclusive range.
    pub(crate) fn range<T>(&mut self, name: &str, value: Option<T>, min: T, max: T)
    where
        T: PartialOrd + std::fmt::Display + Copy,
    {
        if let Some(value) = value
            && !(min <= value && value <= max)
        {
            self.at(name, format!("must be between {min} and {max}, got {value}"));
        }
    }

    /// Checks an optional number against a lower bound.
    pub(crate) fn at_least<T>(&mut self, name: &str, value: Option<T>, min: T)
    where
        T: PartialOrd + std::fmt::Display + Copy,
    {
        if let Some(value) = value
            && value < min
        {
            self.at(name, format!("must be at least {min}, got {value}"));
        }
    }

    /// Checks that an optional string, when present, is not empty.
    pub(crate) fn non_empty(&mut self, name: &str, value: Option<&String>) {
        if value.is_some_and(|v| v.is_empty()) {
            self.at(name, "must not be empty");
        }
    }

    /// Checks an optional Kubernetes resource name (RFC 1123 label).
    pub(crate) fn dns_label(&mut self, name: &str, value: Option<&String>) {
        if let Some(value) = value
            && let Err(why) = check_dns1123_label(value)
        {
            self.at(name, why);
        }
    }

    /// Returns the violations found, if any.
    pub(crate) fn finish(self) -> Result<(), ValidationErrors> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors::new(self.violations))
        }
    }
}

/// The longest name Kubernetes accepts for a label-shaped name.
pub(crate) const MAX_LABEL_LEN: usize = 63;

/// Checks an RFC 1123 label: lower-case letters, digits and `-`, starting and ending with a
/// letter or digit, at most 63 characters. Returns the sentence to show when it is not.
pub(crate) fn check_dns1123_label(value: &str) -> Result<(), String> {
    let shape = "lower-case letters, digits and '-', starting and ending with a letter or digit";
    if value.is_empty() {
        return Err(format!("must not be empty; use {shape}"));
    }
    if value.len() > MAX_LABEL_LEN {
        return Err(format!(
            "must be at most {MAX_LABEL_LEN} characters, got {}",
            value.len()
        ));
    }
    let bytes = value.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    let ends_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !inner_ok || !ends_ok(bytes[0]) || !ends_ok(bytes[bytes.len() - 1]) {
        return Err(format!("`{value}` is not a valid name; use {shape}"));
    }
    Ok(())
}

/// Checks an RFC 1035 label, the shape of a Kubernetes Service name: as RFC 1123, but it must
/// start with a letter.
pub(crate) fn check_dns1035_label(value: &str) -> Result<(), String> {
    check_dns1123_label(value)?;
    if !value.as_bytes()[0].is_ascii_lowercase() {
        return Err(format!("`{value}` must start with a lower-case letter"));
    }
    Ok(())
}

/// Checks a Prometheus metric name: `^[a-zA-Z_:][a-zA-Z0-9_:]*$`.
pub(crate) fn is_metric_name(value: &str) -> bool {
    let mut chars = value.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(check_dns1123_label("llama-3-8b").is_ok());
        assert!(check_dns1123_label("3b").is_ok());
        assert!(check_dns1035_label("3b").is_err());
        assert!(check_dns1123_label("Llama").is_err());
        assert!(check_dns1123_label("-a").is_err());
        assert!(check_dns1123_label("a-").is_err());
        assert!(check_dns1123_label(&"a".repeat(64)).is_err());
        assert!(check_dns1123_label("").is_err());
    }

    #[test]
    fn metric_names() {
        assert!(is_metric_name("vllm:num_requests_waiting"));
        assert!(is_metric_name("_x"));
        assert!(!is_metric_name("1x"));
        assert!(!is_metric_name("a-b"));
        assert!(!is_metric_name(""));
    }

    #[test]
    fn paths_nest_and_index() {
        let mut c = Checker::default();
        c.field("spec", |c| {
            c.each("environmentVariables", Some(&vec![1, 2]), |v, c| {
                if *v == 2 {
                    c.at("name", "bad");
                }
            });
            c.at("image", "missing");
        });
        let errors = c.finish().unwrap_err();
        let paths: Vec<_> = errors.violations().iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["spec.environmentVariables[1].name", "spec.image"]);
    }
}
