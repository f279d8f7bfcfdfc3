//! The facts script and its parser, on recorded output.

use super::*;

pub(crate) fn debian_os() -> OsFacts {
    parse_os("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nSTACKPROV_INIT=systemd\n").unwrap()
}

#[test]
fn parses_os_release_of_each_family() {
    let d = debian_os();
    assert_eq!(
        (d.family, d.package_manager, d.init, d.major()),
        (OsFamily::Debian, PackageManager::Apt, Init::Systemd, 12)
    );
    let c6 = parse_os("ID=centos\nPRETTY_NAME=\"CentOS release 6.10 (Final)\"\nVERSION_ID=6.10\nSTACKPROV_INIT=sysv\n").unwrap();
    assert_eq!(
        (c6.family, c6.package_manager, c6.init, c6.major()),
        (OsFamily::Rhel, PackageManager::Yum, Init::Sysv, 6)
    );
    let r9 = parse_os("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nSTACKPROV_INIT=systemd\n").unwrap();
    assert_eq!(r9.package_manager, PackageManager::Dnf);
    assert_eq!(
        parse_os("ID=alpine\n"),
        Err(FactsError::UnsupportedOs {
            id: "alpine".into()
        })
    );
    assert!(
        parse_os("ID=alpine\n")
            .unwrap_err()
            .to_string()
            .contains("alpine")
    );
}

/// The login checks' part of the facts script, run for real with `sh`; a
/// `mysql` stand-in on PATH records the mode of its option file and of the
/// directory holding it.
fn run_login_checks(mktemp_fails: bool) -> (String, FactQuery, String, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let mut q = FactQuery {
        sql: true,
        ..FactQuery::default()
    };
    q.sql_logins.insert("keystone".into(), "keystone_db".into());
    let (script, stdin) = script(&debian_os(), &q);
    // before anything runs: a script that could write the option files
    // outside a private directory (`/c` when `$d` is empty) must not run here
    let umask = script.find("umask 077\n").expect("umask 077 before mktemp");
    let mktemp = script.find("d=$(mktemp -d)").expect("mktemp -d");
    assert!(umask < mktemp, "{script}");
    assert!(
        script.contains("[ -d \"$d\" ] && chmod 700 \"$d\" || {"),
        "{script}"
    );
    assert!(script.contains("trap 'rm -rf \"$d\"' EXIT"), "{script}");

    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let log = dir.path().join("modes");
    let tools = [
        (
            "mysql",
            format!(
                "#!/bin/sh\nfor a; do case \"$a\" in --defaults-extra-file=*) f=\"${{a#*=}}\"; stat -c %a \"$f\" \"${{f%/*}}\" >> '{}';; esac; done\nexit 0\n",
                log.display()
            ),
        ),
        (
            "mktemp",
            if mktemp_fails {
                "#!/bin/sh\nexit 1\n".to_string()
            } else {
                format!(
                    "#!/bin/sh\nexec /usr/bin/mktemp -p '{}' \"$@\"\n",
                    tmp.display()
                )
            },
        ),
    ];
    for (name, text) in tools {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let resolved = stdin
        .unwrap()
        .replace("((secret:keystone_db|cnf))", "k-db-pass");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&encode_login_stdin(&resolved))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let modes = std::fs::read_to_string(&log).unwrap_or_default();
    (String::from_utf8(out.stdout).unwrap(), q, modes, dir)
}

#[test]
fn a_failed_mktemp_stops_the_facts_script_before_any_option_file_is_written() {
    let (out, q, modes, _dir) = run_login_checks(true);
    assert!(!out.contains("login keystone"), "{out}");
    assert_eq!(modes, "", "mysql ran with an option file");
    assert_eq!(
        parse(debian_os(), &q, &out).unwrap_err().to_string(),
        "the facts script stopped on the host: mktemp -d failed, so there is no private directory for the database login checks (is /tmp full or read-only?)"
    );
}

#[test]
fn login_option_files_are_private_and_removed_afterwards() {
    let (out, q, modes, dir) = run_login_checks(false);
    assert!(out.contains("login keystone ok"), "{out}");
    assert_eq!(modes, "600\n700\n");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(parse(debian_os(), &q, &out).unwrap().sql.unwrap().logins["keystone"]);
}

#[test]
fn parses_a_recorded_batch() {
    let mut q = FactQuery::default();
    q.packages
        .extend(["keystone".to_string(), "mariadb-server".to_string()]);
    q.contents.insert("/etc/keystone/keystone.conf".into());
    q.stats.insert("/var/lib/glance/images".into());
    q.services.insert("keystone".into());
    q.checks.insert("test -e /x".into());
    q.sql = true;
    let out = "@@stackprov packages 0\nkeystone\tii \t2:22.0.2\nmariadb-server\tun \t\n\
@@stackprov file 0\nregular file|root|keystone|640|12\nW0RFRkFVTFRdCg==\n\
@@stackprov file 1\nmissing\n\
@@stackprov service 0\nexists\nenabled\nactive\n\
@@stackprov check 0\n1\n\
@@stackprov sql 0\nok\ndb keystone\nuser keystone@localhost\ngrant keystone@%@keystone\n\
@@stackprov journal 0\nkeystone\n";
    let f = parse(debian_os(), &q, out).unwrap();
    assert_eq!(f.packages.keys().collect::<Vec<_>>(), vec!["keystone"]);
    let conf = f.file("/etc/keystone/keystone.conf").unwrap();
    assert_eq!(conf.content.as_deref(), Some("[DEFAULT]\n"));
    assert_eq!(conf.perms.mode, 0o640);
    assert!(f.file("/var/lib/glance/images").is_none());
    assert!(f.service("keystone").running);
    assert_eq!(f.checks["test -e /x"], 1);
    let sql = f.sql.unwrap();
    assert!(sql.grants.contains("keystone@%@keystone"));
    assert!(f.pending_restarts.contains("keystone"));
}

/// Keystone's uwsgi processes follow the processor count (8 at most, and 8
/// when it is not known), from `nproc` in the OS probe.
#[test]
fn keystone_processes_follow_the_processors() {
    let site = crate::desired::check::site_from_bytes(
        std::path::Path::new("site.yaml"),
        b"site: t\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [base, mariadb, keystone]\n",
    )
    .unwrap();
    let processes = |cpus: &str| {
        let os = parse_os(&format!("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nSTACKPROV_INIT=systemd\n{cpus}")).unwrap();
        let d = crate::desired::playbook::desired(&site, &site.hosts[0], &os).unwrap();
        d.resources
            .iter()
            .find_map(|r| {
                let crate::desired::resource::Kind::IniEdit(e) = &r.kind else {
                    return None;
                };
                (e.path == "/etc/keystone/keystone-uwsgi.ini")
                    .then(|| e.settings.iter().find(|s| s.key == "processes"))
                    .flatten()
                    .map(|s| s.value.clone())
            })
            .unwrap()
    };
    assert_eq!(processes("STACKPROV_CPUS=2\n"), "2");
    assert_eq!(processes("STACKPROV_CPUS=64\n"), "8");
    assert_eq!(processes(""), "8");
    assert_eq!(processes("STACKPROV_CPUS=\n"), "8");
}
