//! `packages`: one install command for the names not installed yet.

use super::{Cx, PlanError, change, exec};
use crate::hostops;
use crate::plan::{Action, Change};
use crate::resource::{Kind, Resource};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
    let Kind::Packages { names } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !facts.packages.contains_key(*n))
        .cloned()
        .collect();
    Ok((!missing.is_empty()).then(|| {
        let ops = vec![exec(hostops::install(&facts.os, &missing))];
        change(
            r,
            Action::Create,
            format!("not installed: {}", missing.join(" ")),
            ops,
        )
    }))
}
