//! Fuzz-style properties of the site loader, on a fixed budget: whatever the
//! bytes, `Site::from_bytes` returns (no panic), every problem it reports has
//! a line and a column in the file, and what it prints holds no control
//! character but the hint's line break. A site it accepts has host names and
//! addresses that follow the documented rule (docs/site-file.md). Each case
//! is held to a bound of CPU time and memory (see [`CASE_CPU`]).
//!
//! The budget is `STACKPROV_FUZZ_CASES` cases per property (default 1000,
//! a few seconds in all); run longer with e.g.
//! `STACKPROV_FUZZ_CASES=200000 cargo test --release --test site_fuzz`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;
use std::time::Duration;

mod common;

/// Each case's bound: the default of `common/measure.rs`, 1 s of CPU time,
/// for inputs under 1 KiB (most load in microseconds; a valid site with
/// `overrides` renders every playbook, some 60 ms in a debug build); the
/// test process runs at some 11 MB, and 100 MB catches runaway memory.
const CASE_CPU: Duration = Duration::from_secs(1);
const CASE_RSS_KB: i64 = 100 * 1024;

fn config() -> Config {
    let cases = match std::env::var("STACKPROV_FUZZ_CASES") {
        Err(_) => 1000,
        // a budget of no case would pass without testing anything
        Ok(v) => match v.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => panic!("STACKPROV_FUZZ_CASES={v}: give a number of cases, at least 1"),
        },
    };
    Config {
        cases,
        // failures are printed with the input; no regression files in the tree
        failure_persistence: None,
        ..Config::default()
    }
}

const FILE: &str = "fuzz.yaml";

/// The property every input must satisfy.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let loaded = common::within("a fuzz case", CASE_CPU, CASE_RSS_KB, || {
        stackprov::desired::check::site_from_bytes(Path::new(FILE), bytes)
    });
    match loaded {
        Ok(site) => {
            prop_assert!(!site.hosts.is_empty());
            for name in site
                .hosts
                .iter()
                .flat_map(|h| [&h.name, &h.address])
                .chain([&site.controller])
            {
                prop_assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
                prop_assert!(!name.starts_with('-'), "{name:?}");
                prop_assert!(
                    name.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c)),
                    "{name:?}"
                );
                prop_assert!(
                    name.contains(':') || name.split('.').all(|l| !l.is_empty()),
                    "{name:?}"
                );
            }
        }
        Err(diags) => {
            prop_assert!(!diags.is_empty());
            for d in &diags {
                prop_assert!(d.line >= 1 && d.col >= 1, "no position: {d:?}");
                prop_assert_eq!(d.file.as_path(), Path::new(FILE));
                let shown = d.to_string();
                let prefix = format!("{FILE}:{}:{}: ", d.line, d.col);
                prop_assert!(shown.starts_with(&prefix), "{shown:?}");
                prop_assert!(
                    shown
                        .chars()
                        .all(|c| !c.is_control() || c == '\n' && shown.contains("\n  hint: ")),
                    "a control character reaches the terminal: {shown:?}"
                );
            }
        }
    }
    Ok(())
}

/// Pieces of YAML and of site files, hostile ones included.
const PIECES: &[&str] = &[
    "site",
    "release",
    "zed",
    "havana",
    "zedd",
    "controller",
    "hosts",
    "name",
    "address",
    "port",
    "user",
    "become",
    "roles",
    "overrides",
    "token_provider",
    "identity_api",
    "glance_registry",
    "region",
    "package_proxy",
    "secrets_file",
    "known_hosts",
    "host_key_policy",
    "identity_file",
    "base",
    "keystone",
    "mariadb",
    "/etc/keystone/keystone.conf",
    "DEFAULT",
    "192.0.2.1",
    "2001:db8::1",
    "[2001:db8::1]",
    "022",
    "+22",
    "\"22\"",
    "65536",
    "-",
    ".",
    "..",
    "-oProxyCommand",
    "Controller",
    "true",
    "false",
    "null",
    "~",
    ": ",
    ":",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "- ",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!t ",
    "!!str ",
    "|",
    ">",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\\",
    "\\e",
    "\\u202e",
    "\\0",
    "\0",
    "\u{feff}",
    "\u{1b}[2J",
    "\u{9b}",
    "\u{7f}",
    "\u{202e}",
    "\u{2028}",
    "é",
    "日本",
    "\u{10ffff}",
];

fn yamlish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(PIECES).prop_map(|s| s.as_bytes().to_vec()),
            1 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ],
        0..120,
    )
    .prop_map(|parts| parts.concat())
}

const VALID: &str = "site: s\nrelease: zed\ncontroller: ctl\nhosts:\n  - name: ctl\n    address: 192.0.2.10\n    port: 22\n    roles: [base, mariadb, keystone, glance, openrc]\n  - {name: db2, address: \"2001:db8::2\", user: ops, become: true}\noverrides:\n  /etc/keystone/keystone.conf:\n    DEFAULT: {debug: \"false\"}\n";

/// The valid site with a few bytes replaced, inserted or removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            0..VALID.len(),
            0u8..3,
            prop_oneof![
                any::<u8>(),
                prop::sample::select(&b":-{}[],\"'#&*!|>\n \t.\0"[..])
            ],
        ),
        1..6,
    )
    .prop_map(|edits| {
        let mut b = VALID.as_bytes().to_vec();
        for (at, op, byte) in edits {
            let at = at.min(b.len());
            match op {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                _ if at < b.len() => {
                    b.remove(at);
                }
                _ => b.push(byte),
            }
        }
        b
    })
}

#[test]
fn random_bytes_never_panic_and_every_error_has_a_position() {
    TestRunner::new(config())
        .run(&prop::collection::vec(any::<u8>(), 0..1024), |b| check(&b))
        .unwrap();
}

#[test]
fn yaml_like_text_never_panics_and_every_error_has_a_position() {
    TestRunner::new(config())
        .run(&yamlish(), |b| check(&b))
        .unwrap();
}

#[test]
fn a_mutated_valid_site_never_panics_and_every_error_has_a_position() {
    // the unmutated one is valid, so the mutations reach validation
    check(VALID.as_bytes()).unwrap();
    assert!(stackprov::desired::check::site_from_bytes(Path::new(FILE), VALID.as_bytes()).is_ok());
    TestRunner::new(config())
        .run(&mutated(), |b| check(&b))
        .unwrap();
}
