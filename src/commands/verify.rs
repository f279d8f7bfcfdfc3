//! `stackprov verify SITE`: prove each Keystone host works the way an
//! operator would (token, users, an image round trip), each check timed;
//! with `--tempest`, then OpenStack's own API tests (src/tempest.rs).

use super::{Io, load_site};
use crate::cli::Format;
use crate::error::{Error, Status};
use crate::pipeline::{self, Connector, Work};
use crate::plan::catalog::Admin;
use crate::render::{self, Style};
use crate::secrets::{Masker, SecretStore};
use crate::site::{Host, Site};
use crate::tempest::{self, TempestError};
use crate::verify::{self, TempestOutcome};
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
    let hosts = hosts_to_verify(&site, only, tempest_args.as_ref().and_then(|a| a.host))?;
    let (mut works, dropped, secrets) = pipeline::prepare_with_secrets(&site, hosts, connect)?;
    super::warn_weak(&secrets, io);
    let masker = secrets.masker();
    pipeline::report_dropped(&dropped, &masker, io.err);
    let mut out = Output {
        format,
        masker: &masker,
        io,
    };
    let found = verify::site(&site, &mut works, &secrets, &mut |r| {
        out.human(|style| {
            render::verify_text(&r.host, &r.checks, r.http_requests, r.transport, style)
        });
    })?;
    let mut status = if found.ok {
        Status::Success
    } else {
        Status::Failed
    };
    let mut tempest = None;
    if let (Some(args), Some(first)) = (tempest_args, &found.first) {
        let (s, outcome) = run_tempest_where_asked(
            &site, &mut works, &args, first, found.ok, &secrets, &mut out,
        );
        status = status.and(s);
        tempest = outcome;
    }
    if format == Format::Json {
        let doc = verify::Document {
            verify: &found.hosts,
            ok: status == Status::Success && dropped.is_empty(),
            unverified: pipeline::dropped_hosts(&dropped, &masker),
            tempest,
        };
        let _ = writeln!(out.io.out, "{}", masker.mask(&doc.to_json()));
    }
    Ok(status.and(pipeline::status_of_dropped(&dropped)))
}

/// The Keystone hosts to verify, and the Tempest host when it is not one of them.
fn hosts_to_verify(
    site: &Site,
    only: Option<&str>,
    tempest_host: Option<&str>,
) -> Result<Vec<Host>, Error> {
    let mut hosts = pipeline::select_hosts(site, only)?;
    hosts.retain(|h| h.controller);
    if hosts.is_empty() {
        let roles = crate::desired::roles::roles().map_err(crate::error::HostError::from)?;
        return Err(Error::NothingToVerify {
            site: site.path.clone(),
            role: roles
                .controller()
                .map_or("", |r| r.name.as_str())
                .to_string(),
        });
    }
    // a Tempest host that is not one of the controllers is connected to as well
    if let Some(name) = tempest_host {
        let runner = pipeline::select_hosts(site, Some(name))?.remove(0);
        if !hosts.iter().any(|h| h.name == runner.name) {
            hosts.push(runner);
        }
    }
    Ok(hosts)
}

/// Where the human text goes (masked), when people read it.
struct Output<'a, 'b, 'c> {
    format: Format,
    masker: &'a Masker,
    io: &'b mut Io<'c>,
}

impl Output<'_, '_, '_> {
    /// Write the text that `text` renders, when people read it.
    fn human(&mut self, text: impl FnOnce(Style) -> String) {
        if self.format == Format::Human {
            let text = text(self.io.style);
            let _ = write!(self.io.out, "{}", self.masker.mask(&text));
        }
    }
}

/// Tempest on `--tempest-host`, or else on the first controller verified, as
/// `first`'s admin; not when verify's own checks failed. Its status, and the
/// JSON document's `tempest` (none when the host could not be reached: it is
/// reported with the dropped hosts).
fn run_tempest_where_asked(
    site: &Site,
    works: &mut [Work],
    args: &TempestArgs<'_>,
    first: &(String, Admin),
    verified: bool,
    secrets: &SecretStore,
    out: &mut Output<'_, '_, '_>,
) -> (Status, Option<TempestOutcome>) {
    let (controller, admin) = first;
    let runner = args.host.unwrap_or(controller).to_string();
    let outcome = match works.iter_mut().find(|w| w.host.name == runner) {
        None => return (Status::Unreachable, None),
        Some(_) if !verified => Err(TempestError::Unsupported(
            "not run: verify's own checks failed".into(),
        )),
        Some(w) => run_tempest(site, w, admin, secrets, args.concurrency, out),
    };
    match outcome {
        Ok(report) => {
            let status = if report.ok() {
                Status::Success
            } else {
                Status::Failed
            };
            (status, Some(TempestOutcome::Ran(report)))
        }
        Err(e) => {
            let status = if e.is_unreachable() {
                Status::Unreachable
            } else {
                Status::Failed
            };
            out.human(|style| render::tempest_error(&runner, &e, style));
            out.human(|_| "\n".into());
            let failed = TempestOutcome::Failed {
                host: runner,
                error: e.kind(),
                message: out.masker.mask(&e.to_string()),
            };
            (status, Some(failed))
        }
    }
}

fn run_tempest(
    site: &Site,
    w: &mut Work,
    admin: &Admin,
    secrets: &SecretStore,
    concurrency: u32,
    out: &mut Output<'_, '_, '_>,
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
        out.io.err,
        "{}: running Tempest's identity v3 and image v2 API tests (concurrency {concurrency}); this takes minutes",
        w.host.name
    );
    let report = tempest::run(
        w.transport.as_mut(),
        &prep,
        secrets,
        tempest::Options { concurrency },
    )?;
    out.human(|style| render::tempest_text(&report, style));
    Ok(report)
}
