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
/// `saved_facts` is as it was when this returns `Ok`: each planned host's
/// facts are resolved in place and put back, not copied (a hostile file's
/// million packages were held twice: 342 MB for a 20 MB file).
pub fn offline_plans(
    site: &Site,
    hosts: Vec<Host>,
    saved_facts: &mut BTreeMap<String, Facts>,
    galera_bootstrap: Option<&str>,
    missing: &dyn Fn(Missing<'_>) -> Error,
) -> Result<(Vec<HostPlan>, SecretStore), Error> {
    let mut prepared = Vec::new();
    for h in hosts {
        let Some(f) = saved_facts.get(&h.name) else {
            return Err(missing(Missing::NoFacts(&h.name)));
        };
        let resources = desired(site, &h, &f.os)?;
        prepared.push((h, resources));
    }
    let lists: Vec<&[Resource]> = prepared.iter().map(|p| p.1.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    let masker = secrets.masker();
    let mut ready = Vec::new();
    for (h, resources) in prepared {
        let Some(mut facts) = saved_facts.remove(&h.name) else {
            return Err(missing(Missing::NoFacts(&h.name)));
        };
        let q = crate::planner::query(&resources);
        if !saved::covers(&facts.query, &q) {
            return Err(missing(Missing::NotCovered(&h.name)));
        }
        let as_saved = facts_from_saved(&mut facts, &secrets)?;
        ready.push((h, resources, facts, as_saved));
    }
    let gathered: Vec<crate::planner::bootstrap::Gathered<'_>> = ready
        .iter()
        .map(|(h, r, f, _)| (h.name.as_str(), f, r.as_slice()))
        .collect();
    let bootstrap = crate::planner::bootstrap::choose(site, &gathered, galera_bootstrap)?;
    let mut plans = Vec::new();
    for (h, resources, facts, _) in &ready {
        let starts = crate::planner::bootstrap::role(bootstrap.as_ref(), &h.name);
        plans.push(plan(&h.name, resources, facts, &secrets, &masker, starts)?);
    }
    one_cluster_start(&plans)?;
    for (h, _, mut facts, as_saved) in ready {
        for (path, content) in as_saved {
            if let Some(file) = facts.files.get_mut(&path) {
                file.content = Some(content);
            }
        }
        saved_facts.insert(h.name, facts);
    }
    Ok((plans, secrets))
}
