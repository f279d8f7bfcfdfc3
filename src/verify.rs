//! `stackprov verify`: prove the controller works the way an operator would:
//! get a token, list users, upload a small qcow2 image, see it become active,
//! list it, delete it. Each check is timed; any failure fails the command.
//! An HA site's controllers are each checked, and then the site through its VIP.

use crate::desired::resource::{Kind, Resource};
use crate::error::Error;
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::openstack::keystone;
use crate::pipeline::Work;
use crate::plan::Unplanned;
use crate::plan::catalog::Admin;
use crate::secrets::SecretStore;
use crate::site::Site;
use crate::transport::{Transport, TransportStats};
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

/// One host's checks, as `verify` reports them (docs/output.md).
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    /// Set for the checks made through an HA site's VIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
    pub checks: Vec<Check>,
    pub http_requests: u64,
    pub transport: TransportStats,
}

impl HostReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// `verify --format json`'s document (docs/output.md).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub verify: &'a [HostReport],
    pub ok: bool,
    pub unverified: Vec<Unplanned>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tempest: Option<TempestOutcome>,
}

/// The `tempest` object: the run's report, or why it could not run.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TempestOutcome {
    Ran(crate::tempest::Report),
    Failed {
        host: String,
        error: &'static str,
        /// Secrets masked.
        message: String,
    },
}

impl Document<'_> {
    /// The JSON text, its keys in serde_json's order.
    pub fn to_json(&self) -> String {
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

/// What `verify` found on a site's controllers (and through an HA site's VIP).
#[derive(Debug)]
pub struct SiteReport {
    pub hosts: Vec<HostReport>,
    /// Every check passed.
    pub ok: bool,
    /// The first controller verified and the admin it was checked as: where
    /// Tempest runs unless told otherwise.
    pub first: Option<(String, Admin)>,
}

/// Verify each Keystone host among `works`, then an HA site through its VIP;
/// `each` is shown each host's report as soon as it is made.
pub fn site(
    site: &Site,
    works: &mut [Work],
    secrets: &SecretStore,
    each: &mut dyn FnMut(&HostReport),
) -> Result<SiteReport, Error> {
    let shared = shared_admin(site, works);
    let mut out = SiteReport {
        hosts: Vec::new(),
        ok: true,
        first: None,
    };
    let mut add = |out: &mut SiteReport, report: HostReport| {
        out.ok &= report.ok();
        each(&report);
        out.hosts.push(report);
    };
    for w in works.iter_mut().filter(|w| w.host.controller) {
        let Some((admin, glance)) = admin_of(&w.resources)
            .map(|a| (a, glance_port(&w.resources)))
            .or_else(|| shared.clone())
        else {
            return Err(Error::NoKeystoneApi(w.host.name.clone()));
        };
        add(&mut out, controller(site, w, &admin, glance, secrets));
        out.first.get_or_insert((w.host.name.clone(), admin));
    }
    if let Some((admin, glance)) = &shared
        && let Some(report) = through_vip(site, works, admin, *glance, secrets)
    {
        add(&mut out, report);
    }
    Ok(out)
}

/// An HA site's controllers other than the first declare no keystone_api (the
/// catalog is made once): each is checked with the first one's, as its roles
/// declare it (also when the first controller is down). With the image port.
fn shared_admin(site: &Site, works: &[Work]) -> Option<(Admin, u16)> {
    let ha = site.ha.as_ref()?;
    let first = site.host(ha.controllers.first()?)?;
    let w = works.iter().find(|w| w.host.controller)?;
    let resources = crate::pipeline::desired(site, first, &w.os).ok()?;
    let admin = admin_of(&resources)?;
    Some((admin, glance_port(&resources)))
}

/// One controller's own checks (and on an HA site, its view of Galera).
fn controller(
    site: &Site,
    w: &mut Work,
    admin: &Admin,
    glance_port: u16,
    secrets: &SecretStore,
) -> HostReport {
    let (mut checks, http) = run(w.transport.as_mut(), admin, glance_port, secrets);
    if let Some(ha) = &site.ha {
        checks.push(galera(w.transport.as_mut(), ha.controllers.len()));
    }
    HostReport {
        host: w.host.name.clone(),
        vip: None,
        checks,
        http_requests: http.requests,
        transport: w.transport.stats(),
    }
}

/// The checks through the VIP, as clients reach the cloud, from the first
/// controller that answered (each controller's own checks went to itself).
/// `None` on a site without one, or when no controller answered.
fn through_vip(
    site: &Site,
    works: &[Work],
    admin: &Admin,
    glance_port: u16,
    secrets: &SecretStore,
) -> Option<HostReport> {
    let ha = site.ha.as_ref()?;
    let mut t = works
        .iter()
        .filter(|w| w.host.controller)
        .find_map(|w| w.transport.fork())?;
    t.set_service_address(&ha.vip.to_string());
    let (checks, http) = run(t.as_mut(), admin, glance_port, secrets);
    Some(HostReport {
        host: format!(
            "{} (the VIP {}, from {})",
            site.controller,
            ha.vip,
            t.name()
        ),
        vip: Some(ha.vip.to_string()),
        checks,
        http_requests: http.requests,
        transport: t.stats(),
    })
}

/// The admin the roles declare (keystone_api).
fn admin_of(resources: &[Resource]) -> Option<Admin> {
    resources.iter().find_map(|r| {
        let Kind::KeystoneApi(api) = &r.kind else {
            return None;
        };
        Some(api.admin.clone())
    })
}

/// The port of the image endpoint the roles register (9292 unless they say otherwise).
fn glance_port(resources: &[Resource]) -> u16 {
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

/// The checks made so far, and the HTTP they cost.
struct Checks {
    done: Vec<Check>,
    stats: HttpStats,
}

impl Checks {
    /// Run one check, timed; did it pass?
    fn step(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut HttpStats) -> Result<String, ApiError>,
    ) -> bool {
        let t0 = Instant::now();
        let r = f(&mut self.stats);
        let ok = r.is_ok();
        self.done.push(Check {
            name: name.to_string(),
            ok,
            seconds: t0.elapsed().as_secs_f64(),
            detail: r.unwrap_or_else(|e| e.to_string()),
        });
        ok
    }
}

/// Run the checks against the Keystone and Glance APIs through the tunnel.
pub fn run(
    t: &mut dyn Transport,
    admin: &Admin,
    glance_port: u16,
    secrets: &SecretStore,
) -> (Vec<Check>, HttpStats) {
    let mut checks = Checks {
        done: Vec::new(),
        stats: HttpStats::patient(),
    };
    let mut token = String::new();
    let got = checks.step("get a token", |s| {
        token = get_token(t, admin, secrets, s)?;
        Ok(format!(
            "as {} in project {} ({} characters)",
            admin.user,
            admin.project,
            token.len()
        ))
    });
    if got {
        checks.step("list users", |s| list_users(t, admin, &token, s));
        let mut glance = Glance {
            t,
            port: glance_port,
            token: &token,
        };
        image_round_trip(&mut checks, &mut glance);
    }
    (checks.done, checks.stats)
}

/// A token as the admin: v3's admin login, or a v2.0 password login in the
/// admin's tenant (the admin token is not a user's).
fn get_token(
    t: &mut dyn Transport,
    admin: &Admin,
    secrets: &SecretStore,
    s: &mut HttpStats,
) -> Result<String, ApiError> {
    if !admin.is_v2() {
        return keystone::admin_token(t, admin, secrets, s);
    }
    if admin.user.is_empty() {
        return Err(ApiError::Unsupported(
            "the role's v2.0 keystone_api names no admin user to log in as (user, project, password)",
        ));
    }
    let pw = keystone::secret(secrets, &admin.password)?;
    keystone::user_token(t, admin.port, &admin.user, &admin.project, pw, s)
}

fn authed<'a>(r: Request<'a>, token: &str) -> Request<'a> {
    r.header("X-Auth-Token", token.to_string())
}

/// GET the users with `token`: how many, and their names.
fn list_users(
    t: &mut dyn Transport,
    admin: &Admin,
    token: &str,
    s: &mut HttpStats,
) -> Result<String, ApiError> {
    let path = if admin.is_v2() {
        "/v2.0/users"
    } else {
        "/v3/users"
    };
    let r = http::send(t, admin.port, &authed(Request::get(path), token), s)?;
    if !r.ok() {
        return Err(ApiError::Status {
            request: format!("GET {path}"),
            status: r.status,
            body: None,
        });
    }
    let names: Vec<String> = r.json()?["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|u| u["name"].as_str().map(str::to_string))
        .collect();
    Ok(format!("{} user(s): {}", names.len(), names.join(", ")))
}

/// Create an image, upload it, see it become active, list it, download it,
/// and delete it (also when the upload failed).
fn image_round_trip(checks: &mut Checks, glance: &mut Glance<'_>) {
    let name = format!("stackprov-verify-{}", std::process::id());
    let mut id = String::new();
    let created = checks.step("create an image", |s| {
        id = glance.create(&name, s)?;
        Ok(format!("{name} ({id})"))
    });
    if !created {
        return;
    }
    let image = crate::openstack::qcow2::empty(16 << 20);
    let uploaded = checks.step("upload a qcow2 image", |s| glance.upload(&id, &image, s));
    if uploaded {
        checks.step("image becomes active", |s| glance.active(&id, s));
        checks.step("list images", |s| glance.listed(&id, s));
        checks.step("download the image", |s| glance.download(&id, &image, s));
    }
    checks.step("delete the image", |s| glance.delete(&id, s));
}

/// Glance's image API with a token, one method per check.
struct Glance<'a> {
    t: &'a mut dyn Transport,
    port: u16,
    token: &'a str,
}

impl Glance<'_> {
    fn send(&mut self, req: Request<'_>, s: &mut HttpStats) -> Result<http::Response, ApiError> {
        http::send(self.t, self.port, &authed(req, self.token), s)
    }

    /// A private qcow2 image named `name`: its id.
    fn create(&mut self, name: &str, s: &mut HttpStats) -> Result<String, ApiError> {
        let body = serde_json::json!({"name": name, "disk_format": "qcow2", "container_format": "bare", "visibility": "private"});
        let r = self.send(Request::json("POST", "/v2/images", &body), s)?;
        if r.status != 201 {
            return Err(ApiError::status_with_body(
                "POST /v2/images".into(),
                r.status,
                &r.body,
            ));
        }
        Ok(r.json()?["id"].as_str().unwrap_or_default().to_string())
    }

    fn upload(&mut self, id: &str, image: &[u8], s: &mut HttpStats) -> Result<String, ApiError> {
        let path = format!("/v2/images/{id}/file");
        let req = Request {
            method: "PUT",
            path: &path,
            headers: Vec::new(),
            body: image.to_vec(),
            content_type: "application/octet-stream",
        };
        let r = self.send(req, s)?;
        if r.status != 204 {
            return Err(ApiError::status_with_body(
                format!("PUT {path}"),
                r.status,
                &r.body,
            ));
        }
        Ok(format!("{} bytes", image.len()))
    }

    /// Poll for a minute until the image is active.
    fn active(&mut self, id: &str, s: &mut HttpStats) -> Result<String, ApiError> {
        let show = format!("/v2/images/{id}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.send(Request::get(&show), s)?;
            let status = r.json()?["status"].as_str().unwrap_or_default().to_string();
            if status == "active" {
                return Ok("active".into());
            }
            if Instant::now() > deadline || matches!(status.as_str(), "killed" | "deleted") {
                return Err(ApiError::Unexpected(format!("status {status}")));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn listed(&mut self, id: &str, s: &mut HttpStats) -> Result<String, ApiError> {
        let r = self.send(Request::get("/v2/images"), s)?;
        let list = r.json()?["images"].as_array().cloned().unwrap_or_default();
        if list.iter().any(|i| i["id"].as_str() == Some(id)) {
            Ok(format!("{} image(s), ours among them", list.len()))
        } else {
            Err(ApiError::Unexpected(
                "the uploaded image is not listed".into(),
            ))
        }
    }

    /// The bytes that come back are the ones uploaded.
    fn download(&mut self, id: &str, image: &[u8], s: &mut HttpStats) -> Result<String, ApiError> {
        let path = format!("/v2/images/{id}/file");
        let r = self.send(Request::get(&path), s)?;
        if r.status != 200 {
            return Err(ApiError::status_with_body(
                format!("GET {path}"),
                r.status,
                &r.body,
            ));
        }
        if r.body == image {
            Ok(format!("{} bytes, the same as uploaded", r.body.len()))
        } else {
            Err(ApiError::Unexpected(format!(
                "{} bytes came back, not the {} uploaded",
                r.body.len(),
                image.len()
            )))
        }
    }

    fn delete(&mut self, id: &str, s: &mut HttpStats) -> Result<String, ApiError> {
        let show = format!("/v2/images/{id}");
        let r = self.send(Request::get(&show).method("DELETE"), s)?;
        if r.status == 204 {
            Ok("deleted".into())
        } else {
            Err(ApiError::Status {
                request: format!("DELETE {show}"),
                status: r.status,
                body: None,
            })
        }
    }
}
/// An HA site's Galera cluster as one controller sees it: in the primary
/// component, synced, and of the site's size.
pub fn galera(t: &mut dyn Transport, expected: usize) -> Check {
    let t0 = Instant::now();
    let script = "mysql -N -B -e \"SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_cluster_status')\"";
    let (ok, detail) = match t
        .exec(&crate::transport::ExecRequest::new(script).timeout(Duration::from_secs(30)))
    {
        Err(e) => (false, e.to_string()),
        Ok(out) if !out.success() => (false, format!("mysql failed: {}", out.stderr_str().trim())),
        Ok(out) => {
            let text = out.stdout_str();
            let get = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            let size = get("wsrep_cluster_size");
            let state = get("wsrep_local_state_comment");
            let status = get("wsrep_cluster_status");
            let detail = format!("cluster size {size} of {expected}, {state}, {status} component");
            (
                size == expected.to_string() && state == "Synced" && status == "Primary",
                detail,
            )
        }
    };
    Check {
        name: "galera cluster".into(),
        ok,
        seconds: t0.elapsed().as_secs_f64(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(host: &str, vip: Option<&str>) -> HostReport {
        HostReport {
            host: host.into(),
            vip: vip.map(str::to_string),
            checks: vec![Check {
                name: "get a token".into(),
                ok: true,
                seconds: 0.5,
                detail: "as admin in project admin (183 characters)".into(),
            }],
            http_requests: 7,
            transport: TransportStats {
                round_trips: 8,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_json_document_keeps_its_shape_and_key_order() {
        let hosts = [
            report("ctl1", None),
            report("openstack (the VIP …)", Some("10.0.0.100")),
        ];
        let doc = Document {
            verify: &hosts,
            ok: false,
            unverified: vec![Unplanned {
                host: "ctl2".into(),
                unreachable: true,
                error: "gone".into(),
            }],
            tempest: Some(TempestOutcome::Failed {
                host: "ctl1".into(),
                error: "unsupported",
                message: "not run: verify's own checks failed".into(),
            }),
        };
        let check = r#"{"detail":"as admin in project admin (183 characters)","name":"get a token","ok":true,"seconds":0.5}"#;
        let transport = r#"{"bytes_received":0,"bytes_sent":0,"round_trips":8}"#;
        assert_eq!(
            doc.to_json(),
            format!(
                r#"{{"ok":false,"tempest":{{"error":"unsupported","host":"ctl1","message":"not run: verify's own checks failed"}},"unverified":[{{"error":"gone","host":"ctl2","unreachable":true}}],"verify":[{{"checks":[{check}],"host":"ctl1","http_requests":7,"transport":{transport}}},{{"checks":[{check}],"host":"openstack (the VIP …)","http_requests":7,"transport":{transport},"vip":"10.0.0.100"}}]}}"#
            )
        );
        let without = Document {
            verify: &[],
            ok: true,
            unverified: Vec::new(),
            tempest: None,
        };
        assert_eq!(
            without.to_json(),
            r#"{"ok":true,"unverified":[],"verify":[]}"#
        );
    }
}
