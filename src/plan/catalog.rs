//! The plan's Keystone calls and the identity they act as: plain data, saved
//! with the plan and carried out by `openstack::keystone`. The planner builds
//! these; nothing here talks to a host.

use serde::{Deserialize, Serialize};

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
            self.summary_v2()
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
            Call::CreateEndpointV2 { .. } | Call::ReplaceEndpointV2 { .. } => self.summary_v2(),
        }
    }

    /// The same call in the v2.0 admin API.
    fn summary_v2(&self) -> String {
        match self {
            Call::Wait { timeout_secs } => {
                format!("wait up to {timeout_secs}s for the Keystone v2.0 admin API")
            }
            Call::CreateProject { name, .. } => format!("POST /v2.0/tenants {name}"),
            Call::CreateUser { name, .. } => format!("POST /v2.0/users {name}"),
            Call::SetPassword { name, .. } => {
                format!("PUT /v2.0/users/({name})/OS-KSADM/password")
            }
            Call::CreateRole { name } => format!("POST /v2.0/OS-KSADM/roles {name}"),
            Call::Assign {
                user,
                project,
                role,
            } => format!("PUT /v2.0/tenants/({project})/users/({user})/roles/OS-KSADM/({role})"),
            Call::CreateService {
                name, service_type, ..
            } => format!("POST /v2.0/OS-KSADM/services {name} ({service_type})"),
            Call::CreateEndpointV2 {
                service_type,
                region,
                publicurl,
                internalurl,
                adminurl,
            } => format!(
                "POST /v2.0/endpoints {service_type} {region} publicurl={publicurl} internalurl={internalurl} adminurl={adminurl}"
            ),
            Call::ReplaceEndpointV2 {
                id,
                service_type,
                region,
                publicurl,
                internalurl,
                adminurl,
            } => format!(
                "DELETE /v2.0/endpoints/{id}, POST /v2.0/endpoints {service_type} {region} publicurl={publicurl} internalurl={internalurl} adminurl={adminurl}"
            ),
            Call::CreateEndpoint { .. } | Call::UpdateEndpoint { .. } => {
                format!("{} (v3 only)", self.summary())
            }
        }
    }
}
