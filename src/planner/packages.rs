//! `packages`: one install command for the names not installed yet.

use super::{Cx, Decision, PlanError, change, exec, noop};
use crate::hostops;
use crate::plan::Action;
use crate::resource::{Kind, Resource};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::Packages { names } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !facts.packages.contains_key(*n))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(noop(format!("installed: {}", names.join(" "))));
    }
    let ops = vec![exec(hostops::install(&facts.os, &missing))];
    Ok(change(
        r,
        Action::Create,
        format!("not installed: {}", missing.join(" ")),
        ops,
    )
    .into())
}
