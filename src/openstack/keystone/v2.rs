//! The Keystone v2.0 admin API of the guide's era (Havana to Newton), on the
//! admin port with X-Auth-Token = the admin token (`admin_token` in
//! keystone.conf): tenants, users, roles, user roles, services, endpoints.
//! Same catalog facts and calls as v3, so the planner and the playbooks stay
//! one; only endpoints differ (one record with three URLs).

use super::{get, s, secret, send_ok};
use crate::facts::catalog::{CatalogFacts, EndpointFact};
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::plan::catalog::{Admin, Call};
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn token<'a>(admin: &Admin, secrets: &'a SecretStore) -> Result<&'a str, ApiError> {
    let name = admin.token.as_deref().ok_or(ApiError::Unsupported(
        "the v2.0 admin API needs the admin token",
    ))?;
    secret(secrets, name)
}

/// One GET with the admin token; a refused token says so.
fn list(
    t: &mut dyn Transport,
    admin: &Admin,
    tok: &str,
    path: &str,
    key: &str,
    stats: &mut HttpStats,
) -> Result<Vec<Value>, ApiError> {
    get(t, admin.port, tok, path, key, stats).map_err(|e| {
        if e.status() == Some(401) {
            ApiError::TokenRefused {
                source: Box::new(e),
                secret: admin.token.clone().unwrap_or_default(),
            }
        } else {
            e
        }
    })
}

/// Log in with a password (POST /v2.0/tokens), scoped to `tenant` when given:
/// the token, or `None` when Keystone refuses the password.
fn password_token(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    tenant: Option<&str>,
    password: &str,
    stats: &mut HttpStats,
) -> Result<Option<String>, ApiError> {
    let mut auth = json!({"passwordCredentials": {"username": user, "password": password}});
    if let Some(tenant) = tenant {
        auth["tenantName"] = json!(tenant);
    }
    let r = http::send(
        t,
        port,
        &Request::json("POST", "/v2.0/tokens", &json!({ "auth": auth })),
        stats,
    )?;
    match r.status {
        200 | 201 => Ok(Some(
            r.json()?["access"]["token"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )),
        401 => Ok(None),
        st => Err(ApiError::Status {
            request: format!("POST /v2.0/tokens as {user}"),
            status: st,
            body: None,
        }),
    }
}

/// Does the secret still log `user` in?
fn login(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    password: &str,
    stats: &mut HttpStats,
) -> Result<bool, ApiError> {
    Ok(password_token(t, port, user, None, password, stats)?.is_some())
}

/// A token for `user` in `tenant`, as an operator's `keystone token-get` gets one.
pub fn user_token(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    tenant: &str,
    password: &str,
    stats: &mut HttpStats,
) -> Result<String, ApiError> {
    match password_token(t, port, user, Some(tenant), password, stats)? {
        Some(id) if !id.is_empty() => Ok(id),
        Some(_) => Err(ApiError::Malformed(
            "POST /v2.0/tokens: no access.token.id in the answer".into(),
        )),
        None => Err(ApiError::TenantPasswordRefused {
            user: user.to_string(),
            tenant: tenant.to_string(),
        }),
    }
}

fn by_name(list: &[Value]) -> BTreeMap<String, String> {
    list.iter().map(|v| (s(v, "name"), s(v, "id"))).collect()
}

/// Read the catalog: one GET per resource type, then each user's roles on each tenant.
pub(super) fn gather(
    t: &mut dyn Transport,
    admin: &Admin,
    logins: &BTreeMap<String, String>,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<CatalogFacts, ApiError> {
    let tok = token(admin, secrets)?;
    let tenants = list(t, admin, tok, "/v2.0/tenants", "tenants", stats)?;
    let users = list(t, admin, tok, "/v2.0/users", "users", stats)?;
    let roles = list(t, admin, tok, "/v2.0/OS-KSADM/roles", "roles", stats)?;
    let services = list(
        t,
        admin,
        tok,
        "/v2.0/OS-KSADM/services",
        "OS-KSADM:services",
        stats,
    )?;
    let endpoints = list(t, admin, tok, "/v2.0/endpoints", "endpoints", stats)?;
    let mut c = CatalogFacts {
        projects: by_name(&tenants),
        users: by_name(&users),
        roles: by_name(&roles),
        services: services
            .iter()
            .map(|v| (s(v, "type"), s(v, "name")))
            .collect(),
        ..Default::default()
    };
    let type_of: BTreeMap<String, String> = services
        .iter()
        .map(|v| (s(v, "id"), s(v, "type")))
        .collect();
    // one v2.0 record stands for three interfaces; they share its id
    for e in &endpoints {
        for (iface, key) in [
            ("admin", "adminurl"),
            ("internal", "internalurl"),
            ("public", "publicurl"),
        ] {
            c.endpoints.push(EndpointFact {
                id: s(e, "id"),
                service_type: type_of
                    .get(&s(e, "service_id"))
                    .cloned()
                    .unwrap_or_default(),
                interface: iface.to_string(),
                region: s(e, "region"),
                url: s(e, key),
            });
        }
    }
    for (uname, uid) in &c.users {
        for (tname, tid) in &c.projects {
            let path = format!("/v2.0/tenants/{tid}/users/{uid}/roles");
            for r in list(t, admin, tok, &path, "roles", stats)? {
                c.assignments
                    .insert((uname.clone(), tname.clone(), s(&r, "name")));
            }
        }
    }
    for (user, secret_name) in logins {
        let ok = c.users.contains_key(user)
            && login(t, admin.port, user, secret(secrets, secret_name)?, stats)?;
        c.logins.insert(user.clone(), ok);
    }
    Ok(c)
}

fn find(
    t: &mut dyn Transport,
    admin: &Admin,
    tok: &str,
    path: &str,
    key: &str,
    name: &str,
    stats: &mut HttpStats,
) -> Result<Option<String>, ApiError> {
    Ok(list(t, admin, tok, path, key, stats)?
        .iter()
        .find(|v| s(v, "name") == name)
        .map(|v| s(v, "id")))
}

fn need(found: Option<String>, what: &str, name: &str) -> Result<String, ApiError> {
    found.ok_or_else(|| ApiError::NotFound {
        kind: what.to_string(),
        name: name.to_string(),
    })
}

fn service_id(
    t: &mut dyn Transport,
    admin: &Admin,
    tok: &str,
    service_type: &str,
    stats: &mut HttpStats,
) -> Result<Option<String>, ApiError> {
    Ok(list(
        t,
        admin,
        tok,
        "/v2.0/OS-KSADM/services",
        "OS-KSADM:services",
        stats,
    )?
    .iter()
    .find(|v| s(v, "type") == service_type)
    .map(|v| s(v, "id")))
}

fn authed<'a>(r: Request<'a>, tok: &str) -> Request<'a> {
    r.header("X-Auth-Token", tok.to_string())
}

/// Carry out one call; each looks before it creates, so a repeat changes nothing.
pub(super) fn execute(
    t: &mut dyn Transport,
    admin: &Admin,
    call: &Call,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<(), ApiError> {
    let tok = token(admin, secrets)?;
    let port = admin.port;
    match call {
        Call::Wait { timeout_secs } => {
            let deadline =
                std::time::Instant::now() + std::time::Duration::from_secs(*timeout_secs);
            loop {
                match list(t, admin, tok, "/v2.0/tenants", "tenants", stats) {
                    Ok(_) => return Ok(()),
                    Err(e) if e.is_unreachable() => return Err(e),
                    Err(e) if std::time::Instant::now() >= deadline => {
                        return Err(ApiError::Timeout {
                            api: "the Keystone v2.0 admin API",
                            secs: *timeout_secs,
                            last: Box::new(e),
                        });
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
                }
            }
        }
        Call::CreateProject { name, description } => {
            if find(t, admin, tok, "/v2.0/tenants", "tenants", name, stats)?.is_none() {
                let body =
                    json!({"tenant": {"name": name, "description": description, "enabled": true}});
                send_ok(
                    t,
                    port,
                    authed(Request::json("POST", "/v2.0/tenants", &body), tok),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::CreateUser { name, password } | Call::SetPassword { name, password } => {
            let pw = secret(secrets, password)?;
            match find(t, admin, tok, "/v2.0/users", "users", name, stats)? {
                None => {
                    let body = json!({"user": {"name": name, "password": pw, "enabled": true}});
                    send_ok(
                        t,
                        port,
                        authed(Request::json("POST", "/v2.0/users", &body), tok),
                        stats,
                    )?;
                }
                Some(id) => {
                    let path = format!("/v2.0/users/{id}/OS-KSADM/password");
                    let body = json!({"user": {"password": pw}});
                    send_ok(
                        t,
                        port,
                        authed(Request::json("PUT", &path, &body), tok),
                        stats,
                    )?;
                }
            }
            Ok(())
        }
        Call::CreateRole { name } => {
            if find(t, admin, tok, "/v2.0/OS-KSADM/roles", "roles", name, stats)?.is_none() {
                let body = json!({"role": {"name": name}});
                send_ok(
                    t,
                    port,
                    authed(Request::json("POST", "/v2.0/OS-KSADM/roles", &body), tok),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::Assign {
            user,
            project,
            role,
        } => {
            let u = need(
                find(t, admin, tok, "/v2.0/users", "users", user, stats)?,
                "user",
                user,
            )?;
            let p = need(
                find(t, admin, tok, "/v2.0/tenants", "tenants", project, stats)?,
                "tenant",
                project,
            )?;
            let r = need(
                find(t, admin, tok, "/v2.0/OS-KSADM/roles", "roles", role, stats)?,
                "role",
                role,
            )?;
            let roles_path = format!("/v2.0/tenants/{p}/users/{u}/roles");
            let has = list(t, admin, tok, &roles_path, "roles", stats)?
                .iter()
                .any(|v| s(v, "id") == r);
            if !has {
                let path = format!("/v2.0/tenants/{p}/users/{u}/roles/OS-KSADM/{r}");
                send_ok(
                    t,
                    port,
                    authed(Request::get(&path).method("PUT"), tok),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::CreateService {
            name,
            service_type,
            description,
        } => {
            if service_id(t, admin, tok, service_type, stats)?.is_none() {
                let body = json!({"OS-KSADM:service": {"name": name, "type": service_type, "description": description}});
                send_ok(
                    t,
                    port,
                    authed(Request::json("POST", "/v2.0/OS-KSADM/services", &body), tok),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::CreateEndpointV2 {
            service_type,
            region,
            publicurl,
            internalurl,
            adminurl,
        }
        | Call::ReplaceEndpointV2 {
            service_type,
            region,
            publicurl,
            internalurl,
            adminurl,
            ..
        } => {
            let sid = service_id(t, admin, tok, service_type, stats)?
                .ok_or_else(|| ApiError::NoService(service_type.clone()))?;
            let existing = list(t, admin, tok, "/v2.0/endpoints", "endpoints", stats)?;
            let mine: Vec<&Value> = existing
                .iter()
                .filter(|e| s(e, "service_id") == sid && s(e, "region") == *region)
                .collect();
            let same = |e: &Value| {
                s(e, "publicurl") == *publicurl
                    && s(e, "internalurl") == *internalurl
                    && s(e, "adminurl") == *adminurl
            };
            if mine.iter().any(|e| same(e)) {
                return Ok(());
            }
            if let Call::ReplaceEndpointV2 { id, .. } = call {
                let path = format!("/v2.0/endpoints/{id}");
                let r = http::send(
                    t,
                    port,
                    &authed(Request::get(&path), tok).method("DELETE"),
                    stats,
                )?;
                if !r.ok() && r.status != 404 {
                    return Err(ApiError::Status {
                        request: format!("DELETE {path}"),
                        status: r.status,
                        body: None,
                    });
                }
            }
            let body = json!({"endpoint": {"region": region, "service_id": sid, "publicurl": publicurl, "internalurl": internalurl, "adminurl": adminurl}});
            send_ok(
                t,
                port,
                authed(Request::json("POST", "/v2.0/endpoints", &body), tok),
                stats,
            )?;
            Ok(())
        }
        Call::CreateEndpoint { .. } | Call::UpdateEndpoint { .. } => Err(ApiError::Unsupported(
            "a v3 endpoint call cannot go through the v2.0 admin API; use keystone_endpoints",
        )),
    }
}
