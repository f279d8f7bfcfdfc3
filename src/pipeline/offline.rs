//! Plans from saved facts, without connecting: `plan --facts FILE`, and
//! `apply PLAN`, which derives a saved plan again before it connects.

use super::{desired, facts_from_saved, one_cluster_start, plan, secrets_for};
use crate::desired::resource::Resource;
use crate::error::Error;
use crate::facts::{Facts, saved};
use crate::plan::HostPlan;
use crate::secrets::SecretStore;
use crate::site::{Host, Site};
use std::collections::BTreeMap;

/// Why saved facts cannot plan a host: the error the caller makes of it.
pub enum Missing<'a> {
    /// No facts were saved for this host.
    NoFacts(&'a str),
    /// They were gathered for other roles (the site changed since).
    NotCovered(&'a str),
}

/// Each host's plan from its saved facts (secrets as placeholders, resolved
/// here), after the site-wide Galera choice, as [`super::make_plans`] plans
/// from a host's own; and the secrets loaded (generated as needed).
pub fn offline_plans(
    site: &Site,
    hosts: Vec<Host>,
    saved_facts: &BTreeMap<String, Facts>,
    galera_bootstrap: Option<&str>,
    missing: &dyn Fn(Missing<'_>) -> Error,
) -> Result<(Vec<HostPlan>, SecretStore), Error> {
    let mut prepared = Vec::new();
    for h in hosts {
        let Some(f) = saved_facts.get(&h.name) else {
            return Err(missing(Missing::NoFacts(&h.name)));
        };
        let resources = desired(site, &h, &f.os)?;
        prepared.push((h, resources, f.clone()));
    }
    let lists: Vec<&[Resource]> = prepared.iter().map(|p| p.1.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    let masker = secrets.masker();
    let mut ready = Vec::new();
    for (h, resources, f) in prepared {
        let q = crate::planner::query(&resources);
        if !saved::covers(&f.query, &q) {
            return Err(missing(Missing::NotCovered(&h.name)));
        }
        let facts = facts_from_saved(f, &secrets)?;
        ready.push((h, resources, facts));
    }
    let gathered: Vec<crate::planner::bootstrap::Gathered<'_>> = ready
        .iter()
        .map(|(h, r, f)| (h.name.as_str(), f, r.as_slice()))
        .collect();
    let bootstrap = crate::planner::bootstrap::choose(site, &gathered, galera_bootstrap)?;
    let mut plans = Vec::new();
    for (h, resources, facts) in &ready {
        let starts = crate::planner::bootstrap::role(bootstrap.as_ref(), &h.name);
        plans.push(plan(&h.name, resources, facts, &secrets, &masker, starts)?);
    }
    one_cluster_start(&plans)?;
    Ok((plans, secrets))
}
