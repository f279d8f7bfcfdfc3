//! Per host, in parallel (bounded): connect → OS facts → desired resources →
//! the secrets they need → facts (one batched round trip, plus the Keystone
//! catalog) → plan; and the saved-facts round trip. Everything goes through a
//! `Transport`; the commands build on this.

use crate::desired::resource::{FileSpec, Resource};
use crate::error::{Error, HostError, Status};
use crate::facts::{Facts, OsFacts};
use crate::model::diagnostic::terminal_text;
use crate::plan::{HostPlan, PLAN_FORMAT, Plan};
use crate::planner;
use crate::secrets::{Masker, SecretStore, StoreError};
use crate::site::{Host, MAX_FORKS, Site};
use crate::transport::{Transport, TransportError, TransportErrorKind};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod gather;
pub mod guess;
mod offline;

pub use gather::{Gathered, gather, gather_after, gather_timed};
pub use offline::{Missing, offline_plans};

/// How the commands reach a host; tests pass a fake.
pub type Connector<'a> =
    dyn Fn(&Site, &Host) -> Result<Box<dyn Transport>, TransportError> + Sync + 'a;

/// Run `f` for each item on up to `forks` threads, keeping order.
pub fn parallel<T: Send, R: Send>(
    forks: usize,
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new((0..n).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|s| {
        for _ in 0..forks.clamp(1, MAX_FORKS).min(n) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some((i, item)) = next else { break };
                    let r = f(item);
                    if let Ok(mut res) = results.lock() {
                        res[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// A host on its way through the pipeline.
pub struct Work {
    pub host: Host,
    pub transport: Box<dyn Transport>,
    pub resources: Vec<Resource>,
    pub os: OsFacts,
    /// HTTP requests spent reading facts (the Keystone catalog).
    pub http_requests: u64,
    pub started: Instant,
    pub timings: Timings,
}

/// Where a host's time went, phase by phase, in seconds (the JSON recap's
/// `timings`; `apply -v` prints them).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    /// SSH connection: TCP, handshake, host key, authentication.
    pub connect: f64,
    /// The OS facts round trip and the roles rendered for that OS (0 when the
    /// host was seen before: the probe then goes with the facts script).
    pub os: f64,
    /// The batched facts script.
    pub facts: f64,
    /// The Keystone catalog over the tunnel (beside the facts script).
    pub catalog: f64,
    /// RabbitMQ's AMQP logins over the tunnel (after the facts script).
    pub amqp: f64,
    /// The planner (pure).
    pub plan: f64,
    /// The plan's operations.
    pub apply: f64,
}

/// A host that dropped out, and why.
pub struct Dropped {
    pub host: String,
    pub error: HostError,
}

impl Dropped {
    pub fn unreachable(&self) -> bool {
        match &self.error {
            HostError::Transport(t) => t.kind == TransportErrorKind::Unreachable,
            HostError::Api(e) => e.is_unreachable(),
            _ => false,
        }
    }
}

/// What the hosts that dropped out mean for the command's outcome.
pub fn status_of_dropped(dropped: &[Dropped]) -> Status {
    if dropped.iter().any(Dropped::unreachable) {
        Status::Unreachable
    } else if dropped.is_empty() {
        Status::Success
    } else {
        Status::Failed
    }
}

/// The hosts that dropped out, as the JSON documents list them (masked).
pub fn dropped_hosts(dropped: &[Dropped], masker: &Masker) -> Vec<crate::plan::Unplanned> {
    dropped
        .iter()
        .map(|d| crate::plan::Unplanned {
            host: d.host.clone(),
            unreachable: d.unreachable(),
            error: masker.mask(&d.error.to_string()),
        })
        .collect()
}

/// One line per host that dropped out, on stderr.
/// On stderr for people: what a host said is made safe for the terminal.
pub fn report_dropped(dropped: &[Dropped], masker: &Masker, err: &mut dyn Write) {
    for d in dropped {
        let what = if d.unreachable() {
            "unreachable"
        } else {
            "failed"
        };
        let _ = writeln!(
            err,
            "{}: {what}: {}",
            terminal_text(&d.host),
            terminal_text(&masker.mask(&d.error.to_string()))
        );
    }
}

/// The site's hosts, or the one `only` names.
pub fn select_hosts(site: &Site, only: Option<&str>) -> Result<Vec<Host>, Error> {
    match only {
        None => Ok(site.hosts.clone()),
        Some(name) => match site.host(name) {
            Some(h) => Ok(vec![h.clone()]),
            None => {
                let names: Vec<&str> = site.hosts.iter().map(|h| h.name.as_str()).collect();
                let hint = crate::model::diagnostic::did_you_mean(name, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("hosts: {}", names.join(", ")));
                Err(Error::NoSuchHost {
                    name: name.to_string(),
                    site: site.path.clone(),
                    hint,
                })
            }
        },
    }
}

/// Connect, find the OS, build the desired state (the OS probed, as for a
/// host not seen before: see [`guess`] for what `plan` and `apply` do).
pub fn prepare(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> (Vec<Work>, Vec<Dropped>) {
    let results = parallel(site.forks(), hosts, |host| {
        let name = host.name.clone();
        guess::one(site, host, None, None, connect)
            .map(|(w, _)| w)
            .map_err(|error| Dropped { host: name, error })
    });
    split(results)
}

/// [`prepare`], then the secrets every prepared host's roles need.
pub fn prepare_with_secrets(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
) -> Result<(Vec<Work>, Vec<Dropped>, SecretStore), Error> {
    let (works, dropped) = prepare(site, hosts, connect);
    let lists: Vec<&[Resource]> = works.iter().map(|w| w.resources.as_slice()).collect();
    let secrets = secrets_for(site, &lists)?;
    Ok((works, dropped, secrets))
}

pub fn split<A, B>(v: Vec<Result<A, B>>) -> (Vec<A>, Vec<B>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for r in v {
        match r {
            Ok(x) => a.push(x),
            Err(e) => b.push(e),
        }
    }
    (a, b)
}

/// Load the secrets file and generate what the resources need (saved at once,
/// under the file's lock; see [`SecretStore::load_generating`]).
pub fn secrets_for(site: &Site, works: &[&[Resource]]) -> Result<SecretStore, Error> {
    let mut names = std::collections::BTreeSet::new();
    for r in works {
        names.extend(crate::planner::secret_names(r));
    }
    let (store, made) =
        SecretStore::load_generating(&site.secrets_file, names.iter().map(String::as_str))
            .map_err(|e| match e {
                StoreError::File(d) => Error::SecretsFile(d),
                e => Error::SecretsStore(e),
            })?;
    if !made.is_empty() {
        tracing::info!(
            "generated {} secret(s) in {}",
            made.len(),
            site.secrets_file.display()
        );
    }
    for r in works {
        crate::planner::check_secret_values(r, &store).map_err(|source| Error::Unencodable {
            file: site.secrets_file.clone(),
            source,
        })?;
    }
    Ok(store)
}

/// The longest the facts' catalog read waits for one answer.
pub const CATALOG_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Plans for every reachable host, plus the hosts that dropped out.
pub struct Planned {
    /// Each host's plan and how many resources it has.
    pub plans: Vec<(HostPlan, usize)>,
    /// Kept open for apply.
    pub works: Vec<Work>,
    pub dropped: Vec<Dropped>,
    pub secrets: SecretStore,
    /// Each planned host's facts as saved (secrets as placeholders), for
    /// `plan --out`.
    pub saved_facts: std::collections::BTreeMap<String, Facts>,
}

/// Facts for each host, over its own connection, then a plan for each
/// (after the one site-wide choice: which controller starts a Galera cluster
/// again, see [`crate::planner::bootstrap::choose`]; `galera_bootstrap` is `--galera-bootstrap`).
pub fn make_plans(
    site: &Site,
    hosts: Vec<Host>,
    connect: &Connector<'_>,
    galera_bootstrap: Option<&str>,
) -> Result<Planned, Error> {
    // hosts seen before: the OS probe and the facts in one round trip
    let (works, dropped, secrets) = guess::prepare(site, hosts, connect)?;
    let masker = secrets.masker();
    let results = parallel(site.forks(), works, |(mut w, known)| {
        let mut timings = w.timings;
        let r = match known {
            Some(f) => Ok(f),
            None => gather_timed(
                w.transport.as_mut(),
                &w.os,
                &w.resources,
                &secrets,
                &mut timings,
            ),
        }
        .inspect(|f| w.http_requests = f.http_requests);
        w.timings = timings;
        match r {
            Ok(f) => Ok((f, w)),
            Err(error) => Err(Dropped {
                host: w.host.name,
                error,
            }),
        }
    });
    let (ok, mut more) = split(results);
    let mut dropped = dropped;
    dropped.append(&mut more);
    let gathered: Vec<crate::planner::bootstrap::Gathered<'_>> = ok
        .iter()
        .map(|(f, w)| (w.host.name.as_str(), f, w.resources.as_slice()))
        .collect();
    let bootstrap = crate::planner::bootstrap::choose(site, &gathered, galera_bootstrap)?;
    let mut plans = Vec::new();
    let mut works = Vec::new();
    let mut saved_facts = std::collections::BTreeMap::new();
    for (f, mut w) in ok {
        let t0 = Instant::now();
        let starts = crate::planner::bootstrap::role(bootstrap.as_ref(), &w.host.name);
        match plan(&w.host.name, &w.resources, &f, &secrets, &masker, starts) {
            Ok(p) => {
                w.timings.plan = t0.elapsed().as_secs_f64();
                saved_facts.insert(
                    w.host.name.clone(),
                    facts_for_saving(&f, &masker, &w.resources),
                );
                plans.push((p, w.resources.len()));
                works.push(w);
            }
            Err(error) => dropped.push(Dropped {
                host: w.host.name,
                error,
            }),
        }
    }
    one_cluster_start(plans.iter().map(|(p, _)| p))?;
    Ok(Planned {
        plans,
        works,
        dropped,
        secrets,
        saved_facts,
    })
}

/// Refused when more than one host's plan would start a new cluster (two
/// clusters): from hosts' facts and from saved ones alike.
pub fn one_cluster_start<'a>(plans: impl IntoIterator<Item = &'a HostPlan>) -> Result<(), Error> {
    let starts: Vec<&HostPlan> = plans
        .into_iter()
        .filter(|p| p.starts_cluster.is_some())
        .collect();
    if let [first, _, ..] = starts.as_slice() {
        return Err(Error::TwoClusterStarts {
            hosts: starts.iter().map(|p| p.host.clone()).collect(),
            service: first
                .starts_cluster
                .as_ref()
                .map(|c| c.service.clone())
                .unwrap_or_default(),
        });
    }
    Ok(())
}

/// The whole plan of a site, from its hosts' plans and the hosts that dropped out.
pub fn new_plan(site: &Site, hosts: Vec<HostPlan>, dropped: &[Dropped], masker: &Masker) -> Plan {
    let site_file = std::fs::canonicalize(&site.path).unwrap_or_else(|_| site.path.clone());
    Plan {
        format: PLAN_FORMAT,
        site: site.name.clone(),
        site_file: site_file.display().to_string(),
        release: site.release.name().to_string(),
        hosts,
        unplanned: dropped_hosts(dropped, masker),
    }
}

/// The host's desired resources, from its roles.
pub fn desired(site: &Site, host: &Host, os: &OsFacts) -> Result<Vec<Resource>, HostError> {
    Ok(crate::desired::playbook::desired(site, host, os)?.resources)
}

pub fn plan(
    host: &str,
    resources: &[Resource],
    facts: &Facts,
    secrets: &SecretStore,
    masker: &Masker,
    galera_bootstrap: Option<planner::GaleraRole<'_>>,
) -> Result<HostPlan, HostError> {
    let inp = planner::Inputs {
        host,
        secrets,
        masker,
        galera_bootstrap,
    };
    Ok(planner::plan_host(&inp, resources, facts)?)
}

/// Facts as saved to a file: file contents with secret placeholders.
/// Values the secrets file does not know (on lines where a template puts a
/// secret, keys an ini edit sets to a secret, and in those files any key that
/// names a secret or URL password) are masked for good: such a file plans as
/// changed, which it is, with the same operations.
pub fn facts_for_saving(f: &Facts, masker: &Masker, resources: &[Resource]) -> Facts {
    use crate::desired::resource::{IniEditSpec, Kind};
    let mut f = f.clone();
    for (path, file) in f.files.iter_mut() {
        if let Some(c) = file.content.as_mut() {
            *c = masker.to_placeholders(c);
            for r in resources {
                match &r.kind {
                    Kind::File(FileSpec {
                        path: p, content, ..
                    }) if p == path => *c = planner::mask_secret_lines(c, content),
                    Kind::IniEdit(IniEditSpec {
                        path: p, settings, ..
                    }) if p == path => {
                        let keys: Vec<(&str, &str)> = settings
                            .iter()
                            .filter(|s| crate::secrets::placeholder::has_secrets(&s.value))
                            .map(|s| (s.section.as_str(), s.key.as_str()))
                            .collect();
                        let masked = crate::ini::mask_values(
                            c,
                            &keys,
                            crate::secrets::MASK,
                            crate::secrets::placeholder::has_secrets,
                        );
                        *c = planner::mask_secret_looking(&masked);
                    }
                    _ => {}
                }
            }
        }
    }
    f
}

/// Saved facts back to what the host showed, in place: placeholders
/// resolved. Returns the contents as saved of the files it changed (by
/// path), so that the saved facts can be had back without a copy of them all.
pub fn facts_from_saved(
    f: &mut Facts,
    secrets: &SecretStore,
) -> Result<Vec<(String, String)>, HostError> {
    let mut saved = Vec::new();
    for (path, file) in f.files.iter_mut() {
        if let Some(c) = file.content.as_mut() {
            let resolved = crate::secrets::placeholder::resolve(c, secrets)?;
            if resolved != *c {
                saved.push((path.clone(), std::mem::replace(c, resolved)));
            }
        }
    }
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::resource::{IniEditSpec, Kind};
    use crate::ini::IniSetting;
    use crate::secrets::SecretStore;

    /// Saved facts keep no secret the secrets file no longer knows in a file
    /// stackprov edits key by key (the guide's era: glance's password in
    /// glance-api-paste.ini): the key it sets to a secret is masked, so is any
    /// other key naming a secret; the current secret is a placeholder, and
    /// the other keys stay as they were.
    #[test]
    fn saved_facts_mask_an_old_secret_in_an_ini_edit() {
        let path = "/etc/glance/glance-api-paste.ini";
        // a recorded bare host's facts, and the file
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/centos6.json")).unwrap();
        let host = golden["hosts"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        let mut facts: Facts = serde_json::from_value(host.clone()).unwrap();
        let file = serde_json::from_value(serde_json::json!({
            "kind": "file",
            "perms": {"owner": "root", "group": "glance", "mode": "0640"},
            "content": "[filter:authtoken]\nadmin_user = glance\nadmin_password = OLD-pass-1\n[filter:other]\nadmin_password = OLD-pass-2\ntoken_mode = plain\n[filter:authtoken]\n# admin_password = current-pass\n",
        }))
        .unwrap();
        facts.files.insert(path.to_string(), file);
        let secrets =
            SecretStore::from_values([("glance_user".to_string(), "current-pass".to_string())]);
        let edit = Resource {
            role: "glance".into(),
            source: "playbooks/glance.yaml:44".into(),
            kind: Kind::IniEdit(IniEditSpec {
                path: path.into(),
                settings: vec![IniSetting {
                    section: "filter:authtoken".into(),
                    key: "admin_password".into(),
                    value: "((secret:glance_user:paste))".into(),
                }],
                perms: Default::default(),
                notify: vec![],
            }),
            package_source: false,
        };
        let saved = facts_for_saving(&facts, &secrets.masker(), &[edit]);
        let content = saved.files[path].content.as_deref().unwrap();
        assert!(!content.contains("OLD-pass"), "{content}");
        assert!(
            content.starts_with("[filter:authtoken]\nadmin_user = glance\nadmin_password = ********\n[filter:other]\nadmin_password = ********\ntoken_mode = ********\n[filter:authtoken]\n# admin_password = ((secret:glance_user"),
            "{content}"
        );
    }
}
