//! A Keystone v3 stand-in for the fake host: just enough of the API for the
//! catalog resources (tokens, projects, users, roles, assignments, services,
//! endpoints), answered over the fake transport's tunnel. With an
//! `admin_token` it also answers the v2.0 admin API of the guide's era.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// An answer: status, extra headers, JSON body.
type Answer = (u16, Vec<(String, String)>, Value);

#[derive(Debug, Clone, Default)]
pub struct FakeKeystone {
    pub projects: BTreeSet<String>,
    /// name → password
    pub users: BTreeMap<String, String>,
    pub roles: BTreeSet<String>,
    /// (user, project, role)
    pub assignments: BTreeSet<(String, String, String)>,
    /// type → name
    pub services: BTreeMap<String, String>,
    /// id → (type, interface, region, url)
    pub endpoints: BTreeMap<String, (String, String, String, String)>,
    /// v2.0: the admin token (`admin_token` in keystone.conf) the admin API takes
    pub admin_token: Option<String>,
    /// v2.0 endpoints: id → (type, region, publicurl, internalurl, adminurl)
    pub endpoints_v2: BTreeMap<String, (String, String, String, String, String)>,
    pub requests: usize,
    /// Password changes through PATCH /v3/users (each revokes the user's tokens).
    pub password_changes: usize,
    /// Logins through POST /v3/auth/tokens that were accepted.
    pub logins: usize,
    /// Per user, how many times the password changed: tokens carry the number
    /// they were issued under and lose their value when it moves on.
    pub generation: BTreeMap<String, usize>,
}

/// The X-Auth-Token a request's head carries, if any.
pub fn auth_token(headers: &str) -> Option<&str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("x-auth-token")
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

impl FakeKeystone {
    /// What `keystone-manage bootstrap` creates.
    pub fn bootstrap(password: &str, region: &str, url: &str) -> FakeKeystone {
        let mut k = FakeKeystone::default();
        k.projects.insert("admin".into());
        k.users.insert("admin".into(), password.into());
        for r in ["admin", "member", "reader"] {
            k.roles.insert(r.into());
        }
        k.assignments
            .insert(("admin".into(), "admin".into(), "admin".into()));
        k.services.insert("identity".into(), "keystone".into());
        for (i, iface) in ["admin", "internal", "public"].iter().enumerate() {
            k.endpoints.insert(
                format!("ep{i}"),
                (
                    "identity".into(),
                    iface.to_string(),
                    region.into(),
                    url.into(),
                ),
            );
        }
        k
    }

    fn id_of(kind: &str, v: &str) -> String {
        format!("{kind}-{v}")
    }

    fn name_of(id: &str) -> String {
        id.split_once('-')
            .map(|(_, n)| n.to_string())
            .unwrap_or_default()
    }

    /// Answer one request: (status, extra headers, JSON body).
    pub fn handle(&mut self, method: &str, target: &str, headers: &str, body: &[u8]) -> Answer {
        self.requests += 1;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: BTreeMap<&str, &str> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if let Some(rest) = path.strip_prefix("/v2.0/") {
            return self.handle_v2(method, rest, headers, &body);
        }
        if method == "POST" && path == "/v3/auth/tokens" {
            return self.login_v3(&body);
        }
        let valid = format!(
            "tok-admin.{}",
            self.generation.get("admin").copied().unwrap_or(0)
        );
        if auth_token(headers) != Some(valid.as_str()) {
            return (401, vec![], json!({"error": {"code": 401}}));
        }
        let parts: Vec<&str> = path.trim_start_matches("/v3/").split('/').collect();
        let answer = if method == "GET" {
            self.get_v3(&parts, &q)
        } else {
            self.change_v3(method, &parts, &body)
        };
        answer.unwrap_or_else(|| {
            (
                404,
                vec![],
                json!({"error": {"message": format!("fake keystone: no route {method} {path}")}}),
            )
        })
    }

    /// POST /v3/auth/tokens: a token when the password is the user's.
    fn login_v3(&mut self, body: &Value) -> Answer {
        let u = &body["auth"]["identity"]["password"]["user"];
        let (name, pw) = (
            u["name"].as_str().unwrap_or_default(),
            u["password"].as_str().unwrap_or_default(),
        );
        if self.users.get(name).map(String::as_str) == Some(pw) {
            self.logins += 1;
            let g = self.generation.get(name).copied().unwrap_or(0);
            // a project-scoped token carries the user's roles there and
            // the catalog: services that have endpoints, with them
            let project = body["auth"]["scope"]["project"]["name"].as_str();
            let mut token = json!({});
            if let Some(p) = project {
                let roles: Vec<Value> = self
                    .assignments
                    .iter()
                    .filter(|(u, pr, _)| u == name && pr == p)
                    .map(|(_, _, r)| json!({"id": Self::id_of("roles", r), "name": r}))
                    .collect();
                let catalog: Vec<Value> = self
                    .services
                    .iter()
                    .filter_map(|(ty, n)| {
                        let eps: Vec<Value> = self
                            .endpoints
                            .iter()
                            .filter(|(_, (t, _, _, _))| t == ty)
                            .map(|(id, (_, i, r, u))| json!({"id": id, "interface": i, "region_id": r, "url": u}))
                            .collect();
                        (!eps.is_empty()).then(|| json!({"id": Self::id_of("services", ty), "type": ty, "name": n, "endpoints": eps}))
                    })
                    .collect();
                token = json!({"roles": roles, "catalog": catalog});
            }
            (
                201,
                vec![("X-Subject-Token".into(), format!("tok-{name}.{g}"))],
                json!({ "token": token }),
            )
        } else {
            (401, vec![], json!({"error": {"code": 401}}))
        }
    }

    /// A v3 GET, or `None` for no such route.
    fn get_v3(&self, parts: &[&str], q: &BTreeMap<&str, &str>) -> Option<Answer> {
        let named = |kind: &str, names: Vec<String>| -> Value {
            let list: Vec<Value> = names
                .into_iter()
                .filter(|n| {
                    q.get("name")
                        .is_none_or(|want| *want == crate::quote::url(n))
                })
                .map(|n| json!({"id": Self::id_of(kind, &n), "name": n}))
                .collect();
            json!({ kind: list })
        };
        let answer = match parts {
            ["projects"] => (
                200,
                vec![],
                named("projects", self.projects.iter().cloned().collect()),
            ),
            ["users"] => (
                200,
                vec![],
                named("users", self.users.keys().cloned().collect()),
            ),
            ["roles"] => (
                200,
                vec![],
                named("roles", self.roles.iter().cloned().collect()),
            ),
            ["services"] => {
                let list: Vec<Value> = self
                    .services
                    .iter()
                    .map(|(t, n)| json!({"id": Self::id_of("services", t), "name": n, "type": t}))
                    .collect();
                (200, vec![], json!({"services": list}))
            }
            ["endpoints"] => {
                let list: Vec<Value> = self
                    .endpoints
                    .iter()
                    .filter(|(_, (t, i, _, _))| {
                        q.get("service_id").is_none_or(|s| *s == Self::id_of("services", t)) && q.get("interface").is_none_or(|w| w == i)
                    })
                    .map(|(id, (t, i, r, u))| json!({"id": id, "service_id": Self::id_of("services", t), "interface": i, "region_id": r, "url": u}))
                    .collect();
                (200, vec![], json!({"endpoints": list}))
            }
            ["role_assignments"] => {
                let list: Vec<Value> = self
                    .assignments
                    .iter()
                    .map(|(u, p, r)| {
                        if q.contains_key("include_names") {
                            json!({"user": {"id": Self::id_of("users", u), "name": u}, "scope": {"project": {"id": Self::id_of("projects", p), "name": p}}, "role": {"id": Self::id_of("roles", r), "name": r}})
                        } else {
                            json!({"user": {"id": Self::id_of("users", u)}, "scope": {"project": {"id": Self::id_of("projects", p)}}, "role": {"id": Self::id_of("roles", r)}})
                        }
                    })
                    .collect();
                (200, vec![], json!({"role_assignments": list}))
            }
            _ => return None,
        };
        Some(answer)
    }

    /// A v3 POST, PATCH or PUT, or `None` for no such route.
    fn change_v3(&mut self, method: &str, parts: &[&str], body: &Value) -> Option<Answer> {
        let answer = match (method, parts) {
            ("POST", ["projects"]) => {
                self.create(&body["project"]["name"], |k, n| k.projects.insert(n))
            }
            ("POST", ["roles"]) => self.create(&body["role"]["name"], |k, n| k.roles.insert(n)),
            ("POST", ["users"]) => {
                let pw = body["user"]["password"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.create(&body["user"]["name"], move |k, n| {
                    k.users.insert(n, pw.clone()).is_none()
                })
            }
            ("PATCH", ["users", id]) => {
                let name = Self::name_of(id);
                match self.users.get_mut(&name) {
                    Some(p) => {
                        self.password_changes += 1;
                        *self.generation.entry(name.clone()).or_default() += 1;
                        *p = body["user"]["password"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        (200, vec![], json!({"user": {}}))
                    }
                    None => (404, vec![], Value::Null),
                }
            }
            ("POST", ["services"]) => {
                let s = &body["service"];
                self.services.insert(
                    s["type"].as_str().unwrap_or_default().into(),
                    s["name"].as_str().unwrap_or_default().into(),
                );
                (201, vec![], json!({"service": {}}))
            }
            ("POST", ["endpoints"]) => {
                let e = &body["endpoint"];
                let t = Self::name_of(e["service_id"].as_str().unwrap_or_default());
                let id = format!("ep{}", self.endpoints.len() + 100);
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                self.endpoints
                    .insert(id, (t, s("interface"), s("region_id"), s("url")));
                (201, vec![], json!({"endpoint": {}}))
            }
            ("PATCH", ["endpoints", id]) => match self.endpoints.get_mut(*id) {
                Some(e) => {
                    e.3 = body["endpoint"]["url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    (200, vec![], json!({"endpoint": {}}))
                }
                None => (404, vec![], Value::Null),
            },
            ("PUT", ["projects", p, "users", u, "roles", r]) => {
                self.assignments
                    .insert((Self::name_of(u), Self::name_of(p), Self::name_of(r)));
                (204, vec![], Value::Null)
            }
            _ => return None,
        };
        Some(answer)
    }

    /// The v2.0 admin API: the admin token for everything but password logins.
    fn handle_v2(&mut self, method: &str, path: &str, headers: &str, body: &Value) -> Answer {
        if method == "POST" && path == "tokens" {
            return self.login_v2(body);
        }
        // the admin token, or a token of a user holding the admin role
        let admins: Vec<String> = self
            .assignments
            .iter()
            .filter(|(_, _, r)| r == "admin")
            .map(|(u, _, _)| format!("tok2-{u}"))
            .collect();
        let authorized = auth_token(headers).is_some_and(|t| {
            self.admin_token.as_deref() == Some(t) || admins.iter().any(|a| a == t)
        });
        if !authorized {
            return (401, vec![], json!({"error": {"code": 401}}));
        }
        let parts: Vec<&str> = path.split('/').collect();
        let answer = if method == "GET" {
            self.get_v2(&parts)
        } else {
            self.change_v2(method, &parts, body)
        };
        answer.unwrap_or_else(|| {
            (
                404,
                vec![],
                json!({"error": {"message": format!("fake keystone: no route {method} /v2.0/{path}")}}),
            )
        })
    }

    /// POST /v2.0/tokens: a token when the password is the user's.
    fn login_v2(&mut self, body: &Value) -> Answer {
        let c = &body["auth"]["passwordCredentials"];
        let (name, pw) = (
            c["username"].as_str().unwrap_or_default(),
            c["password"].as_str().unwrap_or_default(),
        );
        if self.users.get(name).map(String::as_str) == Some(pw) {
            self.logins += 1;
            (
                200,
                vec![],
                json!({"access": {"token": {"id": format!("tok2-{name}")}}}),
            )
        } else {
            (401, vec![], json!({"error": {"code": 401}}))
        }
    }

    /// A v2.0 GET, or `None` for no such route.
    fn get_v2(&self, parts: &[&str]) -> Option<Answer> {
        let list = |kind: &str, names: Vec<String>| -> Vec<Value> {
            names
                .into_iter()
                .map(|n| json!({"id": Self::id_of(kind, &n), "name": n}))
                .collect()
        };
        let answer = match parts {
            ["tenants"] => (
                200,
                vec![],
                json!({"tenants": list("projects", self.projects.iter().cloned().collect())}),
            ),
            ["users"] => (
                200,
                vec![],
                json!({"users": list("users", self.users.keys().cloned().collect())}),
            ),
            ["OS-KSADM", "roles"] => (
                200,
                vec![],
                json!({"roles": list("roles", self.roles.iter().cloned().collect())}),
            ),
            ["OS-KSADM", "services"] => {
                let l: Vec<Value> = self
                    .services
                    .iter()
                    .map(|(t, n)| json!({"id": Self::id_of("services", t), "name": n, "type": t}))
                    .collect();
                (200, vec![], json!({"OS-KSADM:services": l}))
            }
            ["endpoints"] => {
                let l: Vec<Value> = self
                    .endpoints_v2
                    .iter()
                    .map(|(id, (t, r, p, i, a))| json!({"id": id, "service_id": Self::id_of("services", t), "region": r, "publicurl": p, "internalurl": i, "adminurl": a}))
                    .collect();
                (200, vec![], json!({"endpoints": l}))
            }
            ["tenants", t, "users", u, "roles"] => {
                let (t, u) = (Self::name_of(t), Self::name_of(u));
                let names: Vec<String> = self
                    .assignments
                    .iter()
                    .filter(|(au, ap, _)| *au == u && *ap == t)
                    .map(|(_, _, r)| r.clone())
                    .collect();
                (200, vec![], json!({"roles": list("roles", names)}))
            }
            _ => return None,
        };
        Some(answer)
    }

    /// A v2.0 POST, PUT or DELETE, or `None` for no such route.
    fn change_v2(&mut self, method: &str, parts: &[&str], body: &Value) -> Option<Answer> {
        let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let answer = match (method, parts) {
            ("POST", ["tenants"]) => {
                self.create(&body["tenant"]["name"], |k, n| k.projects.insert(n))
            }
            ("POST", ["OS-KSADM", "roles"]) => {
                self.create(&body["role"]["name"], |k, n| k.roles.insert(n))
            }
            ("POST", ["users"]) => {
                let pw = s(&body["user"], "password");
                self.create(&body["user"]["name"], move |k, n| {
                    k.users.insert(n, pw.clone()).is_none()
                })
            }
            ("PUT", ["users", id, "OS-KSADM", "password"]) => {
                match self.users.get_mut(&Self::name_of(id)) {
                    Some(p) => {
                        *p = s(&body["user"], "password");
                        (200, vec![], json!({"user": {}}))
                    }
                    None => (404, vec![], Value::Null),
                }
            }
            ("PUT", ["tenants", t, "users", u, "roles", "OS-KSADM", r]) => {
                self.assignments
                    .insert((Self::name_of(u), Self::name_of(t), Self::name_of(r)));
                (200, vec![], json!({"role": {}}))
            }
            ("POST", ["OS-KSADM", "services"]) => {
                let v = &body["OS-KSADM:service"];
                self.services.insert(s(v, "type"), s(v, "name"));
                (200, vec![], json!({"OS-KSADM:service": {}}))
            }
            ("POST", ["endpoints"]) => {
                let e = &body["endpoint"];
                let t = Self::name_of(&s(e, "service_id"));
                let id = format!("v2ep{}", self.endpoints_v2.len() + 100);
                self.endpoints_v2.insert(
                    id,
                    (
                        t,
                        s(e, "region"),
                        s(e, "publicurl"),
                        s(e, "internalurl"),
                        s(e, "adminurl"),
                    ),
                );
                (200, vec![], json!({"endpoint": {}}))
            }
            ("DELETE", ["endpoints", id]) => match self.endpoints_v2.remove(*id) {
                Some(_) => (204, vec![], Value::Null),
                None => (404, vec![], Value::Null),
            },
            _ => return None,
        };
        Some(answer)
    }

    fn create(
        &mut self,
        name: &Value,
        insert: impl Fn(&mut FakeKeystone, String) -> bool,
    ) -> Answer {
        let n = name.as_str().unwrap_or_default().to_string();
        if insert(self, n) {
            (201, vec![], json!({}))
        } else {
            (409, vec![], json!({"error": {"code": 409}}))
        }
    }
}
