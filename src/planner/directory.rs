//! `directory`: created with its owner, group and mode, or those corrected.

use super::{Cx, PlanError, change, exec, perms_text};
use crate::facts::FileKind;
use crate::hostops;
use crate::plan::{Action, Change};
use crate::resource::{Kind, Resource};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Option<Change>, PlanError> {
    let Kind::Directory { path, perms } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    Ok(match cx.facts.file(path) {
        None => Some(change(
            r,
            Action::Create,
            "does not exist",
            vec![exec(hostops::mkdir(path, perms))],
        )),
        Some(f) if f.kind != FileKind::Directory => {
            return Err(PlanError::NotADirectory {
                at: r.source.clone(),
                path: path.clone(),
            });
        }
        Some(f) if f.perms != *perms => Some(change(
            r,
            Action::Update,
            format!("{} → {}", perms_text(&f.perms), perms_text(perms)),
            vec![exec(hostops::set_perms(path, perms))],
        )),
        Some(_) => None,
    })
}
