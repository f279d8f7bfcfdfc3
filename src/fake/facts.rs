//! How the fake host answers the facts script: it walks the script line by line
//! and prints what each probe would (package states, file stats and contents,
//! services, guard checks, SQL state and logins, the restart journal).

use super::{FakeHost, between, ok, unquote};
use crate::facts::JOURNAL;
use crate::transport::ExecOutput;

impl FakeHost {
    pub(super) fn facts(&mut self, script: &str, stdin: &str) -> ExecOutput {
        let mut out = String::new();
        let mut logins = stdin.lines();
        let lines: Vec<&str> = script.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            i += 1;
            if let Some(m) = l.strip_prefix("echo '@@stackprov") {
                out.push_str("@@stackprov");
                out.push_str(m.trim_end_matches('\''));
                out.push('\n');
                continue;
            }
            if l.starts_with("dpkg-query") {
                let names = l.rsplit("\\n' ").next().unwrap_or_default();
                for n in names.split_whitespace().map(unquote) {
                    if self.packages.contains(&n) {
                        out.push_str(&format!("{n}\tii \t1.0\n"));
                    }
                }
            } else if let Some(rest) = l.strip_prefix("st=$(stat -c '%F|%U|%G|%a|%s' ") {
                let path = unquote(rest.trim_end_matches(") && echo \"$st\" || echo missing"));
                match self.files.get(&path) {
                    None => out.push_str("missing\n"),
                    Some(f) => out.push_str(&format!(
                        "{}|{}|{}|{:o}|{}\n",
                        if f.dir { "directory" } else { "regular file" },
                        f.perms.owner,
                        f.perms.group,
                        f.perms.mode,
                        f.content.len()
                    )),
                }
            } else if l.starts_with("[ -f ") && l.contains("base64 -w0") {
                let path = unquote(between(l, "[ -f ", " ]").unwrap_or_default());
                if let Some(f) = self.files.get(&path).filter(|f| !f.dir) {
                    use base64::Engine;
                    out.push_str(&base64::engine::general_purpose::STANDARD.encode(&f.content));
                }
                out.push('\n');
            } else if let Some(rest) = l.strip_prefix("if systemctl cat ") {
                let name = unquote(rest.split(".service").next().unwrap_or_default());
                if let Some(s) = self.services.get(&name) {
                    out.push_str("exists\n");
                    out.push_str(if s.enabled { "enabled\n" } else { "disabled\n" });
                    out.push_str(if s.running { "active\n" } else { "inactive\n" });
                }
            } else if let Some(rest) = l.strip_prefix("( ") {
                let check = rest.split(" ) </dev/null").next().unwrap_or_default();
                out.push_str(&format!("{}\n", self.check(check)));
            } else if let Some(rest) =
                l.strip_prefix("IFS= read -r l; printf '%s' \"$l\" | base64 -d | ( ")
            {
                // a check that reads a secret: it consumes one stdin line
                let _ = logins.next();
                let check = rest.split(" ) >/dev/null").next().unwrap_or_default();
                out.push_str(&format!("{}\n", self.check(check)));
            } else if l.starts_with("if mysql -N -B -e 'SELECT 1'") {
                if self.sql_running {
                    out.push_str("ok\n");
                    for d in &self.databases {
                        out.push_str(&format!("db {d}\n"));
                    }
                    for u in self.sql_users.keys() {
                        out.push_str(&format!("user {u}\n"));
                    }
                    for g in &self.grants {
                        out.push_str(&format!("grant {g}\n"));
                    }
                }
            } else if l.contains("mysql --defaults-extra-file") && self.sql_running {
                let user = between(l, "echo 'login ", " ok'")
                    .unwrap_or_default()
                    .to_string();
                let cnf = logins.next().map(|b| {
                    use base64::Engine;
                    String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .unwrap_or_default(),
                    )
                    .unwrap_or_default()
                });
                let given = cnf
                    .as_deref()
                    .and_then(|c| between(c, "password=\"", "\"\n"))
                    .map(|p| p.replace("\\\"", "\"").replace("\\\\", "\\"));
                let good = given.is_some()
                    && self.sql_users.get(&format!("{user}@localhost")) == given.as_ref();
                out.push_str(&format!(
                    "login {user} {}\n",
                    if good { "ok" } else { "bad" }
                ));
            } else if l.starts_with("cat ")
                && l.contains(JOURNAL)
                && let Some(t) = self.file_text(JOURNAL)
            {
                out.push_str(&t);
            }
        }
        ok(out)
    }

    /// Guard checks the fake understands: `test -e PATH`, `! grep -qs 'TEXT'
    /// PATH`, `true`, `false`.
    fn check(&self, check: &str) -> i32 {
        if let Some(rest) = check.strip_prefix("! grep -qs '")
            && let Some((text, path)) = rest.split_once("' ")
        {
            let found = self
                .file_text(&unquote(path))
                .is_some_and(|t| t.contains(text));
            return if found { 1 } else { 0 };
        }
        if let Some(p) = check.strip_prefix("test -e ") {
            return if self.files.contains_key(&unquote(p)) {
                0
            } else {
                1
            };
        }
        if check == "true"
            || self
                .passing_checks
                .iter()
                .any(|c| check.contains(c.as_str()))
        {
            return 0;
        }
        1
    }
}
