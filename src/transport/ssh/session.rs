//! Opening the SSH connection: TCP to the endpoint (trying a handshake the server
//! cuts short again), optionally through a ProxyJump bastion, then the handshake,
//! the host-key check against the known_hosts files and authentication (agent,
//! then identity files), after which the session goes non-blocking.

use super::SshOptions;
use super::endpoint::Endpoint;
use super::hostkey;
use super::nonblocking::{self, Conn, Counters, Fail, Pump};
use crate::transport::{HostKeyPolicy, HostTarget, TransportError, TransportErrorKind as Kind};
use ssh2::{MethodType, Session};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
                notice_a_silent_peer(&s);
                return Ok(s);
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

/// A host that vanishes without a word (powered off, its network cut) sends no
/// reset: without this a command would wait out its whole timeout and end as a
/// timeout. With TCP keepalives (after 15 s idle, every 5 s, 4 unanswered) and
/// a 45 s limit on unacknowledged data, the kernel drops such a connection in
/// well under a minute and the run reports the host unreachable.
pub(super) const SILENT_PEER_SECS: u64 = 45;

fn notice_a_silent_peer(s: &TcpStream) {
    let sock = socket2::SockRef::from(s);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(15))
        .with_interval(Duration::from_secs(5))
        .with_retries(4);
    if let Err(e) = sock
        .set_tcp_keepalive(&keepalive)
        .and_then(|()| sock.set_tcp_user_timeout(Some(Duration::from_secs(SILENT_PEER_SECS))))
    {
        tracing::debug!(error = %e, "TCP keepalive not set");
    }
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

pub(super) struct Setup<'a> {
    pub(super) target: &'a HostTarget,
    pub(super) opts: &'a SshOptions,
    pub(super) kh_files: &'a [PathBuf],
}

impl Setup<'_> {
    /// TCP straight to `ep`, then [`Setup::session`]; a handshake the server cuts
    /// short is tried again after a short pause (see [`HANDSHAKE_ATTEMPTS`]).
    pub(super) fn direct(
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

    /// ProxyJump: a session to the bastion `j` (see [`Setup::direct`]), a
    /// direct-tcpip channel from it to `ep`, and the session to `ep` over that
    /// channel, whose bytes a [`Pump`] thread moves until the session ends.
    pub(super) fn through_bastion(
        &self,
        j: &Endpoint,
        ep: &Endpoint,
        stats: Arc<Counters>,
    ) -> Result<(Conn, Pump), TransportError> {
        let bastion = self.direct(
            j,
            &format!("{} (ProxyJump)", self.target.name),
            Arc::new(Counters::default()),
        )?;
        let deadline = Instant::now() + self.target.connect_timeout;
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
                        self.target.name,
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
        let pair = nonblocking::Pair::new(theirs, &bastion, ch);
        let pump = Pump::spawn(bastion, pair);
        let fd = ours.as_raw_fd();
        let conn = self
            .session(ours, fd, ep, stats)
            .map_err(SessionFail::into_error)?;
        Ok((conn, pump))
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
        tracing::debug!(
            host = %name,
            kex = sess.methods(MethodType::Kex).unwrap_or("?"),
            host_key = sess.methods(MethodType::HostKey).unwrap_or("?"),
            cipher = sess.methods(MethodType::CryptCs).unwrap_or("?"),
            mac = sess.methods(MethodType::MacCs).unwrap_or("?"),
            "handshake done"
        );
        self.verify_host_key(&sess, ep)?;
        self.authenticate(&sess, ep)?;
        sess.set_blocking(false);
        Ok(Conn {
            sess,
            fd,
            stats,
            open_lock: Default::default(),
            send_lock: Default::default(),
        })
    }

    fn prefer_known_key_types(&self, sess: &Session, ep: &Endpoint) {
        let known = hostkey::known_types(self.kh_files, &ep.host, ep.port);
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
        match hostkey::check(self.kh_files, &ep.host, ep.port, blob) {
            hostkey::Verdict::Known => Ok(()),
            hostkey::Verdict::Mismatch { known } => {
                Err(mismatch(name, &pattern, &ktype, &fp, &known))
            }
            hostkey::Verdict::Revoked { file, line } => Err(TransportError::new(
                Kind::HostKey,
                format!(
                    "{name}: REVOKED HOST KEY for {pattern}: the {short} key {fp} it offered is \
                     marked @revoked at {}:{line}. A stolen key may be in use to impersonate the \
                     host; it is refused whatever the host_key_policy.",
                    file.display()
                ),
            )),
            hostkey::Verdict::Unknown { port22 } => match self.target.host_key_policy {
                HostKeyPolicy::Strict => {
                    let dest = self
                        .kh_files
                        .first()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.ssh/known_hosts".into());
                    let kt = short.to_ascii_lowercase();
                    let port22 = if port22.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " known_hosts has only port 22's entries for {} ({}), and none holds \
                             this key: entries for port {} are written {pattern}.",
                            hostkey::host_pattern(&ep.host, 22),
                            port22.iter().map(known_at).collect::<Vec<_>>().join("; "),
                            ep.port
                        )
                    };
                    Err(TransportError::new(
                        Kind::HostKey,
                        format!(
                            "{name}: no {short} host key is known for {pattern} and host_key_policy \
                             is strict: it offered {short} key {fp}, found in none of [{}].{port22} \
                             Verify that fingerprint out of band (on the host: \
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

/// A known_hosts entry, for messages: type, fingerprint, file and line.
fn known_at(k: &hostkey::KnownKey) -> String {
    format!(
        "{} {} at {}:{}",
        hostkey::short_type(&k.key_type),
        k.fingerprint,
        k.file.display(),
        k.line
    )
}

/// The host offered a key that known_hosts does not hold for it, but holds
/// `known` ones: never accepted, and the message says how to go on.
fn mismatch(
    name: &str,
    pattern: &str,
    ktype: &str,
    fp: &str,
    known: &[hostkey::KnownKey],
) -> TransportError {
    let short = hostkey::short_type(ktype);
    let listed = known.iter().map(known_at).collect::<Vec<_>>().join("; ");
    let mut types: Vec<String> = Vec::new();
    for k in known {
        let t = hostkey::short_type(&k.key_type);
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let other_type = if known.iter().any(|k| k.key_type == ktype) {
        String::new()
    } else {
        format!(
            " ({pattern} is known only by {} and now offers {short}; a host does \
             not change its key type by itself)",
            types.join(" and ")
        )
    };
    let mut files: Vec<&Path> = Vec::new();
    for k in known {
        if !files.contains(&k.file.as_path()) {
            files.push(&k.file);
        }
    }
    let remove = files
        .iter()
        .map(|f| format!("`ssh-keygen -R '{pattern}' -f {}`", f.display()))
        .collect::<Vec<_>>()
        .join(" and ");
    TransportError::new(
        Kind::HostKey,
        format!(
            "{name}: HOST KEY MISMATCH: the host key for {pattern} has changed: the host \
             offered {short} key {fp}, but known_hosts records {listed}{other_type}. \
             Someone may be intercepting the connection, or the host was reinstalled. \
             Verify the new key out of band; if the change is expected, remove the old \
             entries with {remove} and connect again (host_key_policy: accept-new records \
             the new key). This is never accepted automatically."
        ),
    )
}
