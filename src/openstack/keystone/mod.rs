//! Keystone's admin API over the SSH tunnel: read the catalog, carry out the
//! plan's catalog calls. The API version is chosen once, from the [`Admin`]:
//! v3 with a password login, or the v2.0 admin API of the guide's era with
//! `admin_token` ([`v2`]).

mod v2;
mod v3;
mod v3_read;

use crate::facts::catalog::{CatalogFacts, CatalogWants};
use crate::openstack::error::ApiError;
use crate::openstack::http::{self, HttpStats, Request};
use crate::plan::catalog::{Admin, Call};
use crate::secrets::SecretStore;
use crate::transport::Transport;
use serde_json::Value;
use std::collections::BTreeMap;

pub use v2::user_token;
pub use v3::admin_token;

/// The admin token, kept across the calls of one host's apply: a login costs
/// Keystone a password hash (about 0.4 s on the test host), and a fresh
/// controller makes some twenty calls.
#[derive(Debug, Default)]
pub struct TokenCache {
    token: Option<String>,
}

/// Read the catalog. An API that does not answer, or refuses the admin, is a
/// fact (`unavailable`, empty lists); a lost connection to the host is an error.
pub fn gather(
    t: &mut dyn Transport,
    admin: &Admin,
    logins: &BTreeMap<String, String>,
    wants: &CatalogWants,
    secrets: &SecretStore,
    stats: &mut HttpStats,
) -> Result<CatalogFacts, ApiError> {
    let r = if admin.is_v2() {
        v2::gather(t, admin, logins, secrets, stats)
    } else {
        v3_read::gather(t, admin, logins, wants, secrets, stats)
    };
    match r {
        Ok(mut c) => {
            // one order for plans and saved facts, whichever API read them
            c.endpoints.sort_by(|a, b| {
                (&a.service_type, &a.interface, &a.region, &a.id).cmp(&(
                    &b.service_type,
                    &b.interface,
                    &b.region,
                    &b.id,
                ))
            });
            Ok(c)
        }
        Err(e) if e.is_unreachable() => Err(e),
        Err(e) => Ok(CatalogFacts {
            refused: e.is_refusal(),
            unavailable: Some(e.to_string()),
            ..Default::default()
        }),
    }
}

/// Carry out one call as `admin` (passwords resolved here, at the last moment).
pub fn execute(
    t: &mut dyn Transport,
    admin: &Admin,
    call: &Call,
    secrets: &SecretStore,
    stats: &mut HttpStats,
    cache: &mut TokenCache,
) -> Result<(), ApiError> {
    if admin.is_v2() {
        dispatch(&mut v2::V2::new(t, admin, secrets, stats)?, call)
    } else {
        let mut api = v3::V3 {
            t,
            admin,
            secrets,
            stats,
            cache,
        };
        dispatch(&mut api, call)
    }
}

/// Keystone's catalog calls, one method each, in the API version the admin
/// speaks: [`v2::V2`] or [`v3::V3`]. Each looks before it creates, so a
/// repeated call changes nothing twice.
trait Api {
    /// Poll until the API answers and the admin can log in.
    fn wait(&mut self, timeout_secs: u64) -> Result<(), ApiError>;
    fn create_project(&mut self, name: &str, description: &str) -> Result<(), ApiError>;
    /// `password` is the name of the secret.
    fn create_user(&mut self, name: &str, password: &str) -> Result<(), ApiError>;
    fn set_password(&mut self, name: &str, password: &str) -> Result<(), ApiError>;
    fn create_role(&mut self, name: &str) -> Result<(), ApiError>;
    fn assign(&mut self, user: &str, project: &str, role: &str) -> Result<(), ApiError>;
    fn create_service(
        &mut self,
        name: &str,
        service_type: &str,
        description: &str,
    ) -> Result<(), ApiError>;
    /// v3 only.
    fn create_endpoint(
        &mut self,
        service_type: &str,
        interface: &str,
        region: &str,
        url: &str,
    ) -> Result<(), ApiError>;
    /// v3 only.
    fn update_endpoint(&mut self, id: &str, url: &str) -> Result<(), ApiError>;
    /// v2.0 only: create the record, or with `replace` delete that one first.
    fn put_endpoint_v2(
        &mut self,
        endpoint: &EndpointV2<'_>,
        replace: Option<&str>,
    ) -> Result<(), ApiError>;
}

/// A v2.0 endpoint record: one per service and region, with its three URLs.
struct EndpointV2<'a> {
    service_type: &'a str,
    region: &'a str,
    publicurl: &'a str,
    internalurl: &'a str,
    adminurl: &'a str,
}

/// The one place a [`Call`] becomes a method of the [`Api`].
fn dispatch(api: &mut dyn Api, call: &Call) -> Result<(), ApiError> {
    match call {
        Call::Wait { timeout_secs } => api.wait(*timeout_secs),
        Call::CreateProject { name, description } => api.create_project(name, description),
        Call::CreateUser { name, password } => api.create_user(name, password),
        Call::SetPassword { name, password } => api.set_password(name, password),
        Call::CreateRole { name } => api.create_role(name),
        Call::Assign {
            user,
            project,
            role,
        } => api.assign(user, project, role),
        Call::CreateService {
            name,
            service_type,
            description,
        } => api.create_service(name, service_type, description),
        Call::CreateEndpoint {
            service_type,
            interface,
            region,
            url,
        } => api.create_endpoint(service_type, interface, region, url),
        Call::UpdateEndpoint { id, url } => api.update_endpoint(id, url),
        Call::CreateEndpointV2 {
            service_type,
            region,
            publicurl,
            internalurl,
            adminurl,
        } => api.put_endpoint_v2(
            &EndpointV2 {
                service_type,
                region,
                publicurl,
                internalurl,
                adminurl,
            },
            None,
        ),
        Call::ReplaceEndpointV2 {
            id,
            service_type,
            region,
            publicurl,
            internalurl,
            adminurl,
        } => api.put_endpoint_v2(
            &EndpointV2 {
                service_type,
                region,
                publicurl,
                internalurl,
                adminurl,
            },
            Some(id),
        ),
    }
}

/// A secret's value, for a request body.
pub fn secret<'a>(secrets: &'a SecretStore, name: &str) -> Result<&'a str, ApiError> {
    secrets
        .get(name)
        .map(|s| s.expose())
        .ok_or_else(|| ApiError::MissingSecret(name.to_string()))
}

/// One authenticated GET; the list under `key`.
fn get(
    t: &mut dyn Transport,
    port: u16,
    token: &str,
    path: &str,
    key: &str,
    stats: &mut HttpStats,
) -> Result<Vec<Value>, ApiError> {
    let r = http::send(
        t,
        port,
        &Request::get(path).header("X-Auth-Token", token),
        stats,
    )?;
    if !r.ok() {
        return Err(ApiError::Status {
            request: format!("GET {path}"),
            status: r.status,
            body: None,
        });
    }
    Ok(r.json()?[key].as_array().cloned().unwrap_or_default())
}

/// A string field of a JSON object, empty when absent.
fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// Send, and expect a 2xx; its JSON body (`null` when empty).
fn send_ok(
    t: &mut dyn Transport,
    port: u16,
    req: Request<'_>,
    stats: &mut HttpStats,
) -> Result<Value, ApiError> {
    let (m, p) = (req.method, req.path.to_string());
    let r = http::send(t, port, &req, stats)?;
    if !r.ok() {
        return Err(ApiError::status_with_body(
            format!("{m} {p}"),
            r.status,
            &r.body,
        ));
    }
    Ok(if r.body.is_empty() {
        Value::Null
    } else {
        r.json()?
    })
}
