//! Non-blocking plumbing around one ssh2 session.
//!
//! After authentication the session is switched to non-blocking mode and every
//! libssh2 call is retried on EAGAIN after a `poll(2)` on the socket, capped at a
//! few milliseconds. The session mutex inside ssh2 is therefore only held for the
//! duration of one non-blocking call, which is what lets a [`LocalForward`](super::LocalForward) thread
//! pump tunnels while the owning thread runs commands on the same connection
//! (in blocking mode libssh2 would hold the lock while waiting for the network).

use ssh2::{BlockDirections, Channel, ErrorCode, Session};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const LIBSSH2_ERROR_EAGAIN: i32 = -37;
/// Longest single wait; bounds the latency added when two threads share a session.
pub const POLL_CAP: Duration = Duration::from_millis(20);

#[derive(Debug, Default)]
pub struct Counters {
    pub round_trips: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub bytes_received: AtomicU64,
}

impl Counters {
    pub fn trip(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }
    pub fn sent(&self, n: usize) {
        self.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
    }
    pub fn received(&self, n: usize) {
        self.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
    }
}

pub fn would_block(e: &ssh2::Error) -> bool {
    e.code() == ErrorCode::Session(LIBSSH2_ERROR_EAGAIN)
}

/// libssh2 codes that mean the connection itself is gone.
pub fn is_disconnect(e: &ssh2::Error) -> bool {
    matches!(e.code(), ErrorCode::Session(-7 | -9 | -13 | -43))
}

/// A session in non-blocking mode and the fd it talks over.
#[derive(Clone)]
pub struct Conn {
    pub sess: Session,
    pub fd: RawFd,
    pub stats: Arc<Counters>,
    /// libssh2 keeps the state of a channel open in progress on the session, not
    /// on the channel: two non-blocking opens from two threads would corrupt it.
    pub open_lock: Arc<std::sync::Mutex<()>>,
    /// Held by every libssh2 call on the session (see [`Conn::call`]) and by
    /// a channel's free ([`Chan`]), which ssh2 makes without its own mutex.
    /// libssh2 also keeps one partly sent packet per session, which only the
    /// call that left it may finish: a call keeps this while libssh2 waits to
    /// send, so no other thread's packet goes out in between.
    pub send_lock: Arc<std::sync::Mutex<()>>,
}

/// How long a call keeps [`Conn::send_lock`] waiting for the socket to take
/// its packet; a connection that takes nothing for this long is dead anyway.
const SEND_HOLD: Duration = Duration::from_secs(30);

/// A channel whose `libssh2_channel_free` runs under [`Conn::send_lock`].
/// ssh2's `Drop` for a channel frees it without the session's own mutex, so
/// a channel dropped on one thread while another was inside a call on the
/// same session corrupted the connection: the host's sshd logged "Bad packet
/// length" and "message authentication code incorrect", the client "Unable to
/// send channel-open request" (one run in two hundred on the test bed, when
/// the facts script's exec ended while the catalog opened a tunnel).
pub struct Chan {
    ch: std::mem::ManuallyDrop<Channel>,
    lock: Arc<std::sync::Mutex<()>>,
}

impl Chan {
    pub fn new(conn: &Conn, ch: Channel) -> Chan {
        Chan {
            ch: std::mem::ManuallyDrop::new(ch),
            lock: conn.send_lock.clone(),
        }
    }
}

impl std::ops::Deref for Chan {
    type Target = Channel;
    fn deref(&self) -> &Channel {
        &self.ch
    }
}

impl std::ops::DerefMut for Chan {
    fn deref_mut(&mut self) -> &mut Channel {
        &mut self.ch
    }
}

impl Drop for Chan {
    fn drop(&mut self) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: dropped once, here; `ch` is not used after this.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.ch) }
    }
}

pub enum Fail {
    Ssh(ssh2::Error),
    Deadline,
}

impl Conn {
    /// One libssh2 call under [`Conn::send_lock`]; while it says EAGAIN with a
    /// packet half sent, the same call again (the lock held), until it gets
    /// through or [`SEND_HOLD`] passes. `again` says which errors are EAGAIN.
    fn locked<T, E>(
        &self,
        mut f: impl FnMut() -> Result<T, E>,
        again: impl Fn(&E) -> bool,
    ) -> Result<T, E> {
        let _guard = self.send_lock.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + SEND_HOLD;
        loop {
            let r = f();
            match &r {
                Err(e)
                    if again(e)
                        && Instant::now() < until
                        && matches!(
                            self.sess.block_directions(),
                            BlockDirections::Outbound | BlockDirections::Both
                        ) =>
                {
                    poll_fds(&mut [pollfd(self.fd, libc::POLLOUT)], POLL_CAP);
                }
                _ => return r,
            }
        }
    }

    /// [`Conn::locked`] for ssh2's own calls.
    pub fn call<T>(&self, f: impl FnMut() -> Result<T, ssh2::Error>) -> Result<T, ssh2::Error> {
        self.locked(f, would_block)
    }

    /// [`Conn::locked`] for a channel's `Read`/`Write`.
    pub fn call_io<T>(&self, f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        self.locked(f, |e| e.kind() == ErrorKind::WouldBlock)
    }

    /// Wait until the socket is ready in the direction libssh2 is blocked on.
    pub fn wait(&self, max: Duration) {
        let events = match self.sess.block_directions() {
            BlockDirections::Inbound | BlockDirections::None => libc::POLLIN,
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
        };
        poll_fds(&mut [pollfd(self.fd, events)], max.min(POLL_CAP));
    }

    /// Call `f` until it stops saying EAGAIN, or `deadline` passes.
    pub fn retry<T>(
        &self,
        deadline: Instant,
        mut f: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T, Fail> {
        self.spin(deadline, || self.call(&mut f))
    }

    /// `f` until it stops saying EAGAIN, waiting on the socket in between.
    fn spin<T>(
        &self,
        deadline: Instant,
        mut f: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T, Fail> {
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if would_block(&e) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Fail::Deadline);
                    }
                    self.wait(deadline - now);
                }
                Err(e) => return Err(Fail::Ssh(e)),
            }
        }
    }

    /// Open a channel with `f` (retried), holding the session's open lock
    /// and its send lock until the open is confirmed or refused.
    pub fn open<T>(
        &self,
        deadline: Instant,
        f: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T, Fail> {
        let _guard = self.open_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _send = self.send_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.spin(deadline, f)
    }

    /// Close a channel politely, giving up after `grace`.
    pub fn close_channel(&self, ch: &mut Channel, grace: Duration) {
        let deadline = Instant::now() + grace;
        if self.retry(deadline, || ch.close()).is_ok() {
            let _ = self.retry(deadline, || ch.wait_close());
        }
    }
}

pub fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

pub fn poll_fds(fds: &mut [libc::pollfd], max: Duration) {
    let ms = max.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid, exclusively borrowed array of pollfd structs.
    unsafe {
        libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms);
    }
}

/// A direct-tcpip channel as a blocking `Read + Write` stream.
pub struct ChannelStream {
    conn: Conn,
    ch: Chan,
    /// A read that sees nothing for this long fails with `TimedOut`.
    read_timeout: Option<Duration>,
}

impl ChannelStream {
    pub fn new(conn: Conn, ch: Channel, read_timeout: Option<Duration>) -> Self {
        ChannelStream {
            ch: Chan::new(&conn, ch),
            conn,
            read_timeout,
        }
    }
}

impl Read for ChannelStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let t0 = Instant::now();
        loop {
            match self.conn.call_io(|| self.ch.read(buf)) {
                Ok(n) => {
                    self.conn.stats.received(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if let Some(max) = self.read_timeout
                        && t0.elapsed() > max
                    {
                        return Err(io::Error::new(
                            ErrorKind::TimedOut,
                            format!("no answer within {} s", max.as_secs()),
                        ));
                    }
                    self.conn.wait(POLL_CAP)
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for ChannelStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.conn.call_io(|| self.ch.write(buf)) {
                Ok(n) => {
                    self.conn.stats.sent(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.conn.wait(POLL_CAP),
                Err(e) => return Err(e),
            }
        }
    }
    /// libssh2's channel "flush" discards unread incoming data; writes are already
    /// handed to the session, so there is nothing to do.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ChannelStream {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let _ = self.conn.retry(deadline, || self.ch.send_eof());
        self.conn
            .close_channel(&mut self.ch, Duration::from_secs(2));
    }
}

/// A local socket whose bytes are pumped to and from an SSH channel.
pub trait Local: Read + Write + AsRawFd {
    fn shutdown_write(&self);
}
impl Local for TcpStream {
    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}
impl Local for UnixStream {
    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

/// One local socket joined to one channel, moved forward by [`Pair::step`].
pub struct Pair<L: Local> {
    local: L,
    ch: Chan,
    to_ch: Vec<u8>,
    to_local: Vec<u8>,
    local_eof: bool,
    eof_sent: bool,
    ch_eof: bool,
    failed: bool,
}

impl<L: Local> Pair<L> {
    pub fn new(local: L, conn: &Conn, ch: Channel) -> Self {
        Pair {
            local,
            ch: Chan::new(conn, ch),
            to_ch: Vec::new(),
            to_local: Vec::new(),
            local_eof: false,
            eof_sent: false,
            ch_eof: false,
            failed: false,
        }
    }

    pub fn done(&self) -> bool {
        self.failed || (self.eof_sent && self.ch_eof && self.to_local.is_empty())
    }

    /// Events to poll the local socket for.
    pub fn events(&self) -> libc::c_short {
        let mut ev = 0;
        if !self.local_eof && self.to_ch.is_empty() {
            ev |= libc::POLLIN;
        }
        if !self.to_local.is_empty() {
            ev |= libc::POLLOUT;
        }
        ev
    }

    pub fn local_fd(&self) -> RawFd {
        self.local.as_raw_fd()
    }

    /// Move whatever can move without blocking; true when something moved.
    pub fn step(&mut self, conn: &Conn, buf: &mut [u8]) -> bool {
        let stats = &conn.stats;
        let mut progress = false;
        if !self.local_eof && self.to_ch.is_empty() {
            match self.local.read(buf) {
                Ok(0) => {
                    self.local_eof = true;
                    progress = true;
                }
                Ok(n) => {
                    self.to_ch.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.local_eof = true;
                    self.failed = true;
                }
            }
        }
        if !self.to_ch.is_empty() {
            match conn.call_io(|| self.ch.write(&self.to_ch)) {
                Ok(n) => {
                    stats.sent(n);
                    self.to_ch.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => self.failed = true,
            }
        }
        if self.local_eof && self.to_ch.is_empty() && !self.eof_sent {
            match conn.call(|| self.ch.send_eof()) {
                Ok(()) => {
                    self.eof_sent = true;
                    progress = true;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => self.eof_sent = true,
            }
        }
        if !self.ch_eof && self.to_local.is_empty() {
            match conn.call_io(|| self.ch.read(buf)) {
                Ok(0) => {
                    self.ch_eof = true;
                    self.local.shutdown_write();
                    progress = true;
                }
                Ok(n) => {
                    stats.received(n);
                    self.to_local.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => self.failed = true,
            }
        }
        if !self.to_local.is_empty() {
            match self.local.write(&self.to_local) {
                Ok(n) => {
                    self.to_local.drain(..n);
                    progress |= n > 0;
                    if self.to_local.is_empty() && self.ch_eof {
                        self.local.shutdown_write();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.failed = true,
            }
        }
        progress
    }

    pub fn close(mut self, conn: &Conn) {
        conn.close_channel(&mut self.ch, Duration::from_secs(2));
    }
}

/// Pumps a [`Pair`] in a background thread until either side ends or `stop` is set.
pub struct Pump {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pump {
    /// Used for ProxyJump: `conn` is the bastion's session, exclusively this thread's.
    pub fn spawn<L: Local + Send + 'static>(conn: Conn, pair: Pair<L>) -> Pump {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("stackprov-jump".into())
            .spawn(move || {
                let mut pair = pair;
                let mut buf = vec![0u8; 64 * 1024];
                while !flag.load(Ordering::Relaxed) && !pair.done() {
                    if !pair.step(&conn, &mut buf) {
                        let ssh_ev = ssh_events(&conn.sess);
                        poll_fds(
                            &mut [
                                pollfd(pair.local_fd(), pair.events()),
                                pollfd(conn.fd, ssh_ev),
                            ],
                            POLL_CAP,
                        );
                    }
                }
                pair.close(&conn);
                let _ = conn.sess.disconnect(None, "bye", None);
            })
            .expect("spawn thread");
        Pump {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) fn ssh_events(sess: &Session) -> libc::c_short {
    match sess.block_directions() {
        BlockDirections::Outbound => libc::POLLOUT,
        BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
        _ => libc::POLLIN,
    }
}
