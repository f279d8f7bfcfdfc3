//! INI options of the files stackprov writes that a release after Zed removed.
//! oslo.config ignores a key it does not know, without a word: an override of
//! one of these would be written and then have no effect, so `validate` names
//! the release that removed it (site/validate/overrides.rs). Taken from the
//! projects' release notes and the option definitions (a diff of the `zed-eom`
//! tag against `stable/2025.1` of keystone, glance, oslo.db, oslo.policy).

use crate::model::Release;

/// One removed option: the files it was read from (by file name), its
/// section, its key (`*`: the whole section), the first release without it,
/// and what to use instead.
struct Removed {
    files: &'static [&'static str],
    section: &'static str,
    keys: &'static [&'static str],
    release: &'static str,
    instead: &'static str,
}

const KEYSTONE: &[&str] = &["keystone.conf"];
const GLANCE: &[&str] = &["glance-api.conf"];
const BOTH: &[&str] = &["keystone.conf", "glance-api.conf"];

const REMOVED: &[Removed] = &[
    // keystone 25 (releasenotes bug-1941020-cleanup; keystone/conf/memcache.py deleted)
    Removed {
        files: KEYSTONE,
        section: "memcache",
        keys: &["*"],
        release: "caracal",
        instead: "set the cache in [cache] (oslo.cache: memcache_servers, memcache_dead_retry, memcache_socket_timeout, memcache_pool_*)",
    },
    // keystone 25 (releasenotes eventlet-cleanup; keystone/conf/eventlet_server.py deleted)
    Removed {
        files: KEYSTONE,
        section: "eventlet_server",
        keys: &["*"],
        release: "caracal",
        instead: "Keystone runs in a WSGI server (uwsgi on Debian, httpd on RHEL), whose own configuration sets the address and port",
    },
    Removed {
        files: KEYSTONE,
        section: "DEFAULT",
        keys: &[
            "bind_host",
            "public_bind_host",
            "admin_bind_host",
            "public_port",
            "admin_port",
        ],
        release: "caracal",
        instead: "Keystone runs in a WSGI server (uwsgi on Debian, httpd on RHEL), whose own configuration sets the address and port",
    },
    // keystone 27 (releasenotes remove-templated-catalog-driver)
    Removed {
        files: KEYSTONE,
        section: "catalog",
        keys: &["template_file"],
        release: "epoxy",
        instead: "the templated catalog driver went with it; the catalog lives in the database (`sql`), where stackprov manages it",
    },
    // glance 26 (releasenotes remove-enforce-secure-rbac)
    Removed {
        files: GLANCE,
        section: "DEFAULT",
        keys: &["enforce_secure_rbac"],
        release: "antelope",
        instead: "use [oslo_policy] enforce_new_defaults and enforce_scope",
    },
    // glance 29 (releasenotes remove-allow_additional_image_properties,
    // removed-location-strategy-functionality)
    Removed {
        files: GLANCE,
        section: "DEFAULT",
        keys: &["allow_additional_image_properties", "location_strategy"],
        release: "dalmatian",
        instead: "Glance has no replacement: remove the key",
    },
    Removed {
        files: GLANCE,
        section: "store_type_location_strategy",
        keys: &["*"],
        release: "dalmatian",
        instead: "Glance has no replacement: remove the section",
    },
    // oslo.db 14 (remove-mysql-ndb-cluster-support), 15 (remove-deprecated-opts), 16 (remove-use_tpool)
    Removed {
        files: BOTH,
        section: "database",
        keys: &["mysql_enable_ndb"],
        release: "bobcat",
        instead: "oslo.db dropped MySQL NDB Cluster support: remove the key",
    },
    Removed {
        files: BOTH,
        section: "DEFAULT",
        keys: &["sql_connection", "db_backend"],
        release: "caracal",
        instead: "use [database] connection (and [database] backend)",
    },
    Removed {
        files: BOTH,
        section: "sql",
        keys: &["*"],
        release: "caracal",
        instead: "use the same keys in [database]",
    },
    Removed {
        files: BOTH,
        section: "database",
        keys: &["use_tpool"],
        release: "dalmatian",
        instead: "oslo.db dropped its eventlet thread pool: remove the key",
    },
    // oslo.policy 4.5 (remove-default-section-fallback)
    Removed {
        files: BOTH,
        section: "DEFAULT",
        keys: &["policy_file", "policy_default_rule", "policy_dirs"],
        release: "epoxy",
        instead: "set the same key in [oslo_policy]",
    },
];

/// Why `[section] key` of the file `path` does nothing in `release`: the
/// release that removed it and what to use instead.
pub fn removed_option(
    release: Release,
    path: &str,
    section: &str,
    key: &str,
) -> Option<(Release, &'static str)> {
    let file = path.rsplit('/').next().unwrap_or(path);
    REMOVED
        .iter()
        .filter(|r| r.files.contains(&file) && r.section == section)
        .filter(|r| r.keys.iter().any(|k| *k == "*" || *k == key))
        .map(|r| (Release::named(r.release), r.instead))
        .find(|(removed, _)| release >= *removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_option_is_removed_from_its_release_on_and_only_in_its_files() {
        let (zed, epoxy) = (Release::named("zed"), Release::named("epoxy"));
        let conf = "/etc/keystone/keystone.conf";
        assert_eq!(removed_option(zed, conf, "catalog", "template_file"), None);
        let (r, instead) = removed_option(epoxy, conf, "catalog", "template_file").unwrap();
        assert_eq!(r.name(), "epoxy");
        assert!(instead.contains("sql"), "{instead}");
        // a whole section
        assert_eq!(
            removed_option(epoxy, conf, "memcache", "dead_retry")
                .unwrap()
                .0
                .name(),
            "caracal"
        );
        assert_eq!(
            removed_option(Release::named("bobcat"), conf, "memcache", "x"),
            None
        );
        // Glance's options are not Keystone's
        assert_eq!(
            removed_option(epoxy, conf, "DEFAULT", "enforce_secure_rbac"),
            None
        );
        let g = "/etc/glance/glance-api.conf";
        assert!(removed_option(epoxy, g, "DEFAULT", "enforce_secure_rbac").is_some());
        assert!(removed_option(epoxy, g, "DEFAULT", "policy_file").is_some());
        assert_eq!(removed_option(epoxy, g, "oslo_policy", "policy_file"), None);
        // every release named is one stackprov knows (Release::named panics otherwise)
        for r in REMOVED {
            assert!(Release::parse(r.release).is_some(), "{}", r.release);
        }
    }
}
