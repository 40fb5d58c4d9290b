//! Kubernetes resource quantities as the Run:ai API writes them (`"20M"`, `"10Gi"`, `"500m"`).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A resource quantity kept exactly as written, with a checked numeric reading.
///
/// The text is what goes on the wire; [`Quantity::value`] converts it for arithmetic
/// (for example comparing a request with a limit).
///
/// ```
/// use runai_core::Quantity;
/// assert_eq!(Quantity::new("10Gi").value(), Some(10.0 * 1024.0 * 1024.0 * 1024.0));
/// assert_eq!(Quantity::new("20M").value(), Some(20e6));
/// assert_eq!(Quantity::new("500m").value(), Some(0.5));
/// assert_eq!(Quantity::new("ten").value(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Quantity(String);

impl Quantity {
    /// Wraps a quantity string; use [`Quantity::value`] to check it.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The quantity as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric value in base units (bytes for memory, cores for CPU), or `None` when the
    /// text is not a quantity Kubernetes accepts.
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        parse_quantity(&self.0)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Quantity {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// Splits `<number><suffix>` and scales by the suffix. Accepts what the Run:ai schema pattern
/// `^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$` accepts and Kubernetes understands.
fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.matches('.').count() > 1 || number == "." {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    // Sub-unit suffixes divide, so that "500m" is exactly 0.5 and "100n" exactly 1e-7.
    let (multiply, divide) = match suffix {
        "" => (1.0, 1.0),
        "n" => (1.0, 1e9),
        "u" => (1.0, 1e6),
        "m" => (1.0, 1e3),
        "k" => (1e3, 1.0),
        "M" => (1e6, 1.0),
        "G" => (1e9, 1.0),
        "T" => (1e12, 1.0),
        "P" => (1e15, 1.0),
        "E" => (1e18, 1.0),
        "Ki" => (1024.0, 1.0),
        "Mi" => (1024f64.powi(2), 1.0),
        "Gi" => (1024f64.powi(3), 1.0),
        "Ti" => (1024f64.powi(4), 1.0),
        "Pi" => (1024f64.powi(5), 1.0),
        "Ei" => (1024f64.powi(6), 1.0),
        exponent => {
            let digits = exponent.strip_prefix(['e', 'E'])?;
            let digits = digits.strip_prefix('+').unwrap_or(digits);
            if digits.is_empty() {
                return None;
            }
            let power: i32 = digits.parse().ok()?;
            if power >= 0 {
                (10f64.powi(power), 1.0)
            } else {
                (1.0, 10f64.powi(power.saturating_neg()))
            }
        }
    };
    // An exponent too large for f64 is not a quantity anyone means.
    Some(number * multiply / divide).filter(|value| value.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(parse_quantity("1Ki"), Some(1024.0));
        assert_eq!(parse_quantity("+2"), Some(2.0));
        assert_eq!(parse_quantity("1.5G"), Some(1.5e9));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("1E-3"), Some(0.001));
        assert_eq!(parse_quantity("100n"), Some(100e-9));
        assert_eq!(parse_quantity("1e-2147483648"), Some(0.0));
    }

    #[test]
    fn rejects() {
        for bad in ["", "Gi", "1.2.3", "1X", "-1", "1e", ".", "1e400", "1e99999999999"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }
}
