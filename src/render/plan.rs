//! `plan`'s text: each host's changes (and, with -v, no-ops) with diffs, and the summary.

use super::{Style, safe};
use crate::plan::{Action, HostPlan, Plan};
use serde::Serialize;
use std::fmt::Write;

/// Counts per action.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub run: usize,
}

impl Summary {
    pub fn of(hosts: &[HostPlan]) -> Summary {
        let mut s = Summary::default();
        for c in hosts.iter().flat_map(|h| &h.changes) {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Run => s.run += 1,
            }
        }
        s
    }
    pub fn total(&self) -> usize {
        self.create + self.update + self.run
    }
}

pub fn host_plan(h: &HostPlan, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold(&h.host));
    if h.changes.is_empty() {
        let _ = writeln!(out, "  no changes");
    }
    // with -v the no-ops follow the changes, in the same columns
    let noops = if style.verbose { &h.noops[..] } else { &[] };
    let width = h
        .changes
        .iter()
        .map(|c| c.id.len())
        .chain(noops.iter().map(|n| n.id.len()))
        .max()
        .unwrap_or(0)
        .min(60);
    for c in &h.changes {
        let _ = writeln!(
            out,
            "  {} {:width$}  {}",
            style.action(c.action),
            safe(&c.id),
            safe(&c.reason)
        );
        if let Some(d) = &c.diff {
            for line in d.lines() {
                let l = if line.starts_with("+++") || line.starts_with("---") {
                    style.bold(line)
                } else if line.starts_with('+') {
                    style.green(line)
                } else if line.starts_with('-') {
                    style.red(line)
                } else if line.starts_with("@@") {
                    style.paint("36", line)
                } else {
                    safe(line).into_owned()
                };
                let _ = writeln!(out, "      {l}");
            }
        }
    }
    for n in noops {
        let line = format!("  = {:width$}  {}", n.id, n.reason);
        let _ = writeln!(out, "{}", style.dim(&line));
    }
    for w in &h.warnings {
        let _ = writeln!(out, "  {} {}", style.red("warning:"), safe(w));
    }
    out
}

/// The plan's last line; hosts that could not be planned are counted apart,
/// never as hosts that match.
pub fn summary_line(s: Summary, hosts: usize, unplanned: usize) -> String {
    let line = match (s.total(), hosts) {
        (_, 0) if unplanned > 0 => {
            return format!(
                "No plan: none of the {unplanned} host(s) could be planned (why: on stderr)."
            );
        }
        (0, _) if unplanned > 0 => format!("No changes on the {hosts} host(s) planned."),
        (0, _) => format!("No changes. {hosts} host(s) match the site file."),
        _ => format!(
            "Plan: {} to create, {} to update, {} to run, on {hosts} host(s).",
            s.create, s.update, s.run
        ),
    };
    if unplanned > 0 {
        format!("{line} {unplanned} host(s) could not be planned (why: on stderr).")
    } else {
        line
    }
}

/// When a host starts a cluster the others join, apply's order across hosts.
pub fn order_line(hosts: &[HostPlan]) -> Option<String> {
    let first: Vec<&HostPlan> = hosts
        .iter()
        .filter(|h| h.starts_cluster.is_some())
        .collect();
    let service = &first.first()?.starts_cluster.as_ref()?.service;
    let joiners = crate::plan::joiners(hosts, service);
    if joiners.is_empty() {
        return None;
    }
    let starters: Vec<&str> = first.iter().map(|h| h.host.as_str()).collect();
    Some(format!(
        "Order: {} starts the {service} cluster; {} {} {service} (join it) only after that, and not if it fails.",
        starters.join(", "),
        joiners.join(", "),
        if joiners.len() == 1 {
            "starts"
        } else {
            "start"
        },
    ))
}

pub fn plan_text(p: &Plan, style: Style) -> String {
    let mut out = String::new();
    for h in &p.hosts {
        out.push_str(&host_plan(h, style));
        out.push('\n');
    }
    if let Some(order) = order_line(&p.hosts) {
        out.push_str(&safe(&order));
        out.push('\n');
    }
    out.push_str(&summary_line(
        Summary::of(&p.hosts),
        p.hosts.len(),
        p.unplanned.len(),
    ));
    out.push('\n');
    out
}
