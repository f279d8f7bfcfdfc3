//! Snapshots of what operators read: the printed plan of a bare Debian
//! controller, and every file stackprov renders for it.

mod common;

use stackprov::fake::{FakeHost, SharedFake};

const SITE: &str = "site: snap\nrelease: zed\ncontroller: controller\npackage_proxy: http://10.251.0.1:3128\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    roles: [base, mariadb, keystone, glance, openrc]\noverrides:\n  /etc/keystone/keystone.conf:\n    DEFAULT:\n      debug: \"true\"\n";
const SECRETS: &str = "admin: \"admin-pass\"\nglance_db: \"glance-db-pass\"\nglance_user: \"glance-user-pass\"\nkeystone_db: \"keystone-db-pass\"\n";

fn run(_dir: &std::path::Path, fake: &SharedFake, args: &[&str]) -> (i32, String) {
    let r = common::run_cli(Some(fake), args);
    (r.code, r.out + &r.err)
}

fn setup() -> (tempfile::TempDir, String, SharedFake) {
    let (dir, site) = common::site_dir(SITE, SECRETS);
    (dir, site, SharedFake::new(FakeHost::debian_controller()))
}

#[test]
fn plan_of_a_bare_debian_controller() {
    let (dir, site, fake) = setup();
    let (code, out) = run(dir.path(), &fake, &["plan", &site, "--detailed-exitcode"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(out);
}

#[test]
fn plan_after_drift_shows_only_the_drift() {
    let (dir, site, fake) = setup();
    assert_eq!(run(dir.path(), &fake, &["apply", &site, "-y"]).0, 0);
    {
        let mut h = fake.lock();
        let conf = h
            .file_text("/etc/glance/glance-api.conf")
            .unwrap()
            .replace("flavor = keystone", "flavor = keystone+cachemanagement");
        h.add_file(
            "/etc/glance/glance-api.conf",
            &conf,
            "root",
            "glance",
            0o640,
        );
        h.services.get_mut("glance-api").unwrap().running = false;
        h.files.get_mut("/root/admin-openrc").unwrap().perms.mode = 0o644;
    }
    let (code, out) = run(dir.path(), &fake, &["plan", &site, "--detailed-exitcode"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(out);
}

#[test]
fn rendered_files_of_a_debian_controller() {
    let (dir, site, fake) = setup();
    assert_eq!(run(dir.path(), &fake, &["apply", &site, "-y"]).0, 0);
    let h = fake.lock();
    for path in [
        "/etc/apt/apt.conf.d/01proxy",
        "/etc/mysql/mariadb.conf.d/99-openstack.cnf",
        "/etc/keystone/keystone.conf",
        "/etc/glance/glance-api.conf",
        "/root/admin-openrc",
    ] {
        let f = &h.files[path];
        let text = format!(
            "# {}:{} {:04o}\n{}",
            f.perms.owner,
            f.perms.group,
            f.perms.mode,
            String::from_utf8_lossy(&f.content)
        );
        insta::assert_snapshot!(path.trim_start_matches('/').replace('/', "__"), text);
    }
}

#[test]
fn facts_of_a_bare_and_of_a_converged_controller() {
    let (dir, site, fake) = setup();
    let (code, bare) = run(dir.path(), &fake, &["facts", &site]);
    assert_eq!(code, 0, "{bare}");
    assert_eq!(run(dir.path(), &fake, &["apply", &site, "-y"]).0, 0);
    let (code, converged) = run(dir.path(), &fake, &["facts", &site]);
    assert_eq!(code, 0, "{converged}");
    insta::assert_snapshot!(format!("--- bare\n{bare}--- converged\n{converged}"));
}
