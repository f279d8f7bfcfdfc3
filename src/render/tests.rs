//! The recap, `verify` and Tempest renderers, each fed values holding ESC,
//! BEL, a bidi override and a zero-width space in every field they print
//! (issue 24, class 6): none reaches the text raw, each is shown escaped.

use super::*;
use crate::apply::Failure;
use crate::tempest::{Exclusion, Report, TempestError, TestResult};
use crate::transport::{TransportError, TransportStats};
use crate::verify::Check;

/// `tag` followed by a screen clear, a bell, a bidi override and a zero-width space.
fn hostile(tag: &str) -> String {
    format!("{tag}\u{1b}[2J\u{7}\u{202e}x\u{200b}y")
}

/// [`hostile`] as the terminal must be shown it.
fn shown(tag: &str) -> String {
    format!("{tag}\\u{{1b}}[2J\\u{{7}}\\u{{202e}}x\\u{{200b}}y")
}

fn plain() -> Style {
    Style::plain()
}

fn colour() -> Style {
    Style {
        color: true,
        ..Style::plain()
    }
}

/// Every ESC in `text` starts one of [`Style`]'s colours and no other control
/// or format character is there but line ends and tabs; each tag's value is
/// there, escaped (a value left out would pass the first check unseen).
#[track_caller]
fn escaped(text: &str, tags: &[&str]) {
    super::assert_only_colours(text);
    for t in tags {
        assert!(
            text.contains(&shown(t)),
            "{t} not shown escaped in {text:?}"
        );
    }
}

fn recap(host: &str) -> Recap {
    Recap {
        host: host.into(),
        ok: 3,
        changed: 1,
        skipped: 0,
        failed: 1,
        unreachable: false,
        seconds: 1.5,
        transport: TransportStats::default(),
        http_requests: 2,
        timings: Default::default(),
        changes: Vec::new(),
        failure: Some(Failure {
            change: hostile("change"),
            command: hostile("command"),
            status: Some(1),
            stderr: format!("{}\n{}\n", hostile("stderr1"), hostile("stderr2")),
            unreachable: false,
        }),
        error: None,
    }
}

/// A failed step's change, command and stderr, a host's name and its error.
#[test]
fn a_recap_shows_a_failed_steps_output_escaped() {
    let mut lost = recap(&hostile("lost"));
    lost.failure = None;
    lost.unreachable = true;
    lost.error = Some(hostile("error"));
    let recaps = [recap(&hostile("host")), lost];
    let tags = [
        "host", "change", "command", "stderr1", "stderr2", "lost", "error",
    ];
    for style in [plain(), colour()] {
        escaped(&recap_text(&recaps, style), &tags);
    }
    let text = recap_text(&recaps, plain());
    assert!(
        text.contains(&format!("    | {}\n", shown("stderr2"))),
        "{text}"
    );
}

/// A check's name and detail (what a host's API answered) and the host's name.
#[test]
fn verify_shows_a_checks_name_and_detail_escaped() {
    let checks = [
        Check {
            name: hostile("name"),
            ok: false,
            seconds: 0.25,
            detail: hostile("detail"),
        },
        Check {
            name: "keystone token".into(),
            ok: true,
            seconds: 0.1,
            detail: format!("multi\n{}", hostile("line")),
        },
    ];
    for style in [plain(), colour()] {
        let text = verify_text(
            &hostile("host"),
            &checks,
            3,
            TransportStats::default(),
            style,
        );
        escaped(&text, &["host", "name", "detail", "line"]);
    }
}

fn report() -> Report {
    let result = |tag: &str| TestResult {
        id: hostile(tag),
        status: "fail".into(),
        seconds: 1.0,
        detail: hostile(&format!("{tag}-why")),
    };
    Report {
        host: hostile("host"),
        workspace: hostile("workspace"),
        tempest_version: hostile("version"),
        tests: hostile("tests"),
        concurrency: 2,
        passed: 10,
        failed: 2,
        skipped: 1,
        seconds: 60.0,
        failures: vec![result("test1"), result("test2")],
        skips: vec![result("skip")],
        excluded: vec![Exclusion {
            regex: hostile("regex"),
            reason: hostile("reason"),
        }],
        exit_status: 1,
    }
}

/// A test's name and failure reason, the exclusions, the workspace, and the
/// errors Tempest stops with (a host's output in them).
#[test]
fn tempest_shows_test_names_and_failures_escaped() {
    let tags = [
        "host",
        "version",
        "tests",
        "test1",
        "test1-why",
        "test2",
        "test2-why",
        "regex",
        "reason",
        "workspace",
    ];
    let errors = [
        TempestError::Step {
            step: "stestr init",
            status: 2,
            output: hostile("output"),
        },
        TempestError::Results(hostile("output")),
        TempestError::Transport(TransportError::io(hostile("output"))),
    ];
    for style in [plain(), colour()] {
        escaped(&tempest_text(&report(), style), &tags);
        for e in &errors {
            escaped(
                &tempest_error(&hostile("host"), e, style),
                &["host", "output"],
            );
        }
    }
}
