//! Facts: what a host looks like, gathered with read-only commands batched into
//! one round trip, and parsed by pure functions tested on recorded output.

pub mod catalog;
pub mod galera;
pub mod os_cache;
pub mod saved;

/// A host's answer that does not read as the facts script's output (or an
/// os-release stackprov does not support).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FactsError(pub String);

impl From<String> for FactsError {
    fn from(message: String) -> Self {
        FactsError(message)
    }
}

impl From<&str> for FactsError {
    fn from(message: &str) -> Self {
        FactsError(message.to_string())
    }
}

use crate::desired::resource::Perms;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The marker that starts each section of the batched facts output.
const MARK: &str = "@@stackprov";

/// What the facts script says when it has no private directory for the
/// database login checks' option files.
const MKTEMP_FAILED: &str = "mktemp -d failed, so there is no private directory for the database login checks (is /tmp full or read-only?)";

/// Where the restart journal lives on the host.
pub const JOURNAL: &str = "/var/lib/stackprov/pending-restarts";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    Debian,
    Rhel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Apt,
    Yum,
    Dnf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    Systemd,
    Sysv,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsFacts {
    /// `debian`, `centos`, `rocky`, ...
    pub id: String,
    pub version: String,
    pub pretty_name: String,
    pub family: OsFamily,
    pub package_manager: PackageManager,
    pub init: Init,
    /// Running in a container (time sync is then the container host's job).
    #[serde(default)]
    pub container: bool,
    /// Processors online (`nproc`); 0 when not known (facts saved before).
    #[serde(default)]
    pub cpus: u32,
}

impl OsFacts {
    pub fn major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// The script that finds the OS (the first round trip; it decides the profile).
pub const OS_SCRIPT: &str = "cat /etc/os-release 2>/dev/null || { echo 'ID=centos'; echo \"PRETTY_NAME=\\\"$(cat /etc/redhat-release)\\\"\"; sed -n 's/.*release \\([0-9.]*\\).*/VERSION_ID=\\1/p' /etc/redhat-release; }; [ -d /run/systemd/system ] && echo STACKPROV_INIT=systemd || echo STACKPROV_INIT=sysv; { [ -s /run/systemd/container ] || systemd-detect-virt -cq 2>/dev/null; } && echo STACKPROV_CONTAINER=yes; echo STACKPROV_CPUS=$(nproc 2>/dev/null); true";

pub fn parse_os(out: &str) -> Result<OsFacts, FactsError> {
    let mut kv = BTreeMap::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.trim(), v.trim().trim_matches('"').to_string());
        }
    }
    let id = kv.get("ID").cloned().unwrap_or_default();
    let like = kv.get("ID_LIKE").cloned().unwrap_or_default();
    let words: Vec<&str> = std::iter::once(id.as_str())
        .chain(like.split_whitespace())
        .collect();
    let family = if words.iter().any(|w| matches!(*w, "debian" | "ubuntu")) {
        OsFamily::Debian
    } else if words
        .iter()
        .any(|w| matches!(*w, "rhel" | "centos" | "fedora" | "rocky" | "almalinux"))
    {
        OsFamily::Rhel
    } else {
        return Err(format!(
            "unsupported operating system `{id}`: stackprov knows the Debian and RHEL families"
        )
        .into());
    };
    let version = kv.get("VERSION_ID").cloned().unwrap_or_default();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let package_manager = match family {
        OsFamily::Debian => PackageManager::Apt,
        OsFamily::Rhel if major < 8 => PackageManager::Yum,
        OsFamily::Rhel => PackageManager::Dnf,
    };
    let init = if kv.get("STACKPROV_INIT").map(String::as_str) == Some("systemd") {
        Init::Systemd
    } else {
        Init::Sysv
    };
    Ok(OsFacts {
        pretty_name: kv.get("PRETTY_NAME").cloned().unwrap_or_else(|| id.clone()),
        id,
        version,
        family,
        package_manager,
        init,
        container: kv.get("STACKPROV_CONTAINER").is_some_and(|v| v == "yes"),
        cpus: kv
            .get("STACKPROV_CPUS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    })
}

/// What the planner needs to know about a host, beyond its OS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactQuery {
    pub packages: BTreeSet<String>,
    /// Paths whose kind, owner, group and mode are needed.
    pub stats: BTreeSet<String>,
    /// Regular files whose content is needed as well (managed files, for diffs).
    pub contents: BTreeSet<String>,
    pub services: BTreeSet<String>,
    /// Guard commands (`unless`): read-only, only their exit status matters.
    pub checks: BTreeSet<String>,
    /// What a check reads on stdin (placeholders), for checks that test a password.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub check_stdin: BTreeMap<String, String>,
    /// Whether MariaDB's databases, users and grants are needed.
    pub sql: bool,
    /// Users whose password is checked by logging in, with the secret holding it.
    pub sql_logins: BTreeMap<String, String>,
    /// The Keystone catalog, read as this admin.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub catalog: Option<crate::plan::catalog::Admin>,
    /// Keystone users whose password is checked by logging in, with the secret holding it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub catalog_logins: BTreeMap<String, String>,
    /// Whether the node's saved Galera state is needed.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub galera: bool,
    /// RabbitMQ logins tried over AMQP (through the tunnel, beside the script).
    #[serde(skip_serializing_if = "BTreeSet::is_empty", default)]
    pub amqp_logins: BTreeSet<crate::desired::resource::AmqpLogin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFact {
    pub kind: FileKind,
    pub perms: Perms,
    /// Content (for regular files in `contents`); secrets as placeholders when saved.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Directory,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ServiceFact {
    /// The unit or init script exists.
    pub exists: bool,
    pub enabled: bool,
    pub running: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlFacts {
    pub databases: BTreeSet<String>,
    /// `user@host`
    pub users: BTreeSet<String>,
    /// `user@host@database` with all privileges
    pub grants: BTreeSet<String>,
    /// user → logging in with the secret's password worked
    pub logins: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub os: OsFacts,
    pub query: FactQuery,
    /// Installed packages with their versions; absent means not installed.
    pub packages: BTreeMap<String, String>,
    /// Absent means the path does not exist.
    pub files: BTreeMap<String, FileFact>,
    pub services: BTreeMap<String, ServiceFact>,
    /// Exit status of each check.
    pub checks: BTreeMap<String, i32>,
    /// `None` when MariaDB is not installed or not running.
    pub sql: Option<SqlFacts>,
    /// Services whose restart a killed run left pending.
    pub pending_restarts: BTreeSet<String>,
    /// The Keystone catalog (when asked for).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub catalog: Option<catalog::CatalogFacts>,
    /// HTTP requests it took to read the catalog (a measurement, not a fact).
    #[serde(skip)]
    pub http_requests: u64,
    /// The node's saved Galera state (when asked for).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub galera: Option<galera::GaleraFacts>,
    /// What each AMQP login showed, by [`AmqpLogin::key`](crate::desired::resource::AmqpLogin::key).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub amqp: BTreeMap<String, AmqpFact>,
}

/// One AMQP login: whether it opened its vhost, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmqpFact {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub why: Option<String>,
}

impl AmqpFact {
    pub fn from_outcome(o: crate::amqp::Outcome) -> AmqpFact {
        use crate::amqp::Outcome;
        let why = match o {
            Outcome::Ok => None,
            Outcome::Refused(m) => Some(format!("the login was refused ({m})")),
            Outcome::NoVhost(m) => Some(format!("the login works, the vhost does not open ({m})")),
            Outcome::Unavailable(m) => Some(format!("RabbitMQ does not answer ({m})")),
        };
        AmqpFact {
            ok: why.is_none(),
            why,
        }
    }
}

/// Base64 without line breaks, as `base64 -w0` prints it.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// Files larger than this are not read for diffs (config files are small).
pub const MAX_CONTENT: u64 = 1024 * 1024;

/// The batched, read-only facts script and its stdin (placeholders for logins).
pub fn script(os: &OsFacts, q: &FactQuery) -> (String, Option<String>) {
    let w = crate::quote::shell_word;
    let mut s = String::from("exec 2>/dev/null\n");
    let mark =
        |s: &mut String, kind: &str, i: usize| s.push_str(&format!("echo '{MARK} {kind} {i}'\n"));
    if !q.packages.is_empty() {
        mark(&mut s, "packages", 0);
        let names: Vec<String> = q.packages.iter().map(|p| w(p)).collect();
        match os.package_manager {
            PackageManager::Apt => s.push_str(&format!("dpkg-query -W -f='${{Package}}\\t${{db:Status-Abbrev}}\\t${{Version}}\\n' {}\n", names.join(" "))),
            PackageManager::Yum | PackageManager::Dnf => s.push_str(&format!("rpm -q --qf '%{{NAME}}\\tii \\t%{{VERSION}}-%{{RELEASE}}\\n' {} | grep -v 'is not installed'\n", names.join(" "))),
        }
    }
    let all: BTreeSet<&String> = q.stats.iter().chain(&q.contents).collect();
    for (i, path) in all.iter().enumerate() {
        mark(&mut s, "file", i);
        let p = w(path);
        // one stat per file: its size, the last field, decides on the content
        s.push_str(&format!(
            "st=$(stat -c '%F|%U|%G|%a|%s' {p}) && echo \"$st\" || echo missing\n"
        ));
        if q.contents.contains(*path) {
            s.push_str(&format!(
                "[ -f {p} ] && [ \"${{st##*|}}\" -le {MAX_CONTENT} ] && base64 -w0 {p}; echo\n"
            ));
        }
    }
    for (i, name) in q.services.iter().enumerate() {
        mark(&mut s, "service", i);
        let n = w(name);
        match os.init {
            Init::Systemd => s.push_str(&format!(
                "if systemctl cat {n}.service >/dev/null; then echo exists; systemctl is-enabled {n}; systemctl is-active {n}; fi\n"
            )),
            Init::Sysv => s.push_str(&format!(
                "if [ -x /etc/init.d/{n} ]; then echo exists; chkconfig --list {n} | grep -q ':on' && echo enabled; service {n} status >/dev/null && echo active; fi\n"
            )),
        }
    }
    // each stdin chunk (a check's input, a login's option file) travels as one
    // base64 line, read in script order; on the host it only ever meets a pipe
    // or a 0700 temp dir
    let mut stdin = String::new();
    for (i, check) in q.checks.iter().enumerate() {
        mark(&mut s, "check", i);
        match q.check_stdin.get(check) {
            Some(input) => {
                s.push_str(&format!("IFS= read -r l; printf '%s' \"$l\" | base64 -d | ( {check} ) >/dev/null; echo $?\n"));
                stdin.push_str(input);
                stdin.push('\u{0}');
            }
            None => s.push_str(&format!("( {check} ) </dev/null >/dev/null; echo $?\n")),
        }
    }
    if q.sql {
        mark(&mut s, "sql", 0);
        s.push_str("if mysql -N -B -e 'SELECT 1' >/dev/null; then\n");
        s.push_str("echo ok\nmysql -N -B -e \"SELECT CONCAT('db ', SCHEMA_NAME) FROM information_schema.SCHEMATA; SELECT CONCAT('user ', User, '@', Host) FROM mysql.user; SELECT CONCAT('grant ', User, '@', Host, '@', Db) FROM mysql.db WHERE Select_priv='Y' AND Insert_priv='Y' AND Update_priv='Y' AND Delete_priv='Y' AND Create_priv='Y' AND Drop_priv='Y' AND Alter_priv='Y' AND Index_priv='Y'\"\n");
        if !q.sql_logins.is_empty() {
            // each stdin line is a base64 client option file; it only ever lands in a
            // private temp dir (umask 077, removed on any exit). Without that dir the
            // script stops with an error section: the files are never written elsewhere.
            s.push_str("umask 077\n");
            s.push_str(&format!(
                "d=$(mktemp -d) && [ -d \"$d\" ] && chmod 700 \"$d\" || {{ echo '{MARK} error 0'; echo '{MKTEMP_FAILED}'; exit 1; }}\n"
            ));
            s.push_str("trap 'rm -rf \"$d\"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM\n");
            for (user, secret) in &q.sql_logins {
                s.push_str(&format!(
                    "IFS= read -r l; printf '%s' \"$l\" | base64 -d > \"$d/c\"; mysql --defaults-extra-file=\"$d/c\" -h localhost -N -B -e 'SELECT 1' >/dev/null && echo 'login {user} ok' || echo 'login {user} bad'\n"
                ));
                let cnf = format!(
                    "[client]\nuser={}\npassword=\"{}\"\n",
                    user,
                    crate::secrets::placeholder::of(secret, crate::secrets::Encoding::Cnf)
                );
                stdin.push_str(&cnf);
                stdin.push('\u{0}');
            }
            s.push_str("rm -rf \"$d\"; trap - EXIT HUP INT TERM\n");
        }
        s.push_str("fi\n");
    }
    if q.galera {
        mark(&mut s, "galera", 0);
        s.push_str(galera::SCRIPT);
    }
    mark(&mut s, "journal", 0);
    s.push_str(&format!("cat {JOURNAL}\n"));
    (s, (!stdin.is_empty()).then_some(stdin))
}

/// Turn the resolved stdin of [`script`] into base64 lines (the host decodes each one).
pub fn encode_login_stdin(resolved: &str) -> Vec<u8> {
    let mut out = String::new();
    for chunk in resolved.split('\u{0}').filter(|c| !c.is_empty()) {
        out.push_str(&b64(chunk.as_bytes()));
        out.push('\n');
    }
    out.into_bytes()
}

/// Parse the output of [`script`].
pub fn parse(os: OsFacts, q: &FactQuery, out: &str) -> Result<Facts, FactsError> {
    let mut facts = Facts {
        os,
        query: q.clone(),
        packages: BTreeMap::new(),
        files: BTreeMap::new(),
        services: BTreeMap::new(),
        checks: BTreeMap::new(),
        sql: None,
        pending_restarts: BTreeSet::new(),
        catalog: None,
        http_requests: 0,
        galera: None,
        amqp: BTreeMap::new(),
    };
    let all: Vec<&String> = q
        .stats
        .iter()
        .chain(&q.contents)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let services: Vec<&String> = q.services.iter().collect();
    let checks: Vec<&String> = q.checks.iter().collect();
    for (kind, i, lines) in sections(out) {
        match kind.as_str() {
            "packages" => {
                for l in lines {
                    let cols: Vec<&str> = l.split('\t').collect();
                    if cols.len() == 3 && cols[1].starts_with("ii") {
                        facts
                            .packages
                            .insert(cols[0].to_string(), cols[2].to_string());
                    }
                }
            }
            "file" => {
                let path = all
                    .get(i)
                    .ok_or(FactsError::from("facts output names an unknown file"))?;
                if let Some(f) = file_fact(path, q, &lines)? {
                    facts.files.insert((*path).clone(), f);
                }
            }
            "service" => {
                let name = services
                    .get(i)
                    .ok_or(FactsError::from("facts output names an unknown service"))?;
                let exists = lines.first() == Some(&"exists");
                let fact = ServiceFact {
                    exists,
                    enabled: exists && lines.contains(&"enabled"),
                    running: exists && lines.contains(&"active"),
                };
                facts.services.insert((*name).clone(), fact);
            }
            "check" => {
                let check = checks
                    .get(i)
                    .ok_or(FactsError::from("facts output names an unknown check"))?;
                let code = lines
                    .last()
                    .and_then(|l| l.trim().parse().ok())
                    .unwrap_or(-1);
                facts.checks.insert((*check).clone(), code);
            }
            "sql" => {
                if let Some(sql) = sql_facts(&lines) {
                    facts.sql = Some(sql);
                }
            }
            // the script stopped on the host before it could answer (see [`script`])
            "error" => {
                let why = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
                return Err(FactsError(format!(
                    "the facts script stopped on the host: {why}"
                )));
            }
            "galera" => facts.galera = Some(galera::GaleraFacts::parse(&lines)),
            "journal" => {
                facts.pending_restarts = lines
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            _ => {}
        }
    }
    Ok(facts)
}

/// The output of [`script`] cut at its marks: each section's kind, index
/// (into the query's files, services or checks) and lines.
fn sections(out: &str) -> Vec<(String, usize, Vec<&str>)> {
    let mut sections: Vec<(String, usize, Vec<&str>)> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix(MARK) {
            let mut it = rest.split_whitespace();
            let kind = it.next().unwrap_or_default().to_string();
            let i = it.next().and_then(|i| i.parse().ok()).unwrap_or(0);
            sections.push((kind, i, Vec::new()));
        } else if let Some(last) = sections.last_mut() {
            last.2.push(line);
        }
    }
    sections
}

/// A `file` section: the stat line, then the content (base64) when the query
/// asked for it; `None` when the file is missing.
fn file_fact(path: &str, q: &FactQuery, lines: &[&str]) -> Result<Option<FileFact>, FactsError> {
    let stat = lines.first().copied().unwrap_or("missing");
    if stat == "missing" {
        return Ok(None);
    }
    let f: Vec<&str> = stat.split('|').collect();
    if f.len() != 5 {
        return Err(format!("unexpected stat output for {path}: {stat}").into());
    }
    let kind = match f[0] {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Directory,
        _ => FileKind::Other,
    };
    let mode = u32::from_str_radix(f[3], 8)
        .map_err(|_| FactsError(format!("bad mode for {path}: {}", f[3])))?;
    let content = if q.contents.contains(path) && kind == FileKind::File {
        let raw = lines.get(1).copied().unwrap_or("");
        let bytes = if raw.is_empty() {
            Some(Vec::new())
        } else {
            unb64(raw)
        };
        bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
    } else {
        None
    };
    Ok(Some(FileFact {
        kind,
        perms: Perms {
            owner: f[1].into(),
            group: f[2].into(),
            mode,
        },
        content,
    }))
}

/// The `sql` section; `None` when MariaDB did not answer.
fn sql_facts(lines: &[&str]) -> Option<SqlFacts> {
    if lines.first() != Some(&"ok") {
        return None;
    }
    let mut sql = SqlFacts::default();
    for l in &lines[1..] {
        if let Some(d) = l.strip_prefix("db ") {
            sql.databases.insert(d.to_string());
        } else if let Some(u) = l.strip_prefix("user ") {
            sql.users.insert(u.to_string());
        } else if let Some(g) = l.strip_prefix("grant ") {
            sql.grants.insert(g.to_string());
        } else if let Some(rest) = l.strip_prefix("login ")
            && let Some((user, res)) = rest.rsplit_once(' ')
        {
            sql.logins.insert(user.to_string(), res == "ok");
        }
    }
    Some(sql)
}

impl Facts {
    pub fn file(&self, path: &str) -> Option<&FileFact> {
        self.files.get(path)
    }
    pub fn service(&self, name: &str) -> ServiceFact {
        self.services.get(name).copied().unwrap_or_default()
    }
    /// sha256 of the facts (as saved, with placeholders), for saved plans.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(&json))
    }
}

#[cfg(test)]
mod tests;
