//! The Debian hosts tests start from: a bare Debian 12 with systemd, and a
//! controller whose packages behave like Debian's keystone, glance and
//! mariadb-server.

use super::{FakeHost, FakePackage};

impl FakeHost {
    /// A bare Debian 12 host with systemd.
    pub fn debian() -> FakeHost {
        let mut h = FakeHost {
            name: "fake".into(),
            os_release:
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
                    .into(),
            ..Default::default()
        };
        for d in ["/", "/etc", "/var", "/var/lib", "/tmp"] {
            h.add_dir(d, "root", "root", 0o755);
        }
        h
    }

    /// A bare Debian 12 host whose packages behave like Debian's keystone,
    /// glance, memcached and mariadb-server (files, auto-started services,
    /// db_sync effects).
    pub fn debian_controller() -> FakeHost {
        let mut h = FakeHost::debian();
        for d in ["/root", "/etc/apt", "/etc/apt/apt.conf.d", "/var/log"] {
            h.add_dir(d, "root", "root", 0o755);
        }
        h.add_file("/etc/hosts", "127.0.0.1 localhost\n", "root", "root", 0o644);
        let pkg = |dirs: &[&str], files: &[(&str, &str)], services: &[&str]| FakePackage {
            dirs: dirs.iter().map(|s| s.to_string()).collect(),
            files: files
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            services: services.iter().map(|s| s.to_string()).collect(),
        };
        h.catalog
            .insert("chrony".into(), pkg(&[], &[], &["chrony"]));
        h.catalog.insert(
            "mariadb-server".into(),
            pkg(
                &["/etc/mysql", "/etc/mysql/mariadb.conf.d"],
                &[],
                &["mariadb"],
            ),
        );
        h.catalog
            .insert("python3-pymysql".into(), pkg(&[], &[], &[]));
        h.catalog
            .insert("memcached".into(), pkg(&[], &[], &["memcached"]));
        h.catalog.insert(
            "keystone".into(),
            pkg(
                &["/etc/keystone"],
                &[
                    (
                        "/etc/keystone/keystone.conf",
                        "[DEFAULT]\nlog_dir = /var/log/keystone\n",
                    ),
                    (
                        "/etc/keystone/keystone-uwsgi.ini",
                        "[uwsgi]\nrem-header = Content-Length\nprocesses = 8\nthreads = 32\n",
                    ),
                ],
                &["keystone"],
            ),
        );
        h.catalog.insert(
            "glance".into(),
            pkg(
                &["/etc/glance", "/var/lib/glance", "/var/lib/glance/images"],
                &[
                    ("/etc/glance/glance-api.conf", "[DEFAULT]\n"),
                    (
                        "/etc/glance/glance-api-paste.ini",
                        "[pipeline:glance-api]\n",
                    ),
                ],
                &["glance-api"],
            ),
        );
        h.command_effects = vec![
            (
                "keystone-manage db_sync".into(),
                vec![],
                vec!["keystone.project".into()],
            ),
            (
                "fernet_setup".into(),
                vec!["/etc/keystone/fernet-keys/0".into()],
                vec![],
            ),
            (
                "credential_setup".into(),
                vec!["/etc/keystone/credential-keys/0".into()],
                vec![],
            ),
            (
                "keystone-manage bootstrap".into(),
                vec![],
                vec!["/v3/auth/tokens".into()],
            ),
            (
                "glance-manage db_sync".into(),
                vec![],
                vec!["glance.images".into()],
            ),
            (
                "glance-manage db_load_metadefs".into(),
                vec![],
                vec!["glance.metadef_namespaces".into()],
            ),
            (">> /etc/hosts".into(), vec![], vec!["/etc/hosts".into()]),
        ];
        h
    }

    /// A CentOS 7 controller of the guide's era, running, its catalog made with
    /// the admin token: users admin (`admin_password`) and glance, the admin
    /// role on project admin, Keystone and Glance up.
    pub fn centos7_legacy_controller(admin_password: &str, admin_token: &str) -> FakeHost {
        use super::FakeService;
        use super::glance::FakeGlance;
        use super::keystone::FakeKeystone;
        let mut h = FakeHost::debian_controller();
        h.os_release = "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n".into();
        let mut k = FakeKeystone {
            admin_token: Some(admin_token.into()),
            ..Default::default()
        };
        k.users.insert("admin".into(), admin_password.into());
        k.users.insert("glance".into(), "glance-pass".into());
        k.projects.insert("admin".into());
        k.roles.insert("admin".into());
        k.assignments
            .insert(("admin".into(), "admin".into(), "admin".into()));
        h.keystone = Some(k);
        h.glance = Some(FakeGlance::default());
        for svc in ["openstack-keystone", "openstack-glance-api"] {
            h.services.insert(
                svc.into(),
                FakeService {
                    enabled: true,
                    running: true,
                    ..Default::default()
                },
            );
        }
        h
    }
}
