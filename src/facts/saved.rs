//! Facts saved by `stackprov facts --save` for offline plans: the file's shape
//! and whether what it holds covers what a site's roles need now.

use super::{FactQuery, Facts};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Serialize, Deserialize)]
pub struct SavedFacts {
    /// The plan format of the stackprov that saved them.
    pub format: u32,
    pub site: String,
    pub hosts: BTreeMap<String, Facts>,
}

/// Whether facts gathered for `have` answer every question in `need` (a site
/// changed since the facts were saved may ask for more).
pub fn covers(have: &FactQuery, need: &FactQuery) -> bool {
    need.packages.is_subset(&have.packages)
        && need
            .stats
            .iter()
            .all(|p| have.stats.contains(p) || have.contents.contains(p))
        && need.contents.is_subset(&have.contents)
        && need.services.is_subset(&have.services)
        && need.checks.is_subset(&have.checks)
        && (!need.sql || have.sql)
        && (!need.galera || have.galera)
        && need.amqp_logins.is_subset(&have.amqp_logins)
}

/// A plan saved by `plan --out`: the plan, and what `apply` needs to derive it
/// again before it connects (a saved plan is a contract, not a script): each
/// planned host's facts as `facts --save` saves them (secrets as
/// placeholders) and the `--galera-bootstrap` it was made with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    #[serde(flatten)]
    pub plan: crate::plan::Plan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub galera_bootstrap: Option<String>,
    pub facts: BTreeMap<String, Facts>,
}
