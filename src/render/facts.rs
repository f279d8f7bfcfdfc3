//! `stackprov facts` for people.

use super::{Style, safe};
use crate::facts::Facts;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `stackprov facts` for people: what the planner knows about one host.
pub fn facts_text(host: &str, f: &Facts, style: Style) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", style.bold(host));
    os(&mut s, f);
    packages(&mut s, f, style);
    files(&mut s, f, style);
    services(&mut s, f, style);
    checks(&mut s, f, style);
    sql(&mut s, f, style);
    catalog(&mut s, f, style);
    amqp(&mut s, f, style);
    pending_restarts(&mut s, f, style);
    s
}

fn os(s: &mut String, f: &Facts) {
    use crate::facts::{Init, PackageManager};
    let pm = match f.os.package_manager {
        PackageManager::Apt => "apt",
        PackageManager::Yum => "yum",
        PackageManager::Dnf => "dnf",
    };
    let init = match f.os.init {
        Init::Systemd => "systemd",
        Init::Sysv => "SysV init",
    };
    let container = if f.os.container {
        ", in a container"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "  os: {}; {pm}, {init}{container}",
        safe(&f.os.pretty_name)
    );
}

fn packages(s: &mut String, f: &Facts, style: Style) {
    let _ = writeln!(
        s,
        "  packages: {} of {} installed",
        f.packages.len(),
        f.query.packages.len()
    );
    for p in &f.query.packages {
        match f.packages.get(p) {
            Some(v) => {
                let _ = writeln!(s, "    {} {}", safe(p), safe(v));
            }
            None => {
                let _ = writeln!(s, "    {} {}", safe(p), style.yellow("(not installed)"));
            }
        }
    }
}

fn files(s: &mut String, f: &Facts, style: Style) {
    use crate::facts::FileKind;
    let paths: std::collections::BTreeSet<&String> =
        f.query.stats.iter().chain(&f.query.contents).collect();
    let _ = writeln!(s, "  files: {} of {} present", f.files.len(), paths.len());
    for p in paths {
        match f.files.get(p) {
            Some(ff) => {
                let kind = match ff.kind {
                    FileKind::File => "file",
                    FileKind::Directory => "directory",
                    FileKind::Other => "other",
                };
                let _ = writeln!(
                    s,
                    "    {} {kind} {}:{} {:04o}",
                    safe(p),
                    safe(&ff.perms.owner),
                    safe(&ff.perms.group),
                    ff.perms.mode
                );
            }
            None => {
                let _ = writeln!(s, "    {} {}", safe(p), style.yellow("(absent)"));
            }
        }
    }
}

fn services(s: &mut String, f: &Facts, style: Style) {
    if f.services.is_empty() {
        return;
    }
    let _ = writeln!(s, "  services:");
    for (name, sf) in &f.services {
        let state = if !sf.exists {
            style.yellow("not installed")
        } else {
            format!(
                "{}, {}",
                if sf.enabled { "enabled" } else { "disabled" },
                if sf.running { "running" } else { "stopped" }
            )
        };
        let _ = writeln!(s, "    {} {state}", safe(name));
    }
}

fn checks(s: &mut String, f: &Facts, style: Style) {
    if f.checks.is_empty() {
        return;
    }
    let _ = writeln!(s, "  checks (a failing one makes its command run):");
    for (cmd, status) in &f.checks {
        let mark = if *status == 0 {
            style.green("ok   ")
        } else {
            style.yellow("fails")
        };
        let exit = if *status == 0 {
            String::new()
        } else {
            format!(" (exit {status})")
        };
        let _ = writeln!(s, "    {mark} {}{exit}", safe(cmd));
    }
}

/// The password logins checked, after a summary line (empty when none were).
fn logins(l: &BTreeMap<String, bool>) -> String {
    if l.is_empty() {
        return String::new();
    }
    let each: Vec<String> = l
        .iter()
        .map(|(u, ok)| format!("{} {}", safe(u), if *ok { "ok" } else { "refused" }))
        .collect();
    format!("; password logins: {}", each.join(", "))
}

fn sql(s: &mut String, f: &Facts, style: Style) {
    match &f.sql {
        Some(sql) => {
            let _ = writeln!(
                s,
                "  mariadb: {} databases, {} users, {} grants{}",
                sql.databases.len(),
                sql.users.len(),
                sql.grants.len(),
                logins(&sql.logins)
            );
        }
        None if f.query.sql => {
            let _ = writeln!(s, "  mariadb: {}", style.yellow("not running"));
        }
        None => {}
    }
}

fn catalog(s: &mut String, f: &Facts, style: Style) {
    let Some(c) = &f.catalog else {
        return;
    };
    if let Some(why) = &c.unavailable {
        let _ = writeln!(
            s,
            "  keystone catalog: {} ({})",
            style.yellow("unavailable"),
            safe(why)
        );
        return;
    }
    let _ = writeln!(
        s,
        "  keystone catalog: {} projects, {} users, {} roles, {} assignments, {} services, {} endpoints{}",
        c.projects.len(),
        c.users.len(),
        c.roles.len(),
        c.assignments.len(),
        c.services.len(),
        c.endpoints.len(),
        logins(&c.logins)
    );
    for e in &c.endpoints {
        let _ = writeln!(
            s,
            "    {} {} {} {}",
            safe(&e.service_type),
            safe(&e.interface),
            safe(&e.region),
            safe(&e.url)
        );
    }
}

fn amqp(s: &mut String, f: &Facts, style: Style) {
    for (login, a) in &f.amqp {
        let _ = match &a.why {
            None => writeln!(s, "  amqp login {}: ok", safe(login)),
            Some(why) => writeln!(s, "  amqp login {}: {}", safe(login), style.yellow(why)),
        };
    }
}

fn pending_restarts(s: &mut String, f: &Facts, style: Style) {
    if f.pending_restarts.is_empty() {
        return;
    }
    let pending: Vec<&str> = f.pending_restarts.iter().map(String::as_str).collect();
    let _ = writeln!(
        s,
        "  {}: {}",
        style.yellow("restarts left pending by an interrupted run"),
        safe(&pending.join(", "))
    );
}
