//! `ini_edit`: keys set in a file a package ships, the rest of it left alone.

use super::{Cx, Decision, PlanError, change, diff, noop, notify_ops, perms_text};
use crate::plan::{Action, Op};
use crate::resource::{Kind, Resource};
use crate::text;

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::IniEdit {
        path,
        settings,
        perms,
        notify,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let current = cx
        .facts
        .file(path)
        .and_then(|f| f.content.clone().map(|c| (c, f.perms.clone())));
    let (reason, diff_text) = match &current {
        None => (
            "file not there yet: keys are set once its package has installed it".to_string(),
            None,
        ),
        Some((old, old_perms)) => {
            let mut resolved = settings.clone();
            for s in &mut resolved {
                s.value = text::resolve(&s.value, cx.secrets).map_err(PlanError::Placeholder)?;
            }
            let new = crate::ini::apply(old, &resolved);
            if new == *old && old_perms == perms {
                let keys = match settings.len() {
                    1 => "1 key".to_string(),
                    n => format!("{n} keys"),
                };
                return Ok(noop(format!("{keys} and {} match", perms_text(perms))));
            }
            let mut why = Vec::new();
            let changed: Vec<String> = resolved
                .iter()
                .filter(|s| {
                    crate::ini::get(old, &s.section, &s.key).as_deref() != Some(s.value.as_str())
                })
                .map(|s| format!("[{}] {}", s.section, s.key))
                .collect();
            if !changed.is_empty() {
                why.push(format!("keys differ: {}", changed.join(", ")));
            }
            if old_perms != perms {
                why.push(format!("{} → {}", perms_text(old_perms), perms_text(perms)));
            }
            (
                why.join("; "),
                (new != *old).then(|| {
                    let template: String = settings
                        .iter()
                        .map(|s| format!("{} = {}\n", s.key, s.value))
                        .collect();
                    diff(path, old, &new, cx.masker, &template)
                }),
            )
        }
    };
    let mut ops = notify_ops(cx, notify);
    ops.push(Op::IniEdit {
        path: path.clone(),
        perms: perms.clone(),
        settings: settings.clone(),
    });
    let mut c = change(r, Action::Update, reason, ops);
    c.diff = diff_text;
    Ok(c.into())
}
