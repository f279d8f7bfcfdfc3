//! Reaching ports on the host's loopback over the SSH connection: a tunnel (one
//! direct-tcpip channel as a stream) and [`LocalForward`], a local port forwarded
//! like `ssh -L`.

use super::SshTransport;
use super::nonblocking::{ChannelStream, Conn, Fail, POLL_CAP, Pair, poll_fds, pollfd, ssh_events};
use crate::transport::{TransportError, Tunnel};
use std::io;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

impl SshTransport {
    /// Forward a local port on 127.0.0.1 (chosen by the OS) to `port` on the host's
    /// loopback, over this connection, until the returned value is dropped. Works
    /// while the transport keeps running commands (the session is non-blocking and
    /// channel opens are serialized, so the two threads interleave safely).
    /// Dropping the transport ends the connection and with it the forward.
    pub fn forward_local(&self, port: u16) -> Result<LocalForward, TransportError> {
        LocalForward::start(self.conn.clone(), port)
            .map_err(|e| TransportError::io(format!("{}: local forward: {e}", self.name)))
    }

    /// [`Transport::open_tunnel`](crate::transport::Transport::open_tunnel).
    pub(super) fn tunnel(&self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError> {
        let c = &self.conn;
        c.stats.trip();
        let deadline = Instant::now() + Duration::from_secs(30);
        let to = self.service_address.as_str();
        let ch = c
            .open(deadline, || c.sess.channel_direct_tcpip(to, port, None))
            .map_err(|f| {
                self.fail(
                    f,
                    &format!("tunnel to {to}:{port}"),
                    Duration::from_secs(30),
                )
            })?;
        Ok(Box::new(ChannelStream::new(
            c.clone(),
            ch,
            self.tunnel_read_timeout,
        )))
    }
}

/// A local port (on 127.0.0.1) forwarded to a port on the host's loopback, like
/// `ssh -L`. Each accepted connection gets its own direct-tcpip channel on the
/// transport's one SSH connection. Dropping it stops the listener and closes all
/// forwarded connections.
pub struct LocalForward {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LocalForward {
    pub(crate) fn start(conn: Conn, remote_port: u16) -> io::Result<LocalForward> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("stackprov-forward-{remote_port}"))
            .spawn(move || forward_loop(conn, listener, remote_port, flag))?;
        Ok(LocalForward {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn local_port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for LocalForward {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn forward_loop(conn: Conn, listener: TcpListener, port: u16, stop: Arc<AtomicBool>) {
    let mut pairs: Vec<Pair<TcpStream>> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut progress = false;
        loop {
            match listener.accept() {
                Ok((tcp, peer)) => {
                    progress = true;
                    let deadline = Instant::now() + Duration::from_secs(15);
                    conn.stats.trip();
                    match conn.open(deadline, || {
                        conn.sess.channel_direct_tcpip("127.0.0.1", port, None)
                    }) {
                        Ok(ch) => {
                            if tcp.set_nonblocking(true).is_ok() {
                                tracing::debug!(%peer, port, "forwarding connection");
                                pairs.push(Pair::new(tcp, &conn, ch));
                            }
                        }
                        Err(Fail::Ssh(e)) => {
                            tracing::debug!(port, error = %e, "direct-tcpip refused");
                        }
                        Err(Fail::Deadline) => tracing::debug!(port, "direct-tcpip timed out"),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        for p in pairs.iter_mut() {
            progress |= p.step(&conn, &mut buf);
        }
        let (done, live): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|p| p.done());
        pairs = live;
        for p in done {
            p.close(&conn);
        }
        if !progress {
            let mut fds = vec![
                pollfd(listener.as_raw_fd(), libc::POLLIN),
                pollfd(conn.fd, ssh_events(&conn.sess)),
            ];
            fds.extend(pairs.iter().map(|p| pollfd(p.local_fd(), p.events())));
            poll_fds(&mut fds, POLL_CAP);
        }
    }
    for p in pairs {
        p.close(&conn);
    }
}
