//! A small HTTP/1.1 client over a transport tunnel (SSH direct-tcpip to the
//! host's loopback). One request per connection: Keystone under Debian's uwsgi
//! closes the connection after each response anyway.

use super::error::ApiError;
use crate::transport::{ExecRequest, Transport, TransportError, TransportErrorKind};
use std::io::{Read, Write};

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Result<serde_json::Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::Malformed(format!("HTTP {}: the body is not JSON: {e}", self.status))
        })
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// HTTP counters for reports.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, PartialEq, Eq)]
pub struct HttpStats {
    pub requests: u64,
    /// Retry requests whose connection was refused (a service restarting):
    /// on for apply and verify, off for reading facts (a refusal is the fact).
    #[serde(skip)]
    pub retry_refused: bool,
}

impl HttpStats {
    pub fn patient() -> HttpStats {
        HttpStats {
            requests: 0,
            retry_refused: true,
        }
    }
}

pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Vec<u8>,
    pub content_type: &'a str,
}

impl<'a> Request<'a> {
    pub fn get(path: &'a str) -> Self {
        Request {
            method: "GET",
            path,
            headers: Vec::new(),
            body: Vec::new(),
            content_type: "application/json",
        }
    }
    pub fn json(method: &'a str, path: &'a str, body: &serde_json::Value) -> Self {
        Request {
            method,
            path,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            content_type: "application/json",
        }
    }
    pub fn header(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
    pub fn with_path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }
    pub fn method(mut self, m: &'a str) -> Self {
        self.method = m;
        self
    }
    /// `METHOD http://127.0.0.1:PORT/path`, for messages.
    fn describe(&self, port: u16) -> String {
        format!("{} http://127.0.0.1:{port}{}", self.method, self.path)
    }
}

/// Send one request to 127.0.0.1:port on the host. A connection reset before any
/// answer is retried once for requests that are safe to repeat; a lost
/// connection to the host is not retried.
pub fn send(
    t: &mut dyn Transport,
    port: u16,
    req: &Request<'_>,
    stats: &mut HttpStats,
) -> Result<Response, ApiError> {
    let safe = matches!(req.method, "GET" | "HEAD" | "PUT") || req.path == "/v3/auth/tokens";
    let mut attempt = 0;
    loop {
        attempt += 1;
        stats.requests += 1;
        let t0 = std::time::Instant::now();
        match send_once(t, port, req) {
            Ok(r) => {
                tracing::debug!(
                    "{} {} -> {} in {:.3}s",
                    req.method,
                    req.path,
                    r.status,
                    t0.elapsed().as_secs_f64()
                );
                return Ok(r);
            }
            // a refused connection sent nothing, so any request may be tried again
            Err(e)
                if attempt < 4
                    && e.lost.is_none()
                    && e.retryable
                    && (if e.nothing_sent {
                        stats.retry_refused
                    } else {
                        safe
                    }) =>
            {
                tracing::debug!("{} {}: {}; retrying", req.method, req.path, e.message);
                std::thread::sleep(std::time::Duration::from_millis(500 * attempt));
            }
            Err(SendError {
                lost: Some(source), ..
            }) => {
                return Err(ApiError::Lost {
                    request: req.describe(port),
                    source,
                });
            }
            // a stream that broke mid-exchange: the API, or the whole host?
            Err(e) => {
                let request = req.describe(port);
                let lost = if e.nothing_sent { None } else { host_lost(t) };
                return Err(match lost {
                    Some(source) => ApiError::Lost { request, source },
                    None => ApiError::NoAnswer {
                        request,
                        message: e.message,
                    },
                });
            }
        }
    }
}

/// Whether the connection to the host itself is gone: a trivial command that
/// cannot run, or gets no answer in 15 s, says so. Asked only after a failure.
fn host_lost(t: &mut dyn Transport) -> Option<TransportError> {
    let probe = ExecRequest::new("true").timeout(std::time::Duration::from_secs(15));
    match t.exec(&probe) {
        Err(e)
            if matches!(
                e.kind,
                TransportErrorKind::Unreachable | TransportErrorKind::Timeout
            ) =>
        {
            Some(TransportError::new(
                TransportErrorKind::Unreachable,
                e.message,
            ))
        }
        _ => None,
    }
}

struct SendError {
    message: String,
    retryable: bool,
    /// The tunnel could not be opened: no byte of the request left.
    nothing_sent: bool,
    /// The connection to the host is gone.
    lost: Option<TransportError>,
}

impl SendError {
    fn new(message: String, retryable: bool, nothing_sent: bool) -> SendError {
        SendError {
            message,
            retryable,
            nothing_sent,
            lost: None,
        }
    }
}

fn send_once(t: &mut dyn Transport, port: u16, req: &Request<'_>) -> Result<Response, SendError> {
    let mut stream = t.open_tunnel(port).map_err(|e| SendError {
        lost: (e.kind == TransportErrorKind::Unreachable).then(|| e.clone()),
        ..SendError::new(e.message, true, true)
    })?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: application/json\r\nUser-Agent: stackprov\r\nContent-Length: {}\r\n",
        req.method,
        req.path,
        req.body.len()
    );
    if !req.body.is_empty() {
        head.push_str(&format!("Content-Type: {}\r\n", req.content_type));
    }
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // a request that timed out is not sent again (the wait was the limit)
    let io = |e: std::io::Error| {
        SendError::new(
            e.to_string(),
            e.kind() != std::io::ErrorKind::TimedOut,
            false,
        )
    };
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(&req.body).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if raw.is_empty() => return Err(io(e)),
            // the server closed abruptly after a complete answer
            Err(_) => break,
        }
        if let Some(r) = complete(&raw) {
            return r.map_err(|m| SendError::new(m.to_string(), false, false));
        }
    }
    if raw.is_empty() {
        return Err(SendError::new(
            "connection closed without an answer".into(),
            true,
            false,
        ));
    }
    match complete(&raw) {
        Some(r) => r.map_err(|m| SendError::new(m.to_string(), false, false)),
        None => parse(&raw, true).map_err(|m| SendError::new(m.to_string(), false, false)),
    }
}

/// A full response once all of it has arrived (by Content-Length or chunked end).
fn complete(raw: &[u8]) -> Option<Result<Response, ApiError>> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return (body.len() >= len).then(|| parse(raw, false));
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n").then(|| parse(raw, false));
    }
    if head.starts_with("http/1.1 204") || head.starts_with("http/1.0 204") {
        return Some(parse(raw, false));
    }
    None
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn parse(raw: &[u8], at_eof: bool) -> Result<Response, ApiError> {
    let bad = |m: &str| ApiError::Malformed(m.to_string());
    let end = find(raw, b"\r\n\r\n").ok_or_else(|| bad("incomplete HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::Malformed(format!("bad status line `{status_line}`")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len && !at_eof {
            return Err(bad("incomplete body"));
        }
        body[..len.min(body.len())].to_vec()
    } else {
        body.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, ApiError> {
    let bad = |m: &str| ApiError::Malformed(m.to_string());
    let mut out = Vec::new();
    loop {
        let i = find(b, b"\r\n").ok_or_else(|| bad("bad chunked body"))?;
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..i])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .map_err(|_| bad("bad chunk size"))?;
        b = &b[i + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_chunked_and_204() {
        let r = complete(
            b"HTTP/1.1 201 CREATED\r\nX-Subject-Token: abc\r\nContent-Length: 2\r\n\r\n{}",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.status, r.header("x-subject-token"), r.body.as_slice()),
            (201, Some("abc"), b"{}".as_slice())
        );
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}").is_none());
        let r =
            complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(r.body, b"{}");
        let r = complete(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.status, 204);
    }
}
