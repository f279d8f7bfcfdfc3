//! Two hosts at once: one failing alone, Ctrl-C, a host cut off, `become`.

use crate::leaks::*;
use crate::support::*;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

#[test]
#[ignore = "needs the test host: scripts/testbed up (scripts/test runs it)"]
fn two_hosts_in_parallel_a_failing_one_stops_alone_and_ctrl_c_stops_gracefully() {
    let dir = repo().join("target/testbed");
    fresh_testbed(2);
    // the base role on both hosts, over two SSH connections at once
    let site = dir.join("e2e-two-site.yaml");
    std::fs::write(
        &site,
        std::fs::read_to_string(dir.join("site.yaml"))
            .unwrap()
            .replace("site: testbed", "site: e2e-two")
            .replace(
                "roles: [base, mariadb, keystone, glance, openrc]",
                "roles: [base]",
            ),
    )
    .unwrap();
    let s = site.to_str().unwrap();
    let recap_of = |out: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        let mut by_host = serde_json::Map::new();
        for r in v["recap"].as_array().unwrap() {
            by_host.insert(r["host"].as_str().unwrap().to_string(), r.clone());
        }
        serde_json::Value::Object(by_host)
    };

    let (code, out, err, secs) = stackprov(&["--format", "json", "apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = recap_of(&out);
    for h in ["controller", "node2"] {
        assert!(r[h]["changed"].as_u64().unwrap() >= 1, "{h}: {out}");
        assert_eq!(r[h]["failed"], 0, "{h}: {out}");
    }
    // in parallel: the run took less than the two hosts' times added up
    let (a, b) = (
        r["controller"]["seconds"].as_f64().unwrap(),
        r["node2"]["seconds"].as_f64().unwrap(),
    );
    eprintln!("figure: base role on two hosts: {secs:.1}s in all, hosts {a:.1}s and {b:.1}s");
    assert!(secs < a + b, "{secs} >= {a} + {b}");
    // (chrony is installed, not started: a container lacks CAP_SYS_TIME)
    let chrony = |h: &str| testbed(&["ssh", h, "dpkg-query -W -f='${Status}' chrony || true"]);
    assert_eq!(chrony("node2"), "install ok installed");

    // node2's package manager breaks: node2 fails with the command and its
    // stderr, the controller converges all the same
    for h in ["controller", "node2"] {
        testbed(&["ssh", h, "apt-get remove -y -q chrony >/dev/null 2>&1"]);
    }
    testbed(&[
        "ssh",
        "node2",
        "printf '#!/bin/sh\\necho \"E: apt is broken on purpose\" >&2\\nexit 100\\n' > /usr/local/sbin/apt-get && chmod 755 /usr/local/sbin/apt-get",
    ]);
    let (code, out, err, _) = stackprov(&["apply", s, "-y"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("node2: failed packages:chrony"), "{out}");
    assert!(out.contains("| E: apt is broken on purpose"), "{out}");
    assert!(out.contains("(exit 100)"), "{out}");
    let line = |h: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{h} ")) && l.contains("ok="))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("controller").contains("failed=0"), "{out}");
    assert!(line("node2").contains("failed=1"), "{out}");
    assert_eq!(chrony("controller"), "install ok installed");
    assert_ne!(chrony("node2"), "install ok installed");

    // mended, but with dpkg left as a killed install leaves it ("dpkg was
    // interrupted"): the next run recovers, converges node2 and leaves the
    // controller alone
    testbed(&[
        "ssh",
        "node2",
        "rm /usr/local/sbin/apt-get && touch /var/lib/dpkg/updates/0001",
    ]);
    let (code, out, err, _) = stackprov(&["--format", "json", "apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = recap_of(&out);
    assert_eq!(r["controller"]["changed"], 0, "{out}");
    assert!(r["node2"]["changed"].as_u64().unwrap() >= 1, "{out}");
    assert_eq!(chrony("node2"), "install ok installed");
    assert_eq!(
        testbed(&["ssh", "node2", "ls /var/lib/dpkg/updates | wc -l"]).trim(),
        "0"
    );
    let (code, out, _, _) = stackprov(&["plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // Ctrl-C mid-apply (SIGINT to the real binary): each host finishes the step
    // it runs and starts no other; exit 130; the next run finishes the job
    let site2 = dir.join("e2e-two-site-db.yaml");
    let text = std::fs::read_to_string(&site).unwrap();
    let at = text.find("  - name: node2").unwrap();
    let node2 = text[at..].replace("roles: [base]", "roles: [base, mariadb]");
    std::fs::write(&site2, format!("{}{node2}", &text[..at])).unwrap();
    let s2 = site2.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackprov"))
        .args(["apply", s2, "-y"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // the plan's summary line, then half a second: apply is installing
    // mariadb-server on node2 (many seconds), its Ctrl-C handler armed
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(n > 0, "apply ended before it started: {seen}");
        seen.push_str(&line);
        if line.starts_with("Plan: ") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    let out = seen + &rest;
    assert_eq!(status.code(), Some(130), "{out}{err}");
    assert!(
        err.contains("interrupt: each host finishes the step it runs"),
        "{err}"
    );
    assert!(out.contains("interrupted, not run="), "{out}");
    assert!(
        out.contains("node2: + packages:mariadb-server,python3-pymysql ("),
        "the running step finished: {out}"
    );
    assert!(!out.contains("failed=1"), "{out}");
    let not_run: u64 = out
        .split("interrupted, not run=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    eprintln!("figure: Ctrl-C left {not_run} change(s) on node2 for the next run");
    // the install was caught mid-run: what came after it was not started
    assert!(
        not_run >= 1,
        "Ctrl-C came too late to leave a change: {out}"
    );
    let (code, out, err, _) = stackprov(&["--format", "json", "apply", s2, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = recap_of(&out);
    assert_eq!(r["controller"]["changed"], 0, "{out}");
    assert!(r["node2"]["changed"].as_u64().unwrap() >= not_run, "{out}");
    assert!(testbed(&["ssh", "node2", "systemctl is-active mariadb"]).contains("active"));
    let (code, out, _, _) = stackprov(&["plan", s2, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // node2's next package install hangs (an apt-get that sleeps first), so
    // that a run can be caught in the middle of a step
    let hang_apt = || {
        testbed(&[
            "ssh",
            "node2",
            "apt-get -o DPkg::Lock::Timeout=120 remove -y -q chrony >/dev/null && printf '#!/bin/sh\\nsleep 120 && exec /usr/bin/apt-get \"$@\"\\n' > /usr/local/sbin/apt-get && chmod 755 /usr/local/sbin/apt-get",
        ]);
    };
    let unhang_apt = || {
        testbed(&[
            "ssh",
            "node2",
            "rm -f /usr/local/sbin/apt-get; pkill -f 'sleep 12[0]' || true",
        ]);
    };
    let spawn_apply = |site: &str| {
        Command::new(env!("CARGO_BIN_EXE_stackprov"))
            .args(["apply", site, "-y"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for_hang = |child: &mut std::process::Child| {
        let t0 = Instant::now();
        while testbed(&["ssh", "node2", "pgrep -f 'sleep 12[0]' || true"])
            .trim()
            .is_empty()
        {
            assert!(
                child.try_wait().unwrap().is_none(),
                "apply ended before the install"
            );
            assert!(t0.elapsed().as_secs() < 60, "the install never began");
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    };
    let output = |mut child: std::process::Child| {
        let mut out = String::new();
        let mut err = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (child.wait().unwrap(), out, err)
    };

    // a second Ctrl-C kills at once, as the first one says
    hang_apt();
    let mut child = spawn_apply(s);
    wait_for_hang(&mut child);
    for _ in 0..2 {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (status, out, err) = output(child);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "killed by the second Ctrl-C: {out}{err}"
    );
    assert!(err.contains("Ctrl-C again kills"), "{err}");
    unhang_apt();
    let (code, out, err, _) = stackprov(&["apply", s, "-y"]);
    assert_eq!(code, 0, "the next run finishes the job: {out}{err}");

    // the host vanishes mid-apply (its network cut: no reset is sent): the run
    // says unreachable (exit 4) within a minute, not when the step times out
    hang_apt();
    let mut child = spawn_apply(s);
    wait_for_hang(&mut child);
    let cut = Instant::now();
    let link = |state: &str| {
        let ok = Command::new("ip")
            .args(["link", "set", "tbh-node2", state])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip link set tbh-node2 {state}");
    };
    link("down");
    let (status, out, err) = output(child);
    let lost_secs = cut.elapsed().as_secs_f64();
    link("up");
    eprintln!("figure: a host cut off mid-apply was reported unreachable after {lost_secs:.1}s");
    assert_eq!(status.code(), Some(4), "{out}{err}");
    assert!(lost_secs < 90.0, "{lost_secs}");
    let node2 = out
        .lines()
        .find(|l| l.starts_with("node2 ") && l.contains("ok="))
        .unwrap_or_default();
    assert!(node2.contains("unreachable"), "{out}");
    // the network back: the next run converges it
    let t0 = Instant::now();
    let answers = || {
        Command::new(repo().join("scripts/testbed"))
            .args(["ssh", "node2", "true"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    while !answers() {
        assert!(t0.elapsed().as_secs() < 60, "node2 did not come back");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    unhang_apt();
    let (code, out, err, _) = stackprov(&["apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _, _) = stackprov(&["plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // a non-root user with passwordless sudo (`become: true`): node2 converges
    // through sudo, RabbitMQ's user with a hostile password included (on
    // stdin: never in a process list there), and a second run changes nothing
    testbed(&[
        "ssh",
        "node2",
        "id ops >/dev/null 2>&1 || useradd -m -s /bin/sh ops; install -d -m 700 -o ops -g ops /home/ops/.ssh; install -m 600 -o ops -g ops /root/.ssh/authorized_keys /home/ops/.ssh/authorized_keys; echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/ops; chmod 440 /etc/sudoers.d/ops; apt-get -o DPkg::Lock::Timeout=120 remove -y -q chrony >/dev/null && rm -f /etc/mysql/mariadb.conf.d/99-openstack.cnf",
    ]);
    let site3 = dir.join("e2e-two-site-become.yaml");
    let text = std::fs::read_to_string(&site2).unwrap();
    let at = text.find("  - name: node2").unwrap();
    let node2 = text[at..]
        .replace("user: root", "user: ops\n    become: true")
        .replace(
            "roles: [base, mariadb]",
            "roles: [base, mariadb, messaging]",
        );
    std::fs::write(&site3, format!("{}{node2}", &text[..at])).unwrap();
    let (name, value) = SECRETS
        .iter()
        .find(|(k, _)| *k == "rabbit_openstack")
        .unwrap();
    let secrets3 = dir.join("e2e-two-site-become.secrets.yaml");
    std::fs::write(
        &secrets3,
        format!(
            "{name}: \"{}\"\n",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secrets3, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let s3 = site3.to_str().unwrap();
    let since = testbed(&["ssh", "node2", "date '+%Y-%m-%d %H:%M:%S'"]);
    let ((code, out, err, _), seen) =
        watching_cmdlines("node2", "sudo -n sh -c", || stackprov(&["apply", s3, "-y"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("node2: + packages:chrony"), "{out}");
    assert!(
        out.contains("node2: + file:/etc/mysql/mariadb.conf.d/99-openstack.cnf"),
        "{out}"
    );
    assert!(
        out.contains("node2: ! command:rabbitmq user openstack"),
        "{out}"
    );
    assert_no_secret("apply's output through sudo", &(out + &err));
    assert_no_secret("node2's process list during the apply through sudo", &seen);
    // the commands ran as ops, through sudo, as root: sudo's own log says so
    let log = testbed(&[
        "ssh",
        "node2",
        &format!(
            "journalctl --no-pager -q _COMM=sudo --since '{}'",
            since.trim()
        ),
    ]);
    let runs = log
        .lines()
        .filter(|l| {
            l.contains(" ops : ") && l.contains("USER=root ; COMMAND=") && l.contains("sh -c ")
        })
        .count();
    eprintln!("figure: {runs} commands ran on node2 through sudo as ops");
    assert!(runs >= 3, "sudo's log on node2: {log}");
    assert_no_secret("sudo's log on node2", &log);
    // RabbitMQ took the password that came through sudo's stdin: the next
    // plan's AMQP login with it succeeds, so nothing is left to do
    let (code, out, err, _) = stackprov(&["facts", s3, "--host", "node2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("amqp login openstack@/:5672: ok"), "{out}");
    let (code, out, _, _) = stackprov(&["plan", s3, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    if std::env::var_os("STACKPROV_KEEP_TESTBED").is_none() {
        testbed(&["down"]);
    }
}
