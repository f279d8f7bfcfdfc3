//! `directory`: created with its owner, group and mode, or those corrected.

use super::{Cx, Decision, PlanError, change, exec, noop, perms_text};
use crate::facts::FileKind;
use crate::hostops;
use crate::plan::Action;
use crate::resource::{Kind, Resource};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::Directory { path, perms } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    Ok(match cx.facts.file(path) {
        None => change(
            r,
            Action::Create,
            "does not exist",
            vec![exec(hostops::mkdir(path, perms))],
        )
        .into(),
        Some(f) if f.kind != FileKind::Directory => {
            return Err(PlanError::NotADirectory {
                at: r.source.clone(),
                path: path.clone(),
            });
        }
        Some(f) if f.perms != *perms => change(
            r,
            Action::Update,
            format!("{} → {}", perms_text(&f.perms), perms_text(perms)),
            vec![exec(hostops::set_perms(path, perms))],
        )
        .into(),
        Some(_) => noop(format!("exists with {}", perms_text(perms))),
    })
}
