//! How the fake host interprets the scripts stackprov runs (everything but the
//! facts script): apt-get installs from its catalog, systemctl, the restart
//! journal, mkdir/chown, SQL on stdin, and guarded commands with their effects.

use super::keystone::FakeKeystone;
use super::{FakeFile, FakeHost, FakeService, between, fail, ok, unquote};
use crate::facts::JOURNAL;
use crate::model::Perms;
use crate::transport::ExecOutput;

impl FakeHost {
    pub(super) fn run_op(&mut self, script: &str, stdin: &str) -> ExecOutput {
        self.log.push(script.to_string());
        if !stdin.is_empty() {
            self.stdins.push(stdin.to_string());
        }
        if let Some((text, flag)) = &self.interrupt_during
            && script.contains(text.as_str())
        {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            self.interrupt_during = None;
        }
        if let Some(f) = self.fail_once.clone()
            && script.contains(&f)
        {
            self.fail_once = None;
            return fail(100, "E: simulated failure");
        }
        if script.starts_with("ino=$(stat -c %i ") {
            // who holds a lock: the process the test says
            return ok(self
                .lock_holder
                .as_ref()
                .map(|h| format!("{h}\n"))
                .unwrap_or_default());
        }
        if script.starts_with("i=0; until") {
            // waiting for a port: the fake's daemons listen as soon as they run
            return ok("");
        }
        if script.contains("apt-get install") {
            return self.apt_install(script);
        }
        if let Some(rest) = script.strip_prefix("systemctl ") {
            return self.systemctl(rest);
        }
        if script.contains(JOURNAL) {
            return self.journal(script);
        }
        if script.starts_with("mkdir -p ") || script.starts_with("chown ") {
            return self.mkdir_chown(script);
        }
        if script.starts_with("mysql -N -B") {
            return self.mysql(stdin);
        }
        if let Some(rest) = script.strip_prefix("cd / && ") {
            return self.command(rest, stdin);
        }
        fail(127, &format!("fake host: unknown command: {script}"))
    }

    /// `apt-get install` from the fake's catalog: the packages' files,
    /// directories and services (not started when a policy-rc.d holds them back).
    fn apt_install(&mut self, script: &str) -> ExecOutput {
        // a policy-rc.d that holds services back: their packages do not start them
        let held: Vec<String> = between(script, "'case ${a%.service} in ", ") exit 101")
            .map(|l| l.split('|').map(str::to_string).collect())
            .unwrap_or_default();
        let from = script.find("apt-get install").unwrap_or(0);
        let first = script[from..].split(" || ").next().unwrap_or_default();
        let names = first.rsplit("--force-confold ").next().unwrap_or_default();
        for n in names.split_whitespace().map(unquote) {
            let Some(p) = self.catalog.get(&n).cloned() else {
                return fail(100, &format!("E: Unable to locate package {n}"));
            };
            for d in &p.dirs {
                self.add_dir(d, "root", "root", 0o755);
            }
            for (path, content) in &p.files {
                self.add_file(path, content, "root", "root", 0o644);
            }
            for s in &p.services {
                let running = !held.contains(s);
                self.services.insert(
                    s.clone(),
                    FakeService {
                        enabled: true,
                        running,
                        ..Default::default()
                    },
                );
                if s == "mariadb" && running {
                    self.sql_running = true;
                }
            }
            self.packages.insert(n);
        }
        ok("")
    }

    /// `systemctl ACTION NAME`.
    fn systemctl(&mut self, rest: &str) -> ExecOutput {
        let (action, name) = rest.split_once(' ').unwrap_or((rest, ""));
        let Some(s) = self.services.get_mut(&unquote(name)) else {
            return fail(
                5,
                &format!("Failed to {action} {name}.service: Unit not found."),
            );
        };
        match action {
            "enable" => s.enabled = true,
            "start" => {
                s.running = true;
                s.starts += 1
            }
            "restart" => {
                s.running = true;
                s.restarts += 1
            }
            _ => {}
        }
        if unquote(name) == "mariadb" && s.running {
            self.sql_running = true;
        }
        ok("")
    }

    /// An entry added to or removed from the restart journal.
    fn journal(&mut self, script: &str) -> ExecOutput {
        let mut entries: Vec<String> = self
            .file_text(JOURNAL)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        if script.starts_with("mkdir") {
            let name = unquote(between(script, "grep -qx ", " ").unwrap_or_default());
            if !entries.contains(&name) {
                entries.push(name);
            }
        } else if let Some(name) = between(script, "sed -i '/^", "$/d'") {
            entries.retain(|e| e != name);
        }
        self.add_dir("/var/lib/stackprov", "root", "root", 0o755);
        let text: String = entries.iter().map(|e| format!("{e}\n")).collect();
        self.add_file(JOURNAL, &text, "root", "root", 0o644);
        ok("")
    }

    /// A directory made, or a file's or directory's owner and mode set.
    fn mkdir_chown(&mut self, script: &str) -> ExecOutput {
        let path = if let Some(r) = script.strip_prefix("mkdir -p ") {
            unquote(r.split(" && ").next().unwrap_or_default())
        } else {
            unquote(script.rsplit(' ').next().unwrap_or_default())
        };
        let owner = between(script, "chown ", ":").unwrap_or("root").to_string();
        let group = between(script, ":", " ").unwrap_or("root").to_string();
        let mode = between(script, "chmod ", " ")
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .unwrap_or(0o755);
        let is_dir = script.starts_with("mkdir") || self.files.get(&path).is_some_and(|f| f.dir);
        let content = self
            .files
            .get(&path)
            .map(|f| f.content.clone())
            .unwrap_or_default();
        self.files.insert(
            path,
            FakeFile {
                content,
                perms: Perms {
                    owner: unquote(&owner),
                    group: unquote(&group),
                    mode,
                },
                dir: is_dir,
            },
        );
        ok("")
    }

    /// SQL on stdin: databases, users and grants.
    fn mysql(&mut self, stdin: &str) -> ExecOutput {
        if !self.sql_running {
            return fail(
                1,
                "ERROR 2002 (HY000): Can't connect to local server through socket",
            );
        }
        for stmt in stdin.split(";\n") {
            if let Some(db) = between(stmt, "CREATE DATABASE IF NOT EXISTS `", "`") {
                self.databases.insert(db.to_string());
            } else if stmt.starts_with("CREATE USER") || stmt.starts_with("ALTER USER") {
                let user = between(stmt, "USER IF NOT EXISTS '", "'")
                    .or_else(|| between(stmt, "ALTER USER '", "'"))
                    .unwrap_or_default();
                let host = between(stmt, "'@'", "'").unwrap_or_default();
                let pw = stmt
                    .split("IDENTIFIED BY '")
                    .nth(1)
                    .map(|p| {
                        p.trim_end_matches('\'')
                            .replace("''", "'")
                            .replace("\\\\", "\\")
                    })
                    .unwrap_or_default();
                let key = format!("{user}@{host}");
                if stmt.starts_with("ALTER") || !self.sql_users.contains_key(&key) {
                    self.sql_users.insert(key, pw);
                }
            } else if let Some(db) = between(stmt, "ON `", "`") {
                let user = between(stmt, "TO '", "'").unwrap_or_default();
                let host = between(stmt, "'@'", "'").unwrap_or_default();
                self.grants.insert(format!("{user}@{host}@{db}"));
            }
        }
        ok("")
    }

    /// A guarded command (`cd / && …`, perhaps as another user): Keystone's
    /// bootstrap, the effects the test gave, `touch` and `false`.
    fn command(&mut self, rest: &str, stdin: &str) -> ExecOutput {
        let cmd = if rest.starts_with("su -s /bin/sh -c ") {
            let quoted = rest.trim_start_matches("su -s /bin/sh -c ");
            let end = quoted.rfind(' ').unwrap_or(quoted.len());
            unquote(&quoted[..end])
        } else {
            rest.to_string()
        };
        if cmd.contains("keystone-manage bootstrap") && self.keystone.is_none() {
            let pw = stdin.lines().next().unwrap_or_default();
            self.keystone = Some(FakeKeystone::bootstrap(
                pw,
                "RegionOne",
                "http://controller:5000/v3/",
            ));
        }
        for (needle, files, checks) in self.command_effects.clone() {
            if cmd.contains(&needle) {
                for f in files {
                    self.add_file(&f, "", "root", "root", 0o600);
                }
                self.passing_checks.extend(checks);
            }
        }
        for part in cmd.split(" && ") {
            if let Some(p) = part.strip_prefix("touch ") {
                let p = unquote(p);
                self.add_file(&p, "", "root", "root", 0o644);
            } else if part == "false" {
                return fail(1, "");
            }
        }
        ok("")
    }
}
