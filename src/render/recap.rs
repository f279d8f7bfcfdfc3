//! The recap after `apply`: one line per host, as Ansible prints it, with what failed.

use super::{Style, safe};
use crate::apply::HostOutcome;
use crate::transport::TransportStats;
use serde::Serialize;
use std::fmt::Write;

/// One host's line in the recap, as Ansible prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Recap {
    pub host: String,
    pub ok: usize,
    pub changed: usize,
    /// Changes not run because the run was interrupted.
    pub skipped: usize,
    pub failed: usize,
    pub unreachable: bool,
    pub seconds: f64,
    pub transport: TransportStats,
    /// Requests to the OpenStack APIs (reading the catalog and changing it).
    pub http_requests: u64,
    /// Where the time went, phase by phase.
    pub timings: crate::pipeline::Timings,
    /// Each change that ran and how long it took.
    pub changes: Vec<crate::apply::ChangeTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<crate::apply::Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Recap {
    pub fn from_outcome(o: &HostOutcome, resources: usize, transport: TransportStats) -> Recap {
        Recap {
            host: o.host.clone(),
            ok: resources.saturating_sub(o.changed + o.skipped + usize::from(o.failure.is_some())),
            changed: o.changed,
            skipped: o.skipped,
            failed: usize::from(o.failure.is_some()),
            unreachable: false,
            seconds: o.seconds,
            http_requests: o.http_requests,
            timings: crate::pipeline::Timings {
                apply: o.seconds,
                ..Default::default()
            },
            changes: o.change_seconds.clone(),
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
        let unreachable = if r.skipped > 0 {
            format!(
                "{unreachable}{}",
                style.yellow(&format!(" interrupted, not run={}", r.skipped))
            )
        } else {
            unreachable
        };
        let _ = writeln!(
            out,
            "{:w$} : ok={} {changed} {failed}{unreachable}  ({:.1}s, {} SSH round trips, {} HTTP requests)",
            safe(&r.host),
            r.ok,
            r.seconds,
            r.transport.round_trips,
            r.http_requests
        );
        if style.verbose && !r.unreachable && r.error.is_none() {
            let t = &r.timings;
            let _ = writeln!(
                out,
                "{:w$}   connect {:.2}s, os facts {:.2}s, facts {:.2}s, catalog {:.2}s, amqp {:.2}s, plan {:.3}s, apply {:.2}s",
                "", t.connect, t.os, t.facts, t.catalog, t.amqp, t.plan, t.apply
            );
        }
        if let Some(f) = &r.failure {
            let status = f
                .status
                .map_or("no exit status".to_string(), |s| format!("exit {s}"));
            let _ = writeln!(
                out,
                "  {} {}: {} ({status})",
                style.red("failed"),
                safe(&f.change),
                safe(&f.command)
            );
            for l in f.stderr.lines() {
                let _ = writeln!(out, "    | {}", safe(l));
            }
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  {} {}", style.red("error"), safe(e));
        }
    }
    out
}
