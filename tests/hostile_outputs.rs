//! Outputs under pressure (issue 10): every `--format json` run prints one
//! JSON document on stdout, errors included, with the exit code README
//! promises; hosts that could not be planned are never missing from a plan;
//! output files never land on the site's own files. Offline or against fake
//! hosts only (the addresses are documentation ones and are never dialled).

use stackprov::fake::{FakeHost, SharedFake};
use std::path::Path;

mod common;

fn site(dir: &Path, hosts: &[&str]) -> String {
    let mut text = "site: t\nrelease: zed\ncontroller: controller\nhosts:\n".to_string();
    for (i, h) in hosts.iter().enumerate() {
        text.push_str(&format!(
            "  - name: {h}\n    address: 192.0.2.{}\n    roles: [base]\n",
            i + 10
        ));
    }
    let p = dir.join("site.yaml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Every run here is held to a bound (`common::within`: these run in this
/// process, not as the binary): 1 s of CPU time on this thread (hosts
/// planned on threads of their own are not counted), and the test process
/// under 100 MB peak RSS (it runs at some 20 MB).
fn bounded(args: &[&str], run: impl FnOnce() -> common::Run) -> common::Run {
    common::within(
        &args.join(" "),
        std::time::Duration::from_secs(1),
        100 * 1024,
        run,
    )
}

fn cli(host: Option<&SharedFake>, args: &[&str]) -> common::Run {
    bounded(args, || common::run_cli(host, args))
}

fn cli_hosts(hosts: &[(&str, &SharedFake)], args: &[&str]) -> common::Run {
    bounded(args, || common::run_cli_hosts(hosts, args))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
}

#[test]
fn an_error_with_format_json_is_one_json_document_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), &["controller"]);
    let missing = dir.path().join("nope.json");
    let r = cli(
        None,
        &[
            "--format",
            "json",
            "plan",
            &s,
            "--facts",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!((r.code, r.err.as_str()), (1, ""), "{}", r.out);
    let v = json(&r.out);
    assert_eq!(v["error"]["kind"], "saved_file");
    assert_eq!(v["error"]["exit_code"], 1);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nope.json: cannot read: No such file"),
        "{v}"
    );

    let r = cli(
        None,
        &["--format", "json", "plan", &s, "--host", "controler"],
    );
    assert_eq!((r.code, r.err.as_str()), (1, ""), "{}", r.out);
    let v = json(&r.out);
    assert_eq!(v["error"]["kind"], "no_such_host");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("did you mean `controller`?"),
        "{v}"
    );
    // the same error for people: on stderr, nothing on stdout
    let r = cli(None, &["plan", &s, "--host", "controler"]);
    assert_eq!((r.code, r.out.as_str()), (1, ""));
    assert!(
        r.err.starts_with("error: no host `controler` in "),
        "{}",
        r.err
    );
}

#[test]
fn an_unencodable_secret_in_validate_json_is_a_json_finding() {
    let (_dir, p) = common::site_dir(
        "site: t\nrelease: zed\ncontroller: controller\nhosts:\n  - {name: controller, address: 192.0.2.10, roles: [base, mariadb, keystone]}\n",
        "keystone_db: \"50%off-tonight\"\n",
    );
    let r = cli(None, &["--format", "json", "validate", &p]);
    assert_eq!((r.code, r.err.as_str()), (1, ""), "{}", r.out);
    let v = json(&r.out);
    assert_eq!(v["valid"], false);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("secret `keystone_db` contains `%`"),
        "{v}"
    );
}

#[test]
fn an_unreachable_host_is_in_the_json_plan_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), &["controller", "gone"]);
    let controller = SharedFake::new(FakeHost::debian_controller());
    let hosts = [("controller", &controller)];
    let r = cli_hosts(&hosts, &["--format", "json", "plan", &s]);
    assert_eq!(r.code, 4, "{}{}", r.out, r.err);
    let v = json(&r.out);
    assert_eq!(v["plan"]["hosts"][0]["host"], "controller");
    assert_eq!(v["plan"]["unplanned"][0]["host"], "gone");
    assert_eq!(v["plan"]["unplanned"][0]["unreachable"], true);
    assert!(
        v["plan"]["unplanned"][0]["error"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{v}"
    );
    let r = cli_hosts(&hosts, &["plan", &s]);
    assert_eq!(r.code, 4);
    let last = r.out.lines().last().unwrap();
    assert!(
        last.starts_with("Plan: ")
            && last.ends_with("on 1 host(s). 1 host(s) could not be planned (why: on stderr)."),
        "{}",
        r.out
    );
    assert!(r.err.contains("gone: unreachable: "), "{}", r.err);
}

#[test]
fn when_no_host_answers_the_plan_does_not_say_they_match() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), &["controller", "db"]);
    let r = cli_hosts(&[], &["plan", &s]);
    assert_eq!(r.code, 4, "{}{}", r.out, r.err);
    assert_eq!(
        r.out,
        "No plan: none of the 2 host(s) could be planned (why: on stderr).\n"
    );
    assert!(!r.out.contains("match the site file"));
    let r = cli_hosts(&[], &["--format", "json", "plan", &s]);
    assert_eq!(r.code, 4);
    let v = json(&r.out);
    assert_eq!(v["plan"]["unplanned"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["plan"]["hosts"].as_array().unwrap().len(), 0, "{v}");
}

#[test]
fn output_files_never_replace_the_site_or_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(dir.path(), &["controller"]);
    let facts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/debian12.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&facts).unwrap()).unwrap();
    // the golden facts are of a host named `controller`, as ours
    assert!(golden["hosts"]["controller"].is_object());
    let f = facts.to_str().unwrap();
    // a first plan makes the secrets file
    let first = cli(None, &["plan", &s, "--facts", f]);
    assert_eq!(first.code, 0, "{}{}", first.out, first.err);
    let secrets = dir.path().join("site.secrets.yaml");
    let before = std::fs::read(&secrets).unwrap_or_default();
    for (target, what) in [
        (secrets.clone(), "the secrets file"),
        (dir.path().join("site.yaml"), "the site file"),
        // the same file by another name
        (dir.path().join(".").join("site.yaml"), "the site file"),
    ] {
        let r = cli(
            None,
            &["plan", &s, "--facts", f, "--out", target.to_str().unwrap()],
        );
        assert_eq!(r.code, 1, "{}{}", r.out, r.err);
        assert_eq!(
            r.err,
            format!(
                "error: refusing to write over {what} {}; choose another file\n",
                target.display()
            )
        );
    }
    assert_eq!(std::fs::read(&secrets).unwrap_or_default(), before);
    let ok = dir.path().join("plan.json");
    let r = cli(
        None,
        &["plan", &s, "--facts", f, "--out", ok.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(ok.exists());
}
