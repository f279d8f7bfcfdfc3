//! What a tunnel to the fake host reaches: which ports answer (Keystone on :5000
//! or :35357, Glance on :9292, while their services run), and [`FakeHttp`], the
//! byte stream of one HTTP exchange, routed to Keystone or Glance by path.

use super::FakeHost;
use crate::transport::{TransportError, TransportErrorKind};
use serde_json::Value;
use std::io::{Cursor, Read, Write};

impl FakeHost {
    /// Keystone answers on :5000 once its service runs and bootstrap has been done
    /// (or on :35357 for the v2.0 admin API, given an admin token).
    pub(super) fn tunnel_check(&mut self, port: u16) -> Result<(), TransportError> {
        if self.lost {
            return Err(TransportError::new(
                TransportErrorKind::Unreachable,
                "connection lost (simulated)",
            ));
        }
        self.stats.round_trips += 1;
        let running = |name: &str| self.services.get(name).is_some_and(|s| s.running);
        // v3 on :5000 (Debian's keystone), the v2.0 admin API on :35357 (RDO's openstack-keystone)
        let glance_up = running("glance-api") || running("openstack-glance-api");
        let up = match &self.keystone {
            _ if port == 9292 => self.glance.is_some() && glance_up,
            None => false,
            Some(_) if port == 5000 => running("keystone"),
            Some(k) => port == 35357 && k.admin_token.is_some() && running("openstack-keystone"),
        };
        if up {
            Ok(())
        } else {
            Err(TransportError::io(format!(
                "fake host: connection refused on 127.0.0.1:{port}"
            )))
        }
    }

    pub(super) fn keystone_handle(
        &mut self,
        m: &str,
        t: &str,
        h: &str,
        b: &[u8],
    ) -> (u16, Vec<(String, String)>, serde_json::Value) {
        if self
            .lose_connection_on
            .as_ref()
            .is_some_and(|x| format!("{m} {t}").contains(x.as_str()))
        {
            self.lost = true;
            self.lose_connection_on = None;
            // no answer: the stream breaks (see FakeHttp)
            return (0, vec![], serde_json::Value::Null);
        }
        // the tunnel's port is not known here: the path tells the APIs apart
        if t.starts_with("/v2/") {
            return match self.glance.as_mut() {
                Some(g) => g.handle(m, t, h, b),
                None => (503, vec![], serde_json::Value::Null),
            };
        }
        match self.keystone.as_mut() {
            Some(k) => k.handle(m, t, h, b),
            None => (503, vec![], serde_json::Value::Null),
        }
    }
}

/// A fake server's header whose value (hex) is the answer's body, as bytes.
pub const RAW_BODY_HEADER: &str = "x-fake-raw-body";

/// The byte stream of one HTTP exchange with a fake server; a server that
/// answers status 0 breaks the stream instead (a connection reset).
pub struct FakeHttp<F: FnMut(&str, &str, &str, &[u8]) -> (u16, Vec<(String, String)>, Value) + Send>
{
    pub input: Vec<u8>,
    pub output: Option<Cursor<Vec<u8>>>,
    pub server: F,
}

impl<F: FnMut(&str, &str, &str, &[u8]) -> (u16, Vec<(String, String)>, Value) + Send> Write
    for FakeHttp<F>
{
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.input.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<F: FnMut(&str, &str, &str, &[u8]) -> (u16, Vec<(String, String)>, Value) + Send> Read
    for FakeHttp<F>
{
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.output.is_none() {
            // the head as text, the body as the bytes sent (an image upload is binary)
            let split = self.input.windows(4).position(|w| w == b"\r\n\r\n");
            let (head, body) = match split {
                Some(i) => (&self.input[..i], &self.input[i + 4..]),
                None => (&self.input[..], &[][..]),
            };
            let head = String::from_utf8_lossy(head).into_owned();
            let head = head.as_str();
            let mut first = head.lines().next().unwrap_or_default().split_whitespace();
            let (method, target) = (
                first.next().unwrap_or_default(),
                first.next().unwrap_or_default(),
            );
            let (status, headers, json) = (self.server)(method, target, head, body);
            if status == 0 {
                return Err(std::io::ErrorKind::ConnectionReset.into());
            }
            // a binary body (an image download) comes as hex in this header
            let raw = headers
                .iter()
                .find(|(k, _)| k == RAW_BODY_HEADER)
                .and_then(|(_, v)| hex::decode(v).ok());
            let body = match raw {
                Some(b) => b,
                None if json.is_null() => Vec::new(),
                None => json.to_string().into_bytes(),
            };
            let mut resp = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
            for (k, v) in headers.iter().filter(|(k, _)| k != RAW_BODY_HEADER) {
                resp.push_str(&format!("{k}: {v}\r\n"));
            }
            resp.push_str("\r\n");
            let mut bytes = resp.into_bytes();
            bytes.extend_from_slice(&body);
            self.output = Some(Cursor::new(bytes));
        }
        self.output.as_mut().map_or(Ok(0), |c| c.read(buf))
    }
}
