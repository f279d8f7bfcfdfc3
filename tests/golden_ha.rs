//! The HA site planned for three bare Debian hosts (the test builds' fake
//! host; the real ones are tests/e2e/ha.rs).
//! The snapshot holds the order, each host's plan and the files that differ
//! between controllers (Galera's node, keepalived's priority and peers).

mod common;

use stackprov::fake::{FakeHost, SharedFake};

const SITE: &str = "site: golden-ha\nrelease: zed\ncontroller: openstack\nha:\n  vip: 10.0.0.100/24\n  interface: eth0\nhosts:\n  - name: ctl1\n    address: 10.0.0.11\n    roles: [base, ha, mariadb, keystone, glance, openrc]\n  - name: ctl2\n    address: 10.0.0.12\n    roles: [base, ha, mariadb, keystone, glance, openrc]\n  - name: ctl3\n    address: 10.0.0.13\n    roles: [base, ha, mariadb, keystone, glance, openrc]\n";
const SECRETS: &str = "admin: \"admin-pass\"\nglance_db: \"glance-db-pass\"\nglance_user: \"glance-user-pass\"\nkeystone_db: \"keystone-db-pass\"\nkeystone_fernet_0: \"cGxhbm5lZC1mZXJuZXQta2V5LTAtLS0tLS0tLS0tLS0=\"\nkeystone_fernet_1: \"cGxhbm5lZC1mZXJuZXQta2V5LTEtLS0tLS0tLS0tLS0=\"\nkeystone_credential_0: \"cGxhbm5lZC1jcmVkZW50aWFsLWtleS0wLS0tLS0tLS0=\"\nkeystone_credential_1: \"cGxhbm5lZC1jcmVkZW50aWFsLWtleS0xLS0tLS0tLS0=\"\n";

fn plan(secrets: &str) -> (i32, String, String, serde_json::Value) {
    plan_site(SITE, secrets)
}

use common::site_dir;

/// Three bare Debian hosts (the fake host of the test builds): a plan needs
/// their facts, so it runs against them (nothing is applied). The fake
/// cannot run the shell of Galera's start guard: it passes on the joiners, as
/// it does on real new hosts (see tests/e2e/ha.rs).
fn three_fakes() -> Vec<SharedFake> {
    (0..3)
        .map(|i| {
            let mut h = FakeHost::debian();
            if i > 0 {
                h.passing_checks.insert("safe_to_bootstrap".into());
            }
            SharedFake::new(h)
        })
        .collect()
}

/// The site's three controllers, by name, on `fakes`.
fn by_name(fakes: &[SharedFake]) -> [(&'static str, &SharedFake); 3] {
    [
        ("ctl1", &fakes[0]),
        ("ctl2", &fakes[1]),
        ("ctl3", &fakes[2]),
    ]
}

fn plan_site(site_text: &str, secrets: &str) -> (i32, String, String, serde_json::Value) {
    let (_dir, site) = site_dir(site_text, secrets);
    let fakes = three_fakes();
    let hosts = by_name(&fakes);
    let site = site.as_str();
    let text = common::run_cli_hosts(&hosts, &["plan", site, "--detailed-exitcode"]);
    let json = common::run_cli_hosts(&hosts, &["--format", "json", "plan", site]);
    let v = serde_json::from_str(&json.out).unwrap_or(serde_json::Value::Null);
    (text.code, text.out, text.err + &json.err, v)
}

/// Every file a host's plan writes, by path.
fn files(v: &serde_json::Value, host: usize) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for c in v["plan"]["hosts"][host]["changes"].as_array().unwrap() {
        for op in c["ops"].as_array().unwrap() {
            if op["op"] == "write" {
                out.insert(
                    op["path"].as_str().unwrap().to_string(),
                    op["content"].as_str().unwrap().to_string(),
                );
            }
        }
    }
    out
}

#[test]
fn debian12_three_controllers_behind_a_vip() {
    let (code, text, err, v) = plan(SECRETS);
    assert_eq!(code, 2, "{text}{err}");
    assert!(text.contains("Order: ctl1 starts the mariadb cluster; ctl2, ctl3 start mariadb (join it) only after that, and not if it fails."), "{text}");
    let hosts = v["plan"]["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    let ids = |h: usize| -> Vec<String> {
        hosts[h]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    // what is done once is done on the first controller only
    for once in [
        "command:galera new cluster",
        "command:keystone db_sync",
        "command:keystone bootstrap",
        "sql_database:glance",
        "keystone_endpoint:image/public/RegionOne",
    ] {
        assert!(ids(0).iter().any(|i| i == once), "ctl1 lacks {once}");
        for h in [1, 2] {
            assert!(!ids(h).iter().any(|i| i == once), "host {h} has {once}");
        }
    }
    // keystone-manage makes no keys: the same ones from the secrets file everywhere
    assert!(
        !text.contains("fernet_setup") && !text.contains("credential_setup"),
        "{text}"
    );
    let (f1, f2) = (files(&v, 0), files(&v, 1));
    for k in [
        "/etc/keystone/fernet-keys/0",
        "/etc/keystone/credential-keys/1",
    ] {
        assert_eq!(f1[k], f2[k], "{k}");
        assert!(f1[k].starts_with("((secret:keystone_"), "{k}: {}", f1[k]);
    }
    let cnf = &f2["/etc/mysql/mariadb.conf.d/99-openstack.cnf"];
    for line in [
        "bind-address = 10.0.0.12",
        "wsrep_cluster_address = gcomm://10.0.0.11,10.0.0.12,10.0.0.13",
        "wsrep_node_address = 10.0.0.12",
        "wsrep_node_name = ctl2",
        "wsrep_sst_method = rsync",
    ] {
        assert!(cnf.contains(line), "{line}: {cnf}");
    }
    let ka = &f2["/etc/keepalived/keepalived.conf"];
    for line in [
        "priority 240",
        "unicast_src_ip 10.0.0.12",
        "        10.0.0.11\n        10.0.0.13\n",
        "10.0.0.100/24 dev eth0",
        "nopreempt",
    ] {
        assert!(ka.contains(line), "{line}: {ka}");
    }
    let hap = &f1["/etc/haproxy/haproxy.cfg"];
    for line in [
        "bind 10.0.0.100:5000",
        "server ctl1 10.0.0.11:3306 check\n",
        "server ctl2 10.0.0.12:3306 check backup",
        "server ctl3 10.0.0.13:9292 check backup",
        "server ctl3 10.0.0.13:5000 check\n",
    ] {
        assert!(hap.contains(line), "{line}: {hap}");
    }
    assert_eq!(
        f1["/etc/haproxy/haproxy.cfg"],
        f2["/etc/haproxy/haproxy.cfg"]
    );
    let ks = &f2["/etc/keystone/keystone.conf"];
    assert!(
        ks.contains("memcache_servers = 10.0.0.11:11211,10.0.0.12:11211,10.0.0.13:11211"),
        "{ks}"
    );
    assert!(ks.contains("@openstack/keystone"), "{ks}");
    assert!(f2["/etc/glance/glance-api.conf"].contains("bind_host = 10.0.0.12\n"));
    assert!(f2["/etc/memcached.conf"].contains("-l 10.0.0.12\n"));
    assert!(
        f2["/etc/systemd/system/keystone.service.d/stackprov-listen.conf"]
            .contains("--http-socket 10.0.0.12:5000 ")
    );
    let mut snap = text.clone();
    for p in [
        "/etc/mysql/mariadb.conf.d/99-openstack.cnf",
        "/etc/keepalived/keepalived.conf",
        "/etc/haproxy/haproxy.cfg",
    ] {
        snap.push_str(&format!("\n==> ctl2 {p}\n{}", f2[p]));
    }
    insta::assert_snapshot!("debian12_ha_plan", snap);
}

#[test]
fn a_secrets_file_key_that_is_not_a_fernet_key_is_refused_by_name() {
    let bad = SECRETS.replace("cGxhbm5lZC1mZXJuZXQta2V5LTAtLS0tLS0tLS0tLS0=", "not-a-key");
    let (code, text, err, _) = plan(&bad);
    assert_eq!(code, 1, "{text}{err}");
    assert!(err.contains("secret `keystone_fernet_0`"), "{err}");
    assert!(err.contains("32 bytes in URL-safe base64"), "{err}");
    assert!(!err.contains("not-a-key"), "the value is shown: {err}");
}

#[test]
fn only_the_first_controller_starts_a_new_cluster_even_when_no_guard_passes() {
    let (_dir, site) = site_dir(SITE, SECRETS);
    // no guard passes anywhere (no grastate, nothing answers): still only the
    // first controller starts a new cluster, the others join it
    let fakes: Vec<SharedFake> = (0..3)
        .map(|_| SharedFake::new(FakeHost::debian()))
        .collect();
    let hosts = by_name(&fakes);
    let site = site.as_str();
    let r = common::run_cli_hosts(&hosts, &["plan", site]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains("Order: ctl1 starts the mariadb cluster; ctl2, ctl3 start mariadb (join it)"),
        "{}",
        r.out
    );
    // --galera-bootstrap is refused, with the reason, on a cluster that never
    // ran and for a host that is not a controller; plan and apply alike
    for (cmd, host, why) in [
        (
            "plan",
            "ctl2",
            "there is nothing to start: no controller was in a cluster before",
        ),
        ("apply", "ctl2", "there is nothing to start"),
        (
            "plan",
            "nope",
            "names `nope`, which is not a controller of this site",
        ),
    ] {
        let args = [cmd, site, "-y", "--galera-bootstrap", host];
        let args: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| cmd == "apply" || *a != "-y")
            .collect();
        let r = common::run_cli_hosts(&hosts, &args);
        assert_eq!(r.code, 1, "{cmd} {host}: {}{}", r.out, r.err);
        assert!(r.err.contains(why), "{cmd} {host}: {}", r.err);
        assert!(r.err.contains("nothing was changed"), "{}", r.err);
    }
}

#[test]
fn a_shared_image_store_spreads_glance_and_must_be_mounted() {
    let site = SITE.replace(
        "  interface: eth0\n",
        "  interface: eth0\n  image_store: /srv/images\n",
    );
    let (code, text, err, v) = plan_site(&site, SECRETS);
    assert_eq!(code, 2, "{text}{err}");
    let f = files(&v, 1);
    assert!(f["/etc/glance/glance-api.conf"].contains("filesystem_store_datadir = /srv/images/\n"));
    let hap = &f["/etc/haproxy/haproxy.cfg"];
    assert!(hap.contains("balance roundrobin\n    server ctl1 10.0.0.11:9292 check\n    server ctl2 10.0.0.12:9292 check\n    server ctl3 10.0.0.13:9292 check\n"), "{hap}");
    // MariaDB keeps one writer
    assert!(
        hap.contains("server ctl2 10.0.0.12:3306 check backup"),
        "{hap}"
    );
    assert!(
        text.contains("command:/srv/images is mounted")
            && text.contains("/srv/images is not a mount point"),
        "{text}"
    );
    assert!(text.contains("directory:/srv/images"), "{text}");
}

/// Offline (`plan --facts`) as online: two hosts that would each start a
/// cluster are refused. Saved facts where ctl1 is new (no cluster: its
/// `galera new cluster` runs) while ctl2 ran one before and is marked
/// safe_to_bootstrap (it starts that one again). Before, the online guard
/// alone held and the offline plan started both.
#[test]
fn saved_facts_that_would_start_two_clusters_are_refused() {
    let (dir, site) = site_dir(SITE, SECRETS);
    let fakes = three_fakes();
    let hosts = by_name(&fakes);
    let site = site.as_str();
    let facts = dir.path().join("facts.json");
    let f = facts.to_str().unwrap();
    let r = common::run_cli_hosts(&hosts, &["facts", site, "--save", f]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let offline = |args: &[&str]| {
        let mut all = vec!["--format", "json", "plan", site, "--facts", f];
        all.extend_from_slice(args);
        common::run_cli(None, &all)
    };
    // as saved: ctl1 starts a new cluster, the others join it
    let r = offline(&[]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&facts).unwrap()).unwrap();
    let uuid = "2f4c3a0e-8d1b-11ef-9a3c-0242ac110002";
    for (h, galera) in [
        (
            "ctl1",
            serde_json::json!({"uuid": null, "seqno": null, "safe_to_bootstrap": false, "gvwstate": false, "recovered": null, "unit": "inactive"}),
        ),
        (
            "ctl2",
            serde_json::json!({"uuid": uuid, "seqno": 12, "safe_to_bootstrap": true, "gvwstate": false, "recovered": null, "unit": "inactive"}),
        ),
        (
            "ctl3",
            serde_json::json!({"uuid": uuid, "seqno": 10, "safe_to_bootstrap": false, "gvwstate": false, "recovered": null, "unit": "inactive"}),
        ),
    ] {
        v["hosts"][h]["galera"] = galera;
    }
    std::fs::write(&facts, serde_json::to_string(&v).unwrap()).unwrap();
    let r = offline(&[]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    let e: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(e["error"]["kind"], "two_cluster_starts", "{}", r.out);
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("ctl1 and ctl2 would each start a new mariadb cluster"),
        "{msg}"
    );
}
