//! Node eligibility beyond resources: taints a group must tolerate and required node
//! affinity, with Kubernetes semantics over node labels.

use std::collections::BTreeMap;

use runai_core::spec::{
    MatchExpression, MatchOperator, NodeAffinityRequired, Toleration, TolerationEffect, TolerationOperator,
};

/// A node taint: pods that do not tolerate it are kept off the node (for `NoSchedule` and
/// `NoExecute`; `PreferNoSchedule` is a hint the engine does not enforce).
///
/// ```
/// use runai_sched::engine::Taint;
/// use runai_core::spec::TolerationEffect;
/// let t = Taint::new("nvidia.com/gpu", "present", TolerationEffect::NoSchedule);
/// assert_eq!(t.key, "nvidia.com/gpu");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value.
    pub value: String,
    /// What the taint does.
    pub effect: TolerationEffect,
}

impl Taint {
    /// A taint `key=value:effect`.
    #[must_use]
    pub fn new(key: impl Into<String>, value: impl Into<String>, effect: TolerationEffect) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }

    fn enforced(&self) -> bool {
        matches!(
            self.effect,
            TolerationEffect::NoSchedule | TolerationEffect::NoExecute
        )
    }

    fn tolerated_by(&self, toleration: &Toleration) -> bool {
        if toleration.exclude == Some(true) {
            return false;
        }
        let effect_matches = match toleration.effect {
            None | Some(TolerationEffect::Any) => true,
            Some(effect) => effect == self.effect,
        };
        let key = toleration.key.as_deref().unwrap_or_default();
        let key_matches = key.is_empty() || key == self.key;
        let value_matches = match toleration.operator.unwrap_or(TolerationOperator::Equal) {
            // An empty key with Exists tolerates every taint.
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => {
                !key.is_empty() && toleration.value.as_deref().unwrap_or_default() == self.value
            }
        };
        effect_matches && key_matches && value_matches
    }
}

/// Whether `tolerations` let a pod onto a node with `taints`.
pub(crate) fn tolerates(taints: &[Taint], tolerations: &[Toleration]) -> bool {
    taints
        .iter()
        .filter(|t| t.enforced())
        .all(|taint| tolerations.iter().any(|t| taint.tolerated_by(t)))
}

/// Whether `labels` satisfy required node affinity: some term whose expressions all hold.
pub(crate) fn matches_affinity(affinity: &NodeAffinityRequired, labels: &BTreeMap<String, String>) -> bool {
    match &affinity.node_selector_terms {
        None => true,
        Some(terms) if terms.is_empty() => true,
        Some(terms) => terms.iter().any(|term| {
            term.match_expressions
                .iter()
                .flatten()
                .all(|expression| holds(expression, labels))
        }),
    }
}

fn holds(expression: &MatchExpression, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&expression.key);
    let values = expression.values.as_deref().unwrap_or_default();
    let number = |text: &str| text.parse::<i64>().ok();
    match expression.operator {
        MatchOperator::In => value.is_some_and(|v| values.contains(v)),
        MatchOperator::NotIn => value.is_none_or(|v| !values.contains(v)),
        MatchOperator::Exists => value.is_some(),
        MatchOperator::DoesNotExist => value.is_none(),
        MatchOperator::Gt | MatchOperator::Lt => {
            let (Some(actual), Some(bound)) = (
                value.and_then(|v| number(v)),
                values.first().and_then(|v| number(v)),
            ) else {
                return false;
            };
            if expression.operator == MatchOperator::Gt {
                actual > bound
            } else {
                actual < bound
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use runai_core::spec::NodeSelectorTerm;

    use super::*;

    fn toleration(key: &str, operator: TolerationOperator, value: Option<&str>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some(operator),
            value: value.map(Into::into),
            ..Toleration::default()
        }
    }

    #[test]
    fn taints_need_a_matching_toleration() {
        let taints = [Taint::new("gpu", "h100", TolerationEffect::NoSchedule)];
        assert!(!tolerates(&taints, &[]));
        assert!(tolerates(
            &taints,
            &[toleration("gpu", TolerationOperator::Exists, None)]
        ));
        assert!(tolerates(
            &taints,
            &[toleration("gpu", TolerationOperator::Equal, Some("h100"))]
        ));
        assert!(!tolerates(
            &taints,
            &[toleration("gpu", TolerationOperator::Equal, Some("a100"))]
        ));
        let mut wrong_effect = toleration("gpu", TolerationOperator::Exists, None);
        wrong_effect.effect = Some(TolerationEffect::NoExecute);
        assert!(!tolerates(&taints, &[wrong_effect]));
        // Soft taints do not keep pods away.
        assert!(tolerates(
            &[Taint::new("spot", "true", TolerationEffect::PreferNoSchedule)],
            &[]
        ));
    }

    #[test]
    fn affinity_terms_are_ored_and_expressions_anded() {
        let labels: BTreeMap<String, String> = [
            ("gpu.product".to_owned(), "H100".to_owned()),
            ("gpu.count".to_owned(), "8".to_owned()),
        ]
        .into();
        let term = |expressions: Vec<MatchExpression>| NodeSelectorTerm {
            match_expressions: Some(expressions),
        };
        let affinity = NodeAffinityRequired {
            node_selector_terms: Some(vec![
                term(vec![MatchExpression::new(
                    "gpu.product",
                    MatchOperator::In,
                    ["A100"],
                )]),
                term(vec![
                    MatchExpression::new("gpu.product", MatchOperator::In, ["H100", "H200"]),
                    MatchExpression::new("gpu.count", MatchOperator::Gt, ["4"]),
                    MatchExpression::new("spot", MatchOperator::DoesNotExist, [] as [&str; 0]),
                ]),
            ]),
        };
        assert!(matches_affinity(&affinity, &labels));
        let strict = NodeAffinityRequired {
            node_selector_terms: Some(vec![term(vec![MatchExpression::new(
                "gpu.count",
                MatchOperator::Lt,
                ["8"],
            )])]),
        };
        assert!(!matches_affinity(&strict, &labels));
    }
}
