//! Just enough AMQP 0-9-1 to prove a RabbitMQ login over a transport tunnel:
//! the protocol header, `Connection.Start`/`Start-Ok` with PLAIN, `Tune`/
//! `Tune-Ok`, `Open` of the vhost, `Close`. A login that opens the vhost is
//! what `rabbitmqctl authenticate_user` plus a permission on the vhost show,
//! without starting Erlang on the host: reading facts stays interpreter-free.
//!
//! The password goes only into the PLAIN response, inside the SSH channel to
//! the host's loopback; it is never on a command line, and no message here
//! holds it (the broker's own texts are scrubbed of it too).

use crate::secrets::Secret;
use crate::transport::{Transport, TransportError, TransportErrorKind};
use std::io::{Read, Write};

/// The largest frame read: a broker's first frames are a few hundred bytes,
/// and a reply this size is not one.
const MAX_FRAME: u32 = 128 * 1024;
const FRAME_METHOD: u8 = 1;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;
const CONNECTION: u16 = 10;
const START: u16 = 10;
const START_OK: u16 = 11;
const TUNE: u16 = 30;
const TUNE_OK: u16 = 31;
const OPEN: u16 = 40;
const OPEN_OK: u16 = 41;
const CLOSE: u16 = 50;
const CLOSE_OK: u16 = 51;
const ACCESS_REFUSED: u16 = 403;
const NOT_ALLOWED: u16 = 530;

/// What a login attempt showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The broker took the password and opened the vhost.
    Ok,
    /// The broker refused the login: no such user, or another password.
    Refused(String),
    /// The login worked; the vhost did not open (no permission on it).
    NoVhost(String),
    /// Nothing that speaks AMQP 0-9-1 answered (not installed, not running,
    /// another protocol, a stream cut short).
    Unavailable(String),
}

/// Why an exchange with the broker came to no answer: the byte stream
/// failed, what came was not AMQP 0-9-1 as this client speaks it, or the
/// broker closed the connection where no refusal was due.
#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    /// `PLAIN` and `Connection.Open` carry names as short strings.
    #[error("a user or vhost name over 255 bytes cannot be sent")]
    NameTooLong,
    /// A frame could not be read while `awaited` was due.
    #[error("{error}, waiting for {awaited}")]
    Read { awaited: Awaited, error: ReadError },
    /// A frame could not be sent.
    #[error("{0}")]
    Write(StreamError),
    /// The stream ended before `Connection.Start`.
    #[error("the broker closed the connection")]
    HungUp,
    /// The stream ended where `Connection.Open-Ok` was due.
    #[error("the broker closed the connection at Connection.Open")]
    HungUpAtOpen,
    /// The broker's `Connection.Close` where no refusal was due.
    #[error("{0}")]
    Closed(Closed),
    /// The broker's first method is not `Connection.Start`.
    #[error("the first method is {class}.{method}, not Connection.Start")]
    NotStart { class: u16, method: u16 },
    /// Another method than the one the exchange is at.
    #[error("{class}.{method} where {due} was due")]
    Unexpected {
        class: u16,
        method: u16,
        due: &'static str,
    },
    #[error(transparent)]
    ShortMethod(#[from] ShortMethod),
    /// `Connection.Start` lists no `PLAIN` among the broker's mechanisms.
    #[error("the broker offers no PLAIN login (mechanisms: {mechanisms})")]
    NoPlain { mechanisms: String },
}

/// Which answer of the broker a read waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    Start,
    LoginAnswer,
    OpenOk,
}

impl std::fmt::Display for Awaited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Awaited::Start => "Connection.Start",
            Awaited::LoginAnswer => "the login's answer",
            Awaited::OpenOk => "Connection.Open-Ok",
        })
    }
}

/// The byte stream under the exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A read or write timed out (the tunnel's read timeout).
    #[error("no answer in time")]
    Timeout,
    /// Any other failure; the text is the I/O layer's (std's, or the
    /// transport's tunnel's, e.g. libssh2's "transport read").
    #[error("{0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => StreamError::Timeout,
            _ => StreamError::Io(e),
        }
    }
}

/// Why no method frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error("the stream ended inside a frame")]
    Truncated,
    #[error("the broker answered with a protocol header: it wants another AMQP version")]
    ProtocolHeader,
    #[error("a frame of {0} bytes: this is not an AMQP broker")]
    TooLarge(u32),
    #[error("a frame without its end marker: this is not an AMQP broker")]
    NoEndMarker,
    #[error("a frame of type {0} where a method was due")]
    NotAMethod(u8),
}

/// A method's arguments end before its fields do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a method shorter than its fields")]
pub struct ShortMethod;

/// The broker's `Connection.Close`: its reply code and text, when they parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub reply: Option<(u16, String)>,
}

impl Closed {
    fn parse(args: &[u8]) -> Closed {
        let mut r = Fields(args);
        let reply = match (r.short(), r.shortstr()) {
            (Ok(code), Ok(text)) => Some((code, String::from_utf8_lossy(text).into_owned())),
            _ => None,
        };
        Closed { reply }
    }
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.reply {
            Some((code, text)) => write!(f, "the broker closed the connection: {code} {text}"),
            None => f.write_str("the broker closed the connection"),
        }
    }
}

/// Log in as `user` and open `vhost` on the host's `port`. Only a lost
/// connection to the host is an error; whatever the broker says is an
/// [`Outcome`]. An exchange cut short is tried once more (a login is safe to
/// repeat), as the HTTP client does: the test bed showed libssh2's "transport
/// read" on tunnels (its cause, a channel freed beside another thread's call,
/// is mended in `transport::ssh`; the retry stays for any other short cut).
pub fn login(
    t: &mut dyn Transport,
    port: u16,
    user: &str,
    password: &Secret,
    vhost: &str,
) -> Result<Outcome, TransportError> {
    let pw = password.expose();
    let scrub = |text: String| {
        if pw.is_empty() {
            text
        } else {
            text.replace(pw, crate::secrets::MASK)
        }
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let mut stream = match t.open_tunnel(port) {
            Ok(s) => s,
            Err(e) if e.kind == TransportErrorKind::Unreachable => return Err(e),
            // nothing listens: an answer, not an exchange cut short
            Err(e) => return Ok(Outcome::Unavailable(e.message)),
        };
        return Ok(match converse(&mut *stream, user, pw, vhost) {
            Ok(Outcome::Refused(m)) => Outcome::Refused(scrub(m)),
            Ok(Outcome::NoVhost(m)) => Outcome::NoVhost(scrub(m)),
            Ok(o) => o,
            // any exchange that came to no answer (an error, not an
            // Outcome) was cut short somewhere after the tunnel opened
            Err(why) if tries < 2 => {
                tracing::debug!(
                    "AMQP on port {port}: {}; trying once more",
                    scrub(why.to_string())
                );
                continue;
            }
            Err(why) => Outcome::Unavailable(scrub(format!("port {port}: {why}"))),
        });
    }
}

/// The exchange itself, on any byte stream (tests drive it with a scripted broker).
pub fn converse<S: Read + Write + ?Sized>(
    s: &mut S,
    user: &str,
    password: &str,
    vhost: &str,
) -> Result<Outcome, AmqpError> {
    if user.len() > 255 || vhost.len() > 255 {
        return Err(AmqpError::NameTooLong);
    }
    s.write_all(b"AMQP\x00\x00\x09\x01")
        .map_err(|e| AmqpError::Write(e.into()))?;
    let (class, method, args) = read_awaited(s, Awaited::Start)?.ok_or(AmqpError::HungUp)?;
    if (class, method) == (CONNECTION, CLOSE) {
        return Err(AmqpError::Closed(Closed::parse(&args)));
    }
    if (class, method) != (CONNECTION, START) {
        return Err(AmqpError::NotStart { class, method });
    }
    let mut r = Fields(&args);
    r.octet()?;
    r.octet()?;
    r.table()?;
    let mechanisms = r.longstr()?;
    if !mechanisms.split(|b| *b == b' ').any(|m| m == b"PLAIN") {
        return Err(AmqpError::NoPlain {
            mechanisms: String::from_utf8_lossy(mechanisms).into_owned(),
        });
    }
    write_method(s, START_OK, &start_ok(user, password))?;
    let Some((class, method, args)) = read_awaited(s, Awaited::LoginAnswer)? else {
        // the legacy refusal: the connection closed right after the login
        return Ok(Outcome::Refused(
            "the broker closed the connection after the login".into(),
        ));
    };
    match (class, method) {
        (CONNECTION, TUNE) => {}
        (CONNECTION, CLOSE) => {
            let _ = write_method(s, CLOSE_OK, &[]);
            return match reply_code(&args) {
                Some(ACCESS_REFUSED) => Ok(Outcome::Refused(Closed::parse(&args).to_string())),
                _ => Err(AmqpError::Closed(Closed::parse(&args))),
            };
        }
        _ => {
            return Err(AmqpError::Unexpected {
                class,
                method,
                due: "Connection.Tune",
            });
        }
    }
    let mut r = Fields(&args);
    let channel_max = r.short()?;
    let frame_max = r.long()?;
    let mut a = Vec::new();
    a.extend_from_slice(&channel_max.to_be_bytes());
    let frame_max = if frame_max == 0 {
        MAX_FRAME
    } else {
        frame_max.min(MAX_FRAME)
    };
    a.extend_from_slice(&frame_max.to_be_bytes());
    // no heartbeats: the connection lives for one exchange
    a.extend_from_slice(&0u16.to_be_bytes());
    write_method(s, TUNE_OK, &a)?;
    let mut a = Vec::new();
    put_shortstr(&mut a, vhost);
    put_shortstr(&mut a, "");
    a.push(0);
    write_method(s, OPEN, &a)?;
    let (class, method, args) = read_awaited(s, Awaited::OpenOk)?.ok_or(AmqpError::HungUpAtOpen)?;
    match (class, method) {
        (CONNECTION, OPEN_OK) => {
            let mut a = Vec::new();
            a.extend_from_slice(&200u16.to_be_bytes());
            put_shortstr(&mut a, "");
            a.extend_from_slice(&[0, 0, 0, 0]);
            // a polite goodbye; the answer does not change what was shown
            if write_method(s, CLOSE, &a).is_ok() {
                let _ = read_method(s);
            }
            Ok(Outcome::Ok)
        }
        (CONNECTION, CLOSE) => {
            let _ = write_method(s, CLOSE_OK, &[]);
            match reply_code(&args) {
                Some(NOT_ALLOWED | ACCESS_REFUSED) => {
                    Ok(Outcome::NoVhost(Closed::parse(&args).to_string()))
                }
                _ => Err(AmqpError::Closed(Closed::parse(&args))),
            }
        }
        _ => Err(AmqpError::Unexpected {
            class,
            method,
            due: "Connection.Open-Ok",
        }),
    }
}

/// Connection.Start-Ok's arguments: a PLAIN login as `user`.
fn start_ok(user: &str, password: &str) -> Vec<u8> {
    let mut a = Vec::new();
    // the capability makes RabbitMQ say ACCESS_REFUSED instead of hanging up
    let mut caps = Vec::new();
    put_shortstr(&mut caps, "authentication_failure_close");
    caps.extend_from_slice(b"t\x01");
    let mut props = Vec::new();
    put_shortstr(&mut props, "product");
    props.push(b'S');
    put_longstr(&mut props, b"stackprov");
    put_shortstr(&mut props, "capabilities");
    props.push(b'F');
    put_longstr(&mut props, &caps);
    put_longstr(&mut a, &props);
    put_shortstr(&mut a, "PLAIN");
    let mut response = Vec::with_capacity(user.len() + password.len() + 2);
    response.push(0);
    response.extend_from_slice(user.as_bytes());
    response.push(0);
    response.extend_from_slice(password.as_bytes());
    put_longstr(&mut a, &response);
    put_shortstr(&mut a, "en_US");
    a
}

/// [`read_method`], the failure saying what was due.
fn read_awaited<S: Read + ?Sized>(
    s: &mut S,
    awaited: Awaited,
) -> Result<Option<Method>, AmqpError> {
    read_method(s).map_err(|error| AmqpError::Read { awaited, error })
}

fn reply_code(args: &[u8]) -> Option<u16> {
    Fields(args).short().ok()
}

/// A method frame: class, method, arguments.
type Method = (u16, u16, Vec<u8>);

/// The next method frame on channel 0 (heartbeats skipped); `None` at the
/// end of the stream before a frame began.
fn read_method<S: Read + ?Sized>(s: &mut S) -> Result<Option<Method>, ReadError> {
    loop {
        let mut head = [0u8; 7];
        match read_full(s, &mut head)? {
            0 => return Ok(None),
            7 => {}
            _ => return Err(ReadError::Truncated),
        }
        if &head[..4] == b"AMQP" {
            return Err(ReadError::ProtocolHeader);
        }
        let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]);
        if size > MAX_FRAME {
            return Err(ReadError::TooLarge(size));
        }
        let mut body = vec![0u8; size as usize + 1];
        if read_full(s, &mut body)? != body.len() {
            return Err(ReadError::Truncated);
        }
        if body.pop() != Some(FRAME_END) {
            return Err(ReadError::NoEndMarker);
        }
        match head[0] {
            FRAME_HEARTBEAT => continue,
            FRAME_METHOD if body.len() >= 4 => {
                let class = u16::from_be_bytes([body[0], body[1]]);
                let method = u16::from_be_bytes([body[2], body[3]]);
                return Ok(Some((class, method, body.split_off(4))));
            }
            t => return Err(ReadError::NotAMethod(t)),
        }
    }
}

/// Read until `buf` is full or the stream ends; how many bytes came.
fn read_full<S: Read + ?Sized>(s: &mut S, buf: &mut [u8]) -> Result<usize, StreamError> {
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

fn write_method<S: Write + ?Sized>(s: &mut S, method: u16, args: &[u8]) -> Result<(), AmqpError> {
    let size = (args.len() + 4) as u32;
    let mut f = Vec::with_capacity(args.len() + 12);
    f.push(FRAME_METHOD);
    f.extend_from_slice(&0u16.to_be_bytes());
    f.extend_from_slice(&size.to_be_bytes());
    f.extend_from_slice(&CONNECTION.to_be_bytes());
    f.extend_from_slice(&method.to_be_bytes());
    f.extend_from_slice(args);
    f.push(FRAME_END);
    let write = |e: std::io::Error| AmqpError::Write(e.into());
    s.write_all(&f).map_err(write)?;
    s.flush().map_err(write)
}

fn put_shortstr(out: &mut Vec<u8>, s: &str) {
    // callers keep names within 255 bytes (checked in `converse`)
    out.push(s.len().min(255) as u8);
    out.extend_from_slice(&s.as_bytes()[..s.len().min(255)]);
}

fn put_longstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// A cursor over a method's arguments.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ShortMethod> {
        if self.0.len() < n {
            return Err(ShortMethod);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn octet(&mut self) -> Result<u8, ShortMethod> {
        Ok(self.take(1)?[0])
    }
    fn short(&mut self) -> Result<u16, ShortMethod> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn long(&mut self) -> Result<u32, ShortMethod> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn shortstr(&mut self) -> Result<&'a [u8], ShortMethod> {
        let n = self.octet()? as usize;
        self.take(n)
    }
    fn longstr(&mut self) -> Result<&'a [u8], ShortMethod> {
        let n = self.long()? as usize;
        self.take(n)
    }
    /// A field table, skipped whole (its length leads it).
    fn table(&mut self) -> Result<(), ShortMethod> {
        self.longstr().map(|_| ())
    }
}

#[cfg(test)]
mod tests;
