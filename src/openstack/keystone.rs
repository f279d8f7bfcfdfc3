//! Keystone v3 over the SSH tunnel: read the catalog (one request per resource
//! type) and carry out catalog calls. Calls look up by name before creating, so
//! a retried or repeated call changes nothing twice. An [`Admin`] with a
//! `token` speaks the v2.0 admin API instead (see [`super::keystone2`]).

use super::http::{self, HttpStats, Request};
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Who stackprov acts as, by reference: the password stays in the secrets file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    pub port: u16,
    pub user: String,
    pub project: String,
    /// Name of the secret holding the password.
    pub password: String,
    /// Set for the v2.0 admin API (the guide's era): the name of the secret
    /// holding `admin_token`, sent as X-Auth-Token for every catalog call; user,
    /// project (tenant) and password then serve only `verify`'s password login.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token: Option<String>,
}

impl Admin {
    pub fn is_v2(&self) -> bool {
        self.token.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointFact {
    pub id: String,
    pub service_type: String,
    pub interface: String,
    pub region: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFacts {
    /// Why the catalog could not be read (API down, admin refused); empty lists then.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unavailable: Option<String>,
    pub projects: BTreeMap<String, String>,
    pub users: BTreeMap<String, String>,
    pub roles: BTreeMap<String, String>,
    /// (user, project, role) by name
    pub assignments: BTreeSet<(String, String, String)>,
    /// service type → name
    pub services: BTreeMap<String, String>,
    pub endpoints: Vec<EndpointFact>,
    /// user → logging in with the secret's password worked
    pub logins: BTreeMap<String, bool>,
}

/// One change to the catalog, as the plan records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// Poll until the API answers and the admin can log in.
    Wait {
        timeout_secs: u64,
    },
    CreateProject {
        name: String,
        description: String,
    },
    CreateUser {
        name: String,
        password: String,
    },
    SetPassword {
        name: String,
        password: String,
    },
    CreateRole {
        name: String,
    },
    Assign {
        user: String,
        project: String,
        role: String,
    },
    CreateService {
        name: String,
        service_type: String,
        description: String,
    },
    CreateEndpoint {
        service_type: String,
        interface: String,
        region: String,
        url: String,
    },
    UpdateEndpoint {
        id: String,
        url: String,
    },
    /// v2.0: one endpoint record with its three URLs.
    CreateEndpointV2 {
        service_type: String,
        region: String,
        publicurl: String,
        internalurl: String,
        adminurl: String,
    },
    /// v2.0 endpoints cannot be changed: delete the record and create it again.
    ReplaceEndpointV2 {
        id: String,
        service_type: String,
        region: String,
        publicurl: String,
        internalurl: String,
        adminurl: String,
    },
}

impl Call {
    /// A one-line description, in the API `admin` speaks.
    pub fn summary_for(&self, admin: &Admin) -> String {
        if admin.is_v2() {
            super::keystone2::summary(self)
        } else {
            self.summary()
        }
    }

    pub fn summary(&self) -> String {
        match self {
            Call::Wait { timeout_secs } => {
                format!("wait up to {timeout_secs}s for the Keystone API")
            }
            Call::CreateProject { name, .. } => format!("POST /v3/projects {name}"),
            Call::CreateUser { name, .. } => format!("POST /v3/users {name}"),
            Call::SetPassword { name, .. } => format!("PATCH /v3/users/({name}) password"),
            Call::CreateRole { name } => format!("POST /v3/roles {name}"),
            Call::Assign {
                user,
                project,
                role,
            } => format!("PUT /v3/projects/({project})/users/({user})/roles/({role})"),
            Call::CreateService {
                name, service_type, ..
            } => format!("POST /v3/services {name} ({service_type})"),
            Call::CreateEndpoint {
                service_type,
                interface,
                region,
                url,
            } => format!("POST /v3/endpoints {service_type} {interface} {region} {url}"),
            Call::UpdateEndpoint { id, url } => format!("PATCH /v3/endpoints/{id} url={url}"),
            Call::CreateEndpointV2 { .. } | Call::ReplaceEndpointV2 { .. } => {
                super::keystone2::summary(self)
            }
        }
    }
}

fn password_body(user: &str, password: &str, project: Option<&str>) -> Value {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}});
    if let Some(p) = project {
        auth["scope"] = json!({"project": {"name": p, "domain": {"name": "Default"}}});
    }
    json!({"auth": auth})
}

/// Log in; `Ok(None)` when the password is refused (401).
fn login(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    password: &str,
    project: Option<&str>,
    stats: &mut HttpStats,
) -> Result<Option<String>, String> {
    let r = http::send(
        t,
        port,
        &Request::json(
            "POST",
            "/v3/auth/tokens",
            &password_body(user, password, project),
        ),
        stats,
    )?;
    match r.status {
        201 => r
            .header("X-Subject-Token")
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| "Keystone answered 201 without X-Subject-Token".to_string()),
        401 => Ok(None),
        s => Err(format!(
            "POST /v3/auth/tokens as {user}: HTTP {s}: {}",
            String::from_utf8_lossy(&r.body)
                .chars()
                .take(300)
                .collect::<String>()
        )),
    }
}

pub(crate) fn secret<'a>(secrets: &'a SecretStore, name: &str) -> Result<&'a str, String> {
    secrets
        .get(name)
        .map(|s| s.expose())
        .ok_or_else(|| format!("secret `{name}` is not in the secrets file"))
}

/// An admin token.
pub fn admin_token(
    t: &mut dyn Transport,
    admin: &Admin,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<String, String> {
    let pw = secret(secrets, &admin.password)?;
    login(t, admin.port, &admin.user, pw, Some(&admin.project), stats)?.ok_or_else(|| {
        format!(
            "Keystone refuses the password of `{}` from the secrets file (secret `{}`)",
            admin.user, admin.password
        )
    })
}

pub(super) fn get(
    t: &mut dyn Transport,
    port: u16,
    token: &str,
    path: &str,
    key: &str,
    stats: &mut HttpStats,
) -> Result<Vec<Value>, String> {
    let r = http::send(
        t,
        port,
        &Request::get(path).header("X-Auth-Token", token),
        stats,
    )?;
    if !r.ok() {
        return Err(format!("GET {path}: HTTP {}", r.status));
    }
    Ok(r.json()?[key].as_array().cloned().unwrap_or_default())
}

pub(super) fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// Read the catalog: a token, one GET per resource type, one login per checked user.
pub fn gather(
    t: &mut dyn Transport,
    admin: &Admin,
    logins: &BTreeMap<String, String>,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> CatalogFacts {
    let r = if admin.is_v2() {
        super::keystone2::gather(t, admin, logins, secrets, stats)
    } else {
        gather_inner(t, admin, logins, secrets, stats)
    };
    match r {
        Ok(c) => c,
        Err(e) => CatalogFacts {
            unavailable: Some(e),
            ..Default::default()
        },
    }
}

fn gather_inner(
    t: &mut dyn Transport,
    admin: &Admin,
    logins: &BTreeMap<String, String>,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<CatalogFacts, String> {
    let port = admin.port;
    let token = admin_token(t, admin, secrets, stats)?;
    let mut c = CatalogFacts::default();
    let projects = get(t, port, &token, "/v3/projects", "projects", stats)?;
    let users = get(t, port, &token, "/v3/users", "users", stats)?;
    let roles = get(t, port, &token, "/v3/roles", "roles", stats)?;
    let services = get(t, port, &token, "/v3/services", "services", stats)?;
    let endpoints = get(t, port, &token, "/v3/endpoints", "endpoints", stats)?;
    let assignments = get(
        t,
        port,
        &token,
        "/v3/role_assignments",
        "role_assignments",
        stats,
    )?;
    let by_id = |list: &[Value]| {
        list.iter()
            .map(|v| (s(v, "id"), s(v, "name")))
            .collect::<BTreeMap<_, _>>()
    };
    let (p_names, u_names, r_names, s_types) = (
        by_id(&projects),
        by_id(&users),
        by_id(&roles),
        services
            .iter()
            .map(|v| (s(v, "id"), s(v, "type")))
            .collect::<BTreeMap<_, _>>(),
    );
    let by_name =
        |m: &BTreeMap<String, String>| m.iter().map(|(id, n)| (n.clone(), id.clone())).collect();
    c.projects = by_name(&p_names);
    c.users = by_name(&u_names);
    c.roles = by_name(&r_names);
    c.services = services
        .iter()
        .map(|v| (s(v, "type"), s(v, "name")))
        .collect();
    for e in &endpoints {
        c.endpoints.push(EndpointFact {
            id: s(e, "id"),
            service_type: s_types
                .get(&s(e, "service_id"))
                .cloned()
                .unwrap_or_default(),
            interface: s(e, "interface"),
            region: s(e, "region_id"),
            url: s(e, "url"),
        });
    }
    c.endpoints.sort_by(|a, b| {
        (&a.service_type, &a.interface, &a.region, &a.id).cmp(&(
            &b.service_type,
            &b.interface,
            &b.region,
            &b.id,
        ))
    });
    for a in &assignments {
        let (u, p, r) = (
            a["user"]["id"].as_str(),
            a["scope"]["project"]["id"].as_str(),
            a["role"]["id"].as_str(),
        );
        if let (Some(u), Some(p), Some(r)) = (u, p, r)
            && let (Some(u), Some(p), Some(r)) = (u_names.get(u), p_names.get(p), r_names.get(r))
        {
            c.assignments.insert((u.clone(), p.clone(), r.clone()));
        }
    }
    for (user, secret_name) in logins {
        let ok = c.users.contains_key(user)
            && login(t, port, user, secret(secrets, secret_name)?, None, stats)?.is_some();
        c.logins.insert(user.clone(), ok);
    }
    Ok(c)
}

fn find_id(
    t: &mut dyn Transport,
    port: u16,
    token: &str,
    kind: &str,
    name: &str,
    stats: &mut HttpStats,
) -> Result<Option<String>, String> {
    let list = get(
        t,
        port,
        token,
        &format!("/v3/{kind}?name={}", crate::quote::url(name)),
        kind,
        stats,
    )?;
    Ok(list.first().map(|v| s(v, "id")))
}

fn need_id(
    t: &mut dyn Transport,
    port: u16,
    token: &str,
    kind: &str,
    name: &str,
    stats: &mut HttpStats,
) -> Result<String, String> {
    find_id(t, port, token, kind, name, stats)?.ok_or_else(|| {
        format!(
            "no {} named `{name}` in Keystone",
            kind.trim_end_matches('s')
        )
    })
}

pub(super) fn send_ok(
    t: &mut dyn Transport,
    port: u16,
    req: Request<'_>,
    stats: &mut HttpStats,
) -> Result<Value, String> {
    let (m, p) = (req.method, req.path.to_string());
    let r = http::send(t, port, &req, stats)?;
    if !r.ok() {
        return Err(format!(
            "{m} {p}: HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
                .chars()
                .take(300)
                .collect::<String>()
        ));
    }
    Ok(if r.body.is_empty() {
        Value::Null
    } else {
        r.json()?
    })
}

/// The admin token, kept across the calls of one host's apply: a login costs
/// Keystone a password hash (about 0.4 s on the test host), and a fresh
/// controller makes some twenty calls.
#[derive(Debug, Default)]
pub struct TokenCache {
    token: Option<String>,
}

/// Carry out one call (placeholders in passwords resolved here, at the last moment).
pub fn execute(
    t: &mut dyn Transport,
    admin: &Admin,
    call: &Call,
    secrets: &SecretStore,
    stats: &mut HttpStats,
    cache: &mut TokenCache,
) -> Result<(), String> {
    if admin.is_v2() {
        return super::keystone2::execute(t, admin, call, secrets, stats);
    }
    if let Call::Wait { timeout_secs } = call {
        cache.token = None;
        return wait(t, admin, *timeout_secs, secrets, stats);
    }
    let cached = cache.token.is_some();
    let token = match cache.token.take() {
        Some(token) => token,
        None => admin_token(t, admin, secrets, stats)?,
    };
    // a change of the admin's own password revokes the admin's tokens
    let mut revoked = false;
    let r = match call_v3(t, admin, call, &token, secrets, stats, &mut revoked) {
        // revoked some other way since: log in again, once; every call looks
        // before it creates, so running it again is safe
        Err(e) if cached && e.contains("HTTP 401") => {
            tracing::debug!(error = %e, "the kept Keystone token was refused; logging in again");
            let token = admin_token(t, admin, secrets, stats)?;
            let r = call_v3(t, admin, call, &token, secrets, stats, &mut revoked);
            cache.token = Some(token);
            r
        }
        r => {
            cache.token = Some(token);
            r
        }
    };
    if revoked || r.is_err() {
        cache.token = None;
    }
    r
}

/// Wait until the admin can log in.
fn wait(
    t: &mut dyn Transport,
    admin: &Admin,
    timeout_secs: u64,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<(), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_secs);
    let mut refusals = 0;
    loop {
        match admin_token(t, admin, secrets, stats) {
            Ok(_) => {
                // a password reset by bootstrap just now revokes tokens issued
                // within the same second; the calls after this get new ones
                std::thread::sleep(std::time::Duration::from_millis(1100));
                return Ok(());
            }
            // the API answers and says no: after bootstrap that is a secrets
            // file that does not belong to this cloud, not a slow start
            Err(e) if e.starts_with("Keystone refuses") && refusals >= 10 => {
                return Err(format!(
                    "{e}: the secrets file does not match this cloud's admin password \
                         (restore the right secrets file, or set the admin password to the file's value)"
                ));
            }
            Err(e) if e.starts_with("Keystone refuses") => {
                refusals += 1;
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Err(e) if std::time::Instant::now() >= deadline => {
                return Err(format!(
                    "the Keystone API did not answer within {timeout_secs}s: {e}"
                ));
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
}

/// One v3 call with `token`.
fn call_v3(
    t: &mut dyn Transport,
    admin: &Admin,
    call: &Call,
    token: &str,
    secrets: &SecretStore,
    stats: &mut HttpStats,
    revoked: &mut bool,
) -> Result<(), String> {
    let port = admin.port;
    let token = token.to_string();
    let tok = |r: Request<'static>| r.header("X-Auth-Token", token.clone());
    match call {
        Call::Wait { .. } => Ok(()),
        Call::CreateProject { name, description } => {
            if find_id(t, port, &token, "projects", name, stats)?.is_none() {
                let body = json!({"project": {"name": name, "domain_id": "default", "description": description}});
                send_ok(
                    t,
                    port,
                    tok(Request::json("POST", "/v3/projects", &body)),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::CreateUser { name, password } | Call::SetPassword { name, password } => {
            let pw = secret(secrets, password)?;
            match find_id(t, port, &token, "users", name, stats)? {
                None => {
                    let body =
                        json!({"user": {"name": name, "domain_id": "default", "password": pw}});
                    send_ok(
                        t,
                        port,
                        tok(Request::json("POST", "/v3/users", &body)),
                        stats,
                    )?;
                }
                // a user that exists keeps its password when it already logs in
                // with the secret (a change revokes the user's tokens); planned
                // as a create because the catalog was unreadable, it may not
                Some(_)
                    if matches!(call, Call::CreateUser { .. })
                        && login(t, port, name, pw, None, stats)?.is_some() => {}
                Some(id) => {
                    let path = format!("/v3/users/{id}");
                    let body = json!({"user": {"password": pw}});
                    let r = http::send(
                        t,
                        port,
                        &Request::json("PATCH", &path, &body).header("X-Auth-Token", token.clone()),
                        stats,
                    )?;
                    if !r.ok() {
                        return Err(format!("PATCH /v3/users/{id}: HTTP {}", r.status));
                    }
                    if *name == admin.user {
                        *revoked = true;
                        // the revocation covers tokens issued in the same second
                        std::thread::sleep(std::time::Duration::from_millis(1100));
                    }
                }
            }
            Ok(())
        }
        Call::CreateRole { name } => {
            if find_id(t, port, &token, "roles", name, stats)?.is_none() {
                send_ok(
                    t,
                    port,
                    tok(Request::json(
                        "POST",
                        "/v3/roles",
                        &json!({"role": {"name": name}}),
                    )),
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
            let u = need_id(t, port, &token, "users", user, stats)?;
            let p = need_id(t, port, &token, "projects", project, stats)?;
            let r = need_id(t, port, &token, "roles", role, stats)?;
            let path = format!("/v3/projects/{p}/users/{u}/roles/{r}");
            let resp = http::send(
                t,
                port,
                &Request {
                    method: "PUT",
                    path: &path,
                    headers: vec![("X-Auth-Token", token.clone())],
                    body: Vec::new(),
                    content_type: "application/json",
                },
                stats,
            )?;
            if !resp.ok() {
                return Err(format!("PUT {path}: HTTP {}", resp.status));
            }
            Ok(())
        }
        Call::CreateService {
            name,
            service_type,
            description,
        } => {
            let services = get(t, port, &token, "/v3/services", "services", stats)?;
            if !services.iter().any(|v| s(v, "type") == *service_type) {
                let body = json!({"service": {"name": name, "type": service_type, "description": description, "enabled": true}});
                send_ok(
                    t,
                    port,
                    tok(Request::json("POST", "/v3/services", &body)),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::CreateEndpoint {
            service_type,
            interface,
            region,
            url,
        } => {
            let services = get(t, port, &token, "/v3/services", "services", stats)?;
            let sid = services
                .iter()
                .find(|v| s(v, "type") == *service_type)
                .map(|v| s(v, "id"))
                .ok_or_else(|| format!("no service of type `{service_type}`"))?;
            let path = format!("/v3/endpoints?service_id={sid}&interface={interface}");
            let existing = get(t, port, &token, &path, "endpoints", stats)?;
            if !existing.iter().any(|e| s(e, "region_id") == *region) {
                let body = json!({"endpoint": {"interface": interface, "region_id": region, "url": url, "service_id": sid, "enabled": true}});
                send_ok(
                    t,
                    port,
                    tok(Request::json("POST", "/v3/endpoints", &body)),
                    stats,
                )?;
            }
            Ok(())
        }
        Call::CreateEndpointV2 { .. } | Call::ReplaceEndpointV2 { .. } => {
            Err("a v2.0 endpoint call needs the v2.0 admin API (keystone_api version v2.0)".into())
        }
        Call::UpdateEndpoint { id, url } => {
            let path = format!("/v3/endpoints/{id}");
            send_ok(
                t,
                port,
                tok(Request::json(
                    "PATCH",
                    "/v3/endpoints/x",
                    &json!({"endpoint": {"url": url}}),
                ))
                .with_path(&path),
                stats,
            )?;
            Ok(())
        }
    }
}

impl<'a> Request<'a> {
    pub fn with_path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{FakeHost, FakeService, SharedFake};
    use crate::transport::fake_keystone::FakeKeystone;

    /// A fake host with Keystone bootstrapped and running, and one apply's state.
    struct Api {
        fake: SharedFake,
        admin: Admin,
        secrets: SecretStore,
        stats: HttpStats,
        cache: TokenCache,
    }

    impl Api {
        fn up() -> Api {
            let mut h = FakeHost::debian_controller();
            h.keystone = Some(FakeKeystone::bootstrap(
                "pw",
                "RegionOne",
                "http://controller:5000/v3",
            ));
            h.services.insert(
                "keystone".into(),
                FakeService {
                    enabled: true,
                    running: true,
                    ..Default::default()
                },
            );
            Api {
                fake: SharedFake::new(h),
                admin: Admin {
                    port: 5000,
                    user: "admin".into(),
                    project: "admin".into(),
                    password: "admin_password".into(),
                    token: None,
                },
                secrets: SecretStore::from_values([("admin_password".into(), "pw".into())]),
                stats: HttpStats::patient(),
                cache: TokenCache::default(),
            }
        }

        fn call(&mut self, call: &Call) {
            let mut t = self.fake.clone();
            let (a, s) = (&self.admin, &self.secrets);
            execute(&mut t, a, call, s, &mut self.stats, &mut self.cache).unwrap();
        }

        fn project(&mut self, name: &str) {
            self.call(&Call::CreateProject {
                name: name.into(),
                description: String::new(),
            });
        }

        fn keystone<T>(&self, f: impl FnOnce(&mut FakeKeystone) -> T) -> T {
            f(self.fake.lock().keystone.as_mut().unwrap())
        }
    }

    #[test]
    fn one_login_serves_the_calls_after_it() {
        let mut api = Api::up();
        for p in ["service", "demo", "other"] {
            api.project(p);
        }
        assert_eq!(api.keystone(|k| k.logins), 1);
        assert!(api.keystone(|k| k.projects.contains("other")));
    }

    #[test]
    fn a_kept_token_revoked_meanwhile_means_one_new_login() {
        let mut api = Api::up();
        api.project("service");
        // revoked behind our back (someone changed and changed back the password)
        api.keystone(|k| *k.generation.entry("admin".into()).or_default() += 1);
        api.project("demo");
        api.project("other");
        assert_eq!(api.keystone(|k| k.logins), 2);
        assert!(api.keystone(|k| k.projects.contains("demo") && k.projects.contains("other")));
    }

    #[test]
    fn changing_the_admins_own_password_drops_the_kept_token() {
        let mut api = Api::up();
        api.project("service");
        api.secrets = SecretStore::from_values([("admin_password".into(), "new".into())]);
        api.call(&Call::SetPassword {
            name: "admin".into(),
            password: "admin_password".into(),
        });
        assert!(api.cache.token.is_none());
        api.project("demo");
        assert_eq!(api.keystone(|k| (k.logins, k.password_changes)), (2, 1));
        assert_eq!(api.keystone(|k| k.users["admin"].clone()), "new");
    }
}
