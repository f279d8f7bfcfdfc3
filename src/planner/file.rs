//! `file`: a whole file rendered from a template, written atomically when its
//! content or its owner, group and mode differ.

use super::{Cx, Decision, PlanError, change, diff, noop, notify_ops, perms_text};
use crate::facts::FileKind;
use crate::plan::{Action, Op};
use crate::resource::{Kind, Resource};
use crate::text;

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::File {
        path,
        content,
        perms,
        notify,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let desired = text::resolve(content, cx.secrets).map_err(PlanError::Placeholder)?;
    let (action, reason, old) = match cx.facts.file(path) {
        None => (Action::Create, "does not exist".to_string(), String::new()),
        Some(f) if f.kind != FileKind::File => {
            return Err(PlanError::NotAFile {
                at: r.source.clone(),
                path: path.clone(),
            });
        }
        Some(f) => {
            let old = f.content.clone().unwrap_or_default();
            let mut why = Vec::new();
            if old != desired {
                why.push("content differs".to_string());
            }
            if f.perms != *perms {
                why.push(format!("{} → {}", perms_text(&f.perms), perms_text(perms)));
            }
            if why.is_empty() {
                return Ok(noop(format!("content and {} match", perms_text(perms))));
            }
            (Action::Update, why.join("; "), old)
        }
    };
    let mut ops = notify_ops(cx, notify);
    ops.push(Op::Write {
        path: path.clone(),
        perms: perms.clone(),
        content: content.clone(),
    });
    let mut c = change(r, action, reason, ops);
    if old != desired {
        c.diff = Some(diff(path, &old, &desired, cx.masker, content));
    }
    Ok(c.into())
}
