//! Command lines and scripts sent to the host's login shell.
//!
//! sshd hands the command string to the user's login shell (`$SHELL -c CMD`), so
//! the script is wrapped once more in single quotes: `sh -c '<script>'`, or
//! `sudo -n sh -c '<script>'` under `become`. Nothing secret is ever placed in
//! these strings; secrets are written to the command's stdin.

/// Quote `s` for a POSIX shell: single quotes, with each `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    crate::quote::shell_quoted(s)
}

/// The command line for one exec: `sh -c '<script>'`, through `sudo -n` when
/// `become_root` (non-interactive: sudo fails instead of asking for a password).
pub fn command_line(script: &str, become_root: bool) -> String {
    let inner = format!("sh -c {}", sh_quote(script));
    if become_root {
        format!("sudo -n {inner}")
    } else {
        inner
    }
}

/// True when sudo's stderr says it wanted a password (or a terminal to ask one on).
pub fn sudo_wants_password(stderr: &[u8]) -> bool {
    let s = String::from_utf8_lossy(stderr);
    s.lines().any(|l| {
        l.starts_with("sudo:")
            && (l.contains("a password is required")
                || l.contains("no tty present")
                || l.contains("a terminal is required"))
    })
}

/// Exit status and stderr marker of the read script when the file is missing.
pub const MISSING_STATUS: i32 = 44;
pub const MISSING_MARKER: &str = "stackprov: no such file";

/// One round trip: print the file, or report it missing in a way `cat`'s own
/// errors (permission denied, is a directory) can never produce.
pub fn read_script(path: &str) -> String {
    let p = sh_quote(path);
    format!(
        "if [ ! -e {p} ] && [ ! -L {p} ]; then printf '%s\\n' '{MISSING_MARKER}' >&2; exit {MISSING_STATUS}; fi\nexec cat -- {p}"
    )
}

/// One round trip: stream stdin into a temp file beside `path` (random suffix),
/// fsync it, set owner/group/mode, rename over `path`. The temp file is removed on
/// any failure. Without an explicit mode/owner, an existing file keeps its own and a
/// new file gets 0644 and the executing user.
pub fn write_script(
    path: &str,
    owner: Option<&str>,
    group: Option<&str>,
    mode: Option<u32>,
    suffix: &str,
) -> String {
    let (dir, base) = match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (".", path),
    };
    let tmp = if dir == "/" {
        format!("/.{base}.stackprov-{suffix}")
    } else {
        format!("{dir}/.{base}.stackprov-{suffix}")
    };
    let p = sh_quote(path);
    let t = sh_quote(&tmp);
    let mut s = String::new();
    s.push_str("set -e\n");
    s.push_str(&format!("t={t}\n"));
    s.push_str("trap 'rm -f -- \"$t\"' EXIT\n");
    s.push_str("umask 077\n");
    s.push_str("dd of=\"$t\" bs=65536 conv=fsync status=none\n");
    match mode {
        Some(m) => s.push_str(&format!("chmod {:o} \"$t\"\n", m & 0o7777)),
        None => s.push_str(&format!(
            "if [ -e {p} ]; then chmod \"$(stat -c %a -- {p})\" \"$t\"; else chmod 644 \"$t\"; fi\n"
        )),
    }
    let spec = match (owner, group) {
        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
        (Some(o), None) => Some(o.to_string()),
        (None, Some(g)) => Some(format!(":{g}")),
        (None, None) => None,
    };
    match spec {
        Some(spec) => s.push_str(&format!("chown -- {} \"$t\"\n", sh_quote(&spec))),
        None => s.push_str(&format!(
            "if [ -e {p} ]; then o=\"$(stat -c %u:%g -- {p})\"; [ \"$(stat -c %u:%g -- \"$t\")\" = \"$o\" ] || chown -- \"$o\" \"$t\"; fi\n"
        )),
    }
    s.push_str(&format!("mv -f -- \"$t\" {p}\n"));
    s.push_str("trap - EXIT\n");
    s
}

/// Kill what earlier commands on this connection left running (after a timeout).
///
/// sshd starts every command of a connection as a session leader (`setsid`) under
/// one per-connection sshd process. This script, itself one of those sessions,
/// finds its sibling sessions and SIGKILLs every process in them. Commands run
/// one at a time per transport, so the only siblings are timed-out commands.
pub const KILL_SIBLINGS_SCRIPT: &str = r#"st() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null; }
set -- $(st $$); me=$4
set -- $(st "$me"); parent=$2
leaders=" "
for f in /proc/[0-9]*; do
  p=${f#/proc/}; set -- $(st "$p"); [ $# -ge 4 ] || continue
  [ "$2" = "$parent" ] && [ "$4" = "$p" ] && [ "$p" != "$me" ] && leaders="$leaders$p "
done
victims=
for f in /proc/[0-9]*; do
  p=${f#/proc/}; set -- $(st "$p"); [ $# -ge 4 ] || continue
  case "$leaders" in *" $4 "*) victims="$victims $p" ;; esac
done
[ -z "$victims" ] || kill -KILL $victims 2>/dev/null
exit 0"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_plain_and_quotes() {
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("abc"), "'abc'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$HOME `x` \"y\" \\n"), "'$HOME `x` \"y\" \\n'");
    }

    #[test]
    fn command_lines() {
        assert_eq!(command_line("echo hi", false), "sh -c 'echo hi'");
        assert_eq!(command_line("echo hi", true), "sudo -n sh -c 'echo hi'");
        assert_eq!(
            command_line("echo 'a b'", true),
            "sudo -n sh -c 'echo '\\''a b'\\'''"
        );
    }

    /// The quoted command survives a real shell unchanged, including the sudo form.
    #[test]
    fn quoting_round_trips_through_sh() {
        let nasty = "printf '%s|' \"$0\" 'x'\"'\"'y' `echo no` $((1+1)) \\ ; echo '\n'";
        let direct = std::process::Command::new("sh")
            .args(["-c", nasty])
            .output()
            .unwrap();
        let quoted = std::process::Command::new("sh")
            .args(["-c", &command_line(nasty, false)])
            .output()
            .unwrap();
        assert_eq!(direct.stdout, quoted.stdout);
        assert!(!direct.stdout.is_empty());
    }

    #[test]
    fn sudo_password_detection() {
        assert!(sudo_wants_password(b"sudo: a password is required\n"));
        assert!(sudo_wants_password(
            b"sudo: unable to resolve host x\nsudo: a password is required\n"
        ));
        assert!(!sudo_wants_password(b"a password is required\n"));
        assert!(!sudo_wants_password(b""));
    }

    #[test]
    fn write_script_paths() {
        let s = write_script("/etc/x.conf", Some("root"), Some("adm"), Some(0o640), "abc");
        assert!(s.contains("t='/etc/.x.conf.stackprov-abc'"));
        assert!(s.contains("chmod 640"));
        assert!(s.contains("chown -- 'root:adm'"));
        assert!(s.contains("mv -f -- \"$t\" '/etc/x.conf'"));
        let s = write_script("/top", None, None, None, "q");
        assert!(s.contains("t='/.top.stackprov-q'"));
        assert!(s.contains("chmod 644"));
    }
}
