//! OpenStack's own API tests on the converged controller: a keep-alive load
//! on Keystone and Glance with zero connection resets, then `verify --tempest`
//! twice in a row (human, then JSON), every test passing but the excluded
//! ones, with no secret in the output, the JSON, the host's process list or
//! Tempest's logs.

use crate::leaks::*;
use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// tests/assets/keepalive-load.py on the host against one port: its JSON line.
fn keepalive_load(url: &str, clients: u32, requests: u32) -> serde_json::Value {
    let script = std::fs::read(repo().join("tests/assets/keepalive-load.py")).unwrap();
    let text = on_host_with_stdin(&format!("python3 - {url} {clients} {requests}"), &script);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `cmd` run on the controller with `stdin`: its stdout.
fn on_host_with_stdin(cmd: &str, stdin: &[u8]) -> String {
    let mut child = Command::new(repo().join("scripts/testbed"))
        .args(["ssh", "controller", cmd])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Tempest's counts on the suite's OS, the same every run: passed and
/// skipped (none fails; one test is excluded, with its reason). Zed on
/// Debian 12 and 2025.1 on Debian 13 ship different Tempest plugins' tests.
fn expected_counts() -> (u64, u64) {
    match os().as_str() {
        "debian12" => (195, 10),
        "debian13" => (181, 14),
        other => panic!("no Tempest counts known for {other}"),
    }
}

/// Run on the converged controller of `site`; `secrets` are the ones it uses now.
pub fn tempest_passes_twice(site: &str, secrets: &[(String, String)]) {
    // a member and the admin create application credentials at once: each
    // request keeps its own token's roles (Debian's 32 uwsgi threads mixed
    // them up: a member's create refused for the admin's role)
    let script = std::fs::read(repo().join("tests/assets/appcred-race.py")).unwrap();
    on_host_with_stdin("cat > /tmp/appcred-race.py", &script);
    let admin = secrets.iter().find(|(k, _)| k == "admin").unwrap();
    let text = on_host_with_stdin(
        "python3 /tmp/appcred-race.py http://127.0.0.1:5000/v3 40",
        format!("{}\n", admin.1).as_bytes(),
    );
    let r: serde_json::Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    eprintln!("application credentials created concurrently: {r}");
    assert_eq!(r["member_refused"], 0, "{r}");
    assert_eq!(r["admin_refused"], 0, "{r}");
    assert_eq!(r["member_created"], 120, "{r}");

    // clients that keep connections alive, as keystoneauth does: before the
    // fix, 270 of 2,000 requests to Keystone were reset
    for url in ["http://127.0.0.1:5000/v3", "http://127.0.0.1:9292/"] {
        let r = keepalive_load(url, 4, 500);
        eprintln!("keep-alive load {url}: {r}");
        assert_eq!(r["resets"], 0, "{url}: {r}");
        assert_eq!(r["other_errors"], 0, "{url}: {r}");
        assert_eq!(r["ok"], 2000, "{url}: {r}");
    }

    // the first run installs Tempest; the process list is watched throughout
    let ((code, out, err, secs), seen) = watching_cmdlines("controller", "tempest run", || {
        stackprov(&["verify", site, "--tempest"])
    });
    eprintln!("{out}{err}");
    assert_eq!(code, 0, "verify --tempest: {out}{err}");
    let (passed, skipped) = expected_counts();
    let counts = format!("{passed} passed, 0 failed, {skipped} skipped, 1 excluded in ");
    assert!(out.contains(&counts), "expected {counts:?}: {out}");
    assert_none_of(
        secrets.to_vec(),
        "verify --tempest's output",
        &(out.clone() + &err),
    );
    assert_none_of(
        secrets.to_vec(),
        "the host's command lines and environments during Tempest",
        &seen,
    );
    eprintln!("verify --tempest (first run, with the install): {secs:.0}s");

    // a second run in a row passes too (no flaky resets), in JSON
    let (code, out, err, secs) = stackprov(&[
        "--format",
        "json",
        "verify",
        site,
        "--tempest",
        "--tempest-concurrency",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_none_of(
        secrets.to_vec(),
        "verify --tempest's JSON",
        &(out.clone() + &err),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = &v["tempest"];
    assert_eq!(v["ok"], true, "{t}");
    assert_eq!(t["failed"], 0, "{t}");
    assert_eq!(t["passed"], passed, "{t}");
    assert_eq!(t["skipped"], skipped, "{t}");
    let excluded = t["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1, "{excluded:?}");
    assert!(
        excluded
            .iter()
            .all(|e| e["reason"].as_str().unwrap().len() > 20)
    );
    eprintln!(
        "verify --tempest (second run): {} passed, {} failed, {} skipped, {} excluded, {:.0}s (stackprov {secs:.0}s)",
        t["passed"],
        t["failed"],
        t["skipped"],
        excluded.len(),
        t["seconds"].as_f64().unwrap()
    );

    // Tempest's workspace stays for the operator; only tempest.conf holds the
    // admin password, and it is the root's alone
    let ws = "/var/lib/stackprov/tempest";
    let mode = on_host(&format!("stat -c '%a %U' {ws}/etc/tempest.conf"));
    assert_eq!(mode.trim(), "600 root");
    let logs = on_host(&format!(
        "cat {ws}/tempest.log {ws}/logs/*.log {ws}/stackprov-run.log 2>/dev/null; true"
    ));
    assert!(logs.len() > 10_000, "Tempest's logs are missing");
    assert_none_of(secrets.to_vec(), "Tempest's logs on the host", &logs);

    // Tempest cleaned up after itself: the controller still matches the site
    let (code, out, _, _) = stackprov(&["plan", site, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}
