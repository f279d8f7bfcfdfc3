//! Execute a host's plan: exactly its operations, in order, through the
//! transport. A failure stops this host only and is reported with the command,
//! its exit status and the last lines of stderr, secrets masked.

use crate::host_commands;
use crate::openstack::http::HttpStats;
use crate::openstack::keystone::TokenCache;
use crate::plan::{Change, HostPlan, Op};
use crate::secrets::placeholder;
use crate::secrets::{Masker, SecretStore};
use crate::transport::{ExecRequest, FileSpec, Transport, TransportError, TransportErrorKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    pub change: String,
    /// The failed operation, first line (scripts never hold secrets; masked anyway).
    pub command: String,
    /// Exit status, or `None` when the transport failed.
    pub status: Option<i32>,
    /// Last lines of stderr (or the transport error), masked.
    pub stderr: String,
    /// The connection to the host was lost (the run's exit code says unreachable).
    pub unreachable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostOutcome {
    pub host: String,
    pub changed: usize,
    /// Changes not run because the run was interrupted (Ctrl-C).
    pub skipped: usize,
    pub failure: Option<Failure>,
    pub seconds: f64,
    pub http_requests: u64,
    /// How long each change that ran took, in plan order.
    pub change_seconds: Vec<ChangeTime>,
}

/// One change's wall time (the JSON recap's `changes`).
#[derive(Debug, Clone, Serialize)]
pub struct ChangeTime {
    pub id: String,
    pub seconds: f64,
}

/// Progress events for the live display.
pub enum Event<'a> {
    Start(&'a Change),
    Done(&'a Change, Duration),
    Failed(&'a Change, &'a Failure),
    /// The change's next step waits for a lock another process holds: its
    /// pid and command line (masked).
    Waiting(&'a Change, String),
}

/// How many stderr lines a failure shows.
pub const STDERR_TAIL: usize = 15;

/// Asked before each change: go (`Ok`, maybe after waiting for other hosts,
/// see [`ClusterGate`]) or not (`Err`: why this host stops there).
pub type Gate<'a> = &'a (dyn Fn(&Change) -> Result<(), GateError> + Sync);

/// Why a [`Gate`] stops a host before a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// Another host's thread panicked while it held the gate.
    #[error("a host's thread panicked")]
    Poisoned,
    /// The hosts that start the cluster this host joins did not get past
    /// their start (it failed, or they stopped before it).
    #[error(
        "not started: {} did not start the cluster this host joins",
        .starters.join(", ")
    )]
    ClusterNotStarted { starters: Vec<String> },
}

pub fn apply_host(
    t: &mut dyn Transport,
    plan: &HostPlan,
    secrets: &SecretStore,
    masker: &Masker,
    stop: &AtomicBool,
    gate: Gate<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> HostOutcome {
    let started = Instant::now();
    let mut changed = 0;
    let mut skipped = 0;
    let mut failure = None;
    let mut http = HttpStats::patient();
    let mut tokens = TokenCache::default();
    let mut change_seconds = Vec::new();
    for (i, c) in plan.changes.iter().enumerate() {
        // interrupted: the step that runs finishes, the next does not start
        if stop.load(Ordering::SeqCst) {
            skipped = plan.changes.len() - i;
            break;
        }
        if let Err(why) = gate(c) {
            let f = Failure {
                change: c.id.clone(),
                command: "(not started)".into(),
                status: None,
                stderr: why.to_string(),
                unreachable: false,
            };
            on_event(Event::Failed(c, &f));
            failure = Some(f);
            break;
        }
        on_event(Event::Start(c));
        let t0 = Instant::now();
        match run_change(t, c, secrets, masker, &mut http, &mut tokens, on_event) {
            Ok(()) => {
                changed += 1;
                change_seconds.push(ChangeTime {
                    id: c.id.clone(),
                    seconds: t0.elapsed().as_secs_f64(),
                });
                on_event(Event::Done(c, t0.elapsed()));
            }
            Err(f) => {
                on_event(Event::Failed(c, &f));
                failure = Some(f);
                break;
            }
        }
    }
    HostOutcome {
        host: plan.host.clone(),
        changed,
        skipped,
        failure,
        seconds: started.elapsed().as_secs_f64(),
        http_requests: http.requests,
        change_seconds,
    }
}

/// Hosts joining a cluster start its service only once every host starting
/// it got past that change: until then they do everything else, and if a
/// start failed (or its host stopped before it) they stop there.
pub struct ClusterGate {
    /// Host → the change that starts the cluster there.
    starters: BTreeMap<String, String>,
    /// `service:NAME` of the cluster's service.
    service_change: Option<String>,
    state: Mutex<(BTreeSet<String>, Vec<String>)>,
    cv: Condvar,
}

impl ClusterGate {
    pub fn new(plans: &[&HostPlan]) -> ClusterGate {
        let starters: BTreeMap<String, String> = plans
            .iter()
            .filter_map(|p| Some((p.host.clone(), p.starts_cluster.as_ref()?.change.clone())))
            .collect();
        let service_change = plans
            .iter()
            .find_map(|p| p.starts_cluster.as_ref())
            .map(|c| crate::plan::ClusterStart::service_change(&c.service));
        ClusterGate {
            state: Mutex::new((starters.keys().cloned().collect(), Vec::new())),
            starters,
            service_change,
            cv: Condvar::new(),
        }
    }

    /// Whether `host` starts the cluster (it goes first where hosts queue).
    pub fn starts(&self, host: &str) -> bool {
        self.starters.contains_key(host)
    }

    /// A change on `host` ended (`ok` or not), or the host ended (`change`
    /// None): a starter that did not get past its start has failed it.
    pub fn ended(&self, host: &str, change: Option<&str>, ok: bool) {
        let Some(start) = self.starters.get(host) else {
            return;
        };
        if change.is_some_and(|c| c != start) {
            return;
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.0.remove(host) && !ok {
            st.1.push(host.to_string());
        }
        self.cv.notify_all();
    }

    /// Before change `c` on `host`.
    pub fn wait(&self, host: &str, c: &Change) -> Result<(), GateError> {
        if self.starts(host) || self.service_change.as_deref() != Some(c.id.as_str()) {
            return Ok(());
        }
        let mut st = self.state.lock().map_err(|_| GateError::Poisoned)?;
        while !st.0.is_empty() {
            st = self.cv.wait(st).map_err(|_| GateError::Poisoned)?;
        }
        if st.1.is_empty() {
            Ok(())
        } else {
            Err(GateError::ClusterNotStarted {
                starters: st.1.clone(),
            })
        }
    }
}

/// The last `n` lines of stderr worth reading. keystone-manage and glance-manage
/// print an eventlet traceback at exit on every run, success or not (Debian
/// bookworm); it is dropped so the real error, if any, shows.
fn tail(text: &str, n: usize) -> String {
    let mut lines = Vec::new();
    let mut in_noise = false;
    for l in text.lines() {
        if l.starts_with("Exception ignored in: <function _removeHandlerRef") {
            in_noise = true;
            continue;
        }
        if in_noise {
            in_noise =
                !l.starts_with("AttributeError: 'NoneType' object has no attribute 'getcurrent'");
            continue;
        }
        lines.push(l);
    }
    if lines.is_empty() && !text.trim().is_empty() {
        return "(only the tool's harmless exit traceback on stderr: its log file under /var/log has the error)".into();
    }
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn run_change(
    t: &mut dyn Transport,
    c: &Change,
    secrets: &SecretStore,
    masker: &Masker,
    http: &mut HttpStats,
    tokens: &mut TokenCache,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), Failure> {
    for op in &c.ops {
        let fail = |status: Option<i32>, stderr: &str| Failure {
            change: c.id.clone(),
            command: masker.mask(&op.summary()),
            status,
            stderr: masker.mask(&tail(stderr, STDERR_TAIL)),
            unreachable: false,
        };
        let lost = |e: TransportError| Failure {
            unreachable: e.kind == TransportErrorKind::Unreachable,
            ..fail(None, &e.message)
        };
        let resolve =
            |s: &str| placeholder::resolve(s, secrets).map_err(|e| fail(None, &e.to_string()));
        match op {
            Op::Exec {
                script,
                stdin,
                timeout_secs,
            } => {
                let input = stdin
                    .as_deref()
                    .map(resolve)
                    .transpose()?
                    .unwrap_or_default();
                let req = ExecRequest::new(script)
                    .stdin(input.as_bytes())
                    .timeout(Duration::from_secs(*timeout_secs));
                let out = t.exec(&req).map_err(lost)?;
                if !out.success() {
                    let mut err = out.stderr_str();
                    if err.trim().is_empty() {
                        err = out.stdout_str();
                    }
                    return Err(fail(Some(out.status), &err));
                }
            }
            Op::Write {
                path,
                perms,
                content,
            } => {
                let body = resolve(content)?;
                t.write_file(&spec(path, perms), body.as_bytes())
                    .map_err(lost)?;
            }
            Op::IniEdit {
                path,
                perms,
                settings,
            } => {
                let current = t.read_file(path).map_err(lost)?;
                let Some(current) = current else {
                    return Err(fail(
                        None,
                        &format!(
                            "{path} does not exist; the package that ships it is not installed"
                        ),
                    ));
                };
                let mut resolved = settings.clone();
                for s in &mut resolved {
                    s.value = resolve(&s.value)?;
                }
                let old = String::from_utf8_lossy(&current);
                let new = crate::ini::apply(&old, &resolved);
                t.write_file(&spec(path, perms), new.as_bytes())
                    .map_err(lost)?;
            }
            // only information: a failed look is no failure of the change
            Op::LockHolder { path } => {
                let script = host_commands::lock_holder(path);
                let req = ExecRequest::new(&script).timeout(Duration::from_secs(30));
                match t.exec(&req) {
                    Ok(out) if out.success() && !out.stdout_str().trim().is_empty() => {
                        on_event(Event::Waiting(c, masker.mask(out.stdout_str().trim())));
                    }
                    Ok(_) => {}
                    Err(e) if e.kind == TransportErrorKind::Unreachable => return Err(lost(e)),
                    Err(e) => tracing::debug!(error = %e, "could not see who holds {path}"),
                }
            }
            Op::Keystone { admin, call } => {
                crate::openstack::keystone::execute(t, admin, call, secrets, http, tokens)
                    .map_err(|e| Failure {
                        unreachable: e.is_unreachable(),
                        ..fail(None, &e.to_string())
                    })?;
            }
        }
    }
    Ok(())
}

fn spec(path: &str, perms: &crate::model::Perms) -> FileSpec {
    FileSpec {
        path: path.to_string(),
        owner: Some(perms.owner.clone()),
        group: Some(perms.group.clone()),
        mode: Some(perms.mode),
    }
}

#[cfg(test)]
mod tests {
    use super::{ClusterGate, GateError, tail};
    use crate::plan::{Action, Change, ClusterStart, HostPlan};

    fn change(id: &str) -> Change {
        Change {
            id: id.into(),
            role: "mariadb".into(),
            action: Action::Run,
            reason: String::new(),
            diff: None,
            ops: Vec::new(),
        }
    }

    fn host(name: &str, starts: bool) -> HostPlan {
        HostPlan {
            host: name.into(),
            facts_digest: String::new(),
            changes: vec![change("service:mariadb")],
            noops: Vec::new(),
            starts_cluster: starts.then(|| ClusterStart {
                change: "command:galera new cluster".into(),
                service: "mariadb".into(),
            }),
            warnings: Vec::new(),
        }
    }

    /// A joiner's MariaDB start waits for the starter's change and follows
    /// its outcome; its other changes never wait.
    #[test]
    fn joiners_wait_for_the_cluster_start_and_stop_if_it_failed() {
        for ok in [true, false] {
            let (a, b) = (host("ctl1", true), host("ctl2", false));
            let gate = ClusterGate::new(&[&a, &b]);
            assert!(
                gate.wait("ctl2", &change("file:/etc/keystone/keystone.conf"))
                    .is_ok()
            );
            assert!(gate.wait("ctl1", &change("service:mariadb")).is_ok());
            let got = std::thread::scope(|s| {
                let joiner = s.spawn(|| gate.wait("ctl2", &change("service:mariadb")));
                std::thread::sleep(std::time::Duration::from_millis(50));
                assert!(!joiner.is_finished(), "the joiner did not wait");
                gate.ended("ctl1", Some("command:galera new cluster"), ok);
                gate.ended("ctl1", None, false);
                joiner.join().unwrap()
            });
            match ok {
                true => assert_eq!(got, Ok(())),
                false => {
                    assert_eq!(
                        got,
                        Err(GateError::ClusterNotStarted {
                            starters: vec!["ctl1".into()]
                        })
                    );
                    assert_eq!(
                        got.unwrap_err().to_string(),
                        "not started: ctl1 did not start the cluster this host joins"
                    );
                }
            }
        }
        // a starter that ends before its start counts as failed
        let (a, b) = (host("ctl1", true), host("ctl2", false));
        let gate = ClusterGate::new(&[&a, &b]);
        gate.ended("ctl1", None, false);
        assert!(gate.wait("ctl2", &change("service:mariadb")).is_err());
    }

    #[test]
    fn drops_the_eventlet_exit_traceback() {
        let noise = "Exception ignored in: <function _removeHandlerRef at 0x7f>\nTraceback (most recent call last):\n  File \"x.py\", line 1, in f\nAttributeError: 'NoneType' object has no attribute 'getcurrent'";
        assert_eq!(
            tail(&format!("ERROR: access denied\n{noise}"), 15),
            "ERROR: access denied"
        );
        assert!(tail(noise, 15).contains("/var/log"));
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}
