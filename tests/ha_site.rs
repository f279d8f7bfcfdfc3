//! `validate` on HA sites: what an `ha:` block asks of the site, each
//! problem named by line and field, all at once, with the fix.

mod common;

fn validate(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ha.yaml");
    std::fs::write(&p, text).unwrap();
    let r = common::run_cli(None, &["validate", p.to_str().unwrap()]);
    (r.code, r.out + &r.err)
}

const ROLES: &str = "[base, ha, mariadb, keystone, glance, openrc]";

fn site(ha: &str, hosts: &[(&str, &str, &str)], release: &str) -> String {
    let mut s = format!("site: s\nrelease: {release}\ncontroller: openstack\n{ha}hosts:\n");
    for (n, a, r) in hosts {
        s.push_str(&format!(
            "  - name: {n}\n    address: {a}\n    roles: {r}\n"
        ));
    }
    s
}

const HA: &str = "ha:\n  vip: 192.0.2.100/24\n  interface: eth0\n";

fn three() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("a", "192.0.2.11", ROLES),
        ("b", "192.0.2.12", ROLES),
        ("c", "192.0.2.13", ROLES),
    ]
}

#[test]
fn three_controllers_are_valid_and_so_is_the_example() {
    let (code, out) = validate(&site(HA, &three(), "zed"));
    assert_eq!(code, 0, "{out}");
    let r = common::run_cli(None, &["validate", "examples/ha.yaml"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
}

/// docs/ha.md's site on 2025.1 (Debian 13's release): before, validate
/// rendered it on the first stand-in OS with epoxy packages, Rocky Linux 9.4
/// (the stand-ins lacked Debian 13), and refused it ("proven on Debian 12
/// and 13 only, not on Rocky Linux 9.4").
#[test]
fn the_example_validates_on_2025_1_as_epoxy_and_by_number() {
    let example = std::fs::read_to_string("examples/ha.yaml").unwrap();
    assert!(example.contains("\nrelease: zed\n"), "{example}");
    for release in ["epoxy", "2025.1"] {
        let (code, out) =
            validate(&example.replace("\nrelease: zed\n", &format!("\nrelease: {release}\n")));
        assert_eq!(code, 0, "{release}: {out}");
        assert!(
            out.ends_with("/ha.yaml: valid (3 host(s), release epoxy)\n"),
            "{release}: {out}"
        );
    }
    // a release only Rocky Linux has is still refused, naming the OS
    let (code, out) = validate(&site(HA, &three(), "caracal"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the HA control plane (`ha:`) is built and proven on Debian 12 and 13 only, not on Rocky Linux 9.4 (docs/ha.md); remove `ha:` or use Debian controllers"),
        "{out}"
    );
}

#[test]
fn an_even_number_of_controllers_is_refused_with_the_reason() {
    let mut hosts = three();
    hosts.push(("d", "192.0.2.14", ROLES));
    let (code, out) = validate(&site(HA, &hosts, "zed"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ha.yaml:4:1: ha: an HA site needs an odd number of controllers, at least 3 (hosts with role `keystone`); it has 4: a, b, c, d"), "{out}");
    assert!(
        out.contains("hint: Galera keeps a quorum only with a majority"),
        "{out}"
    );
    let (code, out) = validate(&site(HA, &three()[..1], "zed"));
    assert_eq!(code, 1);
    assert!(out.contains("it has 1: a"), "{out}");
}

/// Each controller's Galera, HAProxy and keepalived files name all the
/// others, so rendering grows with the square of their number (3,001 took
/// 37 s to validate); past 25 the VRRP priorities are no longer distinct.
#[test]
fn more_than_25_controllers_are_refused_and_25_are_valid() {
    let names: Vec<String> = (0..27).map(|i| format!("ctl{i}")).collect();
    let addresses: Vec<String> = (0..27).map(|i| format!("192.0.2.{}", i + 11)).collect();
    let hosts: Vec<(&str, &str, &str)> = names
        .iter()
        .zip(&addresses)
        .map(|(n, a)| (n.as_str(), a.as_str(), ROLES))
        .collect();
    let (code, out) = validate(&site(HA, &hosts, "zed"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ha.yaml:4:1: ha: an HA site has at most 25 controllers (hosts with role `keystone`); it has 27\n  hint: keepalived's priorities stay distinct only for 25 controllers"),
        "{out}"
    );
    assert!(out.ends_with("\n1 error(s)\n"), "{out}");
    let (code, out) = validate(&site(HA, &hosts[..25], "zed"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn every_problem_of_the_hosts_is_named_at_once() {
    let hosts = vec![
        ("a", "192.0.2.11", "[base, mariadb, keystone, glance]"),
        ("b", "2001:db8::12", ROLES),
        ("c", "192.0.2.100", ROLES),
        ("d", "192.0.2.14", "[base, mariadb]"),
    ];
    let mut s = site(HA, &hosts, "zed");
    s = s.replace("  - name: d", "  - name: e\n    address: 192.0.2.15\n    roles: [base, mariadb, keystone, glance, ha]\n  - name: d");
    let (code, out) = validate(&s);
    assert_eq!(code, 1, "{out}");
    for want in [
        "hosts[0].roles: controller `a` lacks role(s) ha of an HA controller",
        "hint: give every controller the roles base, ha, mariadb, keystone, glance",
        "hosts[1].address: controller `b` has address `2001:db8::12`; an HA controller needs an IPv4 address",
        "hosts[2].address: controller `c` has the VIP 192.0.2.100 as its address",
        "hosts[4].roles: role `mariadb` on `d`, which is not a controller (no role `keystone`)",
    ] {
        assert!(out.contains(want), "`{want}` missing:\n{out}");
    }
    assert!(out.contains("5 error(s)"), "{out}");
}

#[test]
fn the_vip_interface_and_router_id_are_checked() {
    for (ha, want) in [
        (
            "ha:\n  vip: 192.0.2.300\n  interface: eth0\n",
            "ha.vip: `192.0.2.300` is not a virtual IPv4 address",
        ),
        (
            "ha:\n  vip: 192.0.2.100/33\n  interface: eth0\n",
            "ha.vip: `192.0.2.100/33` is not a virtual IPv4 address",
        ),
        (
            "ha:\n  vip: 127.0.0.5\n  interface: eth0\n",
            "ha.vip: `127.0.0.5` is not a virtual IPv4 address",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: eth0 x\n",
            "ha.interface: `eth0 x` is not a valid interface name",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: averyveryverylongname\n",
            "at most 15 characters (Linux's IFNAMSIZ)",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: eth0\n  router_id: 256\n",
            "ha.router_id: `256` is not a VRRP virtual_router_id",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n",
            "ha.interface: missing required key `interface`",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: eth0\n  image_store: srv/images\n",
            "ha.image_store: `srv/images` is not a directory path stackprov writes",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: eth0\n  image_store: /srv/../etc\n",
            "ha.image_store: `/srv/../etc` is not a directory path",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: eth0\n  vips: x\n",
            "unknown key `vips`",
        ),
    ] {
        let (code, out) = validate(&site(ha, &three(), "zed"));
        assert_eq!(code, 1, "{ha}: {out}");
        assert!(out.contains(want), "{ha}: `{want}` missing:\n{out}");
    }
}

#[test]
fn role_ha_needs_the_block_and_the_block_needs_fernet_and_v3() {
    let (code, out) = validate(&site("", &three(), "zed"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("role `ha` on `a`, but the site has no `ha:` block"),
        "{out}"
    );
    assert!(
        out.contains("role `mariadb` is on 3 hosts; stackprov builds one controller"),
        "{out}"
    );
    let (code, out) = validate(&site(HA, &three(), "mitaka"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("an HA site needs fernet tokens and the v3 Identity API"),
        "{out}"
    );
}

/// HA values as tight as ports (issue 24, class 4): before, each of these
/// was accepted without a word.
#[test]
fn ha_values_that_no_controller_could_use_are_refused() {
    let ha = |extra: &str| format!("ha:\n  vip: 192.0.2.100/24\n  interface: eth0\n{extra}");
    for (block, want) in [
        (
            ha("  image_store: /run\n"),
            "ha.image_store: `/run` is a system directory, or in one, not a store for Glance's images",
        ),
        (
            ha("  image_store: /etc/glance\n"),
            "ha.image_store: `/etc/glance` is a system directory, or in one, not a store for Glance's images",
        ),
        (
            ha("  image_store: /var\n"),
            "ha.image_store: `/var` is a system directory, not a store for Glance's images",
        ),
        (
            ha("  image_store: //\n"),
            "ha.image_store: `//` is the root directory, not a store for Glance's images",
        ),
        (
            "ha:\n  vip: 192.0.2.255/24\n  interface: eth0\n".to_string(),
            "ha.vip: `192.0.2.255/24` is its network's broadcast address, which cannot be a virtual IP",
        ),
        (
            "ha:\n  vip: 192.0.2.0/24\n  interface: eth0\n".to_string(),
            "ha.vip: `192.0.2.0/24` is its network's address, which cannot be a virtual IP",
        ),
        (
            "ha:\n  vip: 169.254.1.1\n  interface: eth0\n".to_string(),
            "ha.vip: `169.254.1.1` is a link-local address (169.254.0.0/16), which cannot be a virtual IP",
        ),
        (
            "ha:\n  vip: 250.0.0.1\n  interface: eth0\n".to_string(),
            "ha.vip: `250.0.0.1` is a reserved (class E) address, which cannot be a virtual IP",
        ),
        (
            "ha:\n  vip: 255.255.255.255\n  interface: eth0\n".to_string(),
            "ha.vip: `255.255.255.255` is the broadcast address, which cannot be a virtual IP",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: lo\n".to_string(),
            "ha.interface: `lo` is not a valid interface name",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: \"-eth0\"\n".to_string(),
            "ha.interface: `-eth0` is not a valid interface name",
        ),
        (
            "ha:\n  vip: 192.0.2.100\n  interface: .\n".to_string(),
            "ha.interface: `.` is not a valid interface name",
        ),
        (
            ha("  router_id: 051\n"),
            "ha.router_id: `051` is not a VRRP virtual_router_id",
        ),
        (
            ha("  router_id: \"51\"\n"),
            "ha.router_id: `51` is not a VRRP virtual_router_id",
        ),
    ] {
        let (code, out) = validate(&site(&block, &three(), "zed"));
        assert_eq!(code, 1, "{block}: {out}");
        assert!(out.contains(want), "{block}: `{want}` missing:\n{out}");
    }
}

#[test]
fn ha_hosts_must_be_told_apart_and_on_the_vips_network() {
    let hosts = vec![
        ("a", "192.0.2.11", ROLES),
        ("b", "192.0.2.11", ROLES),
        ("c", "198.51.100.13", ROLES),
        ("d", "192.0.2.100", "[base]"),
    ];
    let (code, out) = validate(&site(HA, &hosts, "zed"));
    assert_eq!(code, 1, "{out}");
    for want in [
        "hosts[1].address: controllers `a` and `b` have the same address 192.0.2.11",
        "hosts[2].address: controller `c` has address 198.51.100.13, which is not on the VIP's network 192.0.2.100/24",
        "hosts[3].address: host `d` has the VIP 192.0.2.100 as its address",
    ] {
        assert!(out.contains(want), "`{want}` missing:\n{out}");
    }
    assert!(out.contains("3 error(s)"), "{out}");
    // `controller` names the VIP, not a host
    let s = site(HA, &three(), "zed").replace("controller: openstack", "controller: b");
    let (code, out) = validate(&s);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ha.yaml:3:13: controller: `b` is host `b`; in an HA site `controller` is the VIP's name"),
        "{out}"
    );
}

#[test]
fn forks_is_a_plain_number() {
    let s = site(HA, &three(), "zed").replace("hosts:\n", "forks: 010\nhosts:\n");
    let (code, out) = validate(&s);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("forks: `010` is not a number of hosts to work on at once"),
        "{out}"
    );
}
