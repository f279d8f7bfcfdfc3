//! The exact shell commands for a host's package manager and init system.
//! Every script here is free of secrets; secrets travel on stdin.

use crate::facts::{Init, JOURNAL, OsFacts, PackageManager};
use crate::model::Perms;
use crate::quote::shell_word as w;

/// The lock another package manager holds while it works (apt and dpkg take
/// it); `None` where stackprov does not look (yum and dnf wait on their own).
pub fn package_lock(os: &OsFacts) -> Option<&'static str> {
    match os.package_manager {
        PackageManager::Apt => Some("/var/lib/dpkg/lock-frontend"),
        PackageManager::Yum | PackageManager::Dnf => None,
    }
}

/// Prints `PID COMMAND LINE` of the process holding the lock on `path`, or
/// nothing: read-only, from /proc/locks (no fuser or lsof on a minimal host).
pub fn lock_holder(path: &str) -> String {
    let p = w(path);
    format!(
        "ino=$(stat -c %i {p} 2>/dev/null) || exit 0\n\
         pid=$(awk -v ino=\"$ino\" '$2 != \"->\" {{ n = split($6, a, \":\"); if (a[n] == ino) {{ print $5; exit }} }}' /proc/locks)\n\
         [ -n \"$pid\" ] && [ -r /proc/$pid/cmdline ] && printf '%s %s\\n' \"$pid\" \"$(tr '\\0' ' ' < /proc/$pid/cmdline)\"\n\
         exit 0\n"
    )
}

/// How long an install waits for another apt/dpkg to release its lock.
pub const APT_LOCK_WAIT_SECS: u64 = 300;

/// The policy layer Debian's maintainer scripts ask before they start a
/// service (invoke-rc.d, deb-systemd-invoke).
pub const POLICY_RC: &str = "/usr/sbin/policy-rc.d";
/// The line that marks a policy-rc.d as stackprov's (base.yaml removes one an
/// install cut short left behind; an operator's own is never touched).
pub const POLICY_RC_MARKER: &str = "stackprov: held for one install";

/// Install `names`; on apt, without letting the packages start the services
/// in `hold` (they start once configured, later in the plan).
pub fn install(os: &OsFacts, names: &[String], hold: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| w(n)).collect();
    let list = list.join(" ");
    match os.package_manager {
        PackageManager::Apt => {
            // a mirror or proxy that drops a download now and then is asked again;
            // a package manager already at work (an install left running by a
            // killed run: sshd does not stop it) is waited for, not failed on
            let wait = format!("-o DPkg::Lock::Timeout={APT_LOCK_WAIT_SECS}");
            let get = format!(
                "apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 {wait} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold {list}"
            );
            // when the install fails: finish what an interrupted dpkg left (a run
            // killed mid-install leaves "dpkg was interrupted"), refresh a stale
            // package index, and try once more
            format!(
                "export DEBIAN_FRONTEND=noninteractive; {}{get} || {{ dpkg --configure -a; apt-get update -q -o Acquire::Retries=3 {wait} && {get}; }}",
                policy_rc_hold(hold)
            )
        }
        PackageManager::Yum => format!("yum install -y -q {list}"),
        PackageManager::Dnf => format!("dnf install -y -q {list}"),
    }
}

/// Writes a policy-rc.d that refuses to start `hold` (its first argument that
/// is not an option is the service, `keystone` or `keystone.service`) and
/// removes it when the shell exits; nothing when the host has a policy-rc.d
/// of its own.
fn policy_rc_hold(hold: &[String]) -> String {
    let names: Vec<&str> = hold
        .iter()
        .map(String::as_str)
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c))
        })
        .collect();
    if names.is_empty() {
        return String::new();
    }
    let script = [
        "#!/bin/sh".to_string(),
        format!("# {POLICY_RC_MARKER}: the services below start once configured"),
        "for a; do case $a in -*) ;; *) break ;; esac; done".to_string(),
        format!(
            "case ${{a%.service}} in {}) exit 101 ;; esac",
            names.join("|")
        ),
        "exit 0".to_string(),
    ];
    let lines: Vec<String> = script.iter().map(|l| w(l)).collect();
    format!(
        "if [ ! -e {POLICY_RC} ] || grep -qs {marker} {POLICY_RC}; then printf '%s\\n' {lines} > {POLICY_RC} && chmod 755 {POLICY_RC} && trap 'rm -f {POLICY_RC}' EXIT; fi; ",
        marker = w(POLICY_RC_MARKER),
        lines = lines.join(" ")
    )
}

pub fn service(os: &OsFacts, name: &str, action: &str) -> String {
    let n = w(name);
    match (os.init, action) {
        (Init::Systemd, _) => format!("systemctl {action} {n}"),
        (Init::Sysv, "enable") => format!("chkconfig {n} on"),
        (Init::Sysv, _) => format!("service {n} {action}"),
    }
}

pub fn journal_add(service: &str) -> String {
    let n = w(service);
    format!(
        "mkdir -p /var/lib/stackprov && {{ grep -qx {n} {JOURNAL} 2>/dev/null || echo {n} >> {JOURNAL}; }}"
    )
}

pub fn journal_clear(service: &str) -> String {
    format!(
        "if [ -f {JOURNAL} ]; then sed -i '/^{}$/d' {JOURNAL}; fi",
        service.replace(['/', '\''], "")
    )
}

pub fn set_perms(path: &str, perms: &Perms) -> String {
    let p = w(path);
    format!(
        "chown {}:{} {p} && chmod {:04o} {p}",
        w(&perms.owner),
        w(&perms.group),
        perms.mode
    )
}

pub fn mkdir(path: &str, perms: &Perms) -> String {
    format!("mkdir -p {} && {}", w(path), set_perms(path, perms))
}

pub fn command(run: &str, user: Option<&str>) -> String {
    match user {
        Some(u) => format!("cd / && su -s /bin/sh -c {} {}", w(run), w(u)),
        None => format!("cd / && {run}"),
    }
}

/// SQL is sent on stdin to the local client as root (unix_socket auth).
pub const MYSQL: &str = "mysql -N -B";

/// Wait until something listens on a local TCP port (`ss` is in iproute2 on
/// every supported OS; `netstat` for CentOS 6's old iproute).
/// Wait until something listens on `port`, looking five times a second.
pub fn wait_for_port(port: u16, timeout_secs: u32) -> String {
    let tries = timeout_secs * 5;
    format!(
        "i=0; until {{ ss -ltn 2>/dev/null || netstat -ltn; }} | grep -q ':{port} '; do i=$((i+1)); if [ $i -ge {tries} ]; then echo 'nothing listens on port {port} after {timeout_secs}s' >&2; exit 1; fi; sleep 0.2; done"
    )
}
