//! The exact messages users see for invalid site files (pinned).

use assert_cmd::Command;

mod common;

fn validate(name: &str, content: &[u8]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("{name}.yaml");
    std::fs::write(dir.path().join(&file), content).unwrap();
    if name == "secretsmode" {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(dir.path().join("s.yaml"), "a: x\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("s.yaml"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", &file])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn invalid_alias() {
    let (code, stdout, stderr) = validate(
        "alias",
        b"site: &n s\nrelease: zed\ncontroller: *n\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "alias.yaml:1:10: invalid YAML: anchors (&name) are not supported in stackprov files; write the value out\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_badyaml() {
    let (code, stdout, stderr) = validate("badyaml", b"site: [unclosed\n");
    assert_eq!(
        stderr,
        "badyaml.yaml:2:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_become() {
    let (code, stdout, stderr) = validate("become", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1, user: ops, roles: [base]}\n");
    assert_eq!(
        stderr,
        "become.yaml:5:5: hosts[0].become: user `ops` is not root and `become` is false, so roles cannot install packages\n  hint: add `become: true` (passwordless sudo) or use `user: root`\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_binary() {
    let (code, stdout, stderr) = validate("binary", b"site: s\n\xff\xfe\n");
    assert_eq!(
        stderr,
        "binary.yaml:2:1: the file is not valid UTF-8 text\n  hint: site files are YAML text; is this a binary file?\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_bomb() {
    let (code, stdout, stderr) = validate("bomb", b"a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n");
    assert_eq!(
        stderr,
        "bomb.yaml:1:7: invalid YAML: anchors (&name) are not supported in stackprov files; write the value out\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_deep() {
    let (code, stdout, stderr) = validate(
        "deep",
        &format!("a: {}{}\n", "[".repeat(200), "]".repeat(200)).into_bytes(),
    );
    assert_eq!(
        stderr,
        "deep.yaml:1:67: invalid YAML: nested deeper than 64 levels\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_dup() {
    let (code, stdout, stderr) = validate("dup", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1}\n  - {name: a, address: 10.0.0.2}\n");
    assert_eq!(
        stderr,
        "dup.yaml:6:5: hosts[1].name: duplicate host name `a` (first at line 5)\n  hint: host names must be unique\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_dupkey() {
    let (code, stdout, stderr) = validate("dupkey", b"site: s\nsite: t\n");
    assert_eq!(
        stderr,
        "dupkey.yaml:2:1: invalid YAML: duplicate key `site` (first at line 1)\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_empty() {
    let (code, stdout, stderr) = validate("empty", b"");
    assert_eq!(
        stderr,
        "empty.yaml:1:1: the site file is empty\n  hint: start from examples/site.yaml\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_glancenoks() {
    let (code, stdout, stderr) = validate("glancenoks", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1, roles: [base, glance]}\n");
    assert_eq!(
        stderr,
        "glancenoks.yaml:5:5: hosts[0].roles: role `glance` needs a host with role `keystone`\n  hint: add `keystone` to the roles of host `a`\nglancenoks.yaml:5:5: hosts[0].roles: role `glance` needs role `mariadb` on the same host\n  hint: add `mariadb` to the roles of host `a`\n2 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_hostkey() {
    let (code, stdout, stderr) = validate("hostkey", b"site: s\nrelease: zed\ncontroller: c\nhost_key_policy: no\nhosts:\n  - {name: a, address: 10.0.0.1}\n");
    assert_eq!(
        stderr,
        "hostkey.yaml:4:18: host_key_policy: unknown host key policy `no`\n  hint: host keys are always checked; use `accept-new` to record unknown keys on first contact\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_hostsnotlist() {
    let (code, stdout, stderr) = validate(
        "hostsnotlist",
        b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  name: a\n",
    );
    assert_eq!(
        stderr,
        "hostsnotlist.yaml:5:7: hosts: expected a list of hosts, found a mapping\n  hint: write `hosts:` followed by `- name: ...` entries\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

/// A key that does not exist yet is told, not refused: it may be made after
/// the site file (vagrant/README.md's step 1); connecting is what needs it.
#[test]
fn warning_idfile() {
    let (code, stdout, stderr) = validate("idfile", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1, identity_file: nope/id_ed25519}\n");
    assert_eq!(
        stderr,
        "warning: idfile.yaml:5:49: hosts[0].identity_file: identity file ./nope/id_ed25519 does not exist (yet): connecting to this host fails until it does\n  hint: paths are relative to the site file; create the key (ssh-keygen -f PATH), or remove the key to use ssh-agent and ~/.ssh\n"
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("idfile.yaml: valid (1 host(s)"),
        "{stdout}"
    );
}

#[test]
fn invalid_idfile_directory() {
    let (code, stdout, stderr) = validate("idfiledir", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1, identity_file: .}\n");
    assert_eq!(
        stderr,
        "idfiledir.yaml:5:49: hosts[0].identity_file: identity file ./. is a directory\n  hint: name the private key file in it, e.g. `id_ed25519`\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_missing() {
    let (code, stdout, stderr) = validate("missing", b"site: s\n");
    assert_eq!(
        stderr,
        "missing.yaml:1:1: release: missing required key `release`\n  hint: add `release: zed`\nmissing.yaml:1:1: controller: missing required key `controller`\n  hint: add `controller: controller`\nmissing.yaml:1:1: hosts: missing required key `hosts`\n  hint: add `hosts: [{name: controller, address: 192.0.2.10, roles: [base]}]`\n3 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_multi() {
    let (code, stdout, stderr) = validate("multi", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a b, address: 10.0.0.1, bogus: 1}\n  - {address: 10.0.0.2}\n");
    assert_eq!(
        stderr,
        "multi.yaml:5:12: hosts[0].name: `a b` is not a valid host name\n  hint: use letters, digits, `-` and `.`\nmulti.yaml:5:36: hosts[0].bogus: unknown key `bogus`\n  hint: known keys: name, address, port, user, become, identity_file, roles\nmulti.yaml:6:6: hosts[1].name: missing required key `name`\n  hint: add `name: controller`\n3 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_notmap() {
    let (code, stdout, stderr) = validate("notmap", b"- a\n- b\n");
    assert_eq!(
        stderr,
        "notmap.yaml:1:1: expected a site definition (a mapping), found a list\n  hint: a site file maps `site`, `release`, `controller` and `hosts`; see examples/site.yaml\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_override() {
    let (code, stdout, stderr) = validate("override", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1}\noverrides:\n  etc/keystone.conf:\n    DEFAULT: {debug: true}\n");
    assert_eq!(
        stderr,
        "override.yaml:7:3: overrides.etc/keystone.conf: `etc/keystone.conf` is not an absolute path\n  hint: name the rendered file, e.g. /etc/keystone/keystone.conf\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_port() {
    let (code, stdout, stderr) = validate("port", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - name: a\n    address: 10.0.0.1\n    port: 70000\n");
    assert_eq!(
        stderr,
        "port.yaml:7:11: hosts[0].port: `70000` is not a TCP port\n  hint: a number from 1 to 65535, e.g. `port: 22`\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_proxy() {
    let (code, stdout, stderr) = validate("proxy", b"site: s\nrelease: zed\ncontroller: c\npackage_proxy: ftp://x\nhosts:\n  - {name: a, address: 10.0.0.1}\n");
    assert_eq!(
        stderr,
        "proxy.yaml:4:16: package_proxy: `ftp://x` is not an http(s) URL\n  hint: write it as http://HOST:PORT\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_release() {
    let (code, stdout, stderr) = validate(
        "release",
        b"site: s\nrelease: zedd\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "release.yaml:2:10: release: unknown OpenStack release `zedd`\n  hint: did you mean `zed`?\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_role() {
    let (code, stdout, stderr) = validate("role", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - name: a\n    address: 10.0.0.1\n    roles: [base, keystnoe]\n");
    assert_eq!(
        stderr,
        "role.yaml:7:19: hosts[0].roles[1]: unknown role `keystnoe`\n  hint: did you mean `keystone`?\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_secretsmode() {
    let (code, stdout, stderr) = validate("secretsmode", b"site: s\nrelease: zed\ncontroller: c\nhosts:\n  - {name: a, address: 10.0.0.1}\nsecrets_file: s.yaml\n");
    assert_eq!(
        stderr,
        "./s.yaml: the secrets file is readable by group or others (mode 0644)\n  hint: run `chmod 600 ./s.yaml`\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_unknownkey() {
    let (code, stdout, stderr) = validate(
        "unknownkey",
        b"site: s\nrelease: zed\ncontroller: c\nhots: []\n",
    );
    assert_eq!(
        stderr,
        "unknownkey.yaml:1:1: hosts: missing required key `hosts`\n  hint: add `hosts: [{name: controller, address: 192.0.2.10, roles: [base]}]`\nunknownkey.yaml:4:1: hots: unknown key `hots`\n  hint: did you mean `hosts`?\n2 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}
#[test]
fn invalid_huge_file_is_refused_before_parsing() {
    let big = vec![b'#'; 5 * 1024 * 1024];
    let (code, _, stderr) = validate("huge", &big);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "huge.yaml:1:1: the file is 5242880 bytes; site files are limited to 4194304\n  hint: is this the right file?\n1 error(s)\n"
    );
}

#[test]
fn a_missing_site_file_names_the_path() {
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .args(["validate", "/nonexistent/site.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "/nonexistent/site.yaml: cannot read: No such file or directory (os error 2)\n  hint: check the path to the site file\n1 error(s)\n"
    );
}

#[test]
fn the_example_site_is_valid() {
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .args(["validate", "examples/site.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "examples/site.yaml: valid (1 host(s), release zed)\n"
    );
}

#[test]
fn validate_speaks_json_for_machines() {
    let (_, _, _) = validate("x", b"");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), "site: s\nrelease: zedd\n").unwrap();
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .current_dir(dir.path())
        .args(["--format", "json", "validate", "s.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0]["path"], "controller");
    assert_eq!(errors[2]["message"], "unknown OpenStack release `zedd`");
    assert_eq!(errors[2]["hint"], "did you mean `zed`?");
    assert_eq!(
        (errors[2]["line"].as_u64(), errors[2]["col"].as_u64()),
        (Some(2), Some(10))
    );
}

#[test]
fn usage_errors_exit_1_not_2_so_2_always_means_changes_pending() {
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .args(["plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("required arguments were not provided")
    );
}

#[test]
fn schema_and_completions_print() {
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .arg("schema")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["properties"]["host_key_policy"]["enum"],
        serde_json::json!(["strict", "accept-new"])
    );
    assert_eq!(v["additionalProperties"], false);
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("_stackprov()")
    );
}

#[test]
fn invalid_pki_after_newton() {
    let (code, stdout, stderr) = validate(
        "pki",
        b"site: s\nrelease: ocata\ncontroller: c\ntoken_provider: pki\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "pki.yaml:4:17: token_provider: `pki` is not available in ocata: PKI tokens and `keystone-manage pki_setup` were removed in Ocata; newton is the last release that has them\n  hint: remove the key (ocata defaults to `token_provider: fernet`), or choose another release\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_identity_v2_after_pike() {
    let (code, stdout, stderr) = validate(
        "v2",
        b"site: s\nrelease: queens\ncontroller: c\nidentity_api: v2.0\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "v2.yaml:4:15: identity_api: `v2.0` is not available in queens: the Identity v2.0 admin API was removed in Queens; pike is the last release that has it\n  hint: remove the key (queens defaults to `identity_api: v3`), or choose another release\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_admin_token_after_newton_and_unknown_provider() {
    let (code, stdout, stderr) = validate(
        "admintoken",
        b"site: s\nrelease: pike\ncontroller: c\nidentity_api: v2.0\ntoken_provider: jwt\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "admintoken.yaml:4:15: identity_api: `v2.0` is not available in pike: admin_token authentication (the v2.0 path's bootstrap) was removed in Ocata; newton is the last release that has it\n  hint: remove the key (pike defaults to `identity_api: v3`), or choose another release\nadmintoken.yaml:5:17: token_provider: unknown token provider `jwt`\n  hint: one of: pki, uuid, fernet\n2 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_glance_registry_after_train() {
    let (code, stdout, stderr) = validate(
        "registry",
        b"site: s\nrelease: ussuri\ncontroller: c\nglance_registry: true\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "registry.yaml:4:18: glance_registry: glance-registry is not available in ussuri: glance-registry was removed in Ussuri; train is the last release that has it\n  hint: remove the key (ussuri defaults to `glance_registry: false`), or choose another release\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_identity_v3_before_ocata() {
    let (code, stdout, stderr) = validate(
        "v3",
        b"site: s\nrelease: icehouse\ncontroller: c\nidentity_api: v3\nhosts:\n  - {name: a, address: 10.0.0.1}\n",
    );
    assert_eq!(
        stderr,
        "v3.yaml:4:15: identity_api: `v3` is not available in icehouse: stackprov's v3 path needs `keystone-manage credential_setup`, which first appeared in Ocata\n  hint: remove the key (icehouse defaults to `identity_api: v2.0`), or choose another release\n1 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

/// A plan of the recorded bare Rocky 9 host (tests/golden), offline: with
/// `-v` it also lists what needs nothing and why; the JSON plan always does.
#[test]
fn plan_v_lists_the_noops_with_their_reasons_and_json_has_them() {
    let (_dir, site) = common::site_dir(
        "site: golden\nrelease: caracal\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [base, mariadb, messaging, keystone, glance, openrc]\n",
        "admin: \"admin-pass\"\nglance_db: \"glance-db-pass\"\nglance_user: \"glance-user-pass\"\nkeystone_db: \"keystone-db-pass\"\nrabbit_openstack: \"rabbit-pass\"\n",
    );
    let facts = format!("{}/tests/golden/rocky9.json", env!("CARGO_MANIFEST_DIR"));
    let site = site.as_str();
    let plan = |args: &[&str]| {
        let out = Command::cargo_bin("stackprov")
            .unwrap()
            .args(args)
            .args(["plan", site, "--facts", &facts])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };

    let verbose = plan(&["-v"]);
    let noops: Vec<(&str, &str)> = verbose
        .lines()
        .filter_map(|l| l.strip_prefix("  = "))
        .map(|l| l.split_once(' ').map(|(id, why)| (id, why.trim())).unwrap())
        .collect();
    // the roles' later packages go in with the host's first install
    let (joined, noops): (Vec<_>, Vec<_>) = noops
        .into_iter()
        .partition(|(id, _)| id.starts_with("packages:"));
    assert_eq!(
        noops,
        [
            ("service:chronyd", "enabled and running"),
            (
                "keystone_api:127.0.0.1:5000",
                "same API as before (its wait is planned above)"
            ),
        ],
        "{verbose}"
    );
    assert_eq!(joined.len(), 5, "{verbose}");
    for (id, why) in joined {
        assert!(
            why.ends_with("packages:chrony,openstack-selinux above installs them (one package transaction for the host)"),
            "{id}: {why}"
        );
    }
    // after the host's changes, before the summary
    let at = verbose.find("  = service:chronyd").unwrap();
    assert!(verbose[..at].contains("+ packages:"), "{verbose}");
    assert!(verbose[at..].contains("\nPlan: "), "{verbose}");
    // without -v: the plan as it always was, the same lines minus the no-ops
    let plain = plan(&[]);
    let without: String = verbose
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("  = "))
        .collect();
    assert_eq!(plain, without);

    let json: serde_json::Value = serde_json::from_str(&plan(&["--format", "json"])).unwrap();
    let noops = json["plan"]["hosts"][0]["noops"].as_array().unwrap();
    assert_eq!(noops.len(), 7, "{noops:?}");
    assert_eq!(
        noops[0],
        serde_json::json!({"id": "service:chronyd", "role": "base", "reason": "enabled and running"})
    );
    assert_eq!(
        noops[1],
        serde_json::json!({"id": "packages:mariadb-server,python3-PyMySQL", "role": "mariadb",
            "reason": "not installed: mariadb-server python3-PyMySQL; packages:chrony,openstack-selinux above installs them (one package transaction for the host)"})
    );
    assert_eq!(
        noops[6],
        serde_json::json!({"id": "keystone_api:127.0.0.1:5000", "role": "glance",
             "reason": "same API as before (its wait is planned above)"})
    );
}

/// Every shipped site file validates as shipped (vagrant/'s key pair, made by
/// its README's step 1, is only warned about until then). Before, `validate`
/// rendered every site as if on Debian and refused vagrant/legacy.yaml
/// ("debian has no OpenStack icehouse packages").
#[test]
fn shipped_site_files_validate() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for sub in ["vagrant", "examples"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                let to = dir.path().join(sub).join(p.file_name().unwrap());
                std::fs::copy(&p, &to).unwrap();
                files.push(to);
            }
        }
    }
    // as in a fresh checkout: vagrant/README.md's step 1 (the key pair) not done yet
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        let out = Command::cargo_bin("stackprov")
            .unwrap()
            .args(["validate", f.to_str().unwrap()])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(": valid ("), "{stdout}");
    }
}

/// A release whose choices no longer exist is refused with the release that removed them.
#[test]
fn removed_feature_names_the_release() {
    let (code, stdout, stderr) = validate(
        "pkized",
        b"site: s\nrelease: zed\ncontroller: a\ntoken_provider: pki\nhosts:\n  - {name: a, address: 192.0.2.10, roles: [base]}\n",
    );
    assert!(stderr.contains("removed in Ocata"), "{stderr}");
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn invalid_forks() {
    for (value, shown) in [
        ("0", "`0`"),
        ("\"8\"", "`8`"),
        ("many", "`many`"),
        ("257", "`257`"),
        ("[4]", "a list"),
    ] {
        let (code, stdout, stderr) = validate(
            "forks",
            format!("site: s\nrelease: zed\ncontroller: c\nforks: {value}\nhosts:\n  - {{name: a, address: 10.0.0.1, roles: [base]}}\n").as_bytes(),
        );
        assert_eq!(
            stderr,
            format!(
                "forks.yaml:4:8: forks: {shown} is not a number of hosts to work on at once\n  hint: a number from 1 to 256, e.g. `forks: 32`\n1 error(s)\n"
            ),
            "{value}"
        );
        assert_eq!((code, stdout.as_str()), (1, ""));
    }
    let (code, _, stderr) = validate(
        "forks",
        b"site: s\nrelease: zed\ncontroller: c\nforks: 4\nhosts:\n  - {name: a, address: 10.0.0.1, roles: [base]}\n",
    );
    assert_eq!(code, 0, "{stderr}");
}

/// An unknown release is reported with the hosts' errors, all at once. What
/// depends on the release (its choices, which files the roles write, whether
/// INI, the options it removed) waits for a release stackprov knows: guessing
/// would mean rendering the roles for every release.
#[test]
fn an_unknown_release_hides_no_other_error() {
    let (code, stdout, stderr) = validate(
        "release",
        b"site: s\nrelease: zedd\ncontroller: c\ntoken_provider: fernet\nhosts:\n  - {name: a, address: 10.0.0.1, roles: [base, keystone]}\noverrides:\n  /etc/nope.conf:\n    DEFAULT: {debug: true}\n  /etc/keystone/keystone.conf:\n    catalog: {template_file: x}\n",
    );
    assert_eq!(
        stderr,
        "release.yaml:2:10: release: unknown OpenStack release `zedd`\n  hint: did you mean `zed`?\nrelease.yaml:6:5: hosts[0].roles: role `keystone` needs role `mariadb` on the same host\n  hint: add `mariadb` to the roles of host `a`\n2 error(s)\n"
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
}

/// clap's own refusals speak JSON when the command line asks for it (before:
/// clap's text on stderr only); `--help` and `--version` stay text, exit 0.
#[test]
fn usage_errors_are_one_json_document_under_format_json() {
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("stackprov")
            .unwrap()
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let usage = |message: &str| {
        format!(
            "{}\n",
            serde_json::json!({"error": {"kind": "usage", "message": message, "exit_code": 1}})
        )
    };
    let forks = usage(
        "invalid value '0' for '--forks <FORKS>': 0 is not in 1..=256\n\nFor more information, try '--help'.",
    );
    for args in [
        &["--format", "json", "--forks", "0", "validate", "site.yaml"][..],
        &["validate", "site.yaml", "--forks=0", "--format=json"],
    ] {
        assert_eq!(run(args), (1, forks.clone(), String::new()), "{args:?}");
    }
    assert_eq!(
        run(&[
            "verify",
            "site.yaml",
            "--tempest",
            "--tempest-concurrency",
            "0",
            "--format",
            "json"
        ]),
        (
            1,
            usage(
                "invalid value '0' for '--tempest-concurrency <TEMPEST_CONCURRENCY>': 0 is not in 1..=32\n\nFor more information, try '--help'."
            ),
            String::new()
        )
    );
    // without --format json, clap's text as before
    let (code, stdout, stderr) = run(&["--forks", "0", "validate", "site.yaml"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("error: invalid value '0' for '--forks <FORKS>'"),
        "{stderr}"
    );
    let (code, stdout, _) = run(&["--format", "json", "--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage: stackprov"), "{stdout}");
    let (code, stdout, _) = run(&["--format", "json", "--version"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, concat!("stackprov ", env!("CARGO_PKG_VERSION"), "\n"))
    );
}

/// `plan --out` refused after planning: one JSON document, the error (before:
/// the plan's document, then the error's).
#[test]
fn a_refused_out_is_the_one_json_document() {
    let (_dir, site) = common::site_dir(
        "site: golden\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [base]\n",
        "admin: \"admin-pass\"\n",
    );
    let facts = format!("{}/tests/golden/debian12.json", env!("CARGO_MANIFEST_DIR"));
    let site = site.as_str();
    let out = Command::cargo_bin("stackprov")
        .unwrap()
        .args([
            "--format", "json", "plan", site, "--facts", &facts, "--out", site,
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!(
            "{}\n",
            serde_json::json!({"error": {"kind": "would_overwrite", "exit_code": 1,
                "message": format!("refusing to write over the site file {site}; choose another file")}})
        )
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Every `kind` an error can have is listed in docs/output.md (before:
/// `two_cluster_starts` and `galera_bootstrap` were not).
#[test]
fn docs_output_lists_every_error_kind() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let code = std::fs::read_to_string(root.join("src/error.rs")).unwrap();
    let docs = std::fs::read_to_string(root.join("docs/output.md")).unwrap();
    let body = &code[code.find("pub fn kind(&self)").unwrap()..];
    let body = &body[..body.find("\n    }\n").unwrap()];
    let mut kinds: Vec<&str> = body
        .split("=> \"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert!(kinds.len() >= 16, "{kinds:?}");
    kinds.push("usage");
    for kind in kinds {
        assert!(
            docs.contains(&format!("`{kind}`")),
            "docs/output.md does not list `{kind}`"
        );
    }
}
