//! Keystone v3: log in and carry out catalog calls (reading the catalog is
//! v3_read.rs). Calls look up by name before creating, so a retried or
//! repeated call changes nothing twice.

use super::{TokenCache, get, s, secret, send_ok};
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::plan::catalog::{Admin, Call};
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde_json::{Value, json};

fn password_body(user: &str, password: &str, project: Option<&str>) -> Value {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}});
    if let Some(p) = project {
        auth["scope"] = json!({"project": {"name": p, "domain": {"name": "Default"}}});
    }
    json!({"auth": auth})
}

/// Log in: the token and the token's body (with a project: its roles and the
/// catalog); `Ok(None)` when the password is refused (401).
pub(super) fn login_with_body(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    password: &str,
    project: Option<&str>,
    stats: &mut HttpStats,
) -> Result<Option<(String, Value)>, ApiError> {
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
        201 => {
            let token = r
                .header("X-Subject-Token")
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::Malformed("Keystone answered 201 without X-Subject-Token".into())
                })?;
            Ok(Some((token, r.json()?)))
        }
        401 => Ok(None),
        s => Err(ApiError::status_with_body(
            format!("POST /v3/auth/tokens as {user}"),
            s,
            &r.body,
        )),
    }
}

/// Log in; `Ok(None)` when the password is refused (401).
pub(super) fn login(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    password: &str,
    project: Option<&str>,
    stats: &mut HttpStats,
) -> Result<Option<String>, ApiError> {
    Ok(login_with_body(t, port, user, password, project, stats)?.map(|(token, _)| token))
}

/// The admin's login, its token and the token's body; a refused password is
/// [`ApiError::PasswordRefused`].
pub(super) fn admin_login(
    t: &mut dyn Transport,
    admin: &Admin,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<(String, Value), ApiError> {
    let pw = secret(secrets, &admin.password)?;
    login_with_body(t, admin.port, &admin.user, pw, Some(&admin.project), stats)?.ok_or_else(|| {
        ApiError::PasswordRefused {
            user: admin.user.clone(),
            secret: admin.password.clone(),
        }
    })
}

/// An admin token.
pub fn admin_token(
    t: &mut dyn Transport,
    admin: &Admin,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<String, ApiError> {
    Ok(admin_login(t, admin, secrets, stats)?.0)
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
            // not answering yet (starting): look again soon, it answers in seconds
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(250)),
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
    use crate::fake::keystone::FakeKeystone;
    use crate::fake::{FakeHost, FakeService, SharedFake};

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
