//! The ssh2 transport: one SSH connection per host for the whole run.
//!
//! * Connect: TCP with `connect_timeout`, optionally through one `ProxyJump`
//!   bastion; host key checked against the site's known_hosts files, then
//!   `~/.ssh/known_hosts`; auth by ssh-agent, then identity files. Never prompts.
//! * Exec: each command is one channel on the shared connection, run as
//!   `sh -c '<script>'` (or `sudo -n sh -c '<script>'` under `become`), stdin
//!   written while stdout and stderr are drained, so no size of either deadlocks.
//! * Files: one exec round trip each: `read_file` is `cat` behind an existence
//!   test (missing → `None`, unreadable → error); `write_file` streams stdin into
//!   a temp file beside the target (random suffix), `dd conv=fsync`, chown, chmod,
//!   `mv -f`, with the temp file removed by a trap on any failure.
//! * Timeouts: the channel is closed and one more exec SIGKILLs the processes of
//!   the timed-out command's SSH session (they would otherwise run on).
//! * Tunnels: direct-tcpip channels ([`Transport::open_tunnel`],
//!   [`SshTransport::forward_local`]).
//!
//! # ~/.ssh/config and the site file
//!
//! The site file is treated like an `ssh` command line (`ssh -l USER -p PORT -i
//! IDENTITY ADDRESS`) and ~/.ssh/config like OpenSSH treats it, so what the site
//! states explicitly wins and the config fills in the rest:
//!
//! * The config is evaluated for the site `name` when a `Host` pattern other
//!   than `*` matches it, else for the `address`.
//! * `HostName` replaces the address only when the alias *is* the address (or the
//!   name and address are the same); an explicit, different site address wins.
//! * `User` applies when the site user is empty; `Port` when the site port is 22
//!   (the default, indistinguishable from unset).
//! * `IdentityFile`s are tried after the site's `identity_file`, before the
//!   defaults `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
//! * `ProxyJump` (exactly one hop, `[user@]host[:port]`, itself looked up in the
//!   config for `HostName`/`User`/`Port`/`IdentityFile`) has no site equivalent and
//!   always applies. The bastion's user defaults to the target's user.
//!
//! The config file is `$STACKPROV_SSH_CONFIG` when set, else `~/.ssh/config`
//! (see [`SshOptions`]).

mod config;
mod hostkey;
mod nonblocking;
mod shell;

pub use hostkey::fingerprint_sha256;
pub use nonblocking::LocalForward;
pub use shell::{command_line, sh_quote};

use super::{
    ExecOutput, ExecRequest, FileSpec, HostKeyPolicy, HostTarget, Transport, TransportError,
    TransportErrorKind as Kind, TransportStats, Tunnel,
};
use nonblocking::{Conn, Counters, Fail, Pump};
use ssh2::{MethodType, Session};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Where the transport looks for things outside the site file. [`connect`] uses
/// [`SshOptions::from_env`]; tests pass their own to stay off the real ~/.ssh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshOptions {
    /// ssh_config file to honour; `None` for none.
    pub config_file: Option<PathBuf>,
    /// Holds the default identities and the user's known_hosts (`~/.ssh`).
    pub ssh_dir: Option<PathBuf>,
    /// ssh-agent socket to try first; `None` for no agent.
    pub agent_socket: Option<PathBuf>,
}

impl SshOptions {
    /// `$STACKPROV_SSH_CONFIG` or `~/.ssh/config`, `~/.ssh`, `$SSH_AUTH_SOCK`.
    pub fn from_env() -> SshOptions {
        let ssh_dir = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".ssh"));
        let config_file = match std::env::var_os("STACKPROV_SSH_CONFIG") {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => ssh_dir.as_ref().map(|d| d.join("config")),
        };
        SshOptions {
            config_file,
            ssh_dir,
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        }
    }

    fn home(&self) -> PathBuf {
        match &self.ssh_dir {
            Some(d) => d.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()),
        }
    }
}

/// A resolved place to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    host: String,
    port: u16,
    user: String,
    identities: Vec<PathBuf>,
}

impl Endpoint {
    fn display(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

fn resolve(
    target: &HostTarget,
    opts: &SshOptions,
) -> Result<(Endpoint, Option<Endpoint>), TransportError> {
    let text = opts
        .config_file
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let home = opts.home();
    let by_name = config::lookup(&text, &target.name);
    let (cfg, alias_is_address) = if by_name.specific {
        let same = target.name == target.address;
        (by_name, same)
    } else {
        (config::lookup(&text, &target.address), true)
    };
    let host = match (&cfg.hostname, alias_is_address) {
        (Some(h), true) => h.clone(),
        _ => target.address.clone(),
    };
    let user = if target.user.is_empty() {
        cfg.user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into())
    } else {
        target.user.clone()
    };
    let port = if target.port == 22 || target.port == 0 {
        cfg.port.unwrap_or(22)
    } else {
        target.port
    };
    let defaults: Vec<PathBuf> = opts
        .ssh_dir
        .iter()
        .flat_map(|d| ["id_ed25519", "id_ecdsa", "id_rsa"].map(|f| d.join(f)))
        .collect();
    let mut identities: Vec<PathBuf> = target.identity_file.iter().cloned().collect();
    identities.extend(
        cfg.identity_files
            .iter()
            .map(|p| config::expand_path(p, &home, &host, &user)),
    );
    identities.extend(defaults.iter().cloned());
    dedup(&mut identities);
    let ep = Endpoint {
        host,
        port,
        user: user.clone(),
        identities,
    };

    let jump = match cfg
        .proxy_jump
        .as_deref()
        .map(config::parse_jump)
        .transpose()
    {
        Err(e) => {
            return Err(TransportError::new(
                Kind::Unreachable,
                format!("{}: {e}", target.name),
            ));
        }
        Ok(None) | Ok(Some(None)) => None,
        Ok(Some(Some(spec))) => {
            let jc = config::lookup(&text, &spec.host);
            let jhost = jc.hostname.clone().unwrap_or(spec.host.clone());
            let juser = spec.user.clone().or(jc.user.clone()).unwrap_or(user);
            let mut ids: Vec<PathBuf> = jc
                .identity_files
                .iter()
                .map(|p| config::expand_path(p, &home, &jhost, &juser))
                .collect();
            ids.extend(target.identity_file.iter().cloned());
            ids.extend(defaults);
            dedup(&mut ids);
            Some(Endpoint {
                port: spec.port.or(jc.port).unwrap_or(22),
                host: jhost,
                user: juser,
                identities: ids,
            })
        }
    };
    Ok((ep, jump))
}

fn dedup(v: &mut Vec<PathBuf>) {
    let mut seen = Vec::new();
    v.retain(|p| {
        if seen.contains(p) {
            false
        } else {
            seen.push(p.clone());
            true
        }
    });
}

/// An open SSH connection to one host. See the module docs.
pub struct SshTransport {
    name: String,
    conn: Conn,
    become_root: bool,
    endpoint: Endpoint,
    // Dropped after the session (declaration order): the bastion pump ends when the
    // session's end of the socket pair closes.
    _jump: Option<Pump>,
}

/// Connect with [`SshOptions::from_env`].
pub fn connect(target: &HostTarget) -> Result<SshTransport, TransportError> {
    connect_with(target, &SshOptions::from_env())
}

/// Connect, authenticate and verify the host key; no prompts, ever.
pub fn connect_with(
    target: &HostTarget,
    opts: &SshOptions,
) -> Result<SshTransport, TransportError> {
    let (ep, jump) = resolve(target, opts)?;
    let mut kh_files: Vec<PathBuf> = target.known_hosts.clone();
    if let Some(d) = &opts.ssh_dir {
        kh_files.push(d.join("known_hosts"));
    }
    let stats = Arc::new(Counters::default());
    let setup = Setup {
        target,
        opts,
        kh_files: &kh_files,
    };
    let (conn, pump) = match &jump {
        None => (setup.direct(&ep, &target.name, stats)?, None),
        Some(j) => {
            let bastion = setup.direct(
                j,
                &format!("{} (ProxyJump)", target.name),
                Arc::new(Counters::default()),
            )?;
            let deadline = Instant::now() + target.connect_timeout;
            let ch = bastion
                .open(deadline, || {
                    bastion.sess.channel_direct_tcpip(&ep.host, ep.port, None)
                })
                .map_err(|f| {
                    let why = match f {
                        Fail::Ssh(e) => e.message().to_string(),
                        Fail::Deadline => "timed out".into(),
                    };
                    TransportError::new(
                        Kind::Unreachable,
                        format!(
                            "{}: bastion {} could not open a connection to {}:{} ({why}); \
                             does the bastion allow TCP forwarding?",
                            target.name,
                            j.display(),
                            ep.host,
                            ep.port
                        ),
                    )
                })?;
            let (ours, theirs) =
                UnixStream::pair().map_err(|e| TransportError::io(format!("socketpair: {e}")))?;
            theirs
                .set_nonblocking(true)
                .map_err(|e| TransportError::io(format!("socketpair: {e}")))?;
            let pump = Pump::spawn(bastion, nonblocking::Pair::new(theirs, ch));
            let fd = ours.as_raw_fd();
            let conn = setup
                .session(ours, fd, &ep, stats)
                .map_err(SessionFail::into_error)?;
            (conn, Some(pump))
        }
    };
    tracing::debug!(host = %target.name, endpoint = %ep.display(), jump = ?jump.as_ref().map(Endpoint::display), "connected");
    Ok(SshTransport {
        name: target.name.clone(),
        conn,
        become_root: target.become_root,
        endpoint: ep,
        _jump: pump,
    })
}

fn tcp_connect(ep: &Endpoint, timeout: Duration, name: &str) -> Result<TcpStream, TransportError> {
    let unreachable = |why: String| {
        TransportError::new(
            Kind::Unreachable,
            format!("{name}: cannot reach {}:{}: {why}", ep.host, ep.port),
        )
    };
    let addrs: Vec<_> = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .collect();
    let timeout = if timeout.is_zero() {
        Duration::from_secs(10)
    } else {
        timeout
    };
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

/// How many times a TCP connection that the server closes or resets before the SSH
/// handshake completes is tried in all. sshd drops connections beyond `MaxStartups`
/// and while it restarts; those are worth another try, a refused TCP connection or
/// a host-key or auth failure is not.
const HANDSHAKE_ATTEMPTS: u32 = 3;

const LIBSSH2_ERROR_TIMEOUT: i32 = -9;

enum SessionFail {
    /// The server went away before or during key exchange: worth another try.
    Handshake(TransportError),
    Other(TransportError),
}

impl SessionFail {
    fn into_error(self) -> TransportError {
        match self {
            SessionFail::Handshake(e) | SessionFail::Other(e) => e,
        }
    }
}

impl From<TransportError> for SessionFail {
    fn from(e: TransportError) -> Self {
        SessionFail::Other(e)
    }
}

struct Setup<'a> {
    target: &'a HostTarget,
    opts: &'a SshOptions,
    kh_files: &'a [PathBuf],
}

impl Setup<'_> {
    /// TCP straight to `ep`, then [`Setup::session`]; a handshake the server cuts
    /// short is tried again after a short pause (see [`HANDSHAKE_ATTEMPTS`]).
    fn direct(
        &self,
        ep: &Endpoint,
        name: &str,
        stats: Arc<Counters>,
    ) -> Result<Conn, TransportError> {
        let mut attempt = 1;
        loop {
            let tcp = tcp_connect(ep, self.target.connect_timeout, name)?;
            let fd = tcp.as_raw_fd();
            match self.session(tcp, fd, ep, stats.clone()) {
                Ok(c) => return Ok(c),
                Err(SessionFail::Handshake(e)) if attempt < HANDSHAKE_ATTEMPTS => {
                    tracing::debug!(host = %name, attempt, error = %e.message, "handshake cut short; trying again");
                    std::thread::sleep(Duration::from_millis(250 * u64::from(attempt)));
                    attempt += 1;
                }
                Err(f) => return Err(f.into_error()),
            }
        }
    }

    /// Handshake, host key, auth (in blocking mode, with the connect timeout), then
    /// switch to non-blocking for everything after.
    fn session<S: AsRawFd + 'static>(
        &self,
        stream: S,
        fd: std::os::fd::RawFd,
        ep: &Endpoint,
        stats: Arc<Counters>,
    ) -> Result<Conn, SessionFail> {
        let name = &self.target.name;
        let mut sess = Session::new().map_err(|e| TransportError::io(e.to_string()))?;
        let ms = self
            .target
            .connect_timeout
            .as_millis()
            .clamp(1000, u32::MAX as u128) as u32;
        sess.set_timeout(ms);
        self.prefer_known_key_types(&sess, ep);
        sess.set_tcp_stream(stream);
        sess.handshake().map_err(|e| {
            // A server that never answers is not asked again (that would triple
            // the wait); one that hangs up or resets is.
            let timed_out = e.code() == ssh2::ErrorCode::Session(LIBSSH2_ERROR_TIMEOUT);
            let wrap = if timed_out {
                SessionFail::Other
            } else {
                SessionFail::Handshake
            };
            wrap(TransportError::new(
                Kind::Unreachable,
                format!(
                    "{name}: SSH handshake with {}:{} failed: {e}",
                    ep.host, ep.port
                ),
            ))
        })?;
        self.verify_host_key(&sess, ep)?;
        self.authenticate(&sess, ep)?;
        sess.set_blocking(false);
        Ok(Conn {
            sess,
            fd,
            stats,
            open_lock: Default::default(),
        })
    }

    fn prefer_known_key_types(&self, sess: &Session, ep: &Endpoint) {
        let known = hostkey::known_types(sess, self.kh_files, &ep.host, ep.port);
        if known.is_empty() {
            return;
        }
        let Ok(supported) = sess.supported_algs(MethodType::HostKey) else {
            return;
        };
        let mut prefs: Vec<&str> = Vec::new();
        for k in &known {
            let names: Vec<&str> = if k == "ssh-rsa" {
                vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
            } else {
                vec![k.as_str()]
            };
            for n in names {
                if supported.contains(&n) && !prefs.contains(&n) {
                    prefs.push(n);
                }
            }
        }
        for s in &supported {
            if !prefs.contains(s) {
                prefs.push(s);
            }
        }
        let _ = sess.method_pref(MethodType::HostKey, &prefs.join(","));
    }

    fn verify_host_key(&self, sess: &Session, ep: &Endpoint) -> Result<(), TransportError> {
        let name = &self.target.name;
        let (blob, _) = sess.host_key().ok_or_else(|| {
            TransportError::new(Kind::HostKey, format!("{name}: no host key offered"))
        })?;
        let fp = hostkey::fingerprint_sha256(blob);
        let ktype = hostkey::key_type(blob).unwrap_or("unknown").to_string();
        let short = hostkey::short_type(&ktype);
        let pattern = hostkey::host_pattern(&ep.host, ep.port);
        let files_list = || {
            self.kh_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match hostkey::check(sess, self.kh_files, &ep.host, ep.port, blob) {
            hostkey::Verdict::Known => Ok(()),
            hostkey::Verdict::Mismatch {
                file,
                line,
                expected,
            } => Err(TransportError::new(
                Kind::HostKey,
                format!(
                    "{name}: HOST KEY MISMATCH for {pattern}: the host offered {short} key {fp}, \
                     but {}:{line} expects {expected}. Someone may be intercepting the connection, \
                     or the host was reinstalled. Verify the new key out of band; if it is right, \
                     remove the stale entry with `ssh-keygen -R '{pattern}' -f {}` and connect again \
                     (host_key_policy: accept-new records the new key). This is never accepted \
                     automatically.",
                    file.display(),
                    file.display()
                ),
            )),
            hostkey::Verdict::Revoked { file, line } => Err(TransportError::new(
                Kind::HostKey,
                format!(
                    "{name}: the {short} host key {fp} of {pattern} is marked @revoked at {}:{line}",
                    file.display()
                ),
            )),
            hostkey::Verdict::Unknown => match self.target.host_key_policy {
                HostKeyPolicy::Strict => {
                    let dest = self
                        .kh_files
                        .first()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.ssh/known_hosts".into());
                    let kt = short.to_ascii_lowercase();
                    Err(TransportError::new(
                        Kind::HostKey,
                        format!(
                            "{name}: host key of {pattern} is not known: it offered {short} key {fp}, \
                             found in none of [{}]. Verify that fingerprint out of band (on the host: \
                             `ssh-keygen -lf /etc/ssh/ssh_host_{kt}_key.pub`), then record it with \
                             `ssh-keyscan -p {} -t {kt} {} >> {dest}`, or set `host_key_policy: accept-new` \
                             for this host to record it on first connect.",
                            files_list(),
                            ep.port,
                            ep.host
                        ),
                    ))
                }
                HostKeyPolicy::AcceptNew => {
                    let mut candidates = self.kh_files.to_vec();
                    if let (true, Some(h)) = (candidates.is_empty(), std::env::var_os("HOME")) {
                        candidates.push(PathBuf::from(h).join(".ssh/known_hosts"));
                    }
                    let file = hostkey::record(&candidates, &ep.host, ep.port, blob)
                        .map_err(|e| TransportError::new(Kind::HostKey, format!("{name}: {e}")))?;
                    eprintln!(
                        "Warning: permanently added {pattern} ({short} {fp}) to {}",
                        file.display()
                    );
                    Ok(())
                }
            },
        }
    }

    fn authenticate(&self, sess: &Session, ep: &Endpoint) -> Result<(), TransportError> {
        let mut tried: Vec<String> = Vec::new();
        if let Some(sock) = &self.opts.agent_socket {
            match agent_auth(sess, &ep.user, sock) {
                Ok(()) if sess.authenticated() => return Ok(()),
                Ok(()) => tried.push(format!("ssh-agent {}: no key accepted", sock.display())),
                Err(e) => tried.push(format!("ssh-agent {}: {e}", sock.display())),
            }
        }
        for id in &ep.identities {
            if !id.exists() {
                continue;
            }
            match sess.userauth_pubkey_file(&ep.user, None, id, None) {
                Ok(()) if sess.authenticated() => return Ok(()),
                Ok(()) => tried.push(format!("{}: not accepted", id.display())),
                Err(e) => tried.push(format!("{}: {}", id.display(), e.message())),
            }
        }
        if tried.is_empty() {
            tried.push("no ssh-agent and no identity file found".into());
        }
        Err(TransportError::new(
            Kind::Auth,
            format!(
                "{}: no key accepted for {} (tried: {}). Load the key into ssh-agent or set \
                 identity_file; passphrase-protected keys only work through the agent.",
                self.target.name,
                ep.display(),
                tried.join("; ")
            ),
        ))
    }
}

/// Why the agent did not log us in.
#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("{}", .0.message())]
    Agent(#[from] ssh2::Error),
    #[error("{0} key(s), none accepted")]
    NoneAccepted(usize),
}

fn agent_auth(sess: &Session, user: &str, sock: &Path) -> Result<(), AgentError> {
    let mut agent = sess.agent()?;
    agent.set_identity_path(sock)?;
    agent.connect()?;
    agent.list_identities()?;
    let ids = agent.identities()?;
    let mut result = Err(AgentError::NoneAccepted(ids.len()));
    for id in ids {
        if agent.userauth(user, &id).is_ok() {
            result = Ok(());
            break;
        }
    }
    let _ = agent.disconnect();
    result
}

impl SshTransport {
    /// `user@host:port` actually connected to (after ~/.ssh/config).
    pub fn endpoint(&self) -> String {
        self.endpoint.display()
    }

    /// Forward a local port on 127.0.0.1 (chosen by the OS) to `port` on the host's
    /// loopback, over this connection, until the returned value is dropped. Works
    /// while the transport keeps running commands (the session is non-blocking and
    /// channel opens are serialized, so the two threads interleave safely).
    /// Dropping the transport ends the connection and with it the forward.
    pub fn forward_local(&self, port: u16) -> Result<LocalForward, TransportError> {
        LocalForward::start(self.conn.clone(), port)
            .map_err(|e| TransportError::io(format!("{}: local forward: {e}", self.name)))
    }

    /// Run `command` (already a full command line) on a fresh channel.
    fn run(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        let c = &self.conn;
        c.stats.trip();
        let start = Instant::now();
        let deadline = start + timeout;
        let mut ch = c
            .open(deadline, || c.sess.channel_session())
            .map_err(|f| self.fail(f, "open channel", timeout))?;
        c.retry(deadline, || ch.exec(command))
            .map_err(|f| self.fail(f, "exec", timeout))?;
        c.stats.sent(command.len());
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let (mut pos, mut eof_sent, mut out_done, mut err_done) = (0usize, false, false, false);
        loop {
            let mut progress = false;
            if !eof_sent {
                if pos < stdin.len() {
                    match ch.write(&stdin[pos..]) {
                        Ok(n) => {
                            pos += n;
                            c.stats.sent(n);
                            progress |= n > 0;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        // The command closed its stdin or exited: stop feeding it.
                        Err(_) => pos = stdin.len(),
                    }
                }
                if pos >= stdin.len() {
                    match ch.send_eof() {
                        Ok(()) => eof_sent = true,
                        Err(e) if nonblocking::would_block(&e) => {}
                        Err(_) => eof_sent = true,
                    }
                }
            }
            for (done, sink, id) in [(&mut out_done, &mut out, 0), (&mut err_done, &mut err, 1)] {
                if *done {
                    continue;
                }
                match ch.stream(id).read(&mut buf) {
                    Ok(0) => *done = true,
                    Ok(n) => {
                        sink.extend_from_slice(&buf[..n]);
                        c.stats.received(n);
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => {
                        return Err(TransportError::new(
                            Kind::Unreachable,
                            format!("{}: connection lost while reading output: {e}", self.name),
                        ));
                    }
                }
            }
            if out_done && err_done {
                break;
            }
            if !progress {
                let now = Instant::now();
                if now >= deadline {
                    self.kill(&mut ch);
                    return Err(TransportError::new(
                        Kind::Timeout,
                        format!(
                            "{}: command timed out after {:?} (channel closed, process sent SIGKILL)",
                            self.name, timeout
                        ),
                    ));
                }
                c.wait(deadline - now);
            }
        }
        let grace = Instant::now() + Duration::from_secs(10);
        let _ = c.retry(grace, || ch.wait_close());
        let status = match ch.exit_signal() {
            Ok(sig) if sig.exit_signal.is_some() => -1,
            _ => ch.exit_status().unwrap_or(-1),
        };
        tracing::debug!(host = %self.name, status, elapsed = ?start.elapsed(), out = out.len(), err = err.len(), "exec done");
        Ok(ExecOutput {
            status,
            stdout: out,
            stderr: err,
        })
    }

    /// On timeout: close the channel, then (one more exec) SIGKILL every process
    /// in the timed-out command's session (see [`shell::KILL_SIBLINGS_SCRIPT`]).
    /// libssh2's channel "signal" request is not reachable through ssh2, and sshd
    /// would refuse it for root processes under sudo anyway.
    fn kill(&self, ch: &mut ssh2::Channel) {
        self.conn.close_channel(ch, Duration::from_secs(2));
        let cmd = shell::command_line(shell::KILL_SIBLINGS_SCRIPT, self.become_root);
        if let Err(e) = self.run(&cmd, b"", Duration::from_secs(10)) {
            tracing::debug!(host = %self.name, error = %e, "could not kill the timed-out command");
        }
    }

    fn fail(&self, f: Fail, what: &str, timeout: Duration) -> TransportError {
        match f {
            Fail::Deadline => TransportError::new(
                Kind::Timeout,
                format!("{}: {what} timed out after {timeout:?}", self.name),
            ),
            Fail::Ssh(e) if nonblocking::is_disconnect(&e) => TransportError::new(
                Kind::Unreachable,
                format!("{}: connection lost ({what}): {e}", self.name),
            ),
            Fail::Ssh(e) => TransportError::io(format!("{}: {what}: {e}", self.name)),
        }
    }

    /// Run a script with the become wrapper and turn sudo's password demand into
    /// an Auth error.
    fn run_script(
        &self,
        script: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        tracing::debug!(host = %self.name, become_root = self.become_root, script, "exec");
        let out = self.run(
            &shell::command_line(script, self.become_root),
            stdin,
            timeout,
        )?;
        if self.become_root && out.status != 0 && shell::sudo_wants_password(&out.stderr) {
            return Err(TransportError::new(
                Kind::Auth,
                format!(
                    "user {} on {} needs passwordless sudo (NOPASSWD) for become: true \
                     (sudo said: {})",
                    self.endpoint.user,
                    self.name,
                    out.stderr_str().trim()
                ),
            ));
        }
        Ok(out)
    }
}

const FILE_TIMEOUT: Duration = Duration::from_secs(300);

impl Transport for SshTransport {
    fn name(&self) -> &str {
        &self.name
    }

    fn exec(&mut self, req: &ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        self.run_script(req.script, req.stdin, req.timeout)
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        let out = self.run_script(&shell::read_script(path), b"", FILE_TIMEOUT)?;
        if out.success() {
            return Ok(Some(out.stdout));
        }
        if out.status == shell::MISSING_STATUS && out.stderr_str().trim() == shell::MISSING_MARKER {
            return Ok(None);
        }
        Err(TransportError::io(format!(
            "{}: cannot read {path}: {}",
            self.name,
            out.stderr_str().trim()
        )))
    }

    fn write_file(&mut self, spec: &FileSpec, content: &[u8]) -> Result<(), TransportError> {
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| TransportError::io(format!("getrandom: {e}")))?;
        let script = shell::write_script(
            &spec.path,
            spec.owner.as_deref(),
            spec.group.as_deref(),
            spec.mode,
            &hex::encode(rnd),
        );
        let out = self.run_script(&script, content, FILE_TIMEOUT)?;
        if out.success() {
            Ok(())
        } else {
            Err(TransportError::io(format!(
                "{}: cannot write {}: {} (exit {}; nothing was changed)",
                self.name,
                spec.path,
                out.stderr_str().trim(),
                out.status
            )))
        }
    }

    fn open_tunnel(&mut self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError> {
        let c = &self.conn;
        c.stats.trip();
        let deadline = Instant::now() + Duration::from_secs(30);
        let ch = c
            .open(deadline, || {
                c.sess.channel_direct_tcpip("127.0.0.1", port, None)
            })
            .map_err(|f| {
                self.fail(
                    f,
                    &format!("tunnel to 127.0.0.1:{port}"),
                    Duration::from_secs(30),
                )
            })?;
        Ok(Box::new(nonblocking::ChannelStream::new(c.clone(), ch)))
    }

    fn stats(&self) -> TransportStats {
        let s = &self.conn.stats;
        TransportStats {
            round_trips: s.round_trips.load(Ordering::Relaxed),
            bytes_sent: s.bytes_sent.load(Ordering::Relaxed),
            bytes_received: s.bytes_received.load(Ordering::Relaxed),
        }
    }
}

impl Drop for SshTransport {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        let _ = self.conn.retry(deadline, || {
            self.conn.sess.disconnect(None, "stackprov done", None)
        });
    }
}
