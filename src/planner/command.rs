//! `command`: runs only when its `creates` path is missing or its `unless`
//! check fails.

use super::{Cx, Decision, PlanError, change, noop, notify_ops};
use crate::hostops;
use crate::plan::{Action, Op};
use crate::resource::{Kind, Resource};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::Command {
        name: _,
        run,
        user,
        stdin,
        creates,
        unless,
        notify,
        timeout_secs,
        explain,
        ..
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    if let Some(c) = creates
        && facts.file(c).is_some()
    {
        return Ok(noop(format!("{c} exists")));
    }
    if let Some(u) = unless
        && facts.checks.get(u) == Some(&0)
    {
        return Ok(noop(match explain {
            Some(e) => format!("check passed (it runs only when {e})"),
            None => format!("check passed: {u}"),
        }));
    }
    let reason = match (creates, unless) {
        (Some(c), _) if facts.file(c).is_none() => format!("{c} does not exist"),
        (_, Some(u)) => explain
            .clone()
            .unwrap_or_else(|| format!("check failed: {u}")),
        _ => "guard not met".to_string(),
    };
    let mut ops = notify_ops(cx, notify);
    ops.push(Op::Exec {
        script: hostops::command(run, user.as_deref()),
        stdin: stdin.clone(),
        timeout_secs: *timeout_secs,
    });
    Ok(change(r, Action::Run, reason, ops).into())
}
