//! An in-memory host for unit tests. It understands the scripts stackprov
//! itself generates (facts, package installs, services, the restart journal,
//! SQL on stdin, guarded commands) and keeps a log of every operation, so tests
//! can check that `apply` ran exactly what `plan` promised.

pub mod glance;
pub mod keystone;

use super::{
    ExecOutput, ExecRequest, FileSpec, Transport, TransportError, TransportErrorKind,
    TransportStats, Tunnel,
};
use crate::desired::resource::Perms;
use crate::facts::JOURNAL;
use glance::FakeGlance;
use keystone::{FakeHttp, FakeKeystone};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeFile {
    pub content: Vec<u8>,
    pub perms: Perms,
    pub dir: bool,
}

/// What installing a package does to the fake host.
#[derive(Debug, Clone, Default)]
pub struct FakePackage {
    pub files: Vec<(String, String)>,
    pub dirs: Vec<String>,
    /// Services it installs, enabled and started (as Debian's postinst does).
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FakeService {
    pub enabled: bool,
    pub running: bool,
    pub restarts: usize,
    pub starts: usize,
}

#[derive(Debug, Default)]
pub struct FakeHost {
    pub name: String,
    pub os_release: String,
    pub files: BTreeMap<String, FakeFile>,
    pub packages: BTreeSet<String>,
    pub catalog: BTreeMap<String, FakePackage>,
    pub services: BTreeMap<String, FakeService>,
    pub sql_running: bool,
    pub databases: BTreeSet<String>,
    /// `user@host` → password
    pub sql_users: BTreeMap<String, String>,
    pub grants: BTreeSet<String>,
    /// Every exec script and write, in order (facts scripts excluded).
    pub log: Vec<String>,
    /// Every stdin sent with an exec (to check secrets travel there).
    pub stdins: Vec<String>,
    /// Fail the next exec whose script contains this text, once.
    pub fail_once: Option<String>,
    /// While the exec whose script contains this text runs, the operator presses
    /// Ctrl-C: the flag is set (once).
    pub interrupt_during: Option<(String, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
    /// After this many more operations, the connection drops (a killed run).
    pub die_after: Option<usize>,
    /// After writing this path, the connection drops (a run killed right after a config write).
    pub die_after_write: Option<String>,
    /// The connection drops, once, while the API request `METHOD /path` whose
    /// text contains this is answered (the host powered off mid-call); every
    /// later operation finds the host unreachable until `lost` is cleared.
    pub lose_connection_on: Option<String>,
    /// The connection has dropped for good.
    pub lost: bool,
    /// Substrings of guard checks that pass (exit 0), beyond `test -e`.
    pub passing_checks: BTreeSet<String>,
    /// The Keystone API, once bootstrapped.
    pub keystone: Option<FakeKeystone>,
    /// The Image API on :9292 (while a glance-api service runs).
    pub glance: Option<FakeGlance>,
    /// What running a command does: (substring of the command, files it creates, checks it makes pass).
    pub command_effects: Vec<(String, Vec<String>, Vec<String>)>,
    pub stats: TransportStats,
}

fn ok(stdout: impl Into<String>) -> ExecOutput {
    ExecOutput {
        status: 0,
        stdout: stdout.into().into_bytes(),
        stderr: Vec::new(),
    }
}

fn fail(status: i32, stderr: &str) -> ExecOutput {
    ExecOutput {
        status,
        stdout: Vec::new(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

/// Undo `quote::shell_word`.
fn unquote(w: &str) -> String {
    let w = w.trim();
    if w.starts_with('\'') && w.ends_with('\'') && w.len() >= 2 {
        w[1..w.len() - 1].replace("'\\''", "'")
    } else {
        w.to_string()
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let rest = &s[i..];
    let j = rest.find(end)?;
    Some(&rest[..j])
}

impl FakeHost {
    /// A bare Debian 12 host with systemd.
    pub fn debian() -> FakeHost {
        let mut h = FakeHost {
            name: "fake".into(),
            os_release:
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
                    .into(),
            ..Default::default()
        };
        for d in ["/", "/etc", "/var", "/var/lib", "/tmp"] {
            h.add_dir(d, "root", "root", 0o755);
        }
        h
    }

    pub fn add_dir(&mut self, path: &str, owner: &str, group: &str, mode: u32) {
        self.files.insert(
            path.to_string(),
            FakeFile {
                content: Vec::new(),
                perms: Perms {
                    owner: owner.into(),
                    group: group.into(),
                    mode,
                },
                dir: true,
            },
        );
    }

    pub fn add_file(&mut self, path: &str, content: &str, owner: &str, group: &str, mode: u32) {
        self.files.insert(
            path.to_string(),
            FakeFile {
                content: content.as_bytes().to_vec(),
                perms: Perms {
                    owner: owner.into(),
                    group: group.into(),
                    mode,
                },
                dir: false,
            },
        );
    }

    pub fn file_text(&self, path: &str) -> Option<String> {
        self.files
            .get(path)
            .map(|f| String::from_utf8_lossy(&f.content).into_owned())
    }

    fn tick(&mut self) -> Result<(), TransportError> {
        self.stats.round_trips += 1;
        if self.lost {
            return Err(TransportError::new(
                TransportErrorKind::Unreachable,
                "connection lost (simulated)",
            ));
        }
        if let Some(n) = self.die_after.as_mut() {
            if *n == 0 {
                return Err(TransportError::new(
                    TransportErrorKind::Unreachable,
                    "connection lost (simulated)",
                ));
            }
            *n -= 1;
        }
        Ok(())
    }

    fn facts(&mut self, script: &str, stdin: &str) -> ExecOutput {
        let mut out = String::new();
        let mut logins = stdin.lines();
        let lines: Vec<&str> = script.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            i += 1;
            if let Some(m) = l.strip_prefix("echo '@@stackprov") {
                out.push_str("@@stackprov");
                out.push_str(m.trim_end_matches('\''));
                out.push('\n');
                continue;
            }
            if l.starts_with("dpkg-query") {
                let names = l.rsplit("\\n' ").next().unwrap_or_default();
                for n in names.split_whitespace().map(unquote) {
                    if self.packages.contains(&n) {
                        out.push_str(&format!("{n}\tii \t1.0\n"));
                    }
                }
            } else if let Some(rest) = l.strip_prefix("stat -c '%F|%U|%G|%a|%s' ") {
                let path = unquote(rest.trim_end_matches(" || echo missing"));
                match self.files.get(&path) {
                    None => out.push_str("missing\n"),
                    Some(f) => out.push_str(&format!(
                        "{}|{}|{}|{:o}|{}\n",
                        if f.dir { "directory" } else { "regular file" },
                        f.perms.owner,
                        f.perms.group,
                        f.perms.mode,
                        f.content.len()
                    )),
                }
            } else if l.starts_with("[ -f ") && l.contains("base64 -w0") {
                let path = unquote(between(l, "[ -f ", " ]").unwrap_or_default());
                if let Some(f) = self.files.get(&path).filter(|f| !f.dir) {
                    use base64::Engine;
                    out.push_str(&base64::engine::general_purpose::STANDARD.encode(&f.content));
                }
                out.push('\n');
            } else if let Some(rest) = l.strip_prefix("if systemctl cat ") {
                let name = unquote(rest.split(".service").next().unwrap_or_default());
                if let Some(s) = self.services.get(&name) {
                    out.push_str("exists\n");
                    out.push_str(if s.enabled { "enabled\n" } else { "disabled\n" });
                    out.push_str(if s.running { "active\n" } else { "inactive\n" });
                }
            } else if let Some(rest) = l.strip_prefix("( ") {
                let check = rest.split(" ) </dev/null").next().unwrap_or_default();
                out.push_str(&format!("{}\n", self.check(check)));
            } else if let Some(rest) =
                l.strip_prefix("IFS= read -r l; printf '%s' \"$l\" | base64 -d | ( ")
            {
                // a check that reads a secret: it consumes one stdin line
                let _ = logins.next();
                let check = rest.split(" ) >/dev/null").next().unwrap_or_default();
                out.push_str(&format!("{}\n", self.check(check)));
            } else if l.starts_with("if mysql -N -B -e 'SELECT 1'") {
                if self.sql_running {
                    out.push_str("ok\n");
                    for d in &self.databases {
                        out.push_str(&format!("db {d}\n"));
                    }
                    for u in self.sql_users.keys() {
                        out.push_str(&format!("user {u}\n"));
                    }
                    for g in &self.grants {
                        out.push_str(&format!("grant {g}\n"));
                    }
                }
            } else if l.contains("mysql --defaults-extra-file") && self.sql_running {
                let user = between(l, "echo 'login ", " ok'")
                    .unwrap_or_default()
                    .to_string();
                let cnf = logins.next().map(|b| {
                    use base64::Engine;
                    String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .unwrap_or_default(),
                    )
                    .unwrap_or_default()
                });
                let given = cnf
                    .as_deref()
                    .and_then(|c| between(c, "password=\"", "\"\n"))
                    .map(|p| p.replace("\\\"", "\"").replace("\\\\", "\\"));
                let good = given.is_some()
                    && self.sql_users.get(&format!("{user}@localhost")) == given.as_ref();
                out.push_str(&format!(
                    "login {user} {}\n",
                    if good { "ok" } else { "bad" }
                ));
            } else if l.starts_with("cat ")
                && l.contains(JOURNAL)
                && let Some(t) = self.file_text(JOURNAL)
            {
                out.push_str(&t);
            }
        }
        ok(out)
    }

    /// Guard checks the fake understands: `test -e PATH`, `true`, `false`.
    fn check(&self, check: &str) -> i32 {
        if let Some(p) = check.strip_prefix("test -e ") {
            return if self.files.contains_key(&unquote(p)) {
                0
            } else {
                1
            };
        }
        if check == "true"
            || self
                .passing_checks
                .iter()
                .any(|c| check.contains(c.as_str()))
        {
            return 0;
        }
        1
    }

    fn run_op(&mut self, script: &str, stdin: &str) -> ExecOutput {
        self.log.push(script.to_string());
        if !stdin.is_empty() {
            self.stdins.push(stdin.to_string());
        }
        if let Some((text, flag)) = &self.interrupt_during
            && script.contains(text.as_str())
        {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            self.interrupt_during = None;
        }
        if let Some(f) = self.fail_once.clone()
            && script.contains(&f)
        {
            self.fail_once = None;
            return fail(100, "E: simulated failure");
        }
        if script.starts_with("i=0; until") {
            // waiting for a port: the fake's daemons listen as soon as they run
            return ok("");
        }
        if script.contains("apt-get install") {
            let first = script.split(" || ").next().unwrap_or_default();
            let names = first.rsplit("--force-confold ").next().unwrap_or_default();
            for n in names.split_whitespace().map(unquote) {
                let Some(p) = self.catalog.get(&n).cloned() else {
                    return fail(100, &format!("E: Unable to locate package {n}"));
                };
                for d in &p.dirs {
                    self.add_dir(d, "root", "root", 0o755);
                }
                for (path, content) in &p.files {
                    self.add_file(path, content, "root", "root", 0o644);
                }
                for s in &p.services {
                    self.services.insert(
                        s.clone(),
                        FakeService {
                            enabled: true,
                            running: true,
                            ..Default::default()
                        },
                    );
                    if s == "mariadb" {
                        self.sql_running = true;
                    }
                }
                self.packages.insert(n);
            }
            return ok("");
        }
        if let Some(rest) = script.strip_prefix("systemctl ") {
            let (action, name) = rest.split_once(' ').unwrap_or((rest, ""));
            let Some(s) = self.services.get_mut(&unquote(name)) else {
                return fail(
                    5,
                    &format!("Failed to {action} {name}.service: Unit not found."),
                );
            };
            match action {
                "enable" => s.enabled = true,
                "start" => {
                    s.running = true;
                    s.starts += 1
                }
                "restart" => {
                    s.running = true;
                    s.restarts += 1
                }
                _ => {}
            }
            return ok("");
        }
        if script.contains(JOURNAL) {
            let mut entries: Vec<String> = self
                .file_text(JOURNAL)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            if script.starts_with("mkdir") {
                let name = unquote(between(script, "grep -qx ", " ").unwrap_or_default());
                if !entries.contains(&name) {
                    entries.push(name);
                }
            } else if let Some(name) = between(script, "sed -i '/^", "$/d'") {
                entries.retain(|e| e != name);
            }
            self.add_dir("/var/lib/stackprov", "root", "root", 0o755);
            let text: String = entries.iter().map(|e| format!("{e}\n")).collect();
            self.add_file(JOURNAL, &text, "root", "root", 0o644);
            return ok("");
        }
        if script.starts_with("mkdir -p ") || script.starts_with("chown ") {
            let path = if let Some(r) = script.strip_prefix("mkdir -p ") {
                unquote(r.split(" && ").next().unwrap_or_default())
            } else {
                unquote(script.rsplit(' ').next().unwrap_or_default())
            };
            let owner = between(script, "chown ", ":").unwrap_or("root").to_string();
            let group = between(script, ":", " ").unwrap_or("root").to_string();
            let mode = between(script, "chmod ", " ")
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .unwrap_or(0o755);
            let is_dir =
                script.starts_with("mkdir") || self.files.get(&path).is_some_and(|f| f.dir);
            let content = self
                .files
                .get(&path)
                .map(|f| f.content.clone())
                .unwrap_or_default();
            self.files.insert(
                path,
                FakeFile {
                    content,
                    perms: Perms {
                        owner: unquote(&owner),
                        group: unquote(&group),
                        mode,
                    },
                    dir: is_dir,
                },
            );
            return ok("");
        }
        if script.starts_with("mysql -N -B") {
            if !self.sql_running {
                return fail(
                    1,
                    "ERROR 2002 (HY000): Can't connect to local server through socket",
                );
            }
            for stmt in stdin.split(";\n") {
                if let Some(db) = between(stmt, "CREATE DATABASE IF NOT EXISTS `", "`") {
                    self.databases.insert(db.to_string());
                } else if stmt.starts_with("CREATE USER") || stmt.starts_with("ALTER USER") {
                    let user = between(stmt, "USER IF NOT EXISTS '", "'")
                        .or_else(|| between(stmt, "ALTER USER '", "'"))
                        .unwrap_or_default();
                    let host = between(stmt, "'@'", "'").unwrap_or_default();
                    let pw = stmt
                        .split("IDENTIFIED BY '")
                        .nth(1)
                        .map(|p| {
                            p.trim_end_matches('\'')
                                .replace("''", "'")
                                .replace("\\\\", "\\")
                        })
                        .unwrap_or_default();
                    let key = format!("{user}@{host}");
                    if stmt.starts_with("ALTER") || !self.sql_users.contains_key(&key) {
                        self.sql_users.insert(key, pw);
                    }
                } else if let Some(db) = between(stmt, "ON `", "`") {
                    let user = between(stmt, "TO '", "'").unwrap_or_default();
                    let host = between(stmt, "'@'", "'").unwrap_or_default();
                    self.grants.insert(format!("{user}@{host}@{db}"));
                }
            }
            return ok("");
        }
        if let Some(rest) = script.strip_prefix("cd / && ") {
            let cmd = if rest.starts_with("su -s /bin/sh -c ") {
                let quoted = rest.trim_start_matches("su -s /bin/sh -c ");
                let end = quoted.rfind(' ').unwrap_or(quoted.len());
                unquote(&quoted[..end])
            } else {
                rest.to_string()
            };
            if cmd.contains("keystone-manage bootstrap") && self.keystone.is_none() {
                let pw = stdin.lines().next().unwrap_or_default();
                self.keystone = Some(FakeKeystone::bootstrap(
                    pw,
                    "RegionOne",
                    "http://controller:5000/v3/",
                ));
            }
            for (needle, files, checks) in self.command_effects.clone() {
                if cmd.contains(&needle) {
                    for f in files {
                        self.add_file(&f, "", "root", "root", 0o600);
                    }
                    self.passing_checks.extend(checks);
                }
            }
            for part in cmd.split(" && ") {
                if let Some(p) = part.strip_prefix("touch ") {
                    let p = unquote(p);
                    self.add_file(&p, "", "root", "root", 0o644);
                } else if part == "false" {
                    return fail(1, "");
                }
            }
            return ok("");
        }
        fail(127, &format!("fake host: unknown command: {script}"))
    }
}

impl FakeHost {
    /// Keystone answers on :5000 once its service runs and bootstrap has been done
    /// (or on :35357 for the v2.0 admin API, given an admin token).
    fn tunnel_check(&mut self, port: u16) -> Result<(), TransportError> {
        if self.lost {
            return Err(TransportError::new(
                TransportErrorKind::Unreachable,
                "connection lost (simulated)",
            ));
        }
        self.stats.round_trips += 1;
        let running = |name: &str| self.services.get(name).is_some_and(|s| s.running);
        // v3 on :5000 (Debian's keystone), the v2.0 admin API on :35357 (RDO's openstack-keystone)
        let glance_up = running("glance-api") || running("openstack-glance-api");
        let up = match &self.keystone {
            _ if port == 9292 => self.glance.is_some() && glance_up,
            None => false,
            Some(_) if port == 5000 => running("keystone"),
            Some(k) => port == 35357 && k.admin_token.is_some() && running("openstack-keystone"),
        };
        if up {
            Ok(())
        } else {
            Err(TransportError::io(format!(
                "fake host: connection refused on 127.0.0.1:{port}"
            )))
        }
    }

    fn keystone_handle(
        &mut self,
        m: &str,
        t: &str,
        h: &str,
        b: &[u8],
    ) -> (u16, Vec<(String, String)>, serde_json::Value) {
        if self
            .lose_connection_on
            .as_ref()
            .is_some_and(|x| format!("{m} {t}").contains(x.as_str()))
        {
            self.lost = true;
            self.lose_connection_on = None;
            // no answer: the stream breaks (see FakeHttp)
            return (0, vec![], serde_json::Value::Null);
        }
        // the tunnel's port is not known here: the path tells the APIs apart
        if t.starts_with("/v2/") {
            return match self.glance.as_mut() {
                Some(g) => g.handle(m, t, h, b),
                None => (503, vec![], serde_json::Value::Null),
            };
        }
        match self.keystone.as_mut() {
            Some(k) => k.handle(m, t, h, b),
            None => (503, vec![], serde_json::Value::Null),
        }
    }

    /// A bare Debian 12 host whose packages behave like Debian's keystone,
    /// glance and mariadb-server (files, auto-started services, db_sync effects).
    pub fn debian_controller() -> FakeHost {
        let mut h = FakeHost::debian();
        for d in ["/root", "/etc/apt", "/etc/apt/apt.conf.d", "/var/log"] {
            h.add_dir(d, "root", "root", 0o755);
        }
        h.add_file("/etc/hosts", "127.0.0.1 localhost\n", "root", "root", 0o644);
        let pkg = |dirs: &[&str], files: &[(&str, &str)], services: &[&str]| FakePackage {
            dirs: dirs.iter().map(|s| s.to_string()).collect(),
            files: files
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            services: services.iter().map(|s| s.to_string()).collect(),
        };
        h.catalog
            .insert("chrony".into(), pkg(&[], &[], &["chrony"]));
        h.catalog.insert(
            "mariadb-server".into(),
            pkg(
                &["/etc/mysql", "/etc/mysql/mariadb.conf.d"],
                &[],
                &["mariadb"],
            ),
        );
        h.catalog
            .insert("python3-pymysql".into(), pkg(&[], &[], &[]));
        h.catalog.insert(
            "keystone".into(),
            pkg(
                &["/etc/keystone"],
                &[(
                    "/etc/keystone/keystone.conf",
                    "[DEFAULT]\nlog_dir = /var/log/keystone\n",
                )],
                &["keystone"],
            ),
        );
        h.catalog.insert(
            "glance".into(),
            pkg(
                &["/etc/glance", "/var/lib/glance", "/var/lib/glance/images"],
                &[
                    ("/etc/glance/glance-api.conf", "[DEFAULT]\n"),
                    (
                        "/etc/glance/glance-api-paste.ini",
                        "[pipeline:glance-api]\n",
                    ),
                ],
                &["glance-api"],
            ),
        );
        h.command_effects = vec![
            (
                "keystone-manage db_sync".into(),
                vec![],
                vec!["keystone.project".into()],
            ),
            (
                "fernet_setup".into(),
                vec!["/etc/keystone/fernet-keys/0".into()],
                vec![],
            ),
            (
                "credential_setup".into(),
                vec!["/etc/keystone/credential-keys/0".into()],
                vec![],
            ),
            (
                "keystone-manage bootstrap".into(),
                vec![],
                vec!["/v3/auth/tokens".into()],
            ),
            (
                "glance-manage db_sync".into(),
                vec![],
                vec!["glance.images".into()],
            ),
            (">> /etc/hosts".into(), vec![], vec!["/etc/hosts".into()]),
        ];
        h
    }
}

/// A fake host shared between runs (each `connect` hands out the same host).
#[derive(Clone, Default)]
pub struct SharedFake(pub std::sync::Arc<std::sync::Mutex<FakeHost>>);

impl SharedFake {
    pub fn new(h: FakeHost) -> SharedFake {
        SharedFake(std::sync::Arc::new(std::sync::Mutex::new(h)))
    }
    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeHost> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Transport for SharedFake {
    fn name(&self) -> &str {
        "fake"
    }
    fn exec(&mut self, req: &ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        self.lock().exec(req)
    }
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.lock().read_file(path)
    }
    fn write_file(&mut self, spec: &FileSpec, content: &[u8]) -> Result<(), TransportError> {
        self.lock().write_file(spec, content)
    }
    fn open_tunnel(&mut self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError> {
        self.lock().tunnel_check(port)?;
        let shared = self.clone();
        Ok(Box::new(FakeHttp {
            input: Vec::new(),
            output: None,
            server: move |m: &str, t: &str, h: &str, b: &[u8]| {
                shared.lock().keystone_handle(m, t, h, b)
            },
        }))
    }
    fn stats(&self) -> TransportStats {
        self.lock().stats
    }
}

impl Transport for FakeHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn exec(&mut self, req: &ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        if req.script == crate::facts::OS_SCRIPT {
            self.stats.round_trips += 1;
            return Ok(ok(format!("{}STACKPROV_INIT=systemd\n", self.os_release)));
        }
        let stdin = String::from_utf8_lossy(req.stdin).into_owned();
        if req.script.starts_with("exec 2>/dev/null\n") {
            self.stats.round_trips += 1;
            return Ok(self.facts(req.script, &stdin));
        }
        self.tick()?;
        Ok(self.run_op(req.script, &stdin))
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.tick()?;
        Ok(self
            .files
            .get(path)
            .filter(|f| !f.dir)
            .map(|f| f.content.clone()))
    }

    fn write_file(&mut self, spec: &FileSpec, content: &[u8]) -> Result<(), TransportError> {
        self.tick()?;
        let parent = spec
            .path
            .rsplit_once('/')
            .map(|(p, _)| if p.is_empty() { "/" } else { p })
            .unwrap_or("/");
        if !self.files.get(parent).is_some_and(|f| f.dir) {
            return Err(TransportError::io(format!(
                "{}: parent directory does not exist",
                spec.path
            )));
        }
        self.log.push(format!("write {}", spec.path));
        let perms = Perms {
            owner: spec.owner.clone().unwrap_or_else(|| "root".into()),
            group: spec.group.clone().unwrap_or_else(|| "root".into()),
            mode: spec.mode.unwrap_or(0o644),
        };
        self.files.insert(
            spec.path.clone(),
            FakeFile {
                content: content.to_vec(),
                perms,
                dir: false,
            },
        );
        if self.die_after_write.as_deref() == Some(spec.path.as_str()) {
            self.die_after = Some(0);
        }
        Ok(())
    }

    fn open_tunnel(&mut self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError> {
        self.tunnel_check(port)?;
        Ok(Box::new(FakeHttp {
            input: Vec::new(),
            output: None,
            server: move |m: &str, t: &str, h: &str, b: &[u8]| self.keystone_handle(m, t, h, b),
        }))
    }

    fn stats(&self) -> TransportStats {
        self.stats
    }
}
