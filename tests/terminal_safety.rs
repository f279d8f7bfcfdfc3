//! Human output never lets a host, the facts or the site act on the
//! operator's terminal (issue 24, class 6): escape sequences, bidirectional
//! overrides and zero-width characters are shown as `\u{...}` escapes; the
//! only escape sequences printed are stackprov's own colours.

use stackprov::fake::{FakeHost, SharedFake};
use stackprov::render::Style;
use std::path::Path;

mod common;

/// Sets the window title, clears the screen, then reverses the rest of the line.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}evil";
/// The same, as the terminal is shown it.
const SHOWN: &str = "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{202e}evil";

fn site(dir: &Path) -> String {
    let p = dir.join("site.yaml");
    std::fs::write(
        &p,
        "site: t\nrelease: zed\ncontroller: controller\npackage_proxy: http://10.0.0.1:3128\nhosts:\n  - name: controller\n    address: 192.0.2.10\n    roles: [base]\n",
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

/// A host whose apt proxy file holds [`HOSTILE`] on its own line.
fn hostile_host() -> SharedFake {
    let fake = SharedFake::new(FakeHost::debian_controller());
    fake.lock().add_file(
        "/etc/apt/apt.conf.d/01proxy",
        &format!("{HOSTILE}\tx\n"),
        "root",
        "root",
        0o644,
    );
    fake
}

/// Every ESC starts one of [`Style`]'s colours (`ESC [ digits m`), and no
/// other control or format character is left but line ends and tabs.
#[track_caller]
fn only_colours(text: &str) {
    stackprov::render::assert_only_colours(text);
}

/// Before: the host's bytes reached the terminal as they were, so the plan
/// retitled the window and cleared the screen.
#[test]
fn a_host_file_in_a_plan_diff_is_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path());
    let fake = hostile_host();
    let started = std::time::Instant::now();
    let r = common::run_cli(Some(&fake), &["plan", &s]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        !r.out.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{:?}",
        r.out
    );
    assert!(
        r.out.contains(&format!("\n      -{SHOWN}\tx\n")),
        "the removed line, escaped, its tab kept: {}",
        r.out
    );
    only_colours(&r.err);

    // in colour, the only escape sequences are the colours
    let style = Style {
        color: true,
        ..Style::plain()
    };
    let r = common::run_cli_styled(Some(&fake), &["plan", &s], style);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    only_colours(&r.out);
    assert!(
        r.out.contains(&format!("\u{1b}[31m-{SHOWN}\tx\u{1b}[0m")),
        "{:?}",
        r.out
    );
}

/// Before: facts printed the host's OS name raw.
#[test]
fn facts_from_a_host_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path());
    let fake = hostile_host();
    fake.lock().os_release =
        format!("PRETTY_NAME=\"Debian {HOSTILE}\"\nID=debian\nVERSION_ID=\"12\"\n");
    let started = std::time::Instant::now();
    let r = common::run_cli(Some(&fake), &["facts", &s]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains(&format!("  os: Debian {SHOWN}; apt, systemd\n")),
        "{}",
        r.out
    );
    only_colours(&r.out);
    only_colours(&r.err);
}
