//! What the Keystone catalog holds, as read through its API: plain data for
//! the planner and for saved facts.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointFact {
    pub id: String,
    pub service_type: String,
    pub interface: String,
    pub region: String,
    pub url: String,
}

/// What the roles look for in the catalog: reading it, the listings a
/// converged catalog does not need are left out (its token and its role
/// assignments show all of these), and made only when one of these is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogWants {
    pub projects: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub roles: BTreeSet<String>,
    /// Service types.
    pub services: BTreeSet<String>,
    /// (service type, interface, region)
    pub endpoints: BTreeSet<(String, String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFacts {
    /// Why the catalog could not be read (API down, admin refused); empty lists then.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unavailable: Option<String>,
    /// The API answered and refused the admin's credentials from the secrets file.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub refused: bool,
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
