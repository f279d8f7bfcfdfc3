//! Keystone v3: read the catalog (one request per resource type) and carry out
//! catalog calls. Calls look up by name before creating, so a retried or
//! repeated call changes nothing twice.

use super::{TokenCache, get, s, secret, send_ok};
use crate::facts::catalog::{CatalogFacts, CatalogWants, EndpointFact};
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::plan::catalog::{Admin, Call};
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
) -> Result<Option<String>, ApiError> {
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
            .ok_or_else(|| {
                ApiError::Malformed("Keystone answered 201 without X-Subject-Token".into())
            }),
        401 => Ok(None),
        s => Err(ApiError::status_with_body(
            format!("POST /v3/auth/tokens as {user}"),
            s,
            &r.body,
        )),
    }
}

/// An admin token.
pub fn admin_token(
    t: &mut dyn Transport,
    admin: &Admin,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<String, ApiError> {
    let pw = secret(secrets, &admin.password)?;
    login(t, admin.port, &admin.user, pw, Some(&admin.project), stats)?.ok_or_else(|| {
        ApiError::PasswordRefused {
            user: admin.user.clone(),
            secret: admin.password.clone(),
        }
    })
}

/// The admin's login: its token and the token's body (catalog and roles).
fn admin_login(
    t: &mut dyn Transport,
    admin: &Admin,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<(String, Value), ApiError> {
    let pw = secret(secrets, &admin.password)?;
    let r = http::send(
        t,
        admin.port,
        &Request::json(
            "POST",
            "/v3/auth/tokens",
            &password_body(&admin.user, pw, Some(&admin.project)),
        ),
        stats,
    )?;
    match r.status {
        201 => {
            let token = r
                .header("X-Subject-Token")
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::Malformed("Keystone answered 201 without X-Subject-Token".into())
                })?;
            Ok((token, r.json()?))
        }
        401 => Err(ApiError::PasswordRefused {
            user: admin.user.clone(),
            secret: admin.password.clone(),
        }),
        s => Err(ApiError::status_with_body(
            format!("POST /v3/auth/tokens as {}", admin.user),
            s,
            &r.body,
        )),
    }
}

/// Read the catalog in as few requests as it allows: the admin's login (its
/// token carries the services with their endpoints, and the admin's roles),
/// the role assignments with their names (the projects, users and roles they
/// name), then one login per checked user. A listing of projects, users,
/// roles or services and endpoints is read only when something the roles
/// want is not among those (converged: three requests).
pub(super) fn gather(
    t: &mut dyn Transport,
    admin: &Admin,
    logins: &BTreeMap<String, String>,
    wants: &CatalogWants,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<CatalogFacts, ApiError> {
    let port = admin.port;
    // the other users' logins need no token: they run beside the admin's
    // (each login costs Keystone a bcrypt hash), on a second handle of the
    // connection where the transport has one
    let others: Vec<(&String, &String)> = logins
        .iter()
        .filter(|(u, s)| !(**u == admin.user && **s == admin.password))
        .collect();
    let try_logins = |t: &mut dyn Transport, stats: &mut HttpStats| {
        let mut out = BTreeMap::new();
        for (user, secret_name) in &others {
            let ok = login(t, port, user, secret(secrets, secret_name)?, None, stats)?.is_some();
            out.insert((*user).clone(), ok);
        }
        Ok::<_, ApiError>(out)
    };
    let (admin_login, logged_in) = match t.fork().filter(|_| !others.is_empty()) {
        Some(mut sibling) => std::thread::scope(|s| {
            let side = s.spawn(move || {
                let mut st = HttpStats::default();
                let r = try_logins(sibling.as_mut(), &mut st);
                (r, st.requests)
            });
            let a = admin_login(t, admin, secrets, stats);
            let (r, n) = side.join().unwrap_or_else(|_| {
                (
                    Err(ApiError::Unexpected("the login thread panicked".into())),
                    0,
                )
            });
            stats.requests += n;
            (a, r)
        }),
        None => {
            let a = admin_login(t, admin, secrets, stats);
            let r = if a.is_ok() {
                try_logins(t, stats)
            } else {
                Ok(BTreeMap::new())
            };
            (a, r)
        }
    };
    let (token, body) = admin_login?;
    let logged_in = logged_in?;
    let mut c = CatalogFacts::default();
    let assignments = get(
        t,
        port,
        &token,
        "/v3/role_assignments?include_names=true",
        "role_assignments",
        stats,
    )?;
    for a in &assignments {
        let (u, p, r) = (&a["user"], &a["scope"]["project"], &a["role"]);
        let (un, pn, rn) = (s(u, "name"), s(p, "name"), s(r, "name"));
        // project assignments of users only (not groups, domains or the system)
        if un.is_empty() || pn.is_empty() || rn.is_empty() {
            continue;
        }
        c.users.insert(un.clone(), s(u, "id"));
        c.projects.insert(pn.clone(), s(p, "id"));
        c.roles.insert(rn.clone(), s(r, "id"));
        c.assignments.insert((un, pn, rn));
    }
    for r in body["token"]["roles"].as_array().into_iter().flatten() {
        c.roles.insert(s(r, "name"), s(r, "id"));
    }
    let by_name = |list: &[Value]| {
        list.iter()
            .map(|v| (s(v, "name"), s(v, "id")))
            .collect::<BTreeMap<_, _>>()
    };
    if !wants.projects.iter().all(|n| c.projects.contains_key(n)) {
        c.projects = by_name(&get(t, port, &token, "/v3/projects", "projects", stats)?);
    }
    if !wants.users.iter().all(|n| c.users.contains_key(n)) {
        c.users = by_name(&get(t, port, &token, "/v3/users", "users", stats)?);
    }
    if !wants.roles.iter().all(|n| c.roles.contains_key(n)) {
        c.roles = by_name(&get(t, port, &token, "/v3/roles", "roles", stats)?);
    }
    // the token's catalog: enabled services with their enabled endpoints
    for svc in body["token"]["catalog"].as_array().into_iter().flatten() {
        let ty = s(svc, "type");
        c.services.insert(ty.clone(), s(svc, "name"));
        for e in svc["endpoints"].as_array().into_iter().flatten() {
            c.endpoints.push(EndpointFact {
                id: s(e, "id"),
                service_type: ty.clone(),
                interface: s(e, "interface"),
                region: s(e, "region_id"),
                url: s(e, "url"),
            });
        }
    }
    let found = |c: &CatalogFacts| {
        wants.services.iter().all(|t| c.services.contains_key(t))
            && wants.endpoints.iter().all(|(ty, i, r)| {
                c.endpoints
                    .iter()
                    .any(|e| e.service_type == *ty && e.interface == *i && e.region == *r)
            })
    };
    if !found(&c) {
        // a service without endpoints, or a disabled one, is not in the token
        let services = get(t, port, &token, "/v3/services", "services", stats)?;
        let endpoints = get(t, port, &token, "/v3/endpoints", "endpoints", stats)?;
        let types: BTreeMap<String, String> = services
            .iter()
            .map(|v| (s(v, "id"), s(v, "type")))
            .collect();
        c.services = services
            .iter()
            .map(|v| (s(v, "type"), s(v, "name")))
            .collect();
        c.endpoints = endpoints
            .iter()
            .map(|e| EndpointFact {
                id: s(e, "id"),
                service_type: types.get(&s(e, "service_id")).cloned().unwrap_or_default(),
                interface: s(e, "interface"),
                region: s(e, "region_id"),
                url: s(e, "url"),
            })
            .collect();
    }
    c.endpoints.sort_by(|a, b| {
        (&a.service_type, &a.interface, &a.region, &a.id).cmp(&(
            &b.service_type,
            &b.interface,
            &b.region,
            &b.id,
        ))
    });
    for user in logins.keys() {
        // the admin's token above was got with this very password: no second login
        let ok = logged_in
            .get(user)
            .is_none_or(|ok| *ok && c.users.contains_key(user));
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
) -> Result<Option<String>, ApiError> {
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
) -> Result<String, ApiError> {
    find_id(t, port, token, kind, name, stats)?.ok_or_else(|| ApiError::NotFound {
        kind: kind.trim_end_matches('s').to_string(),
        name: name.to_string(),
    })
}

/// Carry out one call (placeholders in passwords resolved here, at the last moment).
pub(super) fn execute(
    t: &mut dyn Transport,
    admin: &Admin,
    call: &Call,
    secrets: &SecretStore,
    stats: &mut HttpStats,
    cache: &mut TokenCache,
) -> Result<(), ApiError> {
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
        Err(e) if cached && e.status() == Some(401) => {
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
) -> Result<(), ApiError> {
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
            Err(e) if e.is_refusal() && refusals >= 10 => {
                return Err(ApiError::SecretsMismatch(Box::new(e)));
            }
            // the host is gone: waiting longer does not bring it back
            Err(e) if e.is_unreachable() => return Err(e),
            Err(e) if e.is_refusal() => {
                refusals += 1;
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Err(e) if std::time::Instant::now() >= deadline => {
                return Err(ApiError::Timeout {
                    api: "the Keystone API",
                    secs: timeout_secs,
                    last: Box::new(e),
                });
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
) -> Result<(), ApiError> {
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
                        return Err(ApiError::Status {
                            request: format!("PATCH /v3/users/{id}"),
                            status: r.status,
                            body: None,
                        });
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
                return Err(ApiError::Status {
                    request: format!("PUT {path}"),
                    status: resp.status,
                    body: None,
                });
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
                .ok_or_else(|| ApiError::NoService(service_type.clone()))?;
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
            Err(ApiError::Unsupported(
                "a v2.0 endpoint call needs the v2.0 admin API (keystone_api version v2.0)",
            ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::keystone::FakeKeystone;
    use crate::transport::fake::{FakeHost, FakeService, SharedFake};

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
