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
//! # Where things are
//!
//! This file holds [`SshTransport`], [`connect`] and the [`Transport`] impl, which
//! hands each call to a file below. `endpoint.rs` merges the site file's target
//! with ~/.ssh/config into where to connect (and documents how the two combine);
//! `session.rs` opens the connection: TCP with the handshake retry, the ProxyJump
//! bastion, the host-key check (the known_hosts parsing is in `hostkey.rs`) and
//! authentication. `exec.rs` runs a script (become wrapper, stdin, timeout,
//! killing on timeout) with the command lines and scripts of `shell.rs`;
//! `files.rs` reads and atomically writes files through it; `forward.rs` opens
//! tunnels and local port forwards. `nonblocking.rs` is the plumbing under all of
//! it once the session is up (retry on EAGAIN, channel streams, pumping a socket
//! to a channel); `config.rs` parses ssh_config.

mod config;
mod endpoint;
mod exec;
mod files;
mod forward;
mod hostkey;
mod nonblocking;
mod session;
mod shell;

pub use forward::LocalForward;
pub use hostkey::fingerprint_sha256;
pub use shell::{command_line, sh_quote};

use super::{
    ExecOutput, ExecRequest, FileSpec, HostTarget, Transport, TransportError, TransportStats,
    Tunnel,
};
use endpoint::{Endpoint, resolve};
use nonblocking::{Conn, Counters, Pump};
use session::Setup;
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

/// An open SSH connection to one host. See the module docs.
pub struct SshTransport {
    name: String,
    conn: Conn,
    become_root: bool,
    endpoint: Endpoint,
    /// Where tunnels go on the host (see [`HostTarget::service_address`]).
    service_address: String,
    /// See [`Transport::set_tunnel_read_timeout`].
    tunnel_read_timeout: Option<std::time::Duration>,
    /// The handle that ends the connection when dropped (not a [`Transport::fork`]).
    owner: bool,
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
            let (conn, pump) = setup.through_bastion(j, &ep, stats)?;
            (conn, Some(pump))
        }
    };
    tracing::debug!(host = %target.name, endpoint = %ep.display(), jump = ?jump.as_ref().map(Endpoint::display), "connected");
    Ok(SshTransport {
        name: target.name.clone(),
        conn,
        become_root: target.become_root,
        endpoint: ep,
        service_address: target.service_address.clone(),
        tunnel_read_timeout: None,
        owner: true,
        _jump: pump,
    })
}

impl SshTransport {
    /// `user@host:port` actually connected to (after ~/.ssh/config).
    pub fn endpoint(&self) -> String {
        self.endpoint.display()
    }
}

impl Transport for SshTransport {
    fn name(&self) -> &str {
        &self.name
    }

    fn exec(&mut self, req: &ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        self.run_script(req.script, req.stdin, req.timeout)
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.read_remote_file(path)
    }

    fn write_file(&mut self, spec: &FileSpec, content: &[u8]) -> Result<(), TransportError> {
        self.write_remote_file(spec, content)
    }

    fn open_tunnel(&mut self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError> {
        self.tunnel(port)
    }

    fn set_tunnel_read_timeout(&mut self, max: Option<std::time::Duration>) {
        self.tunnel_read_timeout = max;
    }

    fn set_service_address(&mut self, address: &str) {
        self.service_address = address.to_string();
    }

    fn fork(&self) -> Option<Box<dyn Transport>> {
        Some(Box::new(SshTransport {
            name: self.name.clone(),
            conn: self.conn.clone(),
            become_root: self.become_root,
            endpoint: self.endpoint.clone(),
            service_address: self.service_address.clone(),
            tunnel_read_timeout: self.tunnel_read_timeout,
            owner: false,
            _jump: None,
        }))
    }

    fn host_key(&self) -> Option<String> {
        let (blob, _) = self.conn.sess.host_key()?;
        Some(hostkey::fingerprint_sha256(blob))
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
        if !self.owner {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        let _ = self.conn.retry(deadline, || {
            self.conn.sess.disconnect(None, "stackprov done", None)
        });
    }
}
