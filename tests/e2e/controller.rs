//! One fresh host becomes a working controller: killed runs, convergence,
//! drift, rotation, and no secret anywhere.

use crate::leaks::*;
use crate::support::*;
use std::time::Instant;

#[test]
#[ignore = "needs the test host: scripts/testbed up (scripts/test runs it)"]
fn a_fresh_host_becomes_a_working_controller() {
    let dir = repo().join("target/testbed");
    // a fresh host every run
    fresh_testbed(1);
    let site = write_site(&dir);
    let s = site.as_str();

    // 1. a complete plan on the bare host, no error
    let (code, out, err, _) = stackprov(&[
        "plan",
        s,
        "--detailed-exitcode",
        "--out",
        &format!("{}/e2e-plan.json", dir.display()),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    // every role's packages in one transaction, the host's first install
    assert!(
        out.lines().any(|l| l.contains("+ packages:")
            && l.contains("one package transaction for the host")
            && l.contains(" rabbitmq-server ")
            && l.contains(" keystone ")
            && l.contains(" glance ")),
        "{out}"
    );
    for id in [
        "command:rabbitmq user openstack",
        "file:/etc/keystone/keystone.conf",
        "command:keystone bootstrap",
        "keystone_endpoint:image/admin/RegionOne",
        "file:/root/admin-openrc",
    ] {
        assert!(out.contains(id), "plan lacks {id}:\n{out}");
    }
    assert_no_secret("the plan", &(out.clone() + &err));
    assert_no_secret(
        "the saved plan",
        &std::fs::read_to_string(dir.join("e2e-plan.json")).unwrap(),
    );

    // a first apply killed (SIGKILL: a dropped connection, a closed laptop)
    // while it installs keystone, once that install holds dpkg's frontend
    // lock (apt takes it only after reading its lists, seconds in on a busy
    // machine): the install goes on on the host without its client, holding
    // the lock
    let installing = || {
        on_host(
            "ino=$(stat -c %i /var/lib/dpkg/lock-frontend 2>/dev/null) && grep -q \":$ino \" /proc/locks && pgrep -f 'apt-get instal[l] .*keystone' || true",
        )
    };
    let t0 = Instant::now();
    sigkill_apply_when(
        s,
        "keystone's install",
        900,
        || !installing().trim().is_empty(),
        3,
    );
    assert!(
        !installing().trim().is_empty(),
        "the install goes on after its client was killed"
    );
    eprintln!(
        "figure: apply SIGKILLed {:.1}s in, during keystone's install",
        t0.elapsed().as_secs_f64()
    );

    // run again at once, watching the host's process list for secrets: it
    // waits for the package manager (before: "Could not get lock
    // /var/lib/dpkg/lock-frontend"), then converges
    let ((code, out, err, fresh_secs), cmdlines) =
        watching_cmdlines("controller", "keystone-manage", || {
            stackprov(&["apply", s, "-y"])
        });
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("Could not get lock"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("controller: packages:")
            && l.contains(" waits for the package manager: pid ")),
        "says whom it waits for: {out}"
    );
    assert_no_secret("a process command line on the host", &cmdlines);
    assert_no_secret("apply's output", &(out.clone() + &err));
    let package_secs: f64 = out
        .lines()
        .filter(|l| l.contains(": + packages:"))
        .filter_map(|l| {
            l.rsplit('(')
                .next()?
                .trim_end_matches("s)")
                .parse::<f64>()
                .ok()
        })
        .sum();
    eprintln!(
        "figure: the apply after the kill {fresh_secs:.1}s, of which package installs {package_secs:.1}s"
    );

    // the installs held the services back with a policy-rc.d of their own
    // and took it away again, the killed one's included
    assert_eq!(
        on_host("test -e /usr/sbin/policy-rc.d && echo left || echo gone").trim(),
        "gone"
    );
    let (code, out, err, _) = stackprov(&["verify", s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("upload a qcow2 image"), "{out}");
    assert_no_secret("verify's output", &(out + &err));

    // 2. converged: plan exits 0, apply changes nothing
    let (code, out, _, _) = stackprov(&["plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, err, converged_secs) = stackprov(&["--format", "json", "apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_no_secret("apply's JSON", &out);
    let recap: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(recap["recap"][0]["changed"], 0, "{out}");
    eprintln!(
        "figure: converged apply {converged_secs:.1}s, {} SSH round trips, {} HTTP requests",
        recap["recap"][0]["transport"]["round_trips"], recap["recap"][0]["http_requests"]
    );
    // what a converged run costs (README, "Speed"): one facts script, the
    // catalog's reads, RabbitMQ's AMQP login through a tunnel
    assert_eq!(recap["recap"][0]["transport"]["round_trips"], 5, "{out}");
    assert_eq!(recap["recap"][0]["http_requests"], 3, "{out}");

    // what the planner sees on the converged host, as `facts` prints it
    let (code, out, err, _) = stackprov(&["facts", s]);
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        "packages: 7 of 7 installed",
        "    memcached enabled, running",
        "    keystone enabled, running",
        "password logins: glance ok, keystone ok",
        // RabbitMQ's user, by an AMQP login (no rabbitmqctl, no Erlang started)
        "amqp login openstack@/:5672: ok",
        "    image public RegionOne http://controller:9292",
    ] {
        assert!(out.contains(line), "facts lack {line:?}:\n{out}");
    }
    assert!(!out.contains("(absent)") && !out.contains("fails"), "{out}");
    assert_no_secret("facts", &(out + &err));
    let saved = dir.join("e2e-facts.json");
    let (code, out, err, _) = stackprov(&["facts", s, "--save", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let saved_text = std::fs::read_to_string(&saved).unwrap();
    assert_no_secret("saved facts", &saved_text);
    // reading facts starts no interpreter on the host: no check of the
    // facts script runs Python, Perl or RabbitMQ's Erlang tools
    let v: serde_json::Value = serde_json::from_str(&saved_text).unwrap();
    let checks: Vec<&str> = v["hosts"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|h| h["query"]["checks"].as_array().unwrap())
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(!checks.is_empty(), "{v}");
    for c in &checks {
        for word in ["python", "perl", "rabbitmqctl", "erl ", "ruby", "php"] {
            assert!(!c.contains(word), "a facts check starts {word}: {c}");
        }
    }
    let (code, out, err, _) = stackprov(&[
        "--format",
        "json",
        "plan",
        s,
        "--facts",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_no_secret("a JSON plan from saved facts", &(out + &err));

    // a run killed right after it wrote a config file, before the restart the
    // file owes: a systemctl that stops at keystone's restart marks the moment
    on_host(
        "sed -i 's/^log_file = keystone.log/log_file = drifted.log/' /etc/keystone/keystone.conf",
    );
    on_host(
        "printf '#!/bin/sh\\nif [ \"$1\" = restart ] && [ \"$2\" = keystone ]; then touch /run/e2e-restart-reached; sleep 600; exit 1; fi\\nexec /usr/bin/systemctl \"$@\"\\n' > /usr/local/sbin/systemctl && chmod 755 /usr/local/sbin/systemctl",
    );
    let started = || on_host("/usr/bin/systemctl show -p InvocationID --value keystone");
    let before = started();
    sigkill_apply_when(
        s,
        "keystone's restart",
        120,
        || on_host("test -e /run/e2e-restart-reached && echo yes || true").trim() == "yes",
        0,
    );
    on_host(
        "pkill -f 'sleep 60[0]' || true; rm -f /usr/local/sbin/systemctl /run/e2e-restart-reached",
    );
    assert_eq!(
        on_host("grep -c '^log_file = keystone.log' /etc/keystone/keystone.conf").trim(),
        "1",
        "the file was written"
    );
    assert_eq!(started(), before, "keystone was not restarted yet");
    assert!(on_host("cat /var/lib/stackprov/pending-restarts").contains("keystone"));
    // the next plan owes exactly that restart; its apply restarts keystone once
    let (code, out, err, _) = stackprov(&["--format", "json", "plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(change_ids(&out), vec!["service:keystone"], "{out}");
    assert!(
        out.contains("restart left pending by an interrupted run"),
        "{out}"
    );
    let (code, out, err, _) = stackprov(&["apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    let after = started();
    assert_ne!(after, before, "restarted");
    let (code, out, err, _) = stackprov(&["--format", "json", "apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["recap"][0]["changed"],
        0,
        "{out}"
    );
    assert_eq!(started(), after, "restarted exactly once");

    // 3. drift: a key in keystone.conf, an endpoint URL through the API,
    //    glance-api stopped, RabbitMQ's password changed behind our back
    on_host(
        "sed -i 's/^log_file = keystone.log/log_file = drifted.log/' /etc/keystone/keystone.conf",
    );
    on_host(
        ". /root/admin-openrc && openstack endpoint set --url http://controller:9393 $(openstack endpoint list --service image --interface public -f value -c ID)",
    );
    on_host("systemctl stop glance-api");
    on_host("printf 'drifted\\n' | rabbitmqctl change_password openstack >/dev/null");
    let (code, out, err, _) = stackprov(&["--format", "json", "plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("403 ACCESS_REFUSED"), "{out}");
    let mut ids = change_ids(&out);
    ids.sort();
    assert_eq!(
        ids,
        vec![
            "command:rabbitmq user openstack",
            "file:/etc/keystone/keystone.conf",
            "keystone_endpoint:image/public/RegionOne",
            "service:glance-api",
            // the consequence of the keystone.conf fix
            "service:keystone",
        ]
    );
    // fixed with every log line on (-vv): the logs keep the secrets out too
    let (code, out, err, _) = stackprov(&["-vv", "apply", s, "-y"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("DEBUG"), "-vv logs: {err}");
    assert_no_secret("apply's -vv logs", &(out + &err));
    let (code, out, err, _) = stackprov(&["-vv", "verify", s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_no_secret("verify's -vv logs", &(out + &err));
    let (code, out, _, _) = stackprov(&["plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        on_host("grep -c '^log_file = keystone.log' /etc/keystone/keystone.conf").trim() == "1"
    );

    // 3b. OpenStack's own API tests, with the hostile admin password in
    //     tempest.conf (tests/e2e/tempest.rs)
    crate::tempest::tempest_passes_twice(s, &current_secrets(&dir));

    // 4. every secret rotated at once (the secrets file replaced by freshly
    //    generated values): one apply converges, including Keystone's admin
    //    password (bootstrap resets it) and the glance user's
    std::fs::remove_file(dir.join("e2e-site.secrets.yaml")).unwrap();
    let ((code, out, err, rotate_secs), cmdlines) =
        watching_cmdlines("controller", "keystone-manage", || {
            stackprov(&["-vv", "apply", s, "-y"])
        });
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("figure: rotating every secret took one apply of {rotate_secs:.1}s");
    let now = current_secrets(&dir);
    assert!(
        now.len() > SECRETS.len(),
        "the rotation generated new secrets"
    );
    assert_none_of(now.clone(), "the rotation's -vv output", &(out + &err));
    assert_none_of(
        now.clone(),
        "a process on the host during the rotation",
        &cmdlines,
    );
    let (code, out, err, _) = stackprov(&["--format", "json", "verify", s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_none_of(
        now.clone(),
        "verify's JSON after the rotation",
        &(out + &err),
    );
    let (code, out, err, _) = stackprov(&["--format", "json", "facts", s]);
    assert_eq!(code, 0, "{err}");
    assert_none_of(now.clone(), "facts' JSON after the rotation", &(out + &err));
    // the services' own logs and the journal, old secrets and new
    assert_none_of(now, "the host's logs", &host_logs());
    let (code, out, _, _) = stackprov(&["plan", s, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // the host is disposable: leave none behind (STACKPROV_KEEP_TESTBED=1 keeps it)
    if std::env::var_os("STACKPROV_KEEP_TESTBED").is_none() {
        testbed(&["down"]);
    }
}
