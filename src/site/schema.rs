//! The site file's keys, listed once: `validate` accepts exactly these (and
//! suggests from them), and the JSON Schema for editor completion
//! (`stackprov schema`) is built from them.

use crate::model::release::{IdentityApi, RELEASES, TokenProvider};
use crate::transport::HostKeyPolicy;
use serde_json::{Value, json};

/// A key of one of the site file's mappings.
pub struct Key {
    pub name: &'static str,
    /// For a required key, the value `validate` suggests adding when it is missing.
    pub required: Option<&'static str>,
    /// The value's JSON Schema.
    pub schema: fn() -> Value,
}

/// Top-level keys, in the order `validate` lists them in a hint.
pub const SITE_KEYS: &[Key] = &[
    Key {
        name: "site",
        required: Some("my-cloud"),
        schema: || json!({"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "Name of the site."}),
    },
    Key {
        name: "release",
        required: Some("zed"),
        schema: || json!({"type": "string", "description": "OpenStack release (name, or 2023.1-style).", "examples": RELEASES}),
    },
    Key {
        name: "region",
        required: None,
        schema: || json!({"type": "string", "default": "RegionOne"}),
    },
    Key {
        name: "controller",
        required: Some("controller"),
        schema: || json!({"type": "string", "description": "Host name the catalog endpoints and DB connections use."}),
    },
    Key {
        name: "package_proxy",
        required: None,
        schema: || json!({"type": "string", "pattern": "^https?://[A-Za-z0-9._~:/@%\\[\\]-]+$", "description": "HTTP proxy for the package manager (apt.conf, yum.conf or dnf.conf): http(s)://[USER:PASSWORD@]HOST[:PORT][/PATH], %XX for other characters."}),
    },
    Key {
        name: "forks",
        required: None,
        schema: || json!({"type": "integer", "minimum": 1, "maximum": crate::site::MAX_FORKS, "default": crate::site::DEFAULT_FORKS, "description": "Hosts worked on at once (`--forks` overrides it)."}),
    },
    Key {
        name: "secrets_file",
        required: None,
        schema: || json!({"type": "string", "description": "Secrets file (0600), relative to the site file. Default: <site>.secrets.yaml."}),
    },
    Key {
        name: "known_hosts",
        required: None,
        schema: || json!({"type": "string", "description": "A known_hosts file checked before ~/.ssh/known_hosts."}),
    },
    Key {
        name: "host_key_policy",
        required: None,
        schema: || {
            let names: Vec<&str> = HOST_KEY_POLICIES.iter().map(|(n, _)| *n).collect();
            json!({"enum": names, "default": "strict"})
        },
    },
    Key {
        name: "hosts",
        required: Some("[{name: controller, address: 192.0.2.10, roles: [base]}]"),
        schema: || json!({"type": "array", "minItems": 1, "items": object(HOST_KEYS)}),
    },
    Key {
        name: "overrides",
        required: None,
        schema: || {
            json!({
                "type": "object",
                "description": "Extra INI keys per INI file the site's roles write: path -> section -> key -> value (one line of text; no secret placeholders).",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}}
            })
        },
    },
    Key {
        name: "token_provider",
        required: None,
        schema: || json!({"enum": TokenProvider::NAMES, "description": "Keystone token format. Default: pki up to newton (pki_setup), fernet after. pki ends with newton, uuid with queens; fernet starts with kilo."}),
    },
    Key {
        name: "identity_api",
        required: None,
        schema: || json!({"enum": IdentityApi::NAMES, "description": "Identity API the catalog is built through. Default: v2.0 with admin_token up to newton, v3 with keystone-manage bootstrap after."}),
    },
    Key {
        name: "glance_registry",
        required: None,
        schema: || json!({"type": "boolean", "description": "Run glance-registry. Default: true up to newton, false after; the registry ends with train."}),
    },
    Key {
        name: "ha",
        required: None,
        schema: || {
            let mut o = object(HA_KEYS);
            o["description"] = json!(
                "A highly available control plane: every host with role keystone (an odd number from 3 to 25) is a controller; they share a virtual IP (keepalived) that HAProxy listens on. `controller` is the name clients use for it. See docs/ha.md."
            );
            o
        },
    },
];

/// Keys of each entry of `hosts`.
pub const HOST_KEYS: &[Key] = &[
    Key {
        name: "name",
        required: Some("controller"),
        schema: || json!({"type": "string"}),
    },
    Key {
        name: "address",
        required: Some("192.0.2.10"),
        schema: || json!({"type": "string"}),
    },
    Key {
        name: "port",
        required: None,
        schema: || json!({"type": "integer", "minimum": 1, "maximum": 65535, "default": 22}),
    },
    Key {
        name: "user",
        required: None,
        schema: || json!({"type": "string", "default": "root"}),
    },
    Key {
        name: "become",
        required: None,
        schema: || json!({"type": "boolean", "default": false, "description": "Run commands through sudo -n."}),
    },
    Key {
        name: "identity_file",
        required: None,
        schema: || json!({"type": "string"}),
    },
    Key {
        name: "roles",
        required: None,
        schema: || json!({"type": "array", "uniqueItems": true, "items": {"type": "string"}}),
    },
];

/// Keys of `ha`.
pub const HA_KEYS: &[Key] = &[
    Key {
        name: "vip",
        required: Some("192.0.2.100"),
        schema: || json!({"type": "string", "description": "The virtual IPv4 address, optionally with its prefix length (A.B.C.D/N; /32 when not given)."}),
    },
    Key {
        name: "interface",
        required: Some("eth0"),
        schema: || json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,15}$", "description": "The interface the VIP lives on, the same name on every controller."}),
    },
    Key {
        name: "image_store",
        required: None,
        schema: || json!({"type": "string", "pattern": "^/[A-Za-z0-9._/-]*$", "description": "A directory every controller has mounted from the same shared file system (NFS, ...): Glance keeps images there and HAProxy then spreads Glance over all controllers. Without it each controller keeps its own images and Glance goes to one controller at a time."}),
    },
    Key {
        name: "router_id",
        required: None,
        schema: || json!({"type": "integer", "minimum": 1, "maximum": 255, "default": 51, "description": "VRRP virtual_router_id: unique per VIP on the network segment."}),
    },
];

/// The values of `host_key_policy`.
pub const HOST_KEY_POLICIES: &[(&str, HostKeyPolicy)] = &[
    ("strict", HostKeyPolicy::Strict),
    ("accept-new", HostKeyPolicy::AcceptNew),
];

/// A mapping that allows exactly `keys`.
fn object(keys: &[Key]) -> Value {
    let required: Vec<&str> = keys
        .iter()
        .filter(|k| k.required.is_some())
        .map(|k| k.name)
        .collect();
    let properties: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.name.to_string(), (k.schema)()))
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties
    })
}

/// The site file's JSON Schema; a host's roles are one of `roles`.
pub fn site_schema(roles: &crate::model::Roles) -> Value {
    let mut schema = object(SITE_KEYS);
    if let Some(items) = schema.pointer_mut("/properties/hosts/items/properties/roles/items") {
        items["enum"] = json!(roles.names().collect::<Vec<_>>());
    }
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    schema["title"] = json!("stackprov site file");
    schema
}
