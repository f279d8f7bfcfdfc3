//! `service`: enabled and running; restarted when a change above notified it
//! (or an interrupted run left its restart pending).

use super::{Cx, Decision, PlanError, change, exec, noop};
use crate::hostops;
use crate::plan::Action;
use crate::resource::{Kind, Resource};

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::Service {
        name,
        enabled,
        running,
        port,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let facts = cx.facts;
    let os = &facts.os;
    let f = facts.service(name);
    let mut ops = Vec::new();
    let mut why = Vec::new();
    if *enabled && !f.enabled {
        ops.push(exec(hostops::service(os, name, "enable")));
        why.push(if f.exists {
            "not enabled"
        } else {
            "not installed yet; will be enabled"
        });
    }
    // a notified service is restarted even when it looks stopped: packages
    // start daemons before their config is written, and restart also starts
    let restart = cx.notified.remove(name);
    // whether this plan starts the daemon (start or restart): then apply
    // waits for its port
    let mut starts = false;
    if *running && restart {
        ops.push(exec(hostops::service(os, name, "restart")));
        why.push(if facts.pending_restarts.contains(name) {
            "restart left pending by an interrupted run"
        } else {
            "configuration changed: restart"
        });
        starts = true;
    } else if *running && !f.running {
        ops.push(exec(hostops::service(os, name, "start")));
        why.push(if f.exists {
            "not running"
        } else {
            "will be started"
        });
        starts = true;
    }
    if let (true, Some(port)) = (starts, port) {
        ops.push(exec(hostops::wait_for_port(*port, 120)));
    }
    if restart {
        ops.push(exec(hostops::journal_clear(name)));
    }
    if ops.is_empty() {
        return Ok(noop(match (*enabled, *running) {
            (true, true) => "enabled and running",
            (true, false) => "enabled",
            (false, true) => "running",
            (false, false) => "neither enabled nor running is asked for",
        }));
    }
    let action = if restart { Action::Run } else { Action::Update };
    Ok(change(r, action, why.join("; "), ops).into())
}
