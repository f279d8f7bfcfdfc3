//! Hostile saved plans and facts files through the real binary (`apply
//! PLAN`, `plan --facts FILE`): read as the site file is, a regular file
//! opened without blocking, at most 64 MiB; each refusal pinned to its
//! message and held to the time and memory bound of `common/measure.rs`.
//! Nothing here connects: every file is refused before any host is asked.

#[path = "common/measure.rs"]
mod measure;
use measure::{check_limits, check_within};
use std::path::Path;
use std::time::Duration;

const SITE: &str = "site: t\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 192.0.2.2\n    roles: [base]\n";

fn dir_with_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.yaml"), SITE).unwrap();
    dir
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Refused with exit 1, nothing on stdout, this on stderr, cheaply.
fn refused(dir: &Path, args: &[&str], stderr: &str) {
    let run = measure::run_in(dir, args);
    assert_eq!(run.stderr, stderr, "{args:?}");
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{args:?}");
    check_limits(&args.join(" "), &run);
}

#[test]
fn facts_from_dev_zero_are_refused_without_reading_it() {
    // before: read until the kernel killed it (24 GB)
    let dir = dir_with_site();
    refused(
        dir.path(),
        &["plan", "site.yaml", "--facts", "/dev/zero"],
        "error: /dev/zero: cannot read: it is a character device, not a regular file; a saved facts file is a regular file that stackprov wrote\n",
    );
}

#[test]
fn a_plan_that_is_dev_zero_is_refused_without_reading_it() {
    let dir = dir_with_site();
    refused(
        dir.path(),
        &["apply", "/dev/zero", "--site", "site.yaml", "-y"],
        "error: /dev/zero: cannot read: it is a character device, not a regular file; a saved plan is a regular file that stackprov wrote\n",
    );
}

#[test]
fn a_fifo_plan_or_facts_file_is_refused_without_waiting_for_a_writer() {
    // before: hung until something wrote to the FIFO
    let dir = dir_with_site();
    mkfifo(&dir.path().join("plan.json"));
    mkfifo(&dir.path().join("facts.json"));
    refused(
        dir.path(),
        &["apply", "plan.json", "--site", "site.yaml", "-y"],
        "error: plan.json: cannot read: it is a FIFO (named pipe), not a regular file; a saved plan is a regular file that stackprov wrote\n",
    );
    refused(
        dir.path(),
        &["plan", "site.yaml", "--facts", "facts.json"],
        "error: facts.json: cannot read: it is a FIFO (named pipe), not a regular file; a saved facts file is a regular file that stackprov wrote\n",
    );
}

#[test]
fn a_100_mb_plan_or_facts_file_is_refused_from_its_size() {
    // before: read and parsed whole (212-348 MB of memory)
    let dir = dir_with_site();
    for name in ["plan.json", "facts.json"] {
        let f = std::fs::File::create(dir.path().join(name)).unwrap();
        f.set_len(100 * 1024 * 1024).unwrap(); // sparse: costs no disk
    }
    refused(
        dir.path(),
        &["apply", "plan.json", "--site", "site.yaml", "-y"],
        "error: plan.json: the file is 104857600 bytes; saved plans and facts are limited to 67108864 (64 MiB); is this the right file?\n",
    );
    refused(
        dir.path(),
        &["plan", "site.yaml", "--facts", "facts.json"],
        "error: facts.json: the file is 104857600 bytes; saved plans and facts are limited to 67108864 (64 MiB); is this the right file?\n",
    );
}

#[test]
fn a_plan_file_others_can_write_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    // before: accepted, and its operations sent to the hosts
    let dir = dir_with_site();
    let p = dir.path().join("plan.json");
    std::fs::write(&p, "{\"format\": 2}").unwrap();
    for (mode, says) in [(0o664, "0664"), (0o602, "0602")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        refused(
            dir.path(),
            &["apply", "plan.json", "-y"],
            &format!(
                "error: plan.json: its mode {says} lets others than you write it; apply runs what a plan says, so only you may write it: `chmod 600 plan.json` (and own it), or make the plan again\n"
            ),
        );
    }
}

/// A facts file of 1,000,000 packages (27 MB, under the 64 MiB cap) is
/// planned, within a bound of its own: it is read whole, and a package
/// parsed costs some 150 bytes. Before, each planned host's facts were
/// copied to resolve their secrets: 359 MB peak in a debug build (2.9 s of
/// CPU), now 209 MB (2.7 s); a release build, 349 MB before and 199 MB
/// now, in 0.4 s (`BENCH=sizes scripts/bench`).
#[test]
fn a_facts_file_of_a_million_packages_is_planned_within_its_bound() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("site.yaml"),
        "site: golden\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 192.0.2.2\n    roles: [base, mariadb, messaging, keystone, glance, openrc]\n",
    )
    .unwrap();
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/debian12.json"
    ))
    .unwrap();
    let mut packages = String::from("\"packages\": {");
    for i in 0..1_000_000 {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(packages, "{sep}\"pkg{i}\": \"1.0-{i}\"");
    }
    packages.push('}');
    let facts = golden.replacen("\"packages\": {}", &packages, 1);
    assert!(facts.len() > 20_000_000, "{}", facts.len());
    std::fs::write(dir.path().join("facts.json"), facts).unwrap();
    let run = measure::run_in(dir.path(), &["plan", "site.yaml", "--facts", "facts.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("\nPlan: 27 to create, 4 to update, 12 to run, on 1 host(s).\n"),
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(300)..]
    );
    check_within("1M packages", &run, Duration::from_secs(5), 256 * 1024);
}

/// A plan of 20,000 hosts, each in the site: each host was compared with
/// those before it and looked for among the site's (30k: 3.9 s of CPU in a
/// release build); now refused within the default bound, for the facts it
/// lacks.
#[test]
fn a_plan_of_20k_hosts_is_checked_in_linear_time() {
    use std::fmt::Write as _;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (mut site, mut hosts) = (
        String::from("site: t\nrelease: zed\ncontroller: c\nhosts:\n"),
        Vec::new(),
    );
    for i in 0..20_000 {
        let _ = writeln!(
            site,
            "  - {{name: h{i}, address: 198.18.{}.{}}}",
            i / 250,
            i % 250 + 1
        );
        hosts.push(format!(
            r#"{{"host": "h{i}", "facts_digest": "", "changes": []}}"#
        ));
    }
    std::fs::write(dir.path().join("site.yaml"), site).unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        format!(
            r#"{{"format": 2, "site": "t", "site_file": "site.yaml", "release": "zed", "hosts": [{}], "facts": {{}}}}"#,
            hosts.join(", ")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plan, std::fs::Permissions::from_mode(0o600)).unwrap();
    refused(
        dir.path(),
        &["apply", "plan.json", "--site", "site.yaml", "-y"],
        "error: plan.json: the plan holds no facts for host `h0`; make the plan again: `stackprov plan site.yaml --out plan.json`\n",
    );
}
