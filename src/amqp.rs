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
            Err(why) if tries < 2 => {
                tracing::debug!("AMQP on port {port}: {}; trying once more", scrub(why));
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
) -> Result<Outcome, String> {
    if user.len() > 255 || vhost.len() > 255 {
        return Err("a user or vhost name over 255 bytes cannot be sent".into());
    }
    s.write_all(b"AMQP\x00\x00\x09\x01").map_err(io)?;
    let (class, method, args) = read_method(s)
        .map_err(|e| format!("{e}, waiting for Connection.Start"))?
        .ok_or("the broker closed the connection")?;
    if (class, method) == (CONNECTION, CLOSE) {
        return Err(closed_text(&args));
    }
    if (class, method) != (CONNECTION, START) {
        return Err(format!(
            "the first method is {class}.{method}, not Connection.Start"
        ));
    }
    let mut r = Fields(&args);
    r.octet()?;
    r.octet()?;
    r.table()?;
    let mechanisms = r.longstr()?;
    if !mechanisms.split(|b| *b == b' ').any(|m| m == b"PLAIN") {
        return Err(format!(
            "the broker offers no PLAIN login (mechanisms: {})",
            String::from_utf8_lossy(mechanisms)
        ));
    }
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
    write_method(s, START_OK, &a)?;
    let Some((class, method, args)) =
        read_method(s).map_err(|e| format!("{e}, waiting for the login's answer"))?
    else {
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
                Some(ACCESS_REFUSED) => Ok(Outcome::Refused(closed_text(&args))),
                _ => Err(closed_text(&args)),
            };
        }
        _ => return Err(format!("{class}.{method} where Connection.Tune was due")),
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
    let (class, method, args) = read_method(s)
        .map_err(|e| format!("{e}, waiting for Connection.Open-Ok"))?
        .ok_or("the broker closed the connection at Connection.Open")?;
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
                Some(NOT_ALLOWED | ACCESS_REFUSED) => Ok(Outcome::NoVhost(closed_text(&args))),
                _ => Err(closed_text(&args)),
            }
        }
        _ => Err(format!("{class}.{method} where Connection.Open-Ok was due")),
    }
}

fn io(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            "no answer in time".to_string()
        }
        _ => e.to_string(),
    }
}

fn reply_code(args: &[u8]) -> Option<u16> {
    Fields(args).short().ok()
}

/// `Connection.Close`'s code and text, as a message.
fn closed_text(args: &[u8]) -> String {
    let mut r = Fields(args);
    match (r.short(), r.shortstr()) {
        (Ok(code), Ok(text)) => format!(
            "the broker closed the connection: {code} {}",
            String::from_utf8_lossy(text)
        ),
        _ => "the broker closed the connection".to_string(),
    }
}

/// The next method frame on channel 0 (heartbeats skipped); `None` at the
/// end of the stream before a frame began.
fn read_method<S: Read + ?Sized>(s: &mut S) -> Result<Option<(u16, u16, Vec<u8>)>, String> {
    loop {
        let mut head = [0u8; 7];
        match read_full(s, &mut head)? {
            0 => return Ok(None),
            7 => {}
            _ => return Err("the stream ended inside a frame".into()),
        }
        if &head[..4] == b"AMQP" {
            return Err(
                "the broker answered with a protocol header: it wants another AMQP version".into(),
            );
        }
        let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]);
        if size > MAX_FRAME {
            return Err(format!(
                "a frame of {size} bytes: this is not an AMQP broker"
            ));
        }
        let mut body = vec![0u8; size as usize + 1];
        if read_full(s, &mut body)? != body.len() {
            return Err("the stream ended inside a frame".into());
        }
        if body.pop() != Some(FRAME_END) {
            return Err("a frame without its end marker: this is not an AMQP broker".into());
        }
        match head[0] {
            FRAME_HEARTBEAT => continue,
            FRAME_METHOD if body.len() >= 4 => {
                let class = u16::from_be_bytes([body[0], body[1]]);
                let method = u16::from_be_bytes([body[2], body[3]]);
                return Ok(Some((class, method, body.split_off(4))));
            }
            t => return Err(format!("a frame of type {t} where a method was due")),
        }
    }
}

/// Read until `buf` is full or the stream ends; how many bytes came.
fn read_full<S: Read + ?Sized>(s: &mut S, buf: &mut [u8]) -> Result<usize, String> {
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(n)
}

fn write_method<S: Write + ?Sized>(s: &mut S, method: u16, args: &[u8]) -> Result<(), String> {
    let size = (args.len() + 4) as u32;
    let mut f = Vec::with_capacity(args.len() + 12);
    f.push(FRAME_METHOD);
    f.extend_from_slice(&0u16.to_be_bytes());
    f.extend_from_slice(&size.to_be_bytes());
    f.extend_from_slice(&CONNECTION.to_be_bytes());
    f.extend_from_slice(&method.to_be_bytes());
    f.extend_from_slice(args);
    f.push(FRAME_END);
    s.write_all(&f).map_err(io)?;
    s.flush().map_err(io)
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
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("a method shorter than its fields".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn octet(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn short(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn long(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn shortstr(&mut self) -> Result<&'a [u8], String> {
        let n = self.octet()? as usize;
        self.take(n)
    }
    fn longstr(&mut self) -> Result<&'a [u8], String> {
        let n = self.long()? as usize;
        self.take(n)
    }
    /// A field table, skipped whole (its length leads it).
    fn table(&mut self) -> Result<(), String> {
        self.longstr().map(|_| ())
    }
}

#[cfg(test)]
mod tests;
