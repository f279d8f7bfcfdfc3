//! `stackprov verify --tempest`: OpenStack's own API tests (Tempest's identity
//! v3 and image v2 tests) against the controller, run on a host of the site
//! from the OS's `tempest` package. The workspace stays on that host for the
//! operator to inspect; the report gives totals, each failure's first error
//! line, and the duration.
//!
//! The admin password reaches the host only inside tempest.conf, written
//! through the transport (never on a command line) with mode 0600.

use crate::desired::DesiredError;
use crate::facts::OsFacts;
use crate::secrets::{PlaceholderError, SecretStore, placeholder};
use crate::transport::{ExecRequest, FileSpec, Transport, TransportError};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Where the workspace lives on the Tempest host (`tempest init` makes it).
pub const WORKSPACE: &str = "/var/lib/stackprov/tempest";
/// The tests: identity v3 (admin and not) and image v2.
pub const TESTS: &str = r"^tempest\.api\.(identity\.(admin\.)?v3|image\.v2)\.";
const EXCLUDE_LIST: &str = "templates/tempest/exclude-list";
const RESULTS_SCRIPT: &str = "templates/tempest/results.py";
/// The longest a run may take before it counts as hung.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// What the operator chose on the command line.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Tempest's test workers.
    pub concurrency: u32,
}

/// A test left out on purpose, and why (templates/tempest/exclude-list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    pub regex: String,
    pub reason: String,
}

/// One test's outcome, as templates/tempest/results.py prints it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TestResult {
    pub id: String,
    /// success, fail, skip, xfail or uxsuccess
    pub status: String,
    pub seconds: f64,
    /// A failure's first error line, a skip's reason.
    #[serde(default)]
    pub detail: String,
}

impl TestResult {
    fn failed(&self) -> bool {
        matches!(self.status.as_str(), "fail" | "uxsuccess")
    }
}

/// The outcome of one Tempest run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub host: String,
    pub workspace: String,
    pub tempest_version: String,
    pub tests: String,
    pub concurrency: u32,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub seconds: f64,
    pub failures: Vec<TestResult>,
    pub skips: Vec<TestResult>,
    pub excluded: Vec<Exclusion>,
    /// Tempest's own exit status.
    pub exit_status: i32,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.passed > 0 && self.exit_status == 0
    }
}

/// Why Tempest could not run (test failures are not errors: they are in the report).
#[derive(Debug, thiserror::Error)]
pub enum TempestError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Config(#[from] DesiredError),
    #[error("tempest.conf: {0}")]
    Secret(#[from] PlaceholderError),
    #[error("{0}")]
    Transport(#[from] TransportError),
    #[error("installing Tempest ({packages}) failed (exit {status}): {output}")]
    Install {
        packages: String,
        status: i32,
        output: String,
    },
    #[error("`{step}` failed (exit {status}): {output}")]
    Step {
        step: &'static str,
        status: i32,
        output: String,
    },
    #[error(
        "Tempest ran no tests (exit {status}); the end of {WORKSPACE}/stackprov-run.log: {output}"
    )]
    NoResults { status: i32, output: String },
    #[error("reading Tempest's results: {0}")]
    Results(String),
}

impl TempestError {
    /// The host was lost (exit 4), not a Tempest problem.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TempestError::Transport(e) if e.kind == crate::transport::TransportErrorKind::Unreachable)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            TempestError::Unsupported(_) => "unsupported",
            TempestError::Config(_) | TempestError::Secret(_) => "config",
            TempestError::Transport(_) => "transport",
            TempestError::Install { .. } => "install",
            TempestError::Step { .. } => "step",
            TempestError::NoResults { .. } => "no_results",
            TempestError::Results(_) => "results",
        }
    }
}

/// The exclusions shipped in templates/tempest/exclude-list.
pub fn exclusions() -> Vec<Exclusion> {
    crate::desired::assets::text(EXCLUDE_LIST)
        .map(parse_exclusions)
        .unwrap_or_default()
}

/// stestr's format: a regular expression, then optionally `#` and a reason.
pub fn parse_exclusions(text: &str) -> Vec<Exclusion> {
    text.lines()
        .filter_map(|line| {
            let (regex, reason) = line.split_once('#').unwrap_or((line, ""));
            let regex = regex.trim();
            (!regex.is_empty()).then(|| Exclusion {
                regex: regex.to_string(),
                reason: reason.trim().to_string(),
            })
        })
        .collect()
}

/// The packages that provide Tempest on this host (`p.packages.tempest`).
pub fn packages(profile: &serde_json::Value) -> Vec<String> {
    profile["packages"]["tempest"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Everything one run needs, prepared before the host is touched.
pub struct Prepared {
    pub host: String,
    pub os: OsFacts,
    pub packages: Vec<String>,
    /// tempest.conf with secret placeholders (resolved only when written).
    pub config: String,
}

/// Install Tempest if needed, make the workspace, write its configuration and
/// run the tests. The host keeps the workspace (logs, .stestr) afterwards.
pub fn run(
    t: &mut dyn Transport,
    prep: &Prepared,
    secrets: &SecretStore,
    opts: Options,
) -> Result<Report, TempestError> {
    let started = Instant::now();
    install(t, prep)?;
    let version = step(
        t,
        "tempest init",
        &format!(
            "mkdir -p /var/lib/stackprov && chmod 0700 /var/lib/stackprov && \
             {{ test -f {WORKSPACE}/etc/tempest.conf || tempest init {WORKSPACE} >/dev/null; }} && \
             mkdir -p {WORKSPACE}/logs {WORKSPACE}/lock && tempest --version"
        ),
        Duration::from_secs(120),
    )?;
    let config = placeholder::resolve(&prep.config, secrets)?;
    let private = |path: String| FileSpec {
        path,
        owner: Some("root".into()),
        group: Some("root".into()),
        mode: Some(0o600),
    };
    t.write_file(
        &private(format!("{WORKSPACE}/etc/tempest.conf")),
        config.as_bytes(),
    )?;
    let exclude = crate::desired::assets::text(EXCLUDE_LIST)?;
    t.write_file(
        &private(format!("{WORKSPACE}/etc/stackprov-exclude-list")),
        exclude.as_bytes(),
    )?;
    let script = crate::desired::assets::text(RESULTS_SCRIPT)?;
    t.write_file(
        &private(format!("{WORKSPACE}/stackprov-results.py")),
        script.as_bytes(),
    )?;
    let run = format!(
        "cd {WORKSPACE} || exit 97\n\
         tempest run --concurrency {c} --regex '{TESTS}' --exclude-list etc/stackprov-exclude-list \
         > stackprov-run.log 2>&1\n\
         status=$?\n\
         stestr last --subunit 2>/dev/null | python3 stackprov-results.py || true\n\
         exit $status\n",
        c = opts.concurrency
    );
    let out = t.exec(&ExecRequest::new(&run).timeout(RUN_TIMEOUT))?;
    let results = parse_results(&out.stdout_str())?;
    if results.is_empty() {
        let tail = step(
            t,
            "tail stackprov-run.log",
            &format!("tail -n 15 {WORKSPACE}/stackprov-run.log"),
            Duration::from_secs(30),
        )
        .unwrap_or_default();
        return Err(TempestError::NoResults {
            status: out.status,
            output: tail,
        });
    }
    Ok(summarize(
        &prep.host,
        version.trim(),
        opts,
        results,
        out.status,
        started.elapsed(),
    ))
}

fn install(t: &mut dyn Transport, prep: &Prepared) -> Result<(), TempestError> {
    if prep.packages.is_empty() {
        return Err(TempestError::Unsupported(format!(
            "host `{}`: stackprov knows no Tempest package for {} (the `packages.tempest` of its profile is empty)",
            prep.host, prep.os.pretty_name
        )));
    }
    let script = format!(
        "command -v tempest >/dev/null 2>&1 && exit 0\n{}\n",
        crate::host_commands::install(&prep.os, &prep.packages, &[])
    );
    let out = t.exec(&ExecRequest::new(&script).timeout(Duration::from_secs(900)))?;
    if !out.success() {
        return Err(TempestError::Install {
            packages: prep.packages.join(" "),
            status: out.status,
            output: last_lines(&out.stderr_str(), 5),
        });
    }
    Ok(())
}

fn step(
    t: &mut dyn Transport,
    step: &'static str,
    script: &str,
    timeout: Duration,
) -> Result<String, TempestError> {
    let out = t.exec(&ExecRequest::new(script).timeout(timeout))?;
    if !out.success() {
        return Err(TempestError::Step {
            step,
            status: out.status,
            output: last_lines(&(out.stderr_str() + &out.stdout_str()), 5),
        });
    }
    Ok(out.stdout_str())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// One JSON object per line; anything else (a warning Python printed) is skipped.
pub fn parse_results(stdout: &str) -> Result<Vec<TestResult>, TempestError> {
    let mut out = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let r: TestResult = serde_json::from_str(line)
            .map_err(|e| TempestError::Results(format!("{e}: {}", truncate(line, 200))))?;
        out.push(r);
    }
    Ok(out)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Totals and lists from the per-test results.
pub fn summarize(
    host: &str,
    version: &str,
    opts: Options,
    results: Vec<TestResult>,
    exit_status: i32,
    elapsed: Duration,
) -> Report {
    let count = |s: &[&str]| {
        results
            .iter()
            .filter(|r| s.contains(&r.status.as_str()))
            .count()
    };
    let passed = count(&["success", "xfail"]);
    let skipped = count(&["skip"]);
    let failures: Vec<TestResult> = results.iter().filter(|r| r.failed()).cloned().collect();
    let skips = results
        .iter()
        .filter(|r| r.status == "skip")
        .cloned()
        .collect();
    Report {
        host: host.to_string(),
        workspace: WORKSPACE.to_string(),
        tempest_version: version.to_string(),
        tests: TESTS.to_string(),
        concurrency: opts.concurrency,
        passed,
        failed: failures.len(),
        skipped,
        seconds: elapsed.as_secs_f64(),
        failures,
        skips,
        excluded: exclusions(),
        exit_status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_exclusions_are_at_most_two_each_with_a_reason_and_a_valid_pattern() {
        let list = exclusions();
        assert!(!list.is_empty() && list.len() <= 2, "{list:?}");
        for e in &list {
            assert!(e.reason.len() > 20, "{e:?} needs its reason");
            assert!(e.regex.starts_with(r"^tempest\.api\."), "{e:?}");
        }
    }

    #[test]
    fn exclusions_read_as_stestr_reads_them() {
        let list = parse_exclusions("# a comment\n\n^a\\.b # why\n^c\n");
        assert_eq!(
            list,
            vec![
                Exclusion {
                    regex: "^a\\.b".into(),
                    reason: "why".into()
                },
                Exclusion {
                    regex: "^c".into(),
                    reason: String::new()
                },
            ]
        );
    }

    fn result(id: &str, status: &str, detail: &str) -> String {
        serde_json::json!({"id": id, "status": status, "seconds": 0.5, "detail": detail})
            .to_string()
    }

    #[test]
    fn results_give_totals_failures_with_their_first_error_line_and_skips() {
        let out = [
            "a warning on stdout".to_string(),
            result("t.a", "success", ""),
            result(
                "t.b",
                "fail",
                "tempest.lib.exceptions.BadRequest: Bad request",
            ),
            result("t.c", "skip", "Security compliance not available."),
            result("t.d", "xfail", ""),
            result("t.e", "uxsuccess", ""),
        ]
        .join("\n");
        let results = parse_results(&out).unwrap();
        let r = summarize(
            "controller",
            "tempest 33.0.0",
            Options { concurrency: 2 },
            results,
            1,
            Duration::from_secs(3),
        );
        assert_eq!((r.passed, r.failed, r.skipped), (2, 2, 1));
        assert_eq!(r.failures[0].id, "t.b");
        assert_eq!(
            r.failures[0].detail,
            "tempest.lib.exceptions.BadRequest: Bad request"
        );
        assert_eq!(r.skips[0].detail, "Security compliance not available.");
        assert!(!r.ok());
    }

    #[test]
    fn a_clean_run_is_ok_and_an_empty_one_is_not() {
        let ok = summarize(
            "h",
            "v",
            Options { concurrency: 1 },
            parse_results(&result("t.a", "success", "")).unwrap(),
            0,
            Duration::ZERO,
        );
        assert!(ok.ok());
        let empty = summarize(
            "h",
            "v",
            Options { concurrency: 1 },
            vec![],
            0,
            Duration::ZERO,
        );
        assert!(!empty.ok());
    }

    #[test]
    fn a_line_that_is_not_a_result_is_an_error_naming_it() {
        let e = parse_results("{\"id\": 3}").unwrap_err();
        assert!(e.to_string().contains("{\"id\": 3}"), "{e}");
    }
}
