//! What the end-to-end tests share: the binary, the test bed, the hostile
//! secrets and the ways to look for them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn stackprov(args: &[&str]) -> (i32, String, String, f64) {
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stackprov"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    eprintln!(
        "$ stackprov {} -> {:?} in {:.1}s",
        args.join(" "),
        out.status.code(),
        t0.elapsed().as_secs_f64()
    );
    (
        out.status.code().unwrap_or(-1),
        o,
        e,
        t0.elapsed().as_secs_f64(),
    )
}

/// The test hosts' OS: `STACKPROV_E2E_OS` (debian12, the default, or
/// debian13); scripts/test runs the suite once for each.
pub fn os() -> String {
    std::env::var("STACKPROV_E2E_OS").unwrap_or_else(|_| "debian12".to_string())
}

/// A fresh test bed of `hosts` hosts of the suite's OS.
pub fn fresh_testbed(hosts: u32) {
    testbed(&["down"]);
    testbed(&["up", "--hosts", &hosts.to_string(), "--os", &os()]);
    eprintln!("test bed: {hosts} fresh {} host(s)", os());
}

pub fn testbed(args: &[&str]) -> String {
    let out = Command::new(repo().join("scripts/testbed"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/testbed {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn on_host(cmd: &str) -> String {
    testbed(&["ssh", "controller", cmd])
}

/// The passwords of acceptance 5 and issue 10: quotes, `\ $ % # @ / : ;`,
/// spaces and non-ASCII. Database passwords leave out `%`, `@` and non-ASCII,
/// which `validate` refuses for them (db_sync cannot read `%`/`@` in a URL, and
/// PyMySQL sends passwords as Latin-1; see tests/hostile_values.rs).
pub const SECRETS: &[(&str, &str)] = &[
    ("admin", "a'd\"m $in%#@/:; x\\é"),
    ("keystone_db", "k'e\"y $#/:; db\\"),
    ("glance_db", "g'l\"a $#/:;  \\db"),
    ("glance_user", "\"gl@nce's %pass: #1;\\ñ\""),
    // no outer spaces: rabbitmqctl trims them (stackprov refuses such a value)
    ("rabbit_openstack", "r@bbit's $%#/:;  pw\\ø€"),
];

/// The secrets the site uses now (after a rotation, the generated ones too).
pub fn current_secrets(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("e2e-site.secrets.yaml")).unwrap();
    let mut out: Vec<(String, String)> = SECRETS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(": ")
            && !k.starts_with('#')
        {
            let v: String = serde_json::from_str(v).unwrap_or_else(|_| v.to_string());
            out.push((k.to_string(), v));
        }
    }
    out
}

pub fn write_site(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let base = std::fs::read_to_string(dir.join("site.yaml"))
        .expect("scripts/testbed up writes target/testbed/site.yaml");
    let site = dir.join("e2e-site.yaml");
    std::fs::write(
        &site,
        base.replace("site: testbed", "site: e2e").replace(
            "roles: [base, mariadb, keystone, glance, openrc]",
            "roles: [base, mariadb, messaging, keystone, glance, openrc]",
        ),
    )
    .unwrap();
    let secrets = dir.join("e2e-site.secrets.yaml");
    let body: String = SECRETS
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}: \"{}\"\n",
                v.replace('\\', "\\\\").replace('"', "\\\"")
            )
        })
        .collect();
    std::fs::write(&secrets, body).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    site.to_string_lossy().into_owned()
}

/// The services' own logs on the host, and the journal; each source must
/// have something in it (a read that failed or found nothing is an error,
/// not a clean scan).
pub fn host_logs() -> String {
    let mut all = String::new();
    for (what, cmd, least) in [
        ("the journal", "journalctl --no-pager -q", 10_000),
        ("keystone's logs", "cat /var/log/keystone/*.log", 1_000),
        ("glance's logs", "cat /var/log/glance/*.log", 1_000),
        ("rabbitmq's logs", "cat /var/log/rabbitmq/*.log", 100),
    ] {
        let text = on_host(cmd);
        assert!(
            text.len() >= least,
            "{what} on the host: {} bytes, fewer than {least}",
            text.len()
        );
        eprintln!("host logs: {what}, {} bytes", text.len());
        all.push_str(&text);
    }
    // MariaDB's own log file is empty when it logs to the journal
    all.push_str(&on_host("cat /var/log/mysql/*.log 2>/dev/null || true"));
    all
}

/// Watch every process's command line and environment on the host while `f`
/// runs, sampling /proc every 50 ms; the watcher must have sampled all along
/// (at least twice a second) and seen a process whose command line holds
/// `expect`, the run's own work. Returns what `f` returned and every distinct
/// line seen.
pub fn watching_cmdlines<T>(host: &str, expect: &str, f: impl FnOnce() -> T) -> (T, String) {
    let script = ": e2e-proc-watch; i=0; end=$(( $(date +%s) + 3600 )); \
        while [ $(date +%s) -lt $end ]; do i=$((i+1)); echo \"#e2e-sample $i\"; \
        head -c 65536 /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; \
        head -c 65536 /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; sleep 0.05; \
        done | awk '!/^==> / && !seen[$0]++'";
    let mut child = Command::new(repo().join("scripts/testbed"))
        .args(["ssh", host, script])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let r = f();
    let secs = t0.elapsed().as_secs_f64();
    // ending the loop on the host lets awk flush what it holds
    testbed(&["ssh", host, "pkill -f 'e2e-proc-watc[h]' || true"]);
    let t1 = Instant::now();
    while child.try_wait().unwrap().is_none() && t1.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let seen = reader.join().unwrap();
    let samples = seen
        .lines()
        .filter(|l| l.starts_with("#e2e-sample "))
        .count();
    eprintln!("process watcher on {host}: {samples} samples in {secs:.1}s");
    assert!(
        samples as f64 >= (secs * 2.0).max(1.0),
        "the watcher sampled {samples} times in {secs:.1}s"
    );
    assert!(
        seen.lines()
            .any(|l| l.contains(expect) && !l.contains("e2e-proc-watch")),
        "the watcher on {host} never saw {expect:?}"
    );
    (r, seen)
}

/// Start `apply SITE -y`, and SIGKILL it (a dropped connection, a closed
/// laptop) `grace_secs` after `reached` first holds on the host; `what` names
/// that moment, which must come within `limit_secs`.
pub fn sigkill_apply_when(
    site: &str,
    what: &str,
    limit_secs: u64,
    reached: impl Fn() -> bool,
    grace_secs: u64,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackprov"))
        .args(["apply", site, "-y"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !reached() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before {what}"
        );
        assert!(t0.elapsed().as_secs() < limit_secs, "{what} never came");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    std::thread::sleep(std::time::Duration::from_secs(grace_secs));
    child.kill().unwrap();
    child.wait().unwrap();
}

pub fn change_ids(plan_json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(plan_json).unwrap();
    v["plan"]["hosts"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}
