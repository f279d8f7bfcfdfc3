//! vagrant/: the Vagrantfile is valid Ruby, and both site files validate and
//! plan offline against the recorded facts of the same OS (tests/golden).

mod common;

use std::path::Path;
use std::process::Command;

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/vagrant"))
}

/// `ruby -c`; on a fresh Debian machine (CI runs as root) ruby is installed first.
#[test]
#[ignore = "needs ruby (or root to apt-get install it): scripts/test runs it"]
fn the_vagrantfile_parses() {
    let has_ruby = || Command::new("ruby").arg("--version").output().is_ok();
    if !has_ruby() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        assert!(
            root,
            "ruby is missing and only root can install it (apt-get install ruby)"
        );
        let ok = Command::new("sh")
            .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ruby >/dev/null"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok && has_ruby(), "could not install ruby with apt-get");
    }
    let out = Command::new("ruby")
        .arg("-c")
        .arg(dir().join("Vagrantfile"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Syntax OK");
    let text = std::fs::read_to_string(dir().join("Vagrantfile")).unwrap();
    for needed in [
        "centos/7",
        "rockylinux/9",
        "\"libvirt\"",
        "\"virtualbox\"",
        "192.168.56.10",
        "192.168.56.11",
    ] {
        assert!(text.contains(needed), "Vagrantfile lacks {needed}");
    }
}

fn plan_offline(site_file: &str, facts: &str) -> (i32, String) {
    use std::os::unix::fs::PermissionsExt;
    // a copy, so that the generated secrets and the key stay out of the repository
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(dir().join(site_file), tmp.path().join(site_file)).unwrap();
    std::fs::write(tmp.path().join("id_stackprov"), "not a key\n").unwrap();
    std::fs::set_permissions(
        tmp.path().join("id_stackprov"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let site = tmp.path().join(site_file);
    let facts = format!("{}/tests/golden/{facts}", env!("CARGO_MANIFEST_DIR"));
    let r = common::run_cli(None, &["plan", site.to_str().unwrap(), "--facts", &facts]);
    (r.code, r.out + &r.err)
}

#[test]
fn the_legacy_site_plans_the_guides_steps_on_centos7() {
    let (code, out) = plan_offline("legacy.yaml", "centos7.json");
    assert_eq!(code, 0, "{out}");
    for step in [
        "command:keystone pki_setup",
        "keystone_endpoints:identity/RegionOne",
        "service:openstack-glance-registry",
        "bind-address = 192.168.56.10",
    ] {
        assert!(out.contains(step), "`{step}` missing in:\n{out}");
    }
}

#[test]
fn the_modern_site_plans_fernet_and_v3_on_rocky9() {
    let (code, out) = plan_offline("modern.yaml", "rocky9.json");
    assert_eq!(code, 0, "{out}");
    for step in [
        "command:keystone fernet_setup",
        "command:keystone httpd vhost",
        "keystone_endpoint:identity/public/RegionOne",
    ] {
        assert!(out.contains(step), "`{step}` missing in:\n{out}");
    }
    assert!(!out.contains("pki_setup"), "{out}");
}
