//! Where and in which order pods are scheduled: node selection, tolerations, priority and
//! preemptibility.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::Checker;

open_enum! {
    /// A Run:ai priority class. The platform defines seven; a cluster may define more, so
    /// other names parse into `Unknown` and validation reports them.
    ///
    /// ```
    /// use runai_core::spec::PriorityClass;
    /// let class: PriorityClass = serde_json::from_str(r#""very-high""#).unwrap();
    /// assert_eq!(class, PriorityClass::VeryHigh);
    /// assert_eq!(class.to_string(), "very-high");
    /// ```
    pub enum PriorityClass {
        /// `very-low`
        VeryLow => "very-low",
        /// `low`
        Low => "low",
        /// `medium-low`
        MediumLow => "medium-low",
        /// `medium`
        Medium => "medium",
        /// `medium-high`
        MediumHigh => "medium-high",
        /// `high`
        High => "high",
        /// `very-high`, the default for inference.
        VeryHigh => "very-high",
    }
}

/// Whether running pods may be interrupted by higher-priority work.
///
/// ```
/// use runai_core::spec::Preemptibility;
/// assert_eq!(serde_json::to_string(&Preemptibility::NonPreemptible).unwrap(), r#""non-preemptible""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Preemptibility {
    /// May use over-quota resources and may be interrupted.
    Preemptible,
    /// Runs only within deserved quota and is never interrupted.
    NonPreemptible,
}

/// Required node affinity: the pod lands only on nodes matching one of the terms.
///
/// ```
/// use runai_core::spec::{MatchExpression, MatchOperator, NodeAffinityRequired, NodeSelectorTerm};
/// let affinity = NodeAffinityRequired {
///     node_selector_terms: Some(vec![NodeSelectorTerm {
///         match_expressions: Some(vec![MatchExpression::new("nvidia.com/gpu.product", MatchOperator::In, ["NVIDIA-H100-80GB-HBM3"])]),
///     }]),
/// };
/// assert!(serde_json::to_string(&affinity).unwrap().contains("nodeSelectorTerms"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAffinityRequired {
    /// Alternatives; a node must match at least one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_selector_terms: Option<Vec<NodeSelectorTerm>>,
}

/// A conjunction of label expressions.
///
/// ```
/// use runai_core::spec::NodeSelectorTerm;
/// let term = NodeSelectorTerm::default();
/// assert_eq!(serde_json::to_string(&term).unwrap(), "{}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    /// Every expression must hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<MatchExpression>>,
}

/// A test on one node label.
///
/// ```
/// use runai_core::spec::{MatchExpression, MatchOperator};
/// let e = MatchExpression::new("node-role/gpu", MatchOperator::Exists, [] as [&str; 0]);
/// assert_eq!(e.operator, MatchOperator::Exists);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchExpression {
    /// Label key.
    pub key: String,
    /// How the label is compared.
    pub operator: MatchOperator,
    /// Values to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl MatchExpression {
    /// An expression on `key`.
    #[must_use]
    pub fn new<V: Into<String>>(
        key: impl Into<String>,
        operator: MatchOperator,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        Self {
            key: key.into(),
            operator,
            values: (!values.is_empty()).then_some(values),
        }
    }

    fn check(&self, c: &mut Checker) {
        if self.key.is_empty() {
            c.at("key", "must not be empty");
        }
        let count = self.values.as_ref().map_or(0, Vec::len);
        match self.operator {
            MatchOperator::In | MatchOperator::NotIn if count == 0 => {
                c.at(
                    "values",
                    format!("must list at least one value for operator {:?}", self.operator),
                );
            }
            MatchOperator::Exists | MatchOperator::DoesNotExist if count > 0 => {
                c.at(
                    "values",
                    format!("must be empty for operator {:?}", self.operator),
                );
            }
            MatchOperator::Gt | MatchOperator::Lt => {
                let one_integer = self
                    .values
                    .as_deref()
                    .is_some_and(|v| v.len() == 1 && v[0].parse::<i64>().is_ok());
                if !one_integer {
                    c.at(
                        "values",
                        format!("must hold exactly one integer for operator {:?}", self.operator),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Label comparison operators.
///
/// ```
/// use runai_core::spec::MatchOperator;
/// assert_eq!(serde_json::to_string(&MatchOperator::DoesNotExist).unwrap(), r#""DoesNotExist""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum MatchOperator {
    /// The label's value is one of `values`.
    In,
    /// The label's value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label's integer value is greater than the one value.
    Gt,
    /// The label's integer value is less than the one value.
    Lt,
}

impl NodeAffinityRequired {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.each(
            "nodeSelectorTerms",
            self.node_selector_terms.as_ref(),
            |term, c| {
                c.each(
                    "matchExpressions",
                    term.match_expressions.as_ref(),
                    MatchExpression::check,
                );
            },
        );
    }
}

/// Whether pods of the workload should share a topology domain.
///
/// ```
/// use runai_core::spec::{PodAffinity, PodAffinityType};
/// let a = PodAffinity { kind: Some(PodAffinityType::Preferred), key: Some("topology.kubernetes.io/zone".into()) };
/// assert_eq!(serde_json::to_value(&a).unwrap()["type"], "Preferred");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodAffinity {
    /// Hard or soft.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<PodAffinityType>,
    /// The node label that defines the domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl PodAffinity {
    pub(crate) fn check(&self, c: &mut Checker) {
        if self.kind.is_some() && self.key.as_deref().is_none_or(str::is_empty) {
            c.at(
                "key",
                "is required when type is set; name a node label such as topology.kubernetes.io/zone",
            );
        }
    }
}

/// Hard or soft pod affinity.
///
/// ```
/// use runai_core::spec::PodAffinityType;
/// assert_eq!(serde_json::to_string(&PodAffinityType::Required).unwrap(), r#""Required""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PodAffinityType {
    /// Must hold.
    Required,
    /// Best effort.
    Preferred,
}

/// Lets pods run on nodes with a matching taint.
///
/// ```
/// use runai_core::spec::{Toleration, TolerationEffect, TolerationOperator};
/// let t = Toleration {
///     name: Some("gpu-nodes".into()),
///     operator: Some(TolerationOperator::Exists),
///     key: Some("nvidia.com/gpu".into()),
///     effect: Some(TolerationEffect::NoSchedule),
///     ..Default::default()
/// };
/// assert!(serde_json::to_string(&t).unwrap().contains("NoSchedule"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    /// Unique name of the toleration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Equal` (default) compares the value; `Exists` matches any value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<TolerationOperator>,
    /// Taint key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Taint value, for `Equal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The taint effect tolerated; `Any` matches all effects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<TolerationEffect>,
    /// Seconds the pod stays bound after a `NoExecute` taint appears.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<i64>,
    /// Drop an entry inherited from a policy or template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

impl Toleration {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.non_empty("name", self.name.as_ref());
        c.at_least("seconds", self.seconds, 1);
        match self.operator.unwrap_or(TolerationOperator::Equal) {
            TolerationOperator::Exists if self.value.as_deref().is_some_and(|v| !v.is_empty()) => {
                c.at("value", "must be empty when operator is `Exists`");
            }
            TolerationOperator::Equal if self.key.as_deref().is_none_or(str::is_empty) => {
                c.at("key", "is required when operator is `Equal`");
            }
            _ => {}
        }
        if self.seconds.is_some()
            && !matches!(
                self.effect,
                Some(TolerationEffect::NoExecute | TolerationEffect::Any)
            )
        {
            c.at("seconds", "applies only to effect `NoExecute`");
        }
    }
}

/// Toleration operators.
///
/// ```
/// use runai_core::spec::TolerationOperator;
/// assert_eq!(serde_json::to_string(&TolerationOperator::Equal).unwrap(), r#""Equal""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TolerationOperator {
    /// Key and value must match.
    Equal,
    /// Key must match; any value.
    Exists,
}

/// Taint effects.
///
/// ```
/// use runai_core::spec::TolerationEffect;
/// assert_eq!(serde_json::to_string(&TolerationEffect::PreferNoSchedule).unwrap(), r#""PreferNoSchedule""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TolerationEffect {
    /// New pods are not scheduled.
    NoSchedule,
    /// Running pods are evicted.
    NoExecute,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Every effect.
    Any,
}

/// Checks the scheduling fields every workload type shares.
pub(crate) fn check_priority(c: &mut Checker, priority: Option<&PriorityClass>) {
    if let Some(class) = priority
        && !class.is_known()
    {
        c.at(
            "priorityClass",
            format!(
                "unknown priority class `{class}`; use one of {}",
                PriorityClass::KNOWN.join(", ")
            ),
        );
    }
}

/// Checks an ordered list of node-pool names.
pub(crate) fn check_node_pools(c: &mut Checker, pools: Option<&Vec<String>>) {
    let Some(pools) = pools else { return };
    let mut seen = std::collections::BTreeSet::new();
    c.each("nodePools", Some(pools), |pool, c| {
        if pool.is_empty() {
            c.here("must not be empty");
        } else if !seen.insert(pool.as_str()) {
            c.here(format!(
                "node pool `{pool}` is listed twice; list each pool once, in order of preference"
            ));
        }
    });
}
