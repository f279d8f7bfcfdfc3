//! The Keystone v2.0 admin API of the guide's era (Havana to Newton), on the
//! admin port with X-Auth-Token = the admin token (`admin_token` in
//! keystone.conf): tenants, users, roles, user roles, services, endpoints.
//! Same catalog facts and calls as v3, so the planner and the playbooks stay
//! one; only endpoints differ (one record with three URLs).

use super::{Api, EndpointV2, get, s, secret, send_ok};
use crate::facts::catalog::{CatalogFacts, EndpointFact};
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::plan::catalog::Admin;
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

/// The v2.0 admin API with the admin token, one method per call; each looks
/// before it creates, so a repeat changes nothing.
pub(super) struct V2<'a> {
    t: &'a mut dyn Transport,
    admin: &'a Admin,
    secrets: &'a SecretStore,
    stats: &'a mut HttpStats,
    tok: &'a str,
}

impl<'a> V2<'a> {
    /// The admin token is looked up first, whatever the call.
    pub(super) fn new(
        t: &'a mut dyn Transport,
        admin: &'a Admin,
        secrets: &'a SecretStore,
        stats: &'a mut HttpStats,
    ) -> Result<V2<'a>, ApiError> {
        let tok = token(admin, secrets)?;
        Ok(V2 {
            t,
            admin,
            secrets,
            stats,
            tok,
        })
    }

    fn list(&mut self, path: &str, key: &str) -> Result<Vec<Value>, ApiError> {
        list(self.t, self.admin, self.tok, path, key, self.stats)
    }

    /// The id of the one named `name` in the list at `path`.
    fn find(&mut self, path: &str, key: &str, name: &str) -> Result<Option<String>, ApiError> {
        Ok(self
            .list(path, key)?
            .iter()
            .find(|v| s(v, "name") == name)
            .map(|v| s(v, "id")))
    }

    /// [`Self::find`], and not finding it is an error.
    fn need(&mut self, path: &str, key: &str, what: &str, name: &str) -> Result<String, ApiError> {
        self.find(path, key, name)?
            .ok_or_else(|| ApiError::NotFound {
                kind: what.to_string(),
                name: name.to_string(),
            })
    }

    fn service_id(&mut self, service_type: &str) -> Result<Option<String>, ApiError> {
        Ok(self
            .list("/v2.0/OS-KSADM/services", "OS-KSADM:services")?
            .iter()
            .find(|v| s(v, "type") == service_type)
            .map(|v| s(v, "id")))
    }

    /// Send with the admin token, and expect a 2xx.
    fn send_ok(&mut self, req: Request<'_>) -> Result<Value, ApiError> {
        let req = req.header("X-Auth-Token", self.tok.to_string());
        send_ok(self.t, self.admin.port, req, self.stats)
    }

    /// Create the user, or set the password of the one there.
    fn user(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        let pw = secret(self.secrets, password)?;
        match self.find("/v2.0/users", "users", name)? {
            None => {
                let body = json!({"user": {"name": name, "password": pw, "enabled": true}});
                self.send_ok(Request::json("POST", "/v2.0/users", &body))?;
            }
            Some(id) => {
                let path = format!("/v2.0/users/{id}/OS-KSADM/password");
                let body = json!({"user": {"password": pw}});
                self.send_ok(Request::json("PUT", &path, &body))?;
            }
        }
        Ok(())
    }
}

impl Api for V2<'_> {
    fn wait(&mut self, timeout_secs: u64) -> Result<(), ApiError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_secs);
        loop {
            match self.list("/v2.0/tenants", "tenants") {
                Ok(_) => return Ok(()),
                Err(e) if e.is_unreachable() => return Err(e),
                Err(e) if std::time::Instant::now() >= deadline => {
                    return Err(ApiError::Timeout {
                        api: "the Keystone v2.0 admin API",
                        secs: timeout_secs,
                        last: Box::new(e),
                    });
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
            }
        }
    }

    fn create_project(&mut self, name: &str, description: &str) -> Result<(), ApiError> {
        if self.find("/v2.0/tenants", "tenants", name)?.is_none() {
            let body =
                json!({"tenant": {"name": name, "description": description, "enabled": true}});
            self.send_ok(Request::json("POST", "/v2.0/tenants", &body))?;
        }
        Ok(())
    }

    fn create_user(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        self.user(name, password)
    }

    fn set_password(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        self.user(name, password)
    }

    fn create_role(&mut self, name: &str) -> Result<(), ApiError> {
        if self.find("/v2.0/OS-KSADM/roles", "roles", name)?.is_none() {
            let body = json!({"role": {"name": name}});
            self.send_ok(Request::json("POST", "/v2.0/OS-KSADM/roles", &body))?;
        }
        Ok(())
    }

    fn assign(&mut self, user: &str, project: &str, role: &str) -> Result<(), ApiError> {
        let u = self.need("/v2.0/users", "users", "user", user)?;
        let p = self.need("/v2.0/tenants", "tenants", "tenant", project)?;
        let r = self.need("/v2.0/OS-KSADM/roles", "roles", "role", role)?;
        let roles_path = format!("/v2.0/tenants/{p}/users/{u}/roles");
        let has = self
            .list(&roles_path, "roles")?
            .iter()
            .any(|v| s(v, "id") == r);
        if !has {
            let path = format!("/v2.0/tenants/{p}/users/{u}/roles/OS-KSADM/{r}");
            self.send_ok(Request::get(&path).method("PUT"))?;
        }
        Ok(())
    }

    fn create_service(
        &mut self,
        name: &str,
        service_type: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        if self.service_id(service_type)?.is_none() {
            let body = json!({"OS-KSADM:service": {"name": name, "type": service_type, "description": description}});
            self.send_ok(Request::json("POST", "/v2.0/OS-KSADM/services", &body))?;
        }
        Ok(())
    }

    fn create_endpoint(&mut self, _: &str, _: &str, _: &str, _: &str) -> Result<(), ApiError> {
        Err(v3_only())
    }

    fn update_endpoint(&mut self, _: &str, _: &str) -> Result<(), ApiError> {
        Err(v3_only())
    }

    /// One record with the three URLs; a v2.0 endpoint cannot be changed, so
    /// `replace` names the record to delete before it is created again.
    fn put_endpoint_v2(
        &mut self,
        e: &EndpointV2<'_>,
        replace: Option<&str>,
    ) -> Result<(), ApiError> {
        let sid = self
            .service_id(e.service_type)?
            .ok_or_else(|| ApiError::NoService(e.service_type.to_string()))?;
        let existing = self.list("/v2.0/endpoints", "endpoints")?;
        let same = existing.iter().any(|x| {
            s(x, "service_id") == sid
                && s(x, "region") == e.region
                && s(x, "publicurl") == e.publicurl
                && s(x, "internalurl") == e.internalurl
                && s(x, "adminurl") == e.adminurl
        });
        if same {
            return Ok(());
        }
        if let Some(id) = replace {
            let path = format!("/v2.0/endpoints/{id}");
            let req = Request::get(&path)
                .header("X-Auth-Token", self.tok.to_string())
                .method("DELETE");
            let r = http::send(self.t, self.admin.port, &req, self.stats)?;
            if !r.ok() && r.status != 404 {
                return Err(ApiError::Status {
                    request: format!("DELETE {path}"),
                    status: r.status,
                    body: None,
                });
            }
        }
        let body = json!({"endpoint": {"region": e.region, "service_id": sid, "publicurl": e.publicurl, "internalurl": e.internalurl, "adminurl": e.adminurl}});
        self.send_ok(Request::json("POST", "/v2.0/endpoints", &body))?;
        Ok(())
    }
}

fn v3_only() -> ApiError {
    ApiError::Unsupported(
        "a v3 endpoint call cannot go through the v2.0 admin API; use keystone_endpoints",
    )
}
