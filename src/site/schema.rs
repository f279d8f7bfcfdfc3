//! The site file's JSON Schema, for editor completion (`stackprov schema`).

use serde_json::{Value, json};

pub fn site_schema() -> Value {
    let roles: Vec<&str> = crate::site::ROLES.to_vec();
    let releases: Vec<&str> = crate::desired::release::RELEASES.to_vec();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "stackprov site file",
        "type": "object",
        "additionalProperties": false,
        "required": ["site", "release", "controller", "hosts"],
        "properties": {
            "site": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "Name of the site."},
            "release": {"type": "string", "description": "OpenStack release (name, or 2023.1-style).", "examples": releases},
            "region": {"type": "string", "default": "RegionOne"},
            "controller": {"type": "string", "description": "Host name the catalog endpoints and DB connections use."},
            "package_proxy": {"type": "string", "pattern": "^https?://", "description": "HTTP proxy for the package manager."},
            "secrets_file": {"type": "string", "description": "Secrets file (0600), relative to the site file. Default: <site>.secrets.yaml."},
            "known_hosts": {"type": "string", "description": "A known_hosts file checked before ~/.ssh/known_hosts."},
            "host_key_policy": {"enum": ["strict", "accept-new"], "default": "strict"},
            "token_provider": {"enum": crate::desired::release::TokenProvider::NAMES, "description": "Keystone token format. Default: pki up to newton (pki_setup), fernet after. pki ends with newton, uuid with queens; fernet starts with kilo."},
            "identity_api": {"enum": crate::desired::release::IdentityApi::NAMES, "description": "Identity API the catalog is built through. Default: v2.0 with admin_token up to newton, v3 with keystone-manage bootstrap after."},
            "glance_registry": {"type": "boolean", "description": "Run glance-registry. Default: true up to newton, false after; the registry ends with train."},
            "hosts": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "address"],
                    "properties": {
                        "name": {"type": "string"},
                        "address": {"type": "string"},
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
                        "user": {"type": "string", "default": "root"},
                        "become": {"type": "boolean", "default": false, "description": "Run commands through sudo -n."},
                        "identity_file": {"type": "string"},
                        "roles": {"type": "array", "uniqueItems": true, "items": {"enum": roles}}
                    }
                }
            },
            "overrides": {
                "type": "object",
                "description": "Extra INI keys per rendered file: path -> section -> key -> value.",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}}
            }
        }
    })
}
