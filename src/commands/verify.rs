//! `stackprov verify SITE`: prove each Keystone host works the way an
//! operator would (token, users, an image round trip), each check timed;
//! with `--tempest`, then OpenStack's own API tests (src/tempest.rs).

use super::{Io, load_site};
use crate::cli::Format;
use crate::desired::resource::Kind;
use crate::error::{Error, Status};
use crate::pipeline::{self, Connector, Work};
use crate::plan::catalog::Admin;
use crate::secrets::{Masker, SecretStore};
use crate::site::Site;
use crate::tempest::{self, TempestError};
use std::path::Path;

/// What `--tempest` asked for.
pub struct TempestArgs<'a> {
    pub concurrency: u32,
    /// The site host to run it on (default: the first controller verified).
    pub host: Option<&'a str>,
}

pub fn run(
    path: &Path,
    only: Option<&str>,
    tempest_args: Option<TempestArgs<'_>>,
    format: Format,
    connect: &Connector<'_>,
    io: &mut Io<'_>,
) -> Result<Status, Error> {
    let site = load_site(path, io)?;
    let mut hosts = pipeline::select_hosts(&site, only)?;
    hosts.retain(|h| h.has_role("keystone"));
    if hosts.is_empty() {
        return Err(Error::NothingToVerify(site.path.clone()));
    }
    // a Tempest host that is not one of the controllers is connected to as well
    let runner_name = match tempest_args.as_ref().and_then(|a| a.host) {
        Some(name) => Some(pipeline::select_hosts(&site, Some(name))?.remove(0)),
        None => None,
    };
    if let Some(r) = &runner_name
        && !hosts.iter().any(|h| h.name == r.name)
    {
        hosts.push(r.clone());
    }
    let (mut works, dropped, secrets) = pipeline::prepare_with_secrets(&site, hosts, connect)?;
    super::warn_weak(&secrets, io);
    let masker = secrets.masker();
    pipeline::report_dropped(&dropped, &masker, io.err);
    let mut all_ok = true;
    let mut reports = Vec::new();
    let mut first_admin = None;
    // an HA site's controllers other than the first declare no keystone_api
    // (the catalog is made once): each is checked with the first one's, as
    // its roles declare it (also when the first controller is down)
    let shared_admin = site.ha.as_ref().and_then(|ha| {
        let first = site.host(ha.controllers.first()?)?;
        let w = works.iter().find(|w| w.host.has_role("keystone"))?;
        let resources = pipeline::desired(&site, first, &w.os).ok()?;
        let admin = keystone_admin(&resources)?;
        Some((admin, glance_port(&resources)))
    });
    for w in works.iter_mut().filter(|w| w.host.has_role("keystone")) {
        let Some((admin, glance)) = admin_of(w)
            .map(|a| (a, glance_port(&w.resources)))
            .or_else(|| shared_admin.clone())
        else {
            return Err(Error::NoKeystoneApi(w.host.name.clone()));
        };
        let (mut checks, http) = crate::verify::run(w.transport.as_mut(), &admin, glance, &secrets);
        if let Some(ha) = &site.ha {
            checks.push(crate::verify::galera(
                w.transport.as_mut(),
                ha.controllers.len(),
            ));
        }
        all_ok &= checks.iter().all(|c| c.ok);
        let stats = w.transport.stats();
        if format == Format::Human {
            let text =
                crate::render::verify_text(&w.host.name, &checks, http.requests, stats, io.style);
            let _ = write!(io.out, "{}", masker.mask(&text));
        }
        reports.push(serde_json::json!({"host": w.host.name, "checks": checks, "http_requests": http.requests, "transport": stats}));
        first_admin.get_or_insert((w.host.name.clone(), admin));
    }
    // and through the VIP, as clients reach the cloud, from the first
    // controller that answered (each controller's own checks went to itself)
    if let (Some(ha), Some((admin, glance))) = (&site.ha, &shared_admin)
        && let Some(mut t) = works
            .iter()
            .filter(|w| w.host.has_role("keystone"))
            .find_map(|w| w.transport.fork())
    {
        t.set_service_address(&ha.vip.to_string());
        let (checks, http) = crate::verify::run(t.as_mut(), admin, *glance, &secrets);
        all_ok &= checks.iter().all(|c| c.ok);
        let name = format!(
            "{} (the VIP {}, from {})",
            site.controller,
            ha.vip,
            t.name()
        );
        let stats = t.stats();
        if format == Format::Human {
            let text = crate::render::verify_text(&name, &checks, http.requests, stats, io.style);
            let _ = write!(io.out, "{}", masker.mask(&text));
        }
        reports.push(serde_json::json!({"host": name, "vip": ha.vip.to_string(), "checks": checks, "http_requests": http.requests, "transport": stats}));
    }
    let mut status = if all_ok {
        Status::Success
    } else {
        Status::Failed
    };
    let mut tempest_json = serde_json::Value::Null;
    if let (Some(args), Some((controller, admin))) = (tempest_args, first_admin) {
        let runner = args.host.unwrap_or(&controller).to_string();
        let outcome = match works.iter_mut().find(|w| w.host.name == runner) {
            None => None, // unreachable: reported with the dropped hosts
            Some(_) if !all_ok => Some(Err(TempestError::Unsupported(
                "not run: verify's own checks failed".into(),
            ))),
            Some(w) => Some(run_tempest(
                &site,
                w,
                &admin,
                &secrets,
                args.concurrency,
                format,
                &masker,
                io,
            )),
        };
        match outcome {
            Some(Ok(report)) => {
                if !report.ok() {
                    status = status.and(Status::Failed);
                }
                tempest_json = serde_json::json!(report);
            }
            Some(Err(e)) => {
                status = status.and(if e.is_unreachable() {
                    Status::Unreachable
                } else {
                    Status::Failed
                });
                if format == Format::Human {
                    let _ = writeln!(
                        io.out,
                        "{}",
                        masker.mask(&crate::render::tempest_error(&runner, &e, io.style))
                    );
                }
                tempest_json = serde_json::json!({"host": runner, "error": e.kind(), "message": masker.mask(&e.to_string())});
            }
            None => status = status.and(Status::Unreachable),
        }
    }
    if format == Format::Json {
        let mut doc = serde_json::json!({
            "verify": reports,
            "ok": status == Status::Success && dropped.is_empty(),
            "unverified": pipeline::dropped_hosts(&dropped, &masker),
        });
        if !tempest_json.is_null() {
            doc["tempest"] = tempest_json;
        }
        let _ = writeln!(io.out, "{}", masker.mask(&doc.to_string()));
    }
    Ok(status.and(pipeline::status_of_dropped(&dropped)))
}

#[allow(clippy::too_many_arguments)]
fn run_tempest(
    site: &Site,
    w: &mut Work,
    admin: &Admin,
    secrets: &SecretStore,
    concurrency: u32,
    format: Format,
    masker: &Masker,
    io: &mut Io<'_>,
) -> Result<tempest::Report, TempestError> {
    if admin.is_v2() {
        return Err(TempestError::Unsupported(format!(
            "Tempest needs the v3 identity API; release {} uses v2.0 (vagrant/README.md says how to run Tempest by hand there)",
            site.release.name()
        )));
    }
    let profile = crate::desired::profile::for_host(&w.os, site.release)?;
    let config = crate::desired::templates::render_template(
        site,
        &w.host,
        &w.os,
        "tempest/tempest.conf",
        &[
            ("workspace", serde_json::json!(tempest::WORKSPACE)),
            ("admin", serde_json::json!(admin)),
        ],
    )?;
    let prep = tempest::Prepared {
        host: w.host.name.clone(),
        os: w.os.clone(),
        packages: tempest::packages(&profile),
        config,
    };
    let _ = writeln!(
        io.err,
        "{}: running Tempest's identity v3 and image v2 API tests (concurrency {concurrency}); this takes minutes",
        w.host.name
    );
    let report = tempest::run(
        w.transport.as_mut(),
        &prep,
        secrets,
        tempest::Options { concurrency },
    )?;
    if format == Format::Human {
        let _ = write!(
            io.out,
            "{}",
            masker.mask(&crate::render::tempest_text(&report, io.style))
        );
    }
    Ok(report)
}

fn admin_of(w: &Work) -> Option<Admin> {
    keystone_admin(&w.resources)
}

/// The admin of the roles' first `keystone_api`.
fn keystone_admin(resources: &[crate::desired::resource::Resource]) -> Option<Admin> {
    resources.iter().find_map(|r| {
        let Kind::KeystoneApi(api) = &r.kind else {
            return None;
        };
        Some(api.admin.clone())
    })
}

/// The port of the image endpoint the roles register (9292 unless they say otherwise).
fn glance_port(resources: &[crate::desired::resource::Resource]) -> u16 {
    resources
        .iter()
        .find_map(|r| {
            let Kind::KeystoneEndpoint(e) = &r.kind else {
                return None;
            };
            if e.service_type != "image" {
                return None;
            }
            e.url
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches('/').parse().ok())
        })
        .unwrap_or(9292)
}
