//! An in-memory host for unit tests. It understands the scripts stackprov
//! itself generates (facts, package installs, services, the restart journal,
//! SQL on stdin, guarded commands) and keeps a log of every operation, so tests
//! can check that `apply` ran exactly what `plan` promised.
//!
//! This file holds the host's state ([`FakeHost`], [`SharedFake`]) and the
//! [`Transport`] impls. How it answers the facts script is in `facts.rs`, how it
//! interprets every other script in `commands.rs`, and what its tunnels reach
//! (Keystone, Glance, over a fake HTTP stream) in `tunnel.rs`, with the two APIs
//! in `keystone.rs` and `glance.rs`. `debian.rs` builds the hosts tests start
//! from: a bare Debian 12 and a controller whose packages behave like Debian's.

mod commands;
mod debian;
mod facts;
pub mod glance;
pub mod keystone;
mod tunnel;

use crate::model::Perms;
use crate::transport::{
    ExecOutput, ExecRequest, FileSpec, Transport, TransportError, TransportErrorKind,
    TransportStats, Tunnel,
};
use glance::FakeGlance;
use keystone::FakeKeystone;
use std::collections::{BTreeMap, BTreeSet};
use tunnel::FakeHttp;

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
    /// `PID COMMAND` of a process holding the package manager's lock (another
    /// apt at work), as the lock-holder look reports it.
    pub lock_holder: Option<String>,
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
    /// The host key fingerprint a real connection would have verified; `None`
    /// (the default) keeps plan and apply from remembering the fake's OS.
    pub host_key: Option<String>,
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
    fn fork(&self) -> Option<Box<dyn Transport>> {
        Some(Box::new(self.clone()))
    }
    fn host_key(&self) -> Option<String> {
        self.lock().host_key.clone()
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
        let probe = format!("{}STACKPROV_INIT=systemd\n", self.os_release);
        if req.script == crate::facts::OS_SCRIPT {
            self.stats.round_trips += 1;
            return Ok(ok(probe));
        }
        let stdin = String::from_utf8_lossy(req.stdin).into_owned();
        // the probe, then the facts script when the probe prints what it expects
        if let Some(rest) = req
            .script
            .strip_prefix(&format!("os=$({}); ", crate::facts::OS_SCRIPT))
            && let Some((test, script)) = rest.split_once(" ] || exit 0\n")
            && let Some((_, expected)) = test.split_once("[ \"$os\" = ")
        {
            self.stats.round_trips += 1;
            let probe = probe.trim_end_matches('\n');
            let mut out = format!("{probe}\n--stackprov-os-probe-end--\n");
            if unquote(expected) == probe {
                out.push_str(&self.facts(script, &stdin).stdout_str());
            }
            return Ok(ok(out));
        }
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
