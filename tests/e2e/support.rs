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

/// Every form a secret could leak in: raw, each encoding stackprov writes it
/// in, JSON-escaped and Debug-formatted (without their outer quotes).
pub fn leak_forms(value: &str) -> Vec<String> {
    let mut forms: Vec<String> = stackprov::secrets::Encoding::ALL
        .iter()
        .map(|e| e.encode(value))
        .collect();
    let json = serde_json::to_string(value).unwrap();
    forms.push(json[1..json.len() - 1].to_string());
    let debug = format!("{value:?}");
    forms.push(debug[1..debug.len() - 1].to_string());
    // a SQL literal's quotes are not part of the value
    forms.iter_mut().for_each(|f| {
        if f.len() > 2 && f.starts_with('\'') && f.ends_with('\'') {
            *f = f[1..f.len() - 1].to_string();
        }
    });
    forms.sort();
    forms.dedup();
    forms
}

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

pub fn assert_no_secret(what: &str, text: &str) {
    assert_none_of(
        SECRETS.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        what,
        text,
    );
}

/// No form of any of `secrets` in `text`.
pub fn assert_none_of(secrets: impl IntoIterator<Item = (String, String)>, what: &str, text: &str) {
    for (name, v) in secrets {
        for form in leak_forms(&v) {
            // where, with the secret itself blanked out
            let lines: Vec<String> = text
                .lines()
                .filter(|l| l.contains(&form))
                .take(3)
                .map(|l| l.replace(&form, "<SECRET>"))
                .collect();
            assert!(
                lines.is_empty(),
                "secret {name} leaked into {what} (as {form:?}) in: {lines:#?}"
            );
        }
    }
}

/// The services' own logs on the host, and the journal.
pub fn host_logs() -> String {
    on_host(
        "journalctl --no-pager -q 2>/dev/null; cat /var/log/keystone/*.log /var/log/glance/*.log /var/log/mysql/*.log /var/log/rabbitmq/*.log 2>/dev/null; true",
    )
}

/// Watch every process command line and environment on the host while `f` runs.
pub fn watching_cmdlines<T>(f: impl FnOnce() -> T) -> (T, String) {
    let mut child = Command::new(repo().join("scripts/testbed"))
        .args(["ssh", "controller", "for i in $(seq 3000); do cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; sleep 0.1; done | awk '!seen[$0]++'"])
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
    let r = f();
    let _ = child.kill();
    let _ = child.wait();
    let seen = reader.join().unwrap();
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
