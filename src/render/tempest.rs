//! `stackprov verify --tempest` for people: totals, each failure with its
//! first error line, the exclusions with their reasons, where the workspace is.

use super::{Style, safe};
use crate::tempest::{Report, TempestError};

pub fn tempest_text(r: &Report, style: Style) -> String {
    let mut out = format!(
        "{}\n",
        style.bold(&format!(
            "{}: tempest ({}, concurrency {})",
            r.host, r.tempest_version, r.concurrency
        ))
    );
    let mark = if r.ok() {
        style.green("ok  ")
    } else {
        style.red("FAIL")
    };
    out.push_str(&format!(
        "  {mark} {} passed, {} failed, {} skipped, {} excluded in {:.0}s ({})\n",
        r.passed,
        r.failed,
        r.skipped,
        r.excluded.len(),
        r.seconds,
        safe(&r.tests)
    ));
    for f in &r.failures {
        out.push_str(&format!("  {} {}\n", style.red("FAIL"), safe(&f.id)));
        if !f.detail.is_empty() {
            out.push_str(&format!("       {}\n", safe(&f.detail)));
        }
    }
    if r.failures.is_empty() && r.exit_status != 0 {
        out.push_str(&format!(
            "  Tempest exited {} with no failed test: see stackprov-run.log\n",
            r.exit_status
        ));
    }
    for e in &r.excluded {
        out.push_str(&format!(
            "  {} {}\n       {}\n",
            style.dim("excluded"),
            safe(&e.regex),
            safe(&e.reason)
        ));
    }
    out.push_str(&format!(
        "  workspace: {}:{} (stackprov-run.log, tempest.log; `stestr last` there)\n",
        safe(&r.host),
        safe(&r.workspace)
    ));
    out
}

pub fn tempest_error(host: &str, e: &TempestError, style: Style) -> String {
    format!(
        "{}\n  {} {}",
        style.bold(&format!("{host}: tempest")),
        style.red("FAIL"),
        safe(&e.to_string())
    )
}
