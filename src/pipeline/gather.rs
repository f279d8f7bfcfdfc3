//! The second round trip: the batched facts script, with the Keystone catalog
//! and the AMQP logins read beside it over the same connection.

use super::{CATALOG_READ_TIMEOUT, Timings, guess};
use crate::desired::resource::Resource;
use crate::error::HostError;
use crate::facts::{self, Facts, OsFacts};
use crate::openstack::http::HttpStats;
use crate::planner;
use crate::secrets::SecretStore;
use crate::transport::{ExecRequest, Transport};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Second round trip: every fact the resources need, in one batched script.
pub fn gather(
    t: &mut dyn Transport,
    os: &OsFacts,
    resources: &[Resource],
    secrets: &SecretStore,
) -> Result<Facts, HostError> {
    gather_timed(t, os, resources, secrets, &mut Timings::default())
}

/// [`gather`], adding the script's and the catalog's time to `timings`.
pub fn gather_timed(
    t: &mut dyn Transport,
    os: &OsFacts,
    resources: &[Resource],
    secrets: &SecretStore,
    timings: &mut Timings,
) -> Result<Facts, HostError> {
    match gather_after(t, os, resources, secrets, timings, None)? {
        Gathered::Facts(f) => Ok(*f),
        Gathered::OtherOs(_) => unreachable!("no probe was sent"),
    }
}

/// What [`gather_after`] found.
pub enum Gathered {
    Facts(Box<Facts>),
    /// The probe sent before the facts script printed this, not the OS the
    /// script was made for: it did not run.
    OtherOs(String),
}

/// The facts script (and the catalog beside it); with `probe`, the OS probe
/// first in the same exec, the script running only when the probe prints
/// exactly `probe` (see [`guess`]).
pub fn gather_after(
    t: &mut dyn Transport,
    os: &OsFacts,
    resources: &[Resource],
    secrets: &SecretStore,
    timings: &mut Timings,
    probe: Option<&str>,
) -> Result<Gathered, HostError> {
    let t0 = Instant::now();
    let q = planner::query(resources);
    let (script, stdin) = facts::script(os, &q);
    let script = match probe {
        Some(p) => guess::probe_then(p, &script),
        None => script,
    };
    let stdin = match stdin {
        Some(s) => facts::encode_login_stdin(&crate::secrets::placeholder::resolve(&s, secrets)?),
        None => Vec::new(),
    };
    let wants = planner::catalog_wants(resources);
    // the catalog, over the tunnel, while the facts script runs (on a second
    // handle of the same connection where the transport has one)
    let read_catalog = |t: &mut dyn Transport| {
        let t1 = Instant::now();
        let mut http = HttpStats::default();
        let c = q
            .catalog
            .as_ref()
            .map(|admin| {
                crate::openstack::keystone::gather(
                    t,
                    admin,
                    &q.catalog_logins,
                    &wants,
                    secrets,
                    &mut http,
                )
            })
            .transpose();
        (c, http.requests, t1.elapsed().as_secs_f64())
    };
    // RabbitMQ logins over AMQP, after the script and the catalog (a few
    // milliseconds; `timings.amqp` shows them apart)
    let read_amqp = |t: &mut dyn Transport| {
        let mut out = BTreeMap::new();
        for a in &q.amqp_logins {
            let fact = match secrets.get(&a.password) {
                None => facts::AmqpFact {
                    ok: false,
                    why: Some(format!("the secrets file has no `{}` yet", a.password)),
                },
                Some(pw) => amqp_fact(crate::amqp::login(t, a.port, &a.user, pw, &a.vhost)?),
            };
            out.insert(a.key(), fact);
        }
        Ok::<_, crate::transport::TransportError>(out)
    };
    let run_script = |t: &mut dyn Transport| {
        let out = t.exec(
            &ExecRequest::new(&script)
                .stdin(&stdin)
                .timeout(Duration::from_secs(120)),
        );
        (out, t0.elapsed().as_secs_f64())
    };
    let ((out, facts_secs), (catalog, requests, catalog_secs)) =
        match t.fork().filter(|_| q.catalog.is_some()) {
            Some(mut sibling) => std::thread::scope(|s| {
                // a Keystone that does not answer within this is not up (one
                // waiting for its database holds a request for minutes)
                sibling.set_tunnel_read_timeout(Some(CATALOG_READ_TIMEOUT));
                let reader = s.spawn(move || read_catalog(sibling.as_mut()));
                let script = run_script(t);
                let beside = reader.join().unwrap_or_else(|_| {
                    (
                        Err(crate::openstack::error::ApiError::Unexpected(
                            "the catalog reader panicked".into(),
                        )),
                        0,
                        0.0,
                    )
                });
                (script, beside)
            }),
            None => {
                let script = run_script(t);
                (script, read_catalog(t))
            }
        };
    let out = out?.stdout_str();
    let out = match probe {
        Some(p) => match guess::split_probe(p, &out) {
            Ok(rest) => rest,
            Err(other) => return Ok(Gathered::OtherOs(other.printed)),
        },
        None => out.as_str(),
    };
    let mut facts = facts::parse(os.clone(), &q, out)?;
    timings.facts = facts_secs;
    facts.catalog = catalog?;
    if facts.catalog.is_some() {
        tracing::info!("catalog read with {requests} HTTP request(s)");
        facts.http_requests = requests;
        timings.catalog = catalog_secs;
    }
    if !q.amqp_logins.is_empty() {
        let t1 = Instant::now();
        // a broker that hangs is one that does not answer
        t.set_tunnel_read_timeout(Some(CATALOG_READ_TIMEOUT));
        let amqp = read_amqp(t);
        t.set_tunnel_read_timeout(None);
        facts.amqp = amqp?;
        timings.amqp = t1.elapsed().as_secs_f64();
    }
    Ok(Gathered::Facts(Box::new(facts)))
}

/// What an AMQP login showed, as the facts keep it.
fn amqp_fact(o: crate::amqp::Outcome) -> facts::AmqpFact {
    use crate::amqp::Outcome;
    let why = match o {
        Outcome::Ok => None,
        Outcome::Refused(m) => Some(format!("the login was refused ({m})")),
        Outcome::NoVhost(m) => Some(format!("the login works, the vhost does not open ({m})")),
        Outcome::Unavailable(m) => Some(format!("RabbitMQ does not answer ({m})")),
    };
    facts::AmqpFact {
        ok: why.is_none(),
        why,
    }
}
