//! `stackprov verify`: prove the controller works the way an operator would:
//! get a token, list users, upload a small qcow2 image, see it become active,
//! list it, delete it. Each check is timed; any failure fails the command.

use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::openstack::keystone;
use crate::plan::catalog::Admin;
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

/// Run the checks against the Keystone and Glance APIs through the tunnel.
pub fn run(
    t: &mut dyn Transport,
    admin: &Admin,
    glance_port: u16,
    secrets: &SecretStore,
) -> (Vec<Check>, HttpStats) {
    let mut checks = Vec::new();
    let mut stats = HttpStats::patient();
    let step = |checks: &mut Vec<Check>,
                name: &str,
                f: &mut dyn FnMut(&mut HttpStats) -> Result<String, ApiError>,
                stats: &mut HttpStats| {
        let t0 = Instant::now();
        let r = f(stats);
        let ok = r.is_ok();
        checks.push(Check {
            name: name.to_string(),
            ok,
            seconds: t0.elapsed().as_secs_f64(),
            detail: r.unwrap_or_else(|e| e.to_string()),
        });
        ok
    };
    let mut token = String::new();
    if !step(
        &mut checks,
        "get a token",
        &mut |s| {
            token = if admin.is_v2() {
                if admin.user.is_empty() {
                    return Err(ApiError::Unsupported(
                        "the role's v2.0 keystone_api names no admin user to log in as (user, project, password)",
                    ));
                }
                let pw = keystone::secret(secrets, &admin.password)?;
                keystone::user_token(t, admin.port, &admin.user, &admin.project, pw, s)?
            } else {
                keystone::admin_token(t, admin, secrets, s)?
            };
            Ok(format!(
                "as {} in project {} ({} characters)",
                admin.user,
                admin.project,
                token.len()
            ))
        },
        &mut stats,
    ) {
        return (checks, stats);
    }
    fn authed<'a>(r: Request<'a>, token: &str) -> Request<'a> {
        r.header("X-Auth-Token", token.to_string())
    }
    step(
        &mut checks,
        "list users",
        &mut |s| {
            let path = if admin.is_v2() {
                "/v2.0/users"
            } else {
                "/v3/users"
            };
            let r = http::send(t, admin.port, &authed(Request::get(path), &token), s)?;
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
        },
        &mut stats,
    );
    let name = format!("stackprov-verify-{}", std::process::id());
    let mut id = String::new();
    let created = step(
        &mut checks,
        "create an image",
        &mut |s| {
            let body = serde_json::json!({"name": name, "disk_format": "qcow2", "container_format": "bare", "visibility": "private"});
            let r = http::send(
                t,
                glance_port,
                &authed(Request::json("POST", "/v2/images", &body), &token),
                s,
            )?;
            if r.status != 201 {
                return Err(ApiError::status_with_body(
                    "POST /v2/images".into(),
                    r.status,
                    &r.body,
                ));
            }
            id = r.json()?["id"].as_str().unwrap_or_default().to_string();
            Ok(format!("{name} ({id})"))
        },
        &mut stats,
    );
    if created {
        let image = crate::openstack::qcow2::empty(16 << 20);
        let path = format!("/v2/images/{id}/file");
        let uploaded = step(
            &mut checks,
            "upload a qcow2 image",
            &mut |s| {
                let req = Request {
                    method: "PUT",
                    path: &path,
                    headers: vec![("X-Auth-Token", token.clone())],
                    body: image.clone(),
                    content_type: "application/octet-stream",
                };
                let r = http::send(t, glance_port, &req, s)?;
                if r.status != 204 {
                    return Err(ApiError::status_with_body(
                        format!("PUT {path}"),
                        r.status,
                        &r.body,
                    ));
                }
                Ok(format!("{} bytes", image.len()))
            },
            &mut stats,
        );
        let show = format!("/v2/images/{id}");
        if uploaded {
            step(
                &mut checks,
                "image becomes active",
                &mut |s| {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    loop {
                        let r = http::send(
                            t,
                            glance_port,
                            &authed(Request::get("/v2/images").with_path(&show), &token),
                            s,
                        )?;
                        let status = r.json()?["status"].as_str().unwrap_or_default().to_string();
                        if status == "active" {
                            return Ok("active".into());
                        }
                        if Instant::now() > deadline
                            || matches!(status.as_str(), "killed" | "deleted")
                        {
                            return Err(ApiError::Unexpected(format!("status {status}")));
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    }
                },
                &mut stats,
            );
            step(
                &mut checks,
                "list images",
                &mut |s| {
                    let r = http::send(
                        t,
                        glance_port,
                        &authed(Request::get("/v2/images"), &token),
                        s,
                    )?;
                    let list = r.json()?["images"].as_array().cloned().unwrap_or_default();
                    if list.iter().any(|i| i["id"].as_str() == Some(id.as_str())) {
                        Ok(format!("{} image(s), ours among them", list.len()))
                    } else {
                        Err(ApiError::Unexpected(
                            "the uploaded image is not listed".into(),
                        ))
                    }
                },
                &mut stats,
            );
            step(
                &mut checks,
                "download the image",
                &mut |s| {
                    let r = http::send(t, glance_port, &authed(Request::get(&path), &token), s)?;
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
                },
                &mut stats,
            );
        }
        step(
            &mut checks,
            "delete the image",
            &mut |s| {
                let req = Request {
                    method: "DELETE",
                    path: &show,
                    headers: vec![("X-Auth-Token", token.clone())],
                    body: Vec::new(),
                    content_type: "application/json",
                };
                let r = http::send(t, glance_port, &req, s)?;
                if r.status == 204 {
                    Ok("deleted".into())
                } else {
                    Err(ApiError::Status {
                        request: format!("DELETE {show}"),
                        status: r.status,
                        body: None,
                    })
                }
            },
            &mut stats,
        );
    }
    (checks, stats)
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
