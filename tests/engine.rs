//! The engine against the fake host: convergence, plan = apply, recovery from
//! failures and killed runs. (The real host is in tests/e2e.rs.)

use stackprov::fake::{FakeHost, SharedFake};
use std::path::{Path, PathBuf};

mod common;
use common::Run;

fn site_file(dir: &Path, roles: &str) -> PathBuf {
    let p = dir.join("site.yaml");
    std::fs::write(
        &p,
        format!(
            "site: t\nrelease: zed\ncontroller: controller\npackage_proxy: http://10.0.0.1:3128\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    roles: [{roles}]\n"
        ),
    )
    .unwrap();
    p
}

fn run(fake: &SharedFake, args: &[&str]) -> Run {
    common::run_cli(Some(fake), args)
}

const ALL: &str = "base, mariadb, keystone, glance, openrc";

#[test]
fn apply_converges_and_a_second_apply_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());

    let plan = run(&fake, &["plan", s, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}{}", plan.out, plan.err);
    // the roles' packages in one transaction, with the first install
    assert!(
        plan.out.contains("+ packages:chrony ") && plan.out.contains("with later resources' mariadb-server python3-pymysql memcached keystone glance (one package transaction for the host)"),
        "{}",
        plan.out
    );

    let first = run(&fake, &["apply", s, "-y"]);
    assert_eq!(first.code, 0, "{}{}", first.out, first.err);
    assert!(first.out.contains("controller : ok="), "{}", first.out);
    assert!(!first.out.contains("changed=0"), "{}", first.out);

    let second = run(&fake, &["apply", s, "-y"]);
    assert_eq!(second.code, 0, "{}{}", second.out, second.err);
    assert!(second.out.contains("No changes."), "{}", second.out);
    assert!(second.out.contains("changed=0 failed=0"), "{}", second.out);
    let again = run(&fake, &["plan", s, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.out);

    let h = fake.lock();
    let conf = h.file_text("/etc/keystone/keystone.conf").unwrap();
    assert!(conf.contains("provider = fernet"));
    assert_eq!(h.files["/root/admin-openrc"].perms.mode, 0o600);
    assert!(h.grants.contains("glance@%@glance"));
}

#[test]
fn apply_runs_exactly_the_planned_operations() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let plan = run(&fake, &["--format", "json", "plan", s]);
    let v: serde_json::Value = serde_json::from_str(&plan.out).unwrap();
    let mut expected = Vec::new();
    let mut api_calls = Vec::new();
    for c in v["plan"]["hosts"][0]["changes"].as_array().unwrap() {
        for op in c["ops"].as_array().unwrap() {
            match op["op"].as_str().unwrap() {
                "exec" => expected.push(op["script"].as_str().unwrap().to_string()),
                // API calls leave no host log; their effect is checked below
                "keystone" => api_calls.push(op["call"].as_str().unwrap().to_string()),
                // a read-only look at who holds the package manager's lock
                "lock_holder" => expected.push(stackprov::host_commands::lock_holder(
                    op["path"].as_str().unwrap(),
                )),
                _ => expected.push(format!("write {}", op["path"].as_str().unwrap())),
            }
        }
    }
    assert!(expected.len() > 20, "{expected:?}");
    fake.lock().log.clear();
    let r = run(&fake, &["apply", s, "-y"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let h = fake.lock();
    assert_eq!(h.log, expected);
    assert!(
        api_calls.contains(&"create_endpoint".to_string()),
        "{api_calls:?}"
    );
    let k = h.keystone.as_ref().unwrap();
    assert!(
        k.assignments
            .contains(&("glance".into(), "service".into(), "admin".into()))
    );
    assert_eq!(k.endpoints.values().filter(|e| e.0 == "image").count(), 3);
    // users that bootstrap made are not touched: a password change revokes tokens
    assert_eq!(k.password_changes, 0);
    // one admin login (after the wait) serves all the calls; the others are the
    // wait's own and the checks of existing users' passwords
    let calls = api_calls.iter().filter(|c| *c != "wait").count();
    assert!(calls > 10, "{api_calls:?}");
    assert!(
        k.logins <= 3,
        "{} logins for {calls} calls: {api_calls:?}",
        k.logins
    );
}

#[test]
fn a_run_that_fails_half_way_converges_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    fake.lock().fail_once = Some("keystone-manage db_sync".into());
    let first = run(&fake, &["apply", s, "-y"]);
    assert_eq!(first.code, 1, "{}{}", first.out, first.err);
    assert!(first.out.contains("failed=1"), "{}", first.out);
    assert!(first.out.contains("failed command:keystone db_sync: cd / && su -s /bin/sh -c 'keystone-manage db_sync' keystone (exit 100)"), "{}", first.out);
    assert!(
        first.out.contains("| E: simulated failure"),
        "{}",
        first.out
    );
    assert!(
        !fake
            .lock()
            .log
            .iter()
            .any(|l| l.contains("glance-manage db_sync")),
        "the host stopped at the failure"
    );

    let second = run(&fake, &["apply", s, "-y"]);
    assert_eq!(second.code, 0, "{}{}", second.out, second.err);
    let third = run(&fake, &["plan", s, "--detailed-exitcode"]);
    assert_eq!(third.code, 0, "{}", third.out);
}

#[test]
fn a_run_killed_after_a_config_write_restarts_the_service_exactly_once_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    fake.lock().die_after_write = Some("/etc/keystone/keystone.conf".into());
    let killed = run(&fake, &["apply", s, "-y"]);
    assert_eq!(killed.code, 4, "{}{}", killed.out, killed.err);
    {
        let mut h = fake.lock();
        assert_eq!(h.services["keystone"].restarts, 0);
        assert_eq!(
            h.file_text("/var/lib/stackprov/pending-restarts")
                .as_deref(),
            Some("keystone\n")
        );
        h.die_after = None;
        h.die_after_write = None;
    }
    let plan = run(&fake, &["plan", s]);
    assert!(
        plan.out
            .contains("restart left pending by an interrupted run"),
        "{}",
        plan.out
    );
    let second = run(&fake, &["apply", s, "-y"]);
    assert_eq!(second.code, 0, "{}{}", second.out, second.err);
    assert_eq!(fake.lock().services["keystone"].restarts, 1);
    let third = run(&fake, &["apply", s, "-y"]);
    assert_eq!(third.code, 0);
    assert_eq!(fake.lock().services["keystone"].restarts, 1);
    assert_eq!(
        fake.lock()
            .file_text("/var/lib/stackprov/pending-restarts")
            .as_deref(),
        Some("")
    );
}

#[test]
fn secrets_never_show_in_output_and_travel_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let plan_path = dir.path().join("plan.json");
    let plan = run(&fake, &["plan", s, "--out", plan_path.to_str().unwrap()]);
    let json = run(&fake, &["--format", "json", "apply", s, "-y"]);
    let secrets = std::fs::read_to_string(dir.path().join("site.secrets.yaml")).unwrap();
    let values: Vec<String> = secrets
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(": "))
        .map(|(_, v)| v.trim_matches('"').to_string())
        .collect();
    assert_eq!(values.len(), 4, "{secrets}");
    let saved_plan = std::fs::read_to_string(&plan_path).unwrap();
    let h = fake.lock();
    for v in &values {
        for (what, text) in [
            ("plan", &plan.out),
            ("plan stderr", &plan.err),
            ("json", &json.out),
            ("saved plan", &saved_plan),
        ] {
            assert!(
                !text.contains(v.as_str()),
                "a secret leaked into the {what}"
            );
        }
        assert!(
            h.log.iter().all(|script| !script.contains(v.as_str())),
            "a secret reached a command line"
        );
        assert!(
            h.stdins.iter().any(|i| i.contains(v.as_str()))
                || h.files
                    .values()
                    .any(|f| String::from_utf8_lossy(&f.content).contains(v.as_str()))
        );
    }
    assert!(
        plan.out
            .contains("connection = mysql+pymysql://keystone:********@controller/keystone"),
        "{}",
        plan.out
    );
}

#[test]
fn a_saved_plan_applies_only_while_the_host_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), "base");
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let p = dir.path().join("plan.json");
    let ps = p.to_str().unwrap();
    assert_eq!(run(&fake, &["plan", s, "--out", ps]).code, 0);
    fake.lock().add_file(
        "/etc/apt/apt.conf.d/01proxy",
        "changed behind our back\n",
        "root",
        "root",
        0o644,
    );
    let stale = run(&fake, &["apply", ps, "-y"]);
    assert_eq!(stale.code, 1);
    assert!(stale.err.contains("has changed since"), "{}", stale.err);
    assert_eq!(run(&fake, &["plan", s, "--out", ps]).code, 0);
    let ok = run(&fake, &["apply", ps, "-y"]);
    assert_eq!(ok.code, 0, "{}{}", ok.out, ok.err);
    assert_eq!(run(&fake, &["plan", s, "--detailed-exitcode"]).code, 0);
}

#[test]
fn apply_without_a_terminal_and_without_yes_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), "base");
    let fake = SharedFake::new(FakeHost::debian_controller());
    let r = run(&fake, &["apply", site.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("pass -y"), "{}", r.err);
    assert!(fake.lock().log.is_empty(), "nothing ran");
}

#[test]
fn saved_facts_plan_offline_without_secrets_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    assert_eq!(run(&fake, &["apply", s, "-y"]).code, 0);
    fake.lock().add_file(
        "/etc/keystone/keystone.conf",
        "[DEFAULT]\nedited = by hand\n",
        "root",
        "keystone",
        0o640,
    );
    let facts = dir.path().join("facts.json");
    let f = facts.to_str().unwrap();
    let saved = run(&fake, &["facts", s, "--save", f]);
    assert_eq!(saved.code, 0, "{}", saved.err);
    let text = std::fs::read_to_string(&facts).unwrap();
    let secrets = std::fs::read_to_string(dir.path().join("site.secrets.yaml")).unwrap();
    for v in secrets
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(": "))
        .map(|(_, v)| v.trim_matches('"'))
    {
        assert!(!text.contains(v), "a secret is in the saved facts");
    }
    assert!(
        text.contains("((secret:glance_db))"),
        "placeholders stand in for secrets"
    );
    let live = run(&fake, &["plan", s]);
    let rounds = fake.lock().stats.round_trips;
    // offline: no host contact, same plan
    let offline = run(&fake, &["plan", s, "--facts", f]);
    assert_eq!(fake.lock().stats.round_trips, rounds);
    assert_eq!(offline.out, live.out);
    assert!(offline.out.contains("-edited = by hand"), "{}", offline.out);
}

/// A converged fake controller whose public image endpoint someone moved by hand.
fn converged_with_image_endpoint_moved(site: &str) -> SharedFake {
    let fake = SharedFake::new(FakeHost::debian_controller());
    assert_eq!(run(&fake, &["apply", site, "-y"]).code, 0);
    let mut h = fake.lock();
    let ep = h
        .keystone
        .as_mut()
        .unwrap()
        .endpoints
        .values_mut()
        .find(|e| e.0 == "image" && e.1 == "public")
        .unwrap();
    ep.3 = "http://elsewhere:9292".into();
    drop(h);
    fake
}

#[test]
fn catalog_drift_is_found_and_fixed_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = converged_with_image_endpoint_moved(s);
    {
        let mut h = fake.lock();
        let k = h.keystone.as_mut().unwrap();
        k.assignments
            .remove(&("glance".into(), "service".into(), "admin".into()));
        k.users.insert("glance".into(), "changed by hand".into());
    }
    let plan = run(&fake, &["plan", s, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    let changes: Vec<&str> = plan.out.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(
        changes,
        vec![
            "  ~ keystone_user:glance                      logging in with the password from the secrets file failed",
            "  + keystone_assignment:glance/service/admin  not assigned",
            "  ~ keystone_endpoint:image/public/RegionOne  url http://elsewhere:9292 → http://controller:9292",
        ],
        "{}",
        plan.out
    );
    assert_eq!(run(&fake, &["apply", s, "-y"]).code, 0);
    assert_eq!(run(&fake, &["plan", s, "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_database_password_no_encoding_can_carry_is_refused_before_anything_runs() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let secrets = dir.path().join("site.secrets.yaml");
    std::fs::write(&secrets, "keystone_db: \"50%off@night\"\n").unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let expected = format!(
        "{}: secret `keystone_db` contains `%`, but it goes into a database URL in /etc/keystone/keystone.conf that OpenStack's db_sync (alembic, through Python's configparser) cannot read with `%` or `@` in any encoding; choose a value without `%` and `@` (quotes, `$`, `#`, `/`, `:`, `;` and spaces are fine)\n",
        secrets.display()
    );
    let v = run(&fake, &["validate", s]);
    assert_eq!((v.code, v.err.as_str()), (1, expected.as_str()));
    let a = run(&fake, &["apply", s, "-y"]);
    assert_eq!(a.code, 1);
    assert_eq!(a.err, format!("error: {expected}"));
    assert!(fake.lock().log.is_empty(), "nothing ran");
}

/// The guide's catalog through the v2.0 admin API (fake Keystone with an admin
/// token on :35357): plan, apply exactly the plan, and a second plan is empty;
/// a changed endpoint URL is replaced; a wrong admin token is reported.
#[test]
fn v2_catalog_converges_and_corrects_drift() {
    use stackprov::desired::resource::{
        KeystoneApiSpec, KeystoneAssignmentSpec, KeystoneEndpointsSpec, KeystoneProjectSpec,
        KeystoneRoleSpec, KeystoneServiceSpec, KeystoneUserSpec, Kind, Resource,
    };
    use stackprov::fake::FakeService;
    use stackprov::fake::keystone::FakeKeystone;
    use stackprov::plan::catalog::Admin;
    use stackprov::secrets::SecretStore;

    let mut host = FakeHost::debian();
    host.keystone = Some(FakeKeystone {
        admin_token: Some("the-admin-token".into()),
        ..Default::default()
    });
    host.services.insert(
        "openstack-keystone".into(),
        FakeService {
            enabled: true,
            running: true,
            ..Default::default()
        },
    );
    let fake = SharedFake::new(host);
    let r = |kind: Kind| Resource {
        role: "keystone".into(),
        source: "test".into(),
        kind,
        package_source: false,
    };
    let resources = vec![
        r(Kind::KeystoneApi(KeystoneApiSpec {
            admin: Admin {
                port: 35357,
                user: String::new(),
                project: String::new(),
                password: String::new(),
                token: Some("admin_token".into()),
            },
        })),
        r(Kind::KeystoneProject(KeystoneProjectSpec {
            name: "admin".into(),
            description: "Admin Tenant".into(),
        })),
        r(Kind::KeystoneProject(KeystoneProjectSpec {
            name: "service".into(),
            description: "Service Tenant".into(),
        })),
        r(Kind::KeystoneUser(KeystoneUserSpec {
            name: "admin".into(),
            password: "admin".into(),
        })),
        r(Kind::KeystoneRole(KeystoneRoleSpec {
            name: "admin".into(),
        })),
        r(Kind::KeystoneAssignment(KeystoneAssignmentSpec {
            user: "admin".into(),
            project: "admin".into(),
            role: "admin".into(),
        })),
        r(Kind::KeystoneService(KeystoneServiceSpec {
            name: "keystone".into(),
            service_type: "identity".into(),
            description: "OpenStack Identity".into(),
        })),
        r(Kind::KeystoneEndpoints(KeystoneEndpointsSpec {
            service_type: "identity".into(),
            region: "RegionOne".into(),
            publicurl: "http://controller:5000/v2.0".into(),
            internalurl: "http://controller:5000/v2.0".into(),
            adminurl: "http://controller:35357/v2.0".into(),
        })),
    ];
    let secrets = SecretStore::from_values([
        ("admin_token".to_string(), "the-admin-token".to_string()),
        ("admin".to_string(), "admin-pass".to_string()),
    ]);
    let masker = secrets.masker();
    let os = stackprov::facts::parse_os(
        "ID=centos\nVERSION_ID=6.10\nPRETTY_NAME=CentOS\nSTACKPROV_INIT=sysv\n",
    )
    .unwrap();
    let plan = |t: &mut SharedFake| {
        let f = stackprov::pipeline::gather(t, &os, &resources, &secrets).unwrap();
        stackprov::pipeline::plan("controller", &resources, &f, &secrets, &masker, None).unwrap()
    };
    let apply = |t: &mut SharedFake, p: &stackprov::plan::HostPlan| {
        let o = stackprov::apply::apply_host(
            t,
            p,
            &secrets,
            &masker,
            &Default::default(),
            &|_| Ok(()),
            &mut |_| {},
        );
        assert!(o.failure.is_none(), "{:?}", o.failure);
    };

    let mut t = fake.clone();
    let first = plan(&mut t);
    let ids: Vec<&str> = first.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "keystone_project:admin",
            "keystone_project:service",
            "keystone_user:admin",
            "keystone_role:admin",
            "keystone_assignment:admin/admin/admin",
            "keystone_service:identity",
            "keystone_endpoints:identity/RegionOne"
        ]
    );
    apply(&mut t, &first);
    assert!(plan(&mut t).changes.is_empty());
    {
        let h = fake.lock();
        let k = h.keystone.as_ref().unwrap();
        assert_eq!(k.users["admin"], "admin-pass");
        assert!(
            k.assignments
                .contains(&("admin".into(), "admin".into(), "admin".into()))
        );
        let ep = k.endpoints_v2.values().next().unwrap();
        assert_eq!(ep.4, "http://controller:35357/v2.0");
    }

    // drift: someone points the admin URL elsewhere; the record is replaced
    {
        let mut h = fake.lock();
        let k = h.keystone.as_mut().unwrap();
        let ep = k.endpoints_v2.values_mut().next().unwrap();
        ep.4 = "http://old:35357/v2.0".into();
    }
    let drift = plan(&mut t);
    assert_eq!(drift.changes.len(), 1, "{:?}", drift.changes);
    assert!(
        drift.changes[0]
            .reason
            .contains("adminurl http://old:35357/v2.0"),
        "{}",
        drift.changes[0].reason
    );
    apply(&mut t, &drift);
    assert!(plan(&mut t).changes.is_empty());
    assert_eq!(fake.lock().keystone.as_ref().unwrap().endpoints_v2.len(), 1);

    // a wrong admin token: the catalog is unavailable and says why
    fake.lock().keystone.as_mut().unwrap().admin_token = Some("rotated".into());
    let f = stackprov::pipeline::gather(&mut t, &os, &resources, &secrets).unwrap();
    let why = f.catalog.unwrap().unavailable.unwrap();
    assert!(why.contains("refuses the admin token"), "{why}");
}

#[test]
fn secrets_the_secrets_file_no_longer_knows_are_masked_too() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    assert_eq!(run(&fake, &["apply", s, "-y"]).code, 0);
    // the operator loses the secrets file: new values are generated
    let old = std::fs::read_to_string(dir.path().join("site.secrets.yaml")).unwrap();
    std::fs::remove_file(dir.path().join("site.secrets.yaml")).unwrap();
    let facts = dir.path().join("facts.json");
    let plan = run(&fake, &["plan", s]);
    let json = run(&fake, &["--format", "json", "plan", s]);
    assert_eq!(
        run(&fake, &["facts", s, "--save", facts.to_str().unwrap()]).code,
        0
    );
    let saved = std::fs::read_to_string(&facts).unwrap();
    for v in old
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(": "))
        .map(|(_, v)| v.trim_matches('"'))
    {
        assert!(
            !plan.out.contains(v),
            "an old secret shows in the plan:\n{}",
            plan.out
        );
        assert!(
            !json.out.contains(v),
            "an old secret shows in the JSON plan"
        );
        assert!(!saved.contains(v), "an old secret is in the saved facts");
    }
    assert!(
        plan.out
            .contains("(only secret values differ; they are not shown)"),
        "{}",
        plan.out
    );
    assert!(
        plan.out
            .contains("Keystone refuses the password of `admin`"),
        "{}",
        plan.out
    );
}

fn secrets_file(dir: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("site.secrets.yaml");
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn verify_gets_a_token_lists_users_and_round_trips_an_image() {
    use stackprov::fake::glance::FakeGlance;
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    assert_eq!(run(&fake, &["apply", s, "-y"]).code, 0);
    fake.lock().glance = Some(FakeGlance::default());

    let r = run(&fake, &["verify", s]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    for check in [
        "get a token",
        "list users",
        "create an image",
        "upload a qcow2 image",
        "image becomes active",
        "list images",
        "delete the image",
    ] {
        assert!(
            r.out.contains(&format!("ok   {check}")),
            "{check}: {}",
            r.out
        );
    }
    assert!(r.out.contains("2 user(s): admin, glance"), "{}", r.out);
    {
        let h = fake.lock();
        let g = h.glance.as_ref().unwrap();
        assert_eq!((g.created, g.deleted, g.images.len()), (1, 1, 0));
    }

    // Glance down: verify fails, and says which check and why.
    fake.lock().services.get_mut("glance-api").unwrap().running = false;
    let r = run(&fake, &["verify", s]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.out.contains("ok   list users"), "{}", r.out);
    assert!(r.out.contains("FAIL create an image"), "{}", r.out);
    assert!(
        r.out.contains("connection refused on 127.0.0.1:9292"),
        "{}",
        r.out
    );
}

#[test]
fn verify_speaks_identity_v2_on_a_site_of_the_guides_era() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.yaml");
    std::fs::write(&p, "site: old\nrelease: icehouse\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    roles: [base, mariadb, keystone, glance, openrc]\n").unwrap();
    secrets_file(
        dir.path(),
        "admin: \"admin-pass\"\nadmin_token: \"the-admin-token\"\n",
    );
    // a CentOS 7 controller of the guide's era, its catalog made with the admin token
    let centos7 = FakeHost::centos7_legacy_controller("admin-pass", "the-admin-token");
    let fake = SharedFake::new(centos7);
    let r = run(&fake, &["verify", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("ok   get a token"), "{}", r.out);
    assert!(r.out.contains("2 user(s): admin, glance"), "{}", r.out);
    assert!(r.out.contains("ok   delete the image"), "{}", r.out);
    assert!(!r.out.contains("admin-pass") && !r.err.contains("admin-pass"));

    // a wrong admin password in the secrets file: the token check fails and says so
    secrets_file(
        dir.path(),
        "admin: \"not-it\"\nadmin_token: \"the-admin-token\"\n",
    );
    let r = run(&fake, &["verify", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains("Keystone refuses the password of `admin` in tenant `admin`"),
        "{}",
        r.out
    );
}

#[test]
fn on_a_terminal_apply_shows_what_runs_now_and_leaves_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let tty = stackprov::render::Style {
        color: false,
        live: true,
        width: 60,
        verbose: false,
    };
    let live_run = common::run_cli_styled(
        Some(&SharedFake::new(FakeHost::debian_controller())),
        &["apply", s, "-y"],
        tty,
    );
    assert_eq!(live_run.code, 0, "{}{}", live_run.out, live_run.err);
    let plain = run(
        &SharedFake::new(FakeHost::debian_controller()),
        &["apply", s, "-y"],
    );

    // A status line for the first change, before its finished line.
    let clear = "\r\x1b[2K";
    let first_status = format!("{clear}controller: + file:/etc/apt/apt.conf.d/01proxy 0s");
    assert!(live_run.out.contains(&first_status), "{:?}", live_run.out);
    // The status line never wraps (60 columns here), and is cleared before the recap.
    // (what follows a clear is a status line unless a newline ends it: a finished line)
    let statuses: Vec<&str> = live_run
        .out
        .split(clear)
        .skip(1)
        .filter(|seg| !seg.contains('\n'))
        .collect();
    assert!(statuses.len() > 20, "{statuses:?}");
    for status in &statuses {
        assert!(status.chars().count() <= 59, "{status:?}");
    }
    assert!(
        statuses.iter().any(|s| s.chars().count() == 59),
        "a long one is clipped at the width: {statuses:?}"
    );
    // Nothing of it is left above the recap, and an unchanged status is not redrawn.
    let before_recap = &live_run.out[..live_run.out.find("\nRECAP").unwrap()];
    let last_line = before_recap.rsplit('\n').next().unwrap();
    assert_eq!(last_line.rsplit(clear).next(), Some(""), "{last_line:?}");
    assert_eq!(
        live_run.out.matches(&first_status).count(),
        1,
        "{:?}",
        live_run.out
    );

    // What stays on screen is what a pipe gets, timings aside.
    let settle = |s: &str| -> Vec<String> {
        let mut screen: Vec<String> = Vec::new();
        for line in s.split('\n') {
            // a cleared status line leaves only what follows its last clear
            let shown = line.rsplit(clear).next().unwrap_or("");
            screen.push(shown.split(" (").next().unwrap().to_string());
        }
        screen
    };
    assert_eq!(settle(&live_run.out), settle(&plain.out));
}

#[test]
fn a_failing_or_unreachable_host_stops_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        format!(
            "site: t\nrelease: zed\ncontroller: controller\nhosts:\n\
             - name: controller\n  address: 10.251.0.2\n  roles: [{ALL}]\n\
             - name: db2\n  address: 10.251.0.3\n  roles: [base]\n\
             - name: gone\n  address: 10.251.0.4\n  roles: [base]\n"
        ),
    )
    .unwrap();
    let s = site.to_str().unwrap();
    let controller = SharedFake::new(FakeHost::debian_controller());
    let db2 = SharedFake::new(FakeHost::debian_controller());
    db2.lock().fail_once = Some("chrony".into());
    let hosts = [("controller", &controller), ("db2", &db2)];

    let r = common::run_cli_hosts(&hosts, &["apply", s, "-y"]);
    assert_eq!(r.code, 4, "unreachable wins: {}{}", r.out, r.err);
    let recap = |host: &str| {
        r.out
            .lines()
            .find(|l| l.starts_with(&format!("{host} ")) && l.contains("ok="))
            .unwrap_or_else(|| panic!("no recap for {host}: {}", r.out))
            .to_string()
    };
    assert!(recap("controller").contains("failed=0"), "{}", r.out);
    assert!(!recap("controller").contains("changed=0"), "{}", r.out);
    assert!(recap("db2").contains("failed=1"), "{}", r.out);
    assert!(recap("gone").contains("unreachable"), "{}", r.out);
    // the failure names host, resource, command, exit status and stderr's tail
    assert!(r.out.contains("db2: failed packages:chrony"), "{}", r.out);
    assert!(r.out.contains("(exit 100)"), "{}", r.out);
    assert!(r.out.contains("| E: simulated failure"), "{}", r.out);
    // db2 stopped at its failure; the controller went on to the end
    assert!(!db2.lock().packages.contains("chrony"));
    assert!(controller.lock().packages.contains("glance"));

    // --host narrows a run to one host: the others are not even connected to
    // (`gone` would make the exit code 4)
    let only = common::run_cli_hosts(&hosts, &["plan", s, "--host", "db2", "--detailed-exitcode"]);
    assert_eq!(only.code, 2, "{}{}", only.out, only.err);
    assert!(only.out.starts_with("db2\n"), "{}", only.out);
    assert!(!only.out.contains("controller\n"), "{}", only.out);
    let typo = common::run_cli_hosts(&hosts, &["apply", s, "--host", "db", "-y"]);
    assert_eq!(typo.code, 1);
    assert!(typo.err.contains("did you mean `db2`?"), "{}", typo.err);
    let controller_log = controller.lock().log.len();
    let fixed = common::run_cli_hosts(&hosts, &["apply", s, "--host", "db2", "-y"]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.out, fixed.err);
    assert!(
        fixed.out.contains("db2 : ok=2 changed=2 failed=0"),
        "{}",
        fixed.out
    );
    assert_eq!(
        controller.lock().log.len(),
        controller_log,
        "the controller was left alone"
    );

    // Run again, all hosts: the controller has nothing left to do.
    let again = common::run_cli_hosts(&hosts, &["apply", s, "-y"]);
    assert_eq!(again.code, 4, "{}", again.out);
    let line = again
        .out
        .lines()
        .find(|l| l.starts_with("controller ") && l.contains("ok="))
        .unwrap();
    assert!(line.contains("changed=0"), "{}", again.out);
    assert!(db2.lock().packages.contains("chrony"));
}

#[test]
fn ctrl_c_lets_the_running_step_finish_starts_no_other_and_the_next_run_finishes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let flag = Arc::new(AtomicBool::new(false));
    fake.lock().interrupt_during = Some(("keystone-manage db_sync".into(), flag.clone()));

    let r = common::run_cli_interruptible(&fake, &["apply", s, "-y"], &flag);
    assert!(flag.load(Ordering::SeqCst));
    assert_eq!(r.code, 130, "{}{}", r.out, r.err);
    // the step that was running finished; nothing after it started
    assert!(
        r.out.contains("controller: ! command:keystone db_sync ("),
        "{}",
        r.out
    );
    assert!(
        !r.out.contains("command:keystone fernet_setup ("),
        "{}",
        r.out
    );
    assert!(
        !fake.lock().log.iter().any(|l| l.contains("fernet_setup")),
        "a step after the interrupt ran"
    );
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("controller : ok="))
        .unwrap();
    assert!(line.contains("failed=0 interrupted, not run="), "{line}");
    assert!(
        r.err.contains("Interrupted: ") && r.err.contains("`stackprov apply` again finishes them"),
        "{}",
        r.err
    );
    // keystone.conf was written before the interrupt: its restart is still due
    assert!(
        fake.lock()
            .file_text("/var/lib/stackprov/pending-restarts")
            .is_some_and(|j| j.contains("keystone"))
    );

    // the next run picks up where it stopped and converges
    let again = run(&fake, &["apply", s, "-y"]);
    assert_eq!(again.code, 0, "{}{}", again.out, again.err);
    assert!(
        !again.out.contains("keystone db_sync ("),
        "db_sync is done: {}",
        again.out
    );
    assert_eq!(fake.lock().services["keystone"].restarts, 1);
    assert_eq!(run(&fake, &["plan", s, "--detailed-exitcode"]).code, 0);
}

#[test]
fn on_a_converged_host_every_resource_is_a_noop_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    assert_eq!(run(&fake, &["apply", s, "-y"]).code, 0);

    let v = run(&fake, &["plan", "-v", s]);
    assert_eq!(v.code, 0, "{}{}", v.out, v.err);
    let noops: Vec<&str> = v.out.lines().filter(|l| l.starts_with("  = ")).collect();
    for line in [
        "  = packages:keystone                                installed: keystone",
        "  = file:/etc/keystone/keystone.conf                 content and root:keystone 0640 match",
        "  = directory:/var/lib/glance/images                 exists with glance:glance 0750",
        "  = service:keystone                                 enabled and running",
        "  = command:keystone fernet_setup                    /etc/keystone/fernet-keys/0 exists",
        "  = command:keystone db_sync                         check passed: mysql -N -B -e 'DESCRIBE keystone.project'",
        "  = command:keystone bootstrap                       `admin` logs in to Keystone; it runs only when the admin cannot log in with the secrets file's password (or Keystone is not up yet)",
        "  = sql_database:keystone                            database exists",
        "  = sql_user:keystone                                user exists at localhost, %; password login works",
        "  = sql_grant:keystone@keystone                      all privileges granted at localhost, %",
        "  = keystone_api:127.0.0.1:5000                      the API answers",
        "  = keystone_api:127.0.0.1:5000                      the API answers (same API as before)",
        "  = keystone_project:service                         exists",
        "  = keystone_user:glance                             exists; password login works",
        "  = keystone_role:admin                              exists",
        "  = keystone_assignment:glance/service/admin         already assigned",
        "  = keystone_service:image                           exists as `glance`",
        "  = keystone_endpoint:image/public/RegionOne         url matches",
    ] {
        assert!(noops.contains(&line), "`{line}` missing in:\n{}", v.out);
    }
    assert!(
        v.out.starts_with("controller\n  no changes\n  = "),
        "{}",
        v.out
    );

    let json = run(&fake, &["--format", "json", "plan", s]);
    let j: serde_json::Value = serde_json::from_str(&json.out).unwrap();
    let host = &j["plan"]["hosts"][0];
    assert_eq!(host["changes"].as_array().unwrap().len(), 0);
    assert_eq!(host["noops"].as_array().unwrap().len(), noops.len());
    // every resource the apply recap counts as ok
    let recap = run(&fake, &["apply", s, "-y"]);
    assert!(
        recap.out.contains(&format!("ok={} changed=0", noops.len())),
        "{}",
        recap.out
    );
}

/// A plan saved by an older stackprov (format 1: no facts, so it cannot be
/// derived again) is refused with the fix, before connecting.
#[test]
fn a_plan_of_the_format_before_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), "base");
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let p = dir.path().join("plan.json");
    let ps = p.to_str().unwrap();
    assert_eq!(run(&fake, &["plan", s, "--out", ps]).code, 0);
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    saved["format"] = 1.into();
    saved.as_object_mut().unwrap().remove("facts");
    std::fs::write(&p, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    let r = common::run_cli(None, &["apply", ps, "-y"]);
    assert_eq!(
        (r.code, r.out.as_str(), r.err),
        (
            1,
            "",
            format!(
                "error: {ps}: plan format 1 is not 2; make the plan again with this stackprov\n"
            )
        )
    );
}

/// The host goes away in the middle of a Keystone call: the run says the host is
/// unreachable (exit 4, as for any lost connection), not a failed step (1).
#[test]
fn a_connection_lost_during_a_keystone_call_exits_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ALL);
    let s = site.to_str().unwrap();
    let fake = converged_with_image_endpoint_moved(s);
    {
        let mut h = fake.lock();
        h.lose_connection_on = Some("PATCH /v3/endpoints/".into());
    }
    let r = run(&fake, &["apply", s, "-y"]);
    assert_eq!(r.code, 4, "{}{}", r.out, r.err);
    assert!(fake.lock().lost, "the call was made");
    assert!(
        r.out.contains("unreachable") || r.err.contains("unreachable"),
        "{}{}",
        r.out,
        r.err
    );
    assert!(
        r.out.contains("keystone_endpoint:image/public/RegionOne"),
        "{}",
        r.out
    );
    // the host back: the next run fixes the endpoint
    fake.lock().lost = false;
    assert_eq!(run(&fake, &["apply", s, "-y"]).code, 0);
    assert_eq!(run(&fake, &["plan", s, "--detailed-exitcode"]).code, 0);
}

/// Another apt holds dpkg's lock (an install left running by a killed run):
/// apply says whom it waits for, by pid and command line, then goes on.
#[test]
fn apply_says_which_process_it_waits_for() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), "base");
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    fake.lock().lock_holder = Some("1609 apt-get install -y -q keystone".into());
    let r = run(&fake, &["apply", s, "-y"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains(
            "controller: packages:chrony waits for the package manager: pid 1609 (apt-get install -y -q keystone)"
        ),
        "{}",
        r.out
    );
    // nobody holds it: nothing is said
    fake.lock().lock_holder = None;
    fake.lock().packages.remove("chrony");
    let r = run(&fake, &["apply", s, "-y"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(!r.out.contains("waits for"), "{}", r.out);
}
