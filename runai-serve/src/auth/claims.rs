//! The registered claims of a token whose signature verified, checked by type and value
//! before anything trusts the token.
//!
//! The checks fail closed: a claim the configuration constrains must be present and of the
//! type RFC 7519 gives it. `iss` and `exp` always, `aud` once audiences are configured, and
//! `sub` always, since every caller must be someone. A claim of the wrong type (`"aud": 123`,
//! `"iss": ["…"]`, `"exp": "soon"`, `null` anywhere) is a refusal, never "not present".
//! A library that checks `aud` only when it parses would let those through; this module is
//! the one place the rules live, for the gateway and the control API alike.

use serde_json::{Map, Value};

/// What a token's claims must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    /// Accepted `iss` values (at least one).
    pub(crate) issuers: Vec<String>,
    /// Accepted `aud` values; when empty, `aud` is not constrained.
    pub(crate) audiences: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub(crate) leeway_s: u64,
}

/// Why a token's claims are refused; each names the claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ClaimError {
    /// A required claim is absent.
    #[error("the token has no `{0}` claim")]
    Missing(&'static str),
    /// A claim has the wrong JSON type.
    #[error("the token's `{claim}` claim must be {expected}")]
    WrongType {
        claim: &'static str,
        expected: &'static str,
    },
    /// `iss` names an issuer not configured.
    #[error("the token's issuer (iss) `{0}` is not one this server accepts")]
    Issuer(String),
    /// `aud` names no configured audience.
    #[error("the token's audience (aud) is not one this server accepts")]
    Audience,
    /// `exp` has passed.
    #[error("the token has expired; get a new one")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet (nbf is in the future)")]
    NotYetValid,
}

/// What the checks found, for remembering a verified token no longer than it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    /// `exp`, in seconds since the epoch.
    pub(crate) expires: u64,
    /// `nbf`, when present.
    pub(crate) not_before: Option<u64>,
}

impl ClaimRules {
    /// Checks `claims` at `now` (seconds since the epoch).
    pub(crate) fn check(&self, claims: &Map<String, Value>, now: u64) -> Result<Validity, ClaimError> {
        let issuer = required_string(claims, "iss")?;
        if !self.issuers.iter().any(|accepted| accepted == issuer) {
            return Err(ClaimError::Issuer(issuer.to_owned()));
        }
        let subject = required_string(claims, "sub")?;
        if subject.is_empty() {
            return Err(ClaimError::WrongType {
                claim: "sub",
                expected: "a non-empty string",
            });
        }
        if !self.audiences.is_empty() {
            let audience = claims.get("aud").ok_or(ClaimError::Missing("aud"))?;
            if !self.audience_matches(audience)? {
                return Err(ClaimError::Audience);
            }
        }
        let expires = numeric_date(claims, "exp")?.ok_or(ClaimError::Missing("exp"))?;
        let not_before = numeric_date(claims, "nbf")?;
        // `iat` is not constrained, but a malformed one marks a malformed token.
        numeric_date(claims, "iat")?;
        if now >= expires.saturating_add(self.leeway_s) {
            return Err(ClaimError::Expired);
        }
        if not_before.is_some_and(|nbf| nbf > now.saturating_add(self.leeway_s)) {
            return Err(ClaimError::NotYetValid);
        }
        Ok(Validity { expires, not_before })
    }

    /// `aud` is one string or an array of strings (RFC 7519 §4.1.3); any other shape is
    /// refused, an empty array matches nothing.
    fn audience_matches(&self, audience: &Value) -> Result<bool, ClaimError> {
        let accepted = |value: &str| self.audiences.iter().any(|a| a == value);
        let wrong = ClaimError::WrongType {
            claim: "aud",
            expected: "a string or an array of strings",
        };
        match audience {
            Value::String(one) => Ok(accepted(one)),
            Value::Array(many) => {
                let mut found = false;
                for item in many {
                    let Value::String(value) = item else {
                        return Err(wrong);
                    };
                    found |= accepted(value);
                }
                Ok(found)
            }
            _ => Err(wrong),
        }
    }
}

fn required_string<'a>(claims: &'a Map<String, Value>, claim: &'static str) -> Result<&'a str, ClaimError> {
    match claims.get(claim) {
        None => Err(ClaimError::Missing(claim)),
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(ClaimError::WrongType {
            claim,
            expected: "a string",
        }),
    }
}

/// A NumericDate claim (seconds since the epoch, RFC 7519 §2): absent, or a finite
/// non-negative JSON number (fractions are allowed and rounded down).
fn numeric_date(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<u64>, ClaimError> {
    let wrong = ClaimError::WrongType {
        claim,
        expected: "a number of seconds since 1970",
    };
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    let Value::Number(number) = value else {
        return Err(wrong);
    };
    if let Some(whole) = number.as_u64() {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        // Truncation is the point: NumericDate fractions do not matter at a second's skew.
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(Some(seconds as u64)),
        _ => Err(wrong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn rules(audiences: &[&str]) -> ClaimRules {
        ClaimRules {
            issuers: vec!["https://idp".into()],
            audiences: audiences.iter().map(|&a| a.to_owned()).collect(),
            leeway_s: 30,
        }
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
        let mut claims = json!({"iss": "https://idp", "sub": "alice", "aud": "runai", "exp": NOW + 60})
            .as_object()
            .cloned()
            .unwrap();
        change(&mut claims);
        claims
    }

    #[test]
    fn a_configured_audience_is_required_and_must_be_well_typed() {
        let rules = rules(&["runai"]);
        assert!(rules.check(&with(|_| {}), NOW).is_ok());
        let missing = with(|c| {
            c.remove("aud");
        });
        assert_eq!(rules.check(&missing, NOW), Err(ClaimError::Missing("aud")));
        for bad in [
            json!(null),
            json!(123),
            json!({}),
            json!(["runai", 1]),
            json!(true),
        ] {
            let claims = with(|c| {
                c.insert("aud".into(), bad.clone());
            });
            assert!(
                matches!(
                    rules.check(&claims, NOW),
                    Err(ClaimError::WrongType { claim: "aud", .. })
                ),
                "{bad}"
            );
        }
        let listed = with(|c| {
            c.insert("aud".into(), json!(["other", "runai"]));
        });
        assert!(rules.check(&listed, NOW).is_ok());
        let none = with(|c| {
            c.insert("aud".into(), json!([]));
        });
        assert_eq!(rules.check(&none, NOW), Err(ClaimError::Audience));
    }

    #[test]
    fn iss_and_sub_are_strings_and_exp_is_a_number() {
        let rules = rules(&[]);
        let array_issuer = with(|c| {
            c.insert("iss".into(), json!(["https://idp"]));
        });
        assert!(matches!(
            rules.check(&array_issuer, NOW),
            Err(ClaimError::WrongType { claim: "iss", .. })
        ));
        let numeric_subject = with(|c| {
            c.insert("sub".into(), json!(7));
        });
        assert!(matches!(
            rules.check(&numeric_subject, NOW),
            Err(ClaimError::WrongType { claim: "sub", .. })
        ));
        let text_expiry = with(|c| {
            c.insert("exp".into(), json!("tomorrow"));
        });
        assert!(matches!(
            rules.check(&text_expiry, NOW),
            Err(ClaimError::WrongType { claim: "exp", .. })
        ));
        let no_expiry = with(|c| {
            c.remove("exp");
        });
        assert_eq!(rules.check(&no_expiry, NOW), Err(ClaimError::Missing("exp")));
    }

    #[test]
    fn time_claims_honour_the_leeway() {
        let rules = rules(&[]);
        let just_expired = with(|c| {
            c.insert("exp".into(), json!(NOW - 10));
        });
        assert!(rules.check(&just_expired, NOW).is_ok());
        let long_expired = with(|c| {
            c.insert("exp".into(), json!(NOW - 31));
        });
        assert_eq!(rules.check(&long_expired, NOW), Err(ClaimError::Expired));
        let future = with(|c| {
            c.insert("nbf".into(), json!(NOW + 120));
        });
        assert_eq!(rules.check(&future, NOW), Err(ClaimError::NotYetValid));
        let fractional = with(|c| {
            c.insert("nbf".into(), json!(NOW as f64 - 0.5));
        });
        assert_eq!(rules.check(&fractional, NOW).unwrap().not_before, Some(NOW - 1));
        let negative = with(|c| {
            c.insert("iat".into(), json!(-5));
        });
        assert!(rules.check(&negative, NOW).is_err());
    }
}
