//! `verify --tempest` against the fake host: what happens when Tempest cannot
//! run (no package, a v2.0 site, a bad flag), each said plainly, exit 1, no
//! secret shown. The real runs are in tests/e2e/tempest.rs.

use stackprov::fake::glance::FakeGlance;
use stackprov::fake::{FakeHost, SharedFake};
use std::path::Path;

mod common;

const SECRET: &str = "s3cret-admin-pass";

fn site(dir: &Path, release: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("site.yaml");
    std::fs::write(
        &p,
        format!(
            "site: t\nrelease: {release}\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    roles: [base, mariadb, keystone, glance, openrc]\n  - name: other\n    address: 10.251.0.3\n    roles: [base]\n"
        ),
    )
    .unwrap();
    let secrets = dir.join("site.secrets.yaml");
    std::fs::write(
        &secrets,
        format!("admin: \"{SECRET}\"\nadmin_token: \"the-admin-token-1\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.to_string_lossy().into_owned()
}

/// A converged fake Debian controller with Glance, and the site for it.
fn converged() -> (tempfile::TempDir, String, SharedFake) {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), "zed");
    let fake = SharedFake::new(FakeHost::debian_controller());
    let r = common::run_cli(Some(&fake), &["apply", &s, "-y", "--host", "controller"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    fake.lock().glance = Some(FakeGlance::default());
    (dir, s, fake)
}

#[test]
fn a_tempest_package_that_cannot_be_installed_fails_verify_and_says_so() {
    let (_dir, s, fake) = converged();
    let r = common::run_cli(
        Some(&fake),
        &["verify", &s, "--host", "controller", "--tempest"],
    );
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    // verify's own checks ran and passed first
    assert!(r.out.contains("ok   delete the image"), "{}", r.out);
    assert!(
        r.out
            .contains("controller: tempest\n  FAIL installing Tempest (tempest) failed (exit"),
        "{}",
        r.out
    );
    assert!(!r.out.contains(SECRET) && !r.err.contains(SECRET));

    let r = common::run_cli(
        Some(&fake),
        &[
            "--format",
            "json",
            "verify",
            &s,
            "--host",
            "controller",
            "--tempest",
        ],
    );
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["tempest"]["error"], "install", "{}", r.out);
    assert_eq!(v["tempest"]["host"], "controller");
    assert!(!r.out.contains(SECRET));
}

#[test]
fn tempest_is_not_run_when_verifys_own_checks_fail() {
    let (_dir, s, fake) = converged();
    fake.lock().services.get_mut("glance-api").unwrap().running = false;
    let r = common::run_cli(
        Some(&fake),
        &["verify", &s, "--host", "controller", "--tempest"],
    );
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.out.contains("FAIL create an image"), "{}", r.out);
    assert!(
        r.out.contains("FAIL not run: verify's own checks failed"),
        "{}",
        r.out
    );
}

#[test]
fn a_tempest_host_that_is_not_in_the_site_is_refused_with_a_hint() {
    let (_dir, s, fake) = converged();
    let r = common::run_cli(
        Some(&fake),
        &["verify", &s, "--tempest", "--tempest-host", "controler"],
    );
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(
        r.err.contains("no host `controler` in") && r.err.contains("did you mean `controller`?"),
        "{}",
        r.err
    );
}

#[test]
fn tempest_flags_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), "zed");
    let bin = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackprov"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = bin(&["verify", &s, "--tempest", "--tempest-concurrency", "0"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("0 is not in 1..=32"), "{err}");
    let (code, err) = bin(&["verify", &s, "--tempest-concurrency", "4"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--tempest"), "{err}");
}

#[test]
fn a_site_of_the_v2_era_is_told_how_to_run_tempest_instead() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), "icehouse");
    let centos7 = FakeHost::centos7_legacy_controller(SECRET, "the-admin-token-1");
    let fake = SharedFake::new(centos7);
    let r = common::run_cli(
        Some(&fake),
        &["verify", &s, "--host", "controller", "--tempest"],
    );
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.out.contains("ok   get a token"), "{}", r.out);
    assert!(
        r.out.contains("Tempest needs the v3 identity API; release icehouse uses v2.0 (vagrant/README.md says how to run Tempest by hand there)"),
        "{}",
        r.out
    );
    assert!(!r.out.contains(SECRET) && !r.err.contains(SECRET));
}
