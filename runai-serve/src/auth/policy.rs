//! Who may call a workload: its access policy (Run:ai's `authorizationType` with the user and
//! group lists) and the caller's identity as read from a verified token.

use runai_core::spec::{AuthorizationType, ServingPort};
use serde_json::{Map, Value};

/// A workload's access policy, as the serving port of its Run:ai spec states it.
///
/// ```
/// use runai_serve::auth::AccessPolicy;
/// use runai_core::spec::AuthorizationType;
/// let policy = AccessPolicy::users(["alice@example.com", "ci-bot"]);
/// assert_eq!(policy.authorization, AuthorizationType::AuthorizedUsers);
/// assert!(policy.requires_token());
/// assert!(!AccessPolicy::default().requires_token()); // public
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Who may call.
    pub authorization: AuthorizationType,
    /// Users (names or emails) and service accounts allowed, for the `authorized*` kinds.
    pub users: Vec<String>,
    /// Identity-provider groups allowed, for the `authorized*` kinds.
    pub groups: Vec<String>,
}

impl AccessPolicy {
    /// Anyone may call, with or without a token.
    #[must_use]
    pub fn public() -> Self {
        Self::default()
    }

    /// Any caller with a valid token.
    #[must_use]
    pub fn authenticated() -> Self {
        Self {
            authorization: AuthorizationType::AuthenticatedUsers,
            ..Self::default()
        }
    }

    /// Only the listed users and service accounts.
    #[must_use]
    pub fn users<S: Into<String>>(users: impl IntoIterator<Item = S>) -> Self {
        Self {
            authorization: AuthorizationType::AuthorizedUsers,
            users: users.into_iter().map(Into::into).collect(),
            groups: Vec::new(),
        }
    }

    /// Only members of the listed groups.
    #[must_use]
    pub fn groups<S: Into<String>>(groups: impl IntoIterator<Item = S>) -> Self {
        Self {
            authorization: AuthorizationType::AuthorizedGroups,
            users: Vec::new(),
            groups: groups.into_iter().map(Into::into).collect(),
        }
    }

    /// The policy of a Run:ai serving port (`authorizationType`, `authorizedUsers`,
    /// `authorizedGroups`).
    ///
    /// ```
    /// use runai_core::spec::{AuthorizationType, ServingPort};
    /// use runai_serve::auth::AccessPolicy;
    /// let port = ServingPort {
    ///     authorization_type: Some(AuthorizationType::AuthorizedGroups),
    ///     authorized_groups: Some(vec!["ml-team".into()]),
    ///     ..Default::default()
    /// };
    /// assert_eq!(AccessPolicy::from_serving_port(&port), AccessPolicy::groups(["ml-team"]));
    /// ```
    #[must_use]
    pub fn from_serving_port(port: &ServingPort) -> Self {
        Self {
            authorization: port.authorization_type.unwrap_or_default(),
            users: port.authorized_users.clone().unwrap_or_default(),
            groups: port.authorized_groups.clone().unwrap_or_default(),
        }
    }

    /// Whether a caller must present a valid token.
    #[must_use]
    pub fn requires_token(&self) -> bool {
        self.authorization.requires_token()
    }

    /// Whether `caller`, whose token is valid, may call.
    pub(crate) fn allows(&self, caller: &Principal) -> bool {
        let user_listed = || caller.names.iter().any(|n| self.users.contains(n));
        let group_listed = || caller.groups.iter().any(|g| self.groups.contains(g));
        match self.authorization {
            AuthorizationType::Public | AuthorizationType::AuthenticatedUsers => true,
            AuthorizationType::AuthorizedUsers => user_listed(),
            AuthorizationType::AuthorizedGroups => group_listed(),
            AuthorizationType::AuthorizedUsersOrGroups => user_listed() || group_listed(),
        }
    }
}

/// Which token claims name the caller, its groups and its kind of account.
///
/// A name may be a dotted path into nested objects (`realm_access.roles`); a claim whose
/// own name contains dots (a URL, say) is found first under its literal name.
///
/// ```
/// use runai_serve::auth::ClaimNames;
/// let claims = ClaimNames::default();
/// assert_eq!(claims.user, ["preferred_username", "email", "sub"]);
/// assert_eq!(claims.groups, "groups");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// Claims whose values name a user; every one present is a name the user lists can match
    /// (so a list may hold a user's email or username).
    pub user: Vec<String>,
    /// The claim holding the caller's groups (a list of strings, or one string).
    pub groups: String,
    /// The claim telling the kind of account.
    pub account_type: String,
    /// Values of [`ClaimNames::account_type`] that mark a service account.
    pub service_account_types: Vec<String>,
    /// Claims whose values name a service account (matched by the user lists too).
    pub service_account_name: Vec<String>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        let owned = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect();
        Self {
            user: owned(&["preferred_username", "email", "sub"]),
            groups: "groups".to_owned(),
            account_type: "account_type".to_owned(),
            service_account_types: owned(&["service_account", "serviceaccount", "application"]),
            service_account_name: owned(&["client_id", "clientId", "azp"]),
        }
    }
}

/// The caller, as its verified token describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Principal {
    /// Every name the caller goes by (user claims, and service-account claims for those).
    pub(crate) names: Vec<String>,
    pub(crate) groups: Vec<String>,
    /// `sub`.
    pub(crate) subject: String,
    /// `preferred_username`, when it is a string.
    pub(crate) username: Option<String>,
    /// `email`, when it is a string.
    pub(crate) email: Option<String>,
}

impl Principal {
    /// Reads the caller from a token's verified claims.
    pub(crate) fn from_claims(claims: &Map<String, Value>, names: &ClaimNames) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let mut principal = Self {
            subject: text("sub").unwrap_or_default(),
            username: text("preferred_username"),
            email: text("email"),
            ..Self::default()
        };
        for claim in &names.user {
            push_strings(claim_at(claims, claim), &mut principal.names);
        }
        let account_type = claim_at(claims, &names.account_type).and_then(Value::as_str);
        if account_type.is_some_and(|t| names.service_account_types.iter().any(|s| s == t)) {
            for claim in &names.service_account_name {
                push_strings(claim_at(claims, claim), &mut principal.names);
            }
        }
        push_strings(claim_at(claims, &names.groups), &mut principal.groups);
        principal
    }
}

/// The value of `name` in `claims`: the literal key first, then a dotted path.
fn claim_at<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    claims.get(name).or_else(|| {
        let mut segments = name.split('.');
        let first = claims.get(segments.next()?)?;
        segments.try_fold(first, |value, segment| value.get(segment))
    })
}

/// Appends a string, or the strings of a list, to `out`.
fn push_strings(value: Option<&Value>, out: &mut Vec<String>) {
    match value {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn names_come_from_every_user_claim_and_service_accounts_from_theirs() {
        let names = ClaimNames::default();
        let user = Principal::from_claims(
            &object(json!({"sub": "42", "email": "a@x.io", "preferred_username": "alice", "groups": ["ml"]})),
            &names,
        );
        assert_eq!(user.names, ["alice", "a@x.io", "42"]);
        assert_eq!(user.groups, ["ml"]);
        let bot = Principal::from_claims(
            &object(json!({"sub": "7", "account_type": "service_account", "client_id": "ci-bot"})),
            &names,
        );
        assert_eq!(bot.names, ["7", "ci-bot"]);
        // Without the account type the client id names nobody.
        let plain = Principal::from_claims(&object(json!({"sub": "7", "client_id": "ci-bot"})), &names);
        assert_eq!(plain.names, ["7"]);
    }

    #[test]
    fn dotted_claim_names_reach_nested_values_and_literal_names_win() {
        let names = ClaimNames {
            groups: "realm_access.roles".into(),
            ..ClaimNames::default()
        };
        let nested = Principal::from_claims(&object(json!({"realm_access": {"roles": ["a", "b"]}})), &names);
        assert_eq!(nested.groups, ["a", "b"]);
        let literal = Principal::from_claims(
            &object(json!({"realm_access.roles": "flat", "realm_access": {"roles": ["a"]}})),
            &names,
        );
        assert_eq!(literal.groups, ["flat"]);
    }

    #[test]
    fn each_policy_decides_as_run_ai_describes() {
        let alice = Principal {
            names: vec!["alice".into()],
            groups: vec!["ml".into()],
            ..Principal::default()
        };
        assert!(AccessPolicy::authenticated().allows(&alice));
        assert!(AccessPolicy::users(["alice"]).allows(&alice));
        assert!(!AccessPolicy::users(["bob"]).allows(&alice));
        assert!(AccessPolicy::groups(["ml"]).allows(&alice));
        assert!(!AccessPolicy::groups(["ops"]).allows(&alice));
        let either = |users: &[&str], groups: &[&str]| AccessPolicy {
            authorization: AuthorizationType::AuthorizedUsersOrGroups,
            users: users.iter().map(|&u| u.to_owned()).collect(),
            groups: groups.iter().map(|&g| g.to_owned()).collect(),
        };
        assert!(either(&["alice"], &[]).allows(&alice));
        assert!(either(&[], &["ml"]).allows(&alice));
        assert!(!either(&["bob"], &["ops"]).allows(&alice));
    }
}
