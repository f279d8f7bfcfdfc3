//! Golden plans: recorded facts of bare hosts (tests/golden/*.json, written by
//! hand from what a fresh install of each OS has) planned offline with
//! `plan --facts`, for the guide's era (CentOS 6 and 7, RDO, Keystone v2.0)
//! and the modern path (Rocky 9, Debian 12, and Debian 13 recorded from a real
//! test host). Each snapshot holds the printed
//! plan, every operation in order, and every file stackprov would write.

mod common;

const ROLES: &str = "base, mariadb, messaging, keystone, glance, openrc";
/// The RHEL goldens go through a package proxy: yum and dnf take it from
/// [main] in their own configuration file.
const PROXY: &str = "package_proxy: http://10.0.0.1:3128\n";
const SECRETS: &str = "admin: \"admin-pass\"\nadmin_token: \"0123456789abcdef0123\"\nglance_db: \"glance-db-pass\"\nglance_user: \"glance-user-pass\"\nkeystone_db: \"keystone-db-pass\"\n";

fn run(args: &[&str]) -> (i32, String, String) {
    let r = common::run_cli(None, args);
    (r.code, r.out, r.err)
}

/// The printed plan, the operations and the files of one recorded host.
fn golden(name: &str, release: &str, extra: &str) -> (String, String) {
    let (_dir, site) = common::site_dir(
        &format!(
            "site: golden\nrelease: {release}\ncontroller: controller\n{extra}hosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [{ROLES}]\n"
        ),
        SECRETS,
    );
    let facts = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let site = site.as_str();

    let (code, text, err) = run(&["plan", site, "--facts", &facts, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{text}{err}");
    let (code, json, err) = run(&["--format", "json", "plan", site, "--facts", &facts]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();

    let mut ops = String::new();
    let mut files = String::new();
    for c in v["plan"]["hosts"][0]["changes"].as_array().unwrap() {
        ops.push_str(&format!("{}\n", c["id"].as_str().unwrap()));
        for op in c["ops"].as_array().unwrap() {
            let line = match op["op"].as_str().unwrap() {
                "exec" => {
                    let script = op["script"].as_str().unwrap();
                    match op["stdin"].as_str() {
                        Some(s) => format!("{script}\n      <stdin: {}>", s.trim_end()),
                        None => script.to_string(),
                    }
                }
                "write" => {
                    let path = op["path"].as_str().unwrap();
                    let p = &op["perms"];
                    let perms = format!(
                        "{}:{} {}",
                        p["owner"].as_str().unwrap(),
                        p["group"].as_str().unwrap(),
                        p["mode"].as_str().unwrap()
                    );
                    files.push_str(&format!(
                        "==> {path} ({perms})\n{}\n",
                        op["content"].as_str().unwrap()
                    ));
                    format!("write {path} ({perms})")
                }
                "ini_edit" => {
                    let path = op["path"].as_str().unwrap();
                    files.push_str(&format!("==> {path} (keys set in the package's file)\n"));
                    for s in op["settings"].as_array().unwrap() {
                        files.push_str(&format!(
                            "[{}] {} = {}\n",
                            s["section"].as_str().unwrap(),
                            s["key"].as_str().unwrap(),
                            s["value"].as_str().unwrap()
                        ));
                    }
                    files.push('\n');
                    format!("set keys in {path}")
                }
                "keystone" => {
                    let call: stackprov::plan::catalog::Call =
                        serde_json::from_value(op.clone()).unwrap();
                    let admin: stackprov::plan::catalog::Admin =
                        serde_json::from_value(op["admin"].clone()).unwrap();
                    format!("keystone :{} {}", admin.port, call.summary_for(&admin))
                }
                "lock_holder" => format!("who holds {}", op["path"].as_str().unwrap()),
                other => panic!("unknown op {other}"),
            };
            ops.push_str(&format!("    {line}\n"));
        }
    }
    (
        format!("{text}\n--- operations, in order ---\n{ops}"),
        files,
    )
}

#[test]
fn centos6_havana_the_guides_own_era() {
    let (plan, files) = golden("centos6", "havana", PROXY);
    // the guide's steps, in its order
    let order = [
        "set keys in /etc/yum.conf",
        "yum install -y -q epel-release",
        "openstack-havana/rdo-release-havana.rpm",
        "chkconfig qpidd on",
        "command:keystone db_sync",
        "keystone-manage pki_setup --keystone-user keystone --keystone-group keystone",
        "chown -R keystone:keystone /var/log/keystone /etc/keystone/ssl",
        "chkconfig openstack-keystone on",
        "service openstack-keystone restart",
        "POST /v2.0/tenants admin",
        "POST /v2.0/users admin",
        "POST /v2.0/OS-KSADM/roles admin",
        "PUT /v2.0/tenants/(admin)/users/(admin)/roles/OS-KSADM/(admin)",
        "POST /v2.0/OS-KSADM/services keystone (identity)",
        "POST /v2.0/endpoints identity RegionOne publicurl=http://controller:5000/v2.0 internalurl=http://controller:5000/v2.0 adminurl=http://controller:35357/v2.0",
        "cp /usr/share/glance/glance-api-dist-paste.ini /etc/glance/glance-api-paste.ini",
        "cp /usr/share/glance/glance-registry-dist-paste.ini /etc/glance/glance-registry-paste.ini",
        "POST /v2.0/endpoints image RegionOne",
        "service openstack-glance-api restart",
        "chkconfig openstack-glance-registry on",
        "service openstack-glance-registry restart",
    ];
    let mut at = 0;
    for step in order {
        let found = plan[at..]
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` missing or out of order in:\n{plan}"));
        at += found + step.len();
    }
    assert!(!plan.contains("systemctl"), "{plan}");
    assert!(
        files.contains("admin_token = ((secret:admin_token"),
        "{files}"
    );
    assert!(
        files.contains("[sql]\nconnection = mysql://keystone:"),
        "{files}"
    );
    assert!(
        files.contains("sql_connection = mysql://glance:"),
        "{files}"
    );
    assert!(
        files.contains("OS_AUTH_URL=http://controller:35357/v2.0"),
        "{files}"
    );
    insta::assert_snapshot!("centos6_havana_plan", plan);
    insta::assert_snapshot!("centos6_havana_files", files);
}

#[test]
fn centos7_icehouse_legacy_on_systemd() {
    let (plan, files) = golden("centos7", "icehouse", PROXY);
    assert!(
        plan.contains("systemctl enable openstack-keystone"),
        "{plan}"
    );
    assert!(plan.contains("POST /v2.0/endpoints image"), "{plan}");
    assert!(
        files.contains("[database]\nconnection = mysql://glance:"),
        "{files}"
    );
    assert!(!plan.contains("glance-api-paste.ini"), "{plan}");
    assert!(
        files.contains("==> /etc/yum.conf (keys set in the package's file)\n[main] proxy = http://10.0.0.1:3128\n"),
        "{files}"
    );
    insta::assert_snapshot!("centos7_icehouse_plan", plan);
    insta::assert_snapshot!("centos7_icehouse_files", files);
}

#[test]
fn rocky9_caracal_modern() {
    let (plan, files) = golden("rocky9", "caracal", PROXY);
    assert!(
        files.contains("==> /etc/dnf/dnf.conf (keys set in the package's file)\n[main] proxy = http://10.0.0.1:3128\n"),
        "{files}"
    );
    for step in [
        "set keys in /etc/dnf/dnf.conf",
        "dnf install -y -q centos-release-openstack-caracal",
        // after the repository: every role's packages in one transaction
        "dnf install -y -q openstack-selinux mariadb-server python3-PyMySQL rabbitmq-server openstack-keystone httpd python3-mod_wsgi openstack-glance",
        "keystone-manage fernet_setup",
        "keystone-manage bootstrap",
        "ln -s /usr/share/keystone/wsgi-keystone.conf /etc/httpd/conf.d/wsgi-keystone.conf",
        "systemctl restart httpd",
        "POST /v3/endpoints identity public RegionOne http://controller:5000/v3/",
    ] {
        assert!(plan.contains(step), "`{step}` missing in:\n{plan}");
    }
    assert!(!plan.contains("/v2.0"), "{plan}");
    assert!(!plan.contains("pki_setup"), "{plan}");
    assert!(files.contains("provider = fernet"), "{files}");
    insta::assert_snapshot!("rocky9_caracal_plan", plan);
    insta::assert_snapshot!("rocky9_caracal_files", files);
}

#[test]
fn debian12_zed_modern() {
    let (plan, files) = golden("debian12", "zed", "");
    assert!(plan.contains("apt-get install"), "{plan}");
    assert!(!plan.contains("/v2.0"), "{plan}");
    insta::assert_snapshot!("debian12_zed_plan", plan);
    insta::assert_snapshot!("debian12_zed_files", files);
}

/// Recorded with `stackprov facts --save` from a fresh Debian 13 test host
/// (scripts/testbed up --os debian13), not written by hand.
#[test]
fn debian13_epoxy_recorded_on_a_real_host() {
    let (plan, files) = golden("debian13", "2025.1", "");
    assert!(
        plan.contains("apt-get install") && plan.contains(" memcached keystone glance"),
        "{plan}"
    );
    // 2025.1 removed the templated catalog (and its option)
    assert!(!files.contains("template_file"), "{files}");
    assert!(files.contains("[token]\nprovider = fernet"), "{files}");
    assert!(
        files.contains("[cache]\nenabled = true\nbackend = oslo_cache.memcache_pool\nmemcache_servers = 127.0.0.1:11211\n"),
        "{files}"
    );
    insta::assert_snapshot!("debian13_epoxy_plan", plan);
    insta::assert_snapshot!("debian13_epoxy_files", files);
}
