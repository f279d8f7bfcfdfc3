//! Keystone v3: log in and carry out catalog calls (reading the catalog is
//! v3_read.rs). Calls look up by name before creating, so a retried or
//! repeated call changes nothing twice.

use super::{Api, EndpointV2, TokenCache, get, s, secret, send_ok};
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::plan::catalog::Admin;
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

/// The v3 API as the admin, one method per call: each logs in (or uses the
/// kept token) and looks before it creates.
pub(super) struct V3<'a> {
    pub(super) t: &'a mut dyn Transport,
    pub(super) admin: &'a Admin,
    pub(super) secrets: &'a SecretStore,
    pub(super) stats: &'a mut HttpStats,
    pub(super) cache: &'a mut TokenCache,
}

impl V3<'_> {
    /// Run `call` with the kept admin token, or a new login. `call` sets its
    /// flag when it revoked the admin's own tokens (a change of the admin's
    /// password), and the kept token is dropped then.
    fn with_token(
        &mut self,
        call: impl Fn(&mut Self, &str, &mut bool) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let cached = self.cache.token.is_some();
        let token = match self.cache.token.take() {
            Some(token) => token,
            None => self.admin_token()?,
        };
        let mut revoked = false;
        let r = match call(self, &token, &mut revoked) {
            // revoked some other way since: log in again, once; every call looks
            // before it creates, so running it again is safe
            Err(e) if cached && e.status() == Some(401) => {
                tracing::debug!(error = %e, "the kept Keystone token was refused; logging in again");
                let token = self.admin_token()?;
                let r = call(self, &token, &mut revoked);
                self.cache.token = Some(token);
                r
            }
            r => {
                self.cache.token = Some(token);
                r
            }
        };
        if revoked || r.is_err() {
            self.cache.token = None;
        }
        r
    }

    fn admin_token(&mut self) -> Result<String, ApiError> {
        admin_token(self.t, self.admin, self.secrets, self.stats)
    }

    fn get(&mut self, token: &str, path: &str, key: &str) -> Result<Vec<Value>, ApiError> {
        get(self.t, self.admin.port, token, path, key, self.stats)
    }

    fn find_id(&mut self, token: &str, kind: &str, name: &str) -> Result<Option<String>, ApiError> {
        find_id(self.t, self.admin.port, token, kind, name, self.stats)
    }

    fn need_id(&mut self, token: &str, kind: &str, name: &str) -> Result<String, ApiError> {
        need_id(self.t, self.admin.port, token, kind, name, self.stats)
    }

    /// Send with `token`, and expect a 2xx.
    fn send_ok(&mut self, token: &str, req: Request<'_>) -> Result<Value, ApiError> {
        let req = req.header("X-Auth-Token", token.to_string());
        send_ok(self.t, self.admin.port, req, self.stats)
    }

    /// Send with `token`; anything but a 2xx is an error that names `request`.
    fn send_expect_ok(
        &mut self,
        token: &str,
        req: Request<'_>,
        request: String,
    ) -> Result<(), ApiError> {
        let req = req.header("X-Auth-Token", token.to_string());
        let r = http::send(self.t, self.admin.port, &req, self.stats)?;
        if !r.ok() {
            return Err(ApiError::Status {
                request,
                status: r.status,
                body: None,
            });
        }
        Ok(())
    }

    /// Create the user, or set its password. With `keep_if_it_logs_in`, a user
    /// that exists keeps its password when it already logs in with the secret
    /// (a change revokes the user's tokens); planned as a create because the
    /// catalog was unreadable, it may not.
    fn user(
        &mut self,
        name: &str,
        password: &str,
        keep_if_it_logs_in: bool,
    ) -> Result<(), ApiError> {
        self.with_token(|api, token, revoked| {
            let pw = secret(api.secrets, password)?;
            match api.find_id(token, "users", name)? {
                None => {
                    let body =
                        json!({"user": {"name": name, "domain_id": "default", "password": pw}});
                    api.send_ok(token, Request::json("POST", "/v3/users", &body))?;
                }
                Some(_)
                    if keep_if_it_logs_in
                        && login(api.t, api.admin.port, name, pw, None, api.stats)?.is_some() => {}
                Some(id) => {
                    let path = format!("/v3/users/{id}");
                    let body = json!({"user": {"password": pw}});
                    api.send_expect_ok(
                        token,
                        Request::json("PATCH", &path, &body),
                        format!("PATCH /v3/users/{id}"),
                    )?;
                    if name == api.admin.user {
                        *revoked = true;
                        // the revocation covers tokens issued in the same second
                        std::thread::sleep(std::time::Duration::from_millis(1100));
                    }
                }
            }
            Ok(())
        })
    }

    /// The id of the service of `service_type`.
    fn service_id(&mut self, token: &str, service_type: &str) -> Result<Option<String>, ApiError> {
        let services = self.get(token, "/v3/services", "services")?;
        Ok(services
            .iter()
            .find(|v| s(v, "type") == service_type)
            .map(|v| s(v, "id")))
    }
}

impl Api for V3<'_> {
    /// Wait until the admin can log in.
    fn wait(&mut self, timeout_secs: u64) -> Result<(), ApiError> {
        self.cache.token = None;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_secs);
        let mut refusals = 0;
        loop {
            match self.admin_token() {
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

    fn create_project(&mut self, name: &str, description: &str) -> Result<(), ApiError> {
        self.with_token(|api, token, _| {
            if api.find_id(token, "projects", name)?.is_none() {
                let body = json!({"project": {"name": name, "domain_id": "default", "description": description}});
                api.send_ok(token, Request::json("POST", "/v3/projects", &body))?;
            }
            Ok(())
        })
    }

    fn create_user(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        self.user(name, password, true)
    }

    fn set_password(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        self.user(name, password, false)
    }

    fn create_role(&mut self, name: &str) -> Result<(), ApiError> {
        self.with_token(|api, token, _| {
            if api.find_id(token, "roles", name)?.is_none() {
                let body = json!({"role": {"name": name}});
                api.send_ok(token, Request::json("POST", "/v3/roles", &body))?;
            }
            Ok(())
        })
    }

    fn assign(&mut self, user: &str, project: &str, role: &str) -> Result<(), ApiError> {
        self.with_token(|api, token, _| {
            let u = api.need_id(token, "users", user)?;
            let p = api.need_id(token, "projects", project)?;
            let r = api.need_id(token, "roles", role)?;
            let path = format!("/v3/projects/{p}/users/{u}/roles/{r}");
            api.send_expect_ok(
                token,
                Request::get(&path).method("PUT"),
                format!("PUT {path}"),
            )
        })
    }

    fn create_service(
        &mut self,
        name: &str,
        service_type: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        self.with_token(|api, token, _| {
            if api.service_id(token, service_type)?.is_none() {
                let body = json!({"service": {"name": name, "type": service_type, "description": description, "enabled": true}});
                api.send_ok(token, Request::json("POST", "/v3/services", &body))?;
            }
            Ok(())
        })
    }

    fn create_endpoint(
        &mut self,
        service_type: &str,
        interface: &str,
        region: &str,
        url: &str,
    ) -> Result<(), ApiError> {
        self.with_token(|api, token, _| {
            let sid = api
                .service_id(token, service_type)?
                .ok_or_else(|| ApiError::NoService(service_type.to_string()))?;
            let path = format!("/v3/endpoints?service_id={sid}&interface={interface}");
            let existing = api.get(token, &path, "endpoints")?;
            if !existing.iter().any(|e| s(e, "region_id") == region) {
                let body = json!({"endpoint": {"interface": interface, "region_id": region, "url": url, "service_id": sid, "enabled": true}});
                api.send_ok(token, Request::json("POST", "/v3/endpoints", &body))?;
            }
            Ok(())
        })
    }

    fn update_endpoint(&mut self, id: &str, url: &str) -> Result<(), ApiError> {
        self.with_token(|api, token, _| {
            let path = format!("/v3/endpoints/{id}");
            let body = json!({"endpoint": {"url": url}});
            api.send_ok(token, Request::json("PATCH", &path, &body))?;
            Ok(())
        })
    }

    fn put_endpoint_v2(&mut self, _: &EndpointV2<'_>, _: Option<&str>) -> Result<(), ApiError> {
        // as every call: logged in first
        self.with_token(|_, _, _| {
            Err(ApiError::Unsupported(
                "a v2.0 endpoint call needs the v2.0 admin API (keystone_api version v2.0)",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::keystone::FakeKeystone;
    use crate::fake::{FakeHost, FakeService, SharedFake};
    use crate::plan::catalog::Call;

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
            super::super::execute(&mut t, a, call, s, &mut self.stats, &mut self.cache).unwrap();
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
