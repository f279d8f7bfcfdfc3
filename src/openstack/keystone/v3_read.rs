//! Keystone v3: reading the catalog in as few requests as it allows (the
//! calls that change it are in v3.rs).

use super::v3::{admin_login, login};
use super::{get, s, secret};
use crate::facts::catalog::{CatalogFacts, CatalogWants, EndpointFact};
use crate::openstack::error::ApiError;
use crate::openstack::http::HttpStats;
use crate::plan::catalog::Admin;
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde_json::Value;
use std::collections::BTreeMap;

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
    let (admin_login, logged_in) = admin_and_user_logins(t, admin, logins, secrets, stats);
    let (token, body) = admin_login?;
    let logged_in = logged_in?;
    let mut c = CatalogFacts::default();
    let mut api = Reader {
        t,
        port: admin.port,
        token: &token,
        stats,
    };
    api.identities(&body, wants, &mut c)?;
    api.services(&body, wants, &mut c)?;
    for user in logins.keys() {
        // the admin's token above was got with this very password: no second login
        let ok = logged_in
            .get(user)
            .is_none_or(|ok| *ok && c.users.contains_key(user));
        c.logins.insert(user.clone(), ok);
    }
    Ok(c)
}

/// The admin's token and the token's body.
type AdminLogin = Result<(String, Value), ApiError>;

/// The admin's login (its token and the token's body), and whether each other
/// user of `logins` logs in with its secret.
///
/// The other users' logins need no token: they run beside the admin's (each
/// login costs Keystone a bcrypt hash), on a second handle of the connection
/// where the transport has one.
fn admin_and_user_logins(
    t: &mut dyn Transport,
    admin: &Admin,
    logins: &BTreeMap<String, String>,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> (AdminLogin, Result<BTreeMap<String, bool>, ApiError>) {
    let port = admin.port;
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
    match t.fork().filter(|_| !others.is_empty()) {
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
    }
}

/// GETs with the admin's token.
struct Reader<'a> {
    t: &'a mut dyn Transport,
    port: u16,
    token: &'a str,
    stats: &'a mut HttpStats,
}

impl Reader<'_> {
    fn get(&mut self, path: &str, key: &str) -> Result<Vec<Value>, ApiError> {
        get(self.t, self.port, self.token, path, key, self.stats)
    }

    /// Projects, users, roles and assignments: from the role assignments and
    /// the admin's token `body`, and a listing of each kind that misses one
    /// the roles want.
    fn identities(
        &mut self,
        body: &Value,
        wants: &CatalogWants,
        c: &mut CatalogFacts,
    ) -> Result<(), ApiError> {
        let assignments = self.get(
            "/v3/role_assignments?include_names=true",
            "role_assignments",
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
            c.projects = by_name(&self.get("/v3/projects", "projects")?);
        }
        if !wants.users.iter().all(|n| c.users.contains_key(n)) {
            c.users = by_name(&self.get("/v3/users", "users")?);
        }
        if !wants.roles.iter().all(|n| c.roles.contains_key(n)) {
            c.roles = by_name(&self.get("/v3/roles", "roles")?);
        }
        Ok(())
    }

    /// Services and endpoints: the token's catalog (enabled services with
    /// their enabled endpoints), or the listings when the roles want one
    /// that is not there.
    fn services(
        &mut self,
        body: &Value,
        wants: &CatalogWants,
        c: &mut CatalogFacts,
    ) -> Result<(), ApiError> {
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
        let found = wants.services.iter().all(|t| c.services.contains_key(t))
            && wants.endpoints.iter().all(|(ty, i, r)| {
                c.endpoints
                    .iter()
                    .any(|e| e.service_type == *ty && e.interface == *i && e.region == *r)
            });
        if found {
            return Ok(());
        }
        // a service without endpoints, or a disabled one, is not in the token
        let services = self.get("/v3/services", "services")?;
        let endpoints = self.get("/v3/endpoints", "endpoints")?;
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
        Ok(())
    }
}
