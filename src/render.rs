//! What people and machines see: plans with diffs, progress lines, the recap.
//! Colour only on a terminal and never with NO_COLOR.

use crate::apply::HostOutcome;
use crate::plan::{Action, HostPlan, Plan};
use crate::transport::TransportStats;
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        Style {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal(),
        }
    }
    pub fn plain() -> Style {
        Style { color: false }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn action(&self, a: Action) -> String {
        let sym = a.symbol().to_string();
        match a {
            Action::Create => self.green(&sym),
            Action::Update => self.yellow(&sym),
            Action::Run => self.paint("35", &sym),
        }
    }
}

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
    let width = h
        .changes
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(0)
        .min(60);
    for c in &h.changes {
        let _ = writeln!(
            out,
            "  {} {:width$}  {}",
            style.action(c.action),
            c.id,
            c.reason
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
                    line.to_string()
                };
                let _ = writeln!(out, "      {l}");
            }
        }
    }
    out
}

pub fn summary_line(s: Summary, hosts: usize) -> String {
    if s.total() == 0 {
        format!("No changes. {hosts} host(s) match the site file.")
    } else {
        format!(
            "Plan: {} to create, {} to update, {} to run, on {hosts} host(s).",
            s.create, s.update, s.run
        )
    }
}

pub fn plan_text(p: &Plan, style: Style) -> String {
    let mut out = String::new();
    for h in &p.hosts {
        out.push_str(&host_plan(h, style));
        out.push('\n');
    }
    out.push_str(&summary_line(Summary::of(&p.hosts), p.hosts.len()));
    out.push('\n');
    out
}

/// One host's line in the recap, as Ansible prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Recap {
    pub host: String,
    pub ok: usize,
    pub changed: usize,
    pub failed: usize,
    pub unreachable: bool,
    pub seconds: f64,
    pub transport: TransportStats,
    /// Requests to the OpenStack APIs (reading the catalog and changing it).
    pub http_requests: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<crate::apply::Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Recap {
    pub fn from_outcome(o: &HostOutcome, resources: usize, transport: TransportStats) -> Recap {
        Recap {
            host: o.host.clone(),
            ok: resources.saturating_sub(o.changed + usize::from(o.failure.is_some())),
            changed: o.changed,
            failed: usize::from(o.failure.is_some()),
            unreachable: false,
            seconds: o.seconds,
            http_requests: o.http_requests,
            transport,
            failure: o.failure.clone(),
            error: None,
        }
    }
}

pub fn recap_text(recaps: &[Recap], style: Style) -> String {
    let mut out = String::from("\nRECAP\n");
    let w = recaps.iter().map(|r| r.host.len()).max().unwrap_or(0);
    for r in recaps {
        let failed = format!("failed={}", r.failed);
        let failed = if r.failed > 0 {
            style.red(&failed)
        } else {
            failed
        };
        let changed = format!("changed={}", r.changed);
        let changed = if r.changed > 0 {
            style.yellow(&changed)
        } else {
            changed
        };
        let unreachable = if r.unreachable {
            style.red(" unreachable=1")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:w$} : ok={} {changed} {failed}{unreachable}  ({:.1}s, {} SSH round trips, {} HTTP requests)",
            r.host, r.ok, r.seconds, r.transport.round_trips, r.http_requests
        );
        if let Some(f) = &r.failure {
            let status = f
                .status
                .map_or("no exit status".to_string(), |s| format!("exit {s}"));
            let _ = writeln!(
                out,
                "  {} {}: {} ({status})",
                style.red("failed"),
                f.change,
                f.command
            );
            for l in f.stderr.lines() {
                let _ = writeln!(out, "    | {l}");
            }
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  {} {e}", style.red("error"));
        }
    }
    out
}
