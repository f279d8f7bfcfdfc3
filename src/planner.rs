//! Pure planning: desired resources × facts → the host's changes, each with a
//! reason, a masked diff and the exact operations. Nothing here touches a host.

use crate::desired::resource::{Kind, Perms, Resource, SQL_USER_HOSTS, SqlUserSyntax};
use crate::facts::catalog::CatalogFacts;
use crate::facts::{Facts, FileKind};
use crate::hostops;
use crate::plan::catalog::{Admin, Call};
use crate::plan::{Action, Change, HostPlan, Op};
use crate::secrets::placeholder::{self, has_secrets};
use crate::secrets::{Encoding, MASK, Masker, SecretStore};
use std::collections::BTreeSet;

/// What the planner needs besides resources and facts.
pub struct Inputs<'a> {
    pub host: &'a str,
    pub secrets: &'a SecretStore,
    pub masker: &'a Masker,
}

/// The facts each resource needs (the second, batched round trip).
pub fn query(resources: &[Resource]) -> crate::facts::FactQuery {
    let mut q = crate::facts::FactQuery::default();
    for r in resources {
        match &r.kind {
            Kind::Packages { names } => q.packages.extend(names.iter().cloned()),
            Kind::File { path, .. } | Kind::IniEdit { path, .. } => {
                q.contents.insert(path.clone());
            }
            Kind::Directory { path, .. } => {
                q.stats.insert(path.clone());
            }
            Kind::Service { name, .. } => {
                q.services.insert(name.clone());
            }
            Kind::Command {
                creates,
                unless,
                unless_stdin,
                ..
            } => {
                if let Some(c) = creates {
                    q.stats.insert(c.clone());
                }
                if let Some(u) = unless {
                    q.checks.insert(u.clone());
                    if let Some(i) = unless_stdin {
                        q.check_stdin.insert(u.clone(), i.clone());
                    }
                }
            }
            Kind::SqlDatabase { .. } | Kind::SqlGrant { .. } => q.sql = true,
            Kind::SqlUser { name, password, .. } => {
                q.sql = true;
                q.sql_logins.insert(name.clone(), password.clone());
            }
            Kind::KeystoneApi { admin } => q.catalog = Some(admin.clone()),
            Kind::KeystoneUser { name, password } => {
                q.catalog_logins.insert(name.clone(), password.clone());
            }
            Kind::KeystoneProject { .. }
            | Kind::KeystoneRole { .. }
            | Kind::KeystoneAssignment { .. }
            | Kind::KeystoneService { .. }
            | Kind::KeystoneEndpoint { .. }
            | Kind::KeystoneEndpoints { .. } => {}
        }
    }
    q
}

/// Every secret name the resources reference.
pub fn secret_names(resources: &[Resource]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in resources {
        let texts: Vec<&str> = match &r.kind {
            Kind::File { content, .. } => vec![content],
            Kind::IniEdit { settings, .. } => settings.iter().map(|s| s.value.as_str()).collect(),
            Kind::Command {
                stdin,
                unless_stdin,
                ..
            } => stdin
                .iter()
                .chain(unless_stdin)
                .map(String::as_str)
                .collect(),
            Kind::SqlUser { password, .. } => {
                out.insert(password.clone());
                vec![]
            }
            Kind::KeystoneApi { admin } => {
                out.extend(admin.token.iter().cloned());
                vec![]
            }
            _ => vec![],
        };
        for t in texts {
            out.extend(placeholder::secret_names(t));
        }
    }
    out
}

/// Refuse secret values that no encoding can carry to where they land.
/// Keystone and Glance hand their `[database] connection` URL to alembic, whose
/// configparser interpolation rejects `%`; and `@` would have to be written `%40`.
pub fn check_secret_values(resources: &[Resource], secrets: &SecretStore) -> Result<(), String> {
    for r in resources {
        let texts: Vec<&str> = match &r.kind {
            Kind::File { content, .. } => vec![content],
            Kind::IniEdit { settings, .. } => settings.iter().map(|s| s.value.as_str()).collect(),
            _ => vec![],
        };
        for t in texts {
            for name in placeholder::secret_names_with_encoding(t, Encoding::DbUrl) {
                let Some(v) = secrets.get(&name) else {
                    continue;
                };
                if let Some(c) = v.expose().chars().find(|c| matches!(c, '%' | '@')) {
                    return Err(format!(
                        "secret `{name}` contains `{c}`, but it goes into a database URL in {} that OpenStack's db_sync \
                         (alembic, through Python's configparser) cannot read with `%` or `@` in any encoding; \
                         choose a value without `%` and `@` (quotes, `$`, `#`, `/`, `:`, `;` and spaces are fine)",
                        r.id().trim_start_matches("file:")
                    ));
                }
            }
        }
    }
    Ok(())
}

pub fn plan_host(
    inp: &Inputs<'_>,
    resources: &[Resource],
    facts: &Facts,
) -> Result<HostPlan, String> {
    let mut changes = Vec::new();
    // services whose restart is due: left pending by a killed run, or notified now
    let mut notified: BTreeSet<String> = facts.pending_restarts.clone();
    // the Keystone API the catalog resources use, set by the last `keystone_api`
    let mut api: Option<Admin> = None;
    for r in resources {
        if r.kind.is_catalog() {
            if let Some(c) = plan_catalog(r, facts, &mut api)? {
                changes.push(c);
            }
        } else if let Some(c) = plan_one(inp, r, facts, &mut notified)? {
            changes.push(c);
        }
    }
    Ok(HostPlan {
        host: inp.host.to_string(),
        facts_digest: facts.digest(),
        changes,
    })
}

fn change(r: &Resource, action: Action, reason: impl Into<String>, ops: Vec<Op>) -> Change {
    Change {
        id: r.id(),
        role: r.role.clone(),
        action,
        reason: reason.into(),
        diff: None,
        ops,
    }
}

fn exec(script: String) -> Op {
    Op::Exec {
        script,
        stdin: None,
        timeout_secs: 600,
    }
}

fn exec_stdin(script: &str, stdin: String) -> Op {
    Op::Exec {
        script: script.to_string(),
        stdin: Some(stdin),
        timeout_secs: 600,
    }
}

fn perms_text(p: &Perms) -> String {
    format!("{}:{} {:04o}", p.owner, p.group, p.mode)
}

fn plan_one(
    inp: &Inputs<'_>,
    r: &Resource,
    facts: &Facts,
    notified: &mut BTreeSet<String>,
) -> Result<Option<Change>, String> {
    let os = &facts.os;
    Ok(match &r.kind {
        Kind::Packages { names } => {
            let missing: Vec<String> = names
                .iter()
                .filter(|n| !facts.packages.contains_key(*n))
                .cloned()
                .collect();
            (!missing.is_empty()).then(|| {
                let ops = vec![exec(hostops::install(os, &missing))];
                change(
                    r,
                    Action::Create,
                    format!("not installed: {}", missing.join(" ")),
                    ops,
                )
            })
        }
        Kind::File {
            path,
            content,
            perms,
            notify,
        } => {
            let desired = placeholder::resolve(content, inp.secrets).map_err(|e| e.to_string())?;
            let current = facts.file(path);
            let (action, reason, old) = match current {
                None => (Action::Create, "does not exist".to_string(), String::new()),
                Some(f) if f.kind != FileKind::File => {
                    return Err(format!(
                        "{}: {path} exists but is not a regular file",
                        r.source
                    ));
                }
                Some(f) => {
                    let old = f.content.clone().unwrap_or_default();
                    let mut why = Vec::new();
                    if old != desired {
                        why.push("content differs".to_string());
                    }
                    if f.perms != *perms {
                        why.push(format!("{} → {}", perms_text(&f.perms), perms_text(perms)));
                    }
                    if why.is_empty() {
                        return Ok(None);
                    }
                    (Action::Update, why.join("; "), old)
                }
            };
            let mut ops: Vec<Op> = notify
                .iter()
                .map(|s| exec(hostops::journal_add(s)))
                .collect();
            notified.extend(notify.iter().cloned());
            ops.push(Op::Write {
                path: path.clone(),
                perms: perms.clone(),
                content: content.clone(),
            });
            let mut c = change(r, action, reason, ops);
            if old != desired {
                c.diff = Some(diff(path, &old, &desired, inp.masker, content));
            }
            Some(c)
        }
        Kind::Directory { path, perms } => match facts.file(path) {
            None => Some(change(
                r,
                Action::Create,
                "does not exist",
                vec![exec(hostops::mkdir(path, perms))],
            )),
            Some(f) if f.kind != FileKind::Directory => {
                return Err(format!(
                    "{}: {path} exists but is not a directory",
                    r.source
                ));
            }
            Some(f) if f.perms != *perms => Some(change(
                r,
                Action::Update,
                format!("{} → {}", perms_text(&f.perms), perms_text(perms)),
                vec![exec(hostops::set_perms(path, perms))],
            )),
            Some(_) => None,
        },
        Kind::IniEdit {
            path,
            settings,
            perms,
            notify,
        } => {
            let current = facts
                .file(path)
                .and_then(|f| f.content.clone().map(|c| (c, f.perms.clone())));
            let (reason, diff_text) = match &current {
                None => (
                    "file not there yet: keys are set once its package has installed it"
                        .to_string(),
                    None,
                ),
                Some((old, old_perms)) => {
                    let mut resolved = settings.clone();
                    for s in &mut resolved {
                        s.value = placeholder::resolve(&s.value, inp.secrets)
                            .map_err(|e| e.to_string())?;
                    }
                    let new = crate::ini::apply(old, &resolved);
                    if new == *old && old_perms == perms {
                        return Ok(None);
                    }
                    let mut why = Vec::new();
                    let changed: Vec<String> = resolved
                        .iter()
                        .filter(|s| {
                            crate::ini::get(old, &s.section, &s.key).as_deref()
                                != Some(s.value.as_str())
                        })
                        .map(|s| format!("[{}] {}", s.section, s.key))
                        .collect();
                    if !changed.is_empty() {
                        why.push(format!("keys differ: {}", changed.join(", ")));
                    }
                    if old_perms != perms {
                        why.push(format!("{} → {}", perms_text(old_perms), perms_text(perms)));
                    }
                    (
                        why.join("; "),
                        (new != *old).then(|| {
                            let template: String = settings.iter().map(|s| format!("{} = {}\n", s.key, s.value)).collect();
                            diff(path, old, &new, inp.masker, &template)
                        }),
                    )
                }
            };
            let mut ops: Vec<Op> = notify
                .iter()
                .map(|s| exec(hostops::journal_add(s)))
                .collect();
            notified.extend(notify.iter().cloned());
            ops.push(Op::IniEdit {
                path: path.clone(),
                perms: perms.clone(),
                settings: settings.clone(),
            });
            let mut c = change(r, Action::Update, reason, ops);
            c.diff = diff_text;
            Some(c)
        }
        Kind::Service {
            name,
            enabled,
            running,
            port,
        } => {
            let f = facts.service(name);
            let mut ops = Vec::new();
            let mut why = Vec::new();
            if *enabled && !f.enabled {
                ops.push(exec(hostops::service(os, name, "enable")));
                why.push(if f.exists {
                    "not enabled"
                } else {
                    "not installed yet; will be enabled"
                });
            }
            // a notified service is restarted even when it looks stopped: packages
            // start daemons before their config is written, and restart also starts
            let restart = notified.remove(name);
            if *running && restart {
                ops.push(exec(hostops::service(os, name, "restart")));
                why.push(if facts.pending_restarts.contains(name) {
                    "restart left pending by an interrupted run"
                } else {
                    "configuration changed: restart"
                });
            } else if *running && !f.running {
                ops.push(exec(hostops::service(os, name, "start")));
                why.push(if f.exists {
                    "not running"
                } else {
                    "will be started"
                });
            }
            let started = ops.iter().any(|o| matches!(o, Op::Exec { script, .. } if script.contains("start")));
            if let (true, Some(port)) = (started, port) {
                ops.push(exec(hostops::wait_for_port(*port, 120)));
            }
            if restart {
                ops.push(exec(hostops::journal_clear(name)));
            }
            (!ops.is_empty()).then(|| {
                let action = if restart { Action::Run } else { Action::Update };
                change(r, action, why.join("; "), ops)
            })
        }
        Kind::Command {
            name: _,
            run,
            user,
            stdin,
            creates,
            unless,
            notify,
            timeout_secs,
            explain,
            ..
        } => {
            if let Some(c) = creates
                && facts.file(c).is_some()
            {
                return Ok(None);
            }
            if let Some(u) = unless
                && facts.checks.get(u) == Some(&0)
            {
                return Ok(None);
            }
            let reason = match (creates, unless) {
                (Some(c), _) if facts.file(c).is_none() => format!("{c} does not exist"),
                (_, Some(u)) => explain.clone().unwrap_or_else(|| format!("check failed: {u}")),
                _ => "guard not met".to_string(),
            };
            let mut ops: Vec<Op> = notify
                .iter()
                .map(|s| exec(hostops::journal_add(s)))
                .collect();
            notified.extend(notify.iter().cloned());
            ops.push(Op::Exec {
                script: hostops::command(run, user.as_deref()),
                stdin: stdin.clone(),
                timeout_secs: *timeout_secs,
            });
            Some(change(r, Action::Run, reason, ops))
        }
        Kind::SqlDatabase {
            name,
            charset,
            collation,
        } => {
            let exists = facts
                .sql
                .as_ref()
                .is_some_and(|s| s.databases.contains(name));
            (!exists).then(|| {
                let sql = format!("CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET {charset} COLLATE {collation};\n");
                change(r, Action::Create, sql_reason(facts, "database does not exist"), vec![exec_stdin(hostops::MYSQL, sql)])
            })
        }
        Kind::SqlUser {
            name,
            password,
            syntax,
        } => {
            let sql_facts = facts.sql.as_ref();
            let missing: Vec<&str> = SQL_USER_HOSTS
                .iter()
                .copied()
                .filter(|h| !sql_facts.is_some_and(|s| s.users.contains(&format!("{name}@{h}"))))
                .collect();
            let login_ok = sql_facts
                .and_then(|s| s.logins.get(name))
                .copied()
                .unwrap_or(false);
            if missing.is_empty() && login_ok {
                return Ok(None);
            }
            let pw = placeholder::of(password, Encoding::Sql);
            let mut sql = String::new();
            for h in SQL_USER_HOSTS {
                match syntax {
                    SqlUserSyntax::Create => sql.push_str(&format!("CREATE USER IF NOT EXISTS '{name}'@'{h}' IDENTIFIED BY {pw};\nALTER USER '{name}'@'{h}' IDENTIFIED BY {pw};\n")),
                    // MySQL 5.1 and MariaDB 5.5: GRANT creates the user or sets its password
                    SqlUserSyntax::Grant => sql.push_str(&format!("GRANT USAGE ON *.* TO '{name}'@'{h}' IDENTIFIED BY {pw};\n")),
                }
            }
            let (action, reason) = if !missing.is_empty() {
                (
                    Action::Create,
                    sql_reason(facts, &format!("missing at {}", missing.join(", "))),
                )
            } else {
                (
                    Action::Update,
                    "logging in with the password from the secrets file failed".to_string(),
                )
            };
            Some(change(
                r,
                action,
                reason,
                vec![exec_stdin(hostops::MYSQL, sql)],
            ))
        }
        Kind::SqlGrant { user, database } => {
            let missing: Vec<&str> = SQL_USER_HOSTS
                .iter()
                .copied()
                .filter(|h| {
                    !facts
                        .sql
                        .as_ref()
                        .is_some_and(|s| s.grants.contains(&format!("{user}@{h}@{database}")))
                })
                .collect();
            (!missing.is_empty()).then(|| {
                let sql: String = missing
                    .iter()
                    .map(|h| format!("GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'{h}';\n"))
                    .collect();
                change(
                    r,
                    Action::Create,
                    sql_reason(facts, &format!("no grant at {}", missing.join(", "))),
                    vec![exec_stdin(hostops::MYSQL, sql)],
                )
            })
        }
        Kind::KeystoneApi { .. }
        | Kind::KeystoneProject { .. }
        | Kind::KeystoneUser { .. }
        | Kind::KeystoneRole { .. }
        | Kind::KeystoneAssignment { .. }
        | Kind::KeystoneService { .. }
        | Kind::KeystoneEndpoints { .. }
        // planned by plan_catalog
        | Kind::KeystoneEndpoint { .. } => None,
    })
}

/// Catalog resources, compared with the catalog read through the API.
fn plan_catalog(
    r: &Resource,
    facts: &Facts,
    api: &mut Option<Admin>,
) -> Result<Option<Change>, String> {
    if let Kind::KeystoneApi { admin } = &r.kind {
        // a second role using the same API needs no second wait
        if api.as_ref() == Some(admin) {
            return Ok(None);
        }
        *api = Some(admin.clone());
        return Ok(
            match facts.catalog.as_ref().and_then(|c| c.unavailable.as_ref()) {
                None if facts.catalog.is_some() => None,
                why => Some(change(
                    r,
                    Action::Run,
                    match why {
                        Some(w) if w.starts_with("Keystone refuses") => {
                            format!("{w}; apply fails unless a step above fixes that")
                        }
                        w => format!(
                            "the API does not answer yet ({})",
                            w.map_or("not asked", String::as_str)
                        ),
                    },
                    vec![Op::Keystone {
                        admin: admin.clone(),
                        call: Call::Wait { timeout_secs: 180 },
                    }],
                )),
            },
        );
    }
    let Some(admin) = api.clone() else {
        return Err(format!(
            "{}: a catalog resource needs a `keystone_api` before it",
            r.source
        ));
    };
    match (&r.kind, admin.is_v2()) {
        (Kind::KeystoneEndpoint { .. }, true) => {
            return Err(format!(
                "{}: `keystone_endpoint` needs the v3 API; after a v2.0 `keystone_api` use `keystone_endpoints`",
                r.source
            ));
        }
        (Kind::KeystoneEndpoints { .. }, false) => {
            return Err(format!(
                "{}: `keystone_endpoints` needs a v2.0 `keystone_api` before it",
                r.source
            ));
        }
        _ => {}
    }
    plan_catalog_change(r, facts, admin)
}

/// One catalog resource against the catalog facts, through `admin`'s API.
fn plan_catalog_change(
    r: &Resource,
    facts: &Facts,
    admin: Admin,
) -> Result<Option<Change>, String> {
    let empty = CatalogFacts::default();
    let (c, down) = match facts.catalog.as_ref() {
        Some(c) if c.unavailable.is_none() => (c, false),
        _ => (&empty, true),
    };
    let op = |call: Call| {
        vec![Op::Keystone {
            admin: admin.clone(),
            call,
        }]
    };
    let missing = |what: &str| {
        if down {
            format!("{what} (Keystone is not answering yet)")
        } else {
            what.to_string()
        }
    };
    Ok(match &r.kind {
        Kind::KeystoneProject { name, description } => {
            (!c.projects.contains_key(name)).then(|| {
                change(
                    r,
                    Action::Create,
                    missing("does not exist"),
                    op(Call::CreateProject {
                        name: name.clone(),
                        description: description.clone(),
                    }),
                )
            })
        }
        Kind::KeystoneUser { name, password } => {
            if !c.users.contains_key(name) {
                Some(change(
                    r,
                    Action::Create,
                    missing("does not exist"),
                    op(Call::CreateUser {
                        name: name.clone(),
                        password: password.clone(),
                    }),
                ))
            } else if c.logins.get(name) != Some(&true) {
                Some(change(
                    r,
                    Action::Update,
                    "logging in with the password from the secrets file failed",
                    op(Call::SetPassword {
                        name: name.clone(),
                        password: password.clone(),
                    }),
                ))
            } else {
                None
            }
        }
        Kind::KeystoneRole { name } => (!c.roles.contains_key(name)).then(|| {
            change(
                r,
                Action::Create,
                missing("does not exist"),
                op(Call::CreateRole { name: name.clone() }),
            )
        }),
        Kind::KeystoneAssignment {
            user,
            project,
            role,
        } => (!c
            .assignments
            .contains(&(user.clone(), project.clone(), role.clone())))
        .then(|| {
            change(
                r,
                Action::Create,
                missing("not assigned"),
                op(Call::Assign {
                    user: user.clone(),
                    project: project.clone(),
                    role: role.clone(),
                }),
            )
        }),
        Kind::KeystoneService {
            name,
            service_type,
            description,
        } => (!c.services.contains_key(service_type)).then(|| {
            change(
                r,
                Action::Create,
                missing("does not exist"),
                op(Call::CreateService {
                    name: name.clone(),
                    service_type: service_type.clone(),
                    description: description.clone(),
                }),
            )
        }),
        Kind::KeystoneEndpoint {
            service_type,
            interface,
            region,
            url,
        } => {
            let found = c.endpoints.iter().find(|e| {
                e.service_type == *service_type && e.interface == *interface && e.region == *region
            });
            match found {
                None => Some(change(
                    r,
                    Action::Create,
                    missing("does not exist"),
                    op(Call::CreateEndpoint {
                        service_type: service_type.clone(),
                        interface: interface.clone(),
                        region: region.clone(),
                        url: url.clone(),
                    }),
                )),
                Some(e) if e.url != *url => Some(change(
                    r,
                    Action::Update,
                    format!("url {} → {url}", e.url),
                    op(Call::UpdateEndpoint {
                        id: e.id.clone(),
                        url: url.clone(),
                    }),
                )),
                Some(_) => None,
            }
        }
        Kind::KeystoneEndpoints {
            service_type,
            region,
            publicurl,
            internalurl,
            adminurl,
        } => {
            let mine: Vec<&crate::facts::catalog::EndpointFact> = c
                .endpoints
                .iter()
                .filter(|e| e.service_type == *service_type && e.region == *region)
                .collect();
            let want = [
                ("admin", adminurl),
                ("internal", internalurl),
                ("public", publicurl),
            ];
            let differs: Vec<String> = want
                .iter()
                .filter_map(
                    |(iface, url)| match mine.iter().find(|e| e.interface == *iface) {
                        Some(e) if e.url == **url => None,
                        Some(e) => Some(format!("{iface}url {} → {url}", e.url)),
                        None => Some(format!("no {iface}url")),
                    },
                )
                .collect();
            match mine.first() {
                None => Some(change(
                    r,
                    Action::Create,
                    missing("does not exist"),
                    op(Call::CreateEndpointV2 {
                        service_type: service_type.clone(),
                        region: region.clone(),
                        publicurl: publicurl.clone(),
                        internalurl: internalurl.clone(),
                        adminurl: adminurl.clone(),
                    }),
                )),
                Some(e) if !differs.is_empty() => Some(change(
                    r,
                    Action::Update,
                    differs.join("; "),
                    op(Call::ReplaceEndpointV2 {
                        id: e.id.clone(),
                        service_type: service_type.clone(),
                        region: region.clone(),
                        publicurl: publicurl.clone(),
                        internalurl: internalurl.clone(),
                        adminurl: adminurl.clone(),
                    }),
                )),
                Some(_) => None,
            }
        }
        _ => None,
    })
}

fn sql_reason(facts: &Facts, why: &str) -> String {
    if facts.sql.is_none() {
        format!("{why} (MariaDB is not running yet)")
    } else {
        why.to_string()
    }
}

/// Mask, in a file's text, the lines where the template puts a secret: the
/// value there may be one the secrets file no longer knows (rotated, or from
/// another secrets file), which the masker cannot recognise by value.
pub fn mask_secret_lines(text: &str, template: &str) -> String {
    let patterns: Vec<(String, String)> = template
        .lines()
        .filter_map(|l| {
            let start = l.find("((secret:")?;
            let end = l.rfind("))")? + 2;
            Some((l[..start].to_string(), l[end..].to_string()))
        })
        .filter(|(prefix, _)| !prefix.trim().is_empty())
        .collect();
    if patterns.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        // placeholders (saved facts) are reversible and already safe
        let masked = (!has_secrets(body)).then_some(()).and_then(|()| {
            patterns.iter().find_map(|(prefix, suffix)| {
                // `key = value` lines match by key, however the file spaces them
                if let Some(key) = prefix.trim_end().strip_suffix('=').map(str::trim)
                    && !key.is_empty()
                    && !body.trim_start().starts_with(['#', ';'])
                    && let Some((k, v)) = body.split_once('=')
                    && k.trim() == key
                {
                    let lead = v.len() - v.trim_start().len();
                    return Some(format!("{k}={}{MASK}", &v[..lead]));
                }
                (body.starts_with(prefix.as_str())
                    && body.ends_with(suffix.as_str())
                    && body.len() >= prefix.len() + suffix.len())
                .then(|| format!("{prefix}{MASK}{suffix}"))
            })
        });
        out.push_str(masked.as_deref().unwrap_or(body));
        out.push_str(nl);
    }
    out
}

/// A unified diff with secrets masked; hunk headers name the INI section.
pub fn diff(path: &str, old: &str, new: &str, masker: &Masker, template: &str) -> String {
    let old_m = mask_secret_lines(&masker.mask(old), template);
    let new_m = mask_secret_lines(&masker.mask(new), template);
    let td = similar::TextDiff::from_lines(old_m.as_str(), new_m.as_str());
    let mut out = format!("--- {path} (current)\n+++ {path} (planned)\n");
    let mut ud = td.unified_diff();
    ud.context_radius(3);
    if ud.iter_hunks().next().is_none() {
        out.push_str("(only secret values differ; they are not shown)\n");
        return out;
    }
    for hunk in ud.iter_hunks() {
        let body = hunk.to_string();
        let section = hunk.ops().first().and_then(|op| {
            crate::ini::section_at(&new_m, op.new_range().start + 3.min(op.new_range().len()))
        });
        let mut lines = body.lines();
        if let Some(header) = lines.next() {
            match section {
                Some(s) => out.push_str(&format!("{header} [{s}]\n")),
                None => out.push_str(&format!("{header}\n")),
            }
        }
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}
