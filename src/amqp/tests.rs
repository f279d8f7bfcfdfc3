use super::*;
use crate::transport::{ExecOutput, ExecRequest, FileSpec, TransportStats, Tunnel};
use std::collections::VecDeque;

/// How the scripted broker answers.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// RabbitMQ 3.2 and later: Connection.Close 403 for a bad login.
    Modern,
    /// Hangs up after a bad login (no capability honoured).
    Legacy,
}

/// A broker that speaks the server side of the exchange, from the bytes the
/// client writes, with one user, one password and the vhosts it may open.
struct Broker {
    style: Style,
    user: &'static str,
    password: &'static str,
    vhosts: &'static [&'static str],
    /// A text the broker puts into its refusal (to test the scrub).
    refusal: String,
    input: Vec<u8>,
    output: VecDeque<u8>,
    header_seen: bool,
    /// What the client sent in Start-Ok: (capabilities table, mechanism, response).
    start_ok: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    closed: bool,
}

fn broker(style: Style) -> Broker {
    Broker {
        style,
        user: "openstack",
        password: "rabbit pass",
        vhosts: &["/"],
        refusal: "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN".into(),
        input: Vec::new(),
        output: VecDeque::new(),
        header_seen: false,
        start_ok: None,
        closed: false,
    }
}

fn frame(method: u16, args: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    write_method(&mut f, method, args).unwrap();
    f
}

fn close_args(code: u16, text: &str) -> Vec<u8> {
    let mut a = code.to_be_bytes().to_vec();
    put_shortstr(&mut a, text);
    a.extend_from_slice(&[0, 10, 0, 11]);
    a
}

impl Broker {
    fn answer(&mut self, bytes: &[u8]) {
        self.output.extend(bytes);
    }
    fn step(&mut self) {
        if !self.header_seen {
            if self.input.len() < 8 {
                return;
            }
            assert_eq!(&self.input[..8], b"AMQP\x00\x00\x09\x01");
            self.input.drain(..8);
            self.header_seen = true;
            let mut a = vec![0, 9];
            put_longstr(&mut a, b"\x07product\x53\x00\x00\x00\x08RabbitMQ");
            put_longstr(&mut a, b"AMQPLAIN PLAIN");
            put_longstr(&mut a, b"en_US");
            // a heartbeat first: the client skips it
            self.answer(&[FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);
            let f = frame(START, &a);
            self.answer(&f);
        }
        while self.input.len() >= 7 {
            let size = u32::from_be_bytes(self.input[3..7].try_into().unwrap()) as usize;
            if self.input.len() < 7 + size + 1 {
                return;
            }
            let body: Vec<u8> = self.input[7..7 + size].to_vec();
            assert_eq!(self.input[7 + size], FRAME_END);
            self.input.drain(..8 + size);
            let method = u16::from_be_bytes([body[2], body[3]]);
            let mut r = Fields(&body[4..]);
            match method {
                START_OK => {
                    let props = r.longstr().unwrap().to_vec();
                    let mech = r.shortstr().unwrap().to_vec();
                    let resp = r.longstr().unwrap().to_vec();
                    self.start_ok = Some((props, mech, resp.clone()));
                    let want = format!("\0{}\0{}", self.user, self.password);
                    if resp == want.as_bytes() {
                        let mut a = 2047u16.to_be_bytes().to_vec();
                        a.extend_from_slice(&131072u32.to_be_bytes());
                        a.extend_from_slice(&60u16.to_be_bytes());
                        let f = frame(TUNE, &a);
                        self.answer(&f);
                    } else if self.style == Style::Modern {
                        let f = frame(CLOSE, &close_args(403, &self.refusal.clone()));
                        self.answer(&f);
                    } else {
                        self.closed = true;
                    }
                }
                TUNE_OK => {
                    assert_eq!(r.short().unwrap(), 2047);
                    assert_eq!(r.long().unwrap(), MAX_FRAME);
                    assert_eq!(r.short().unwrap(), 0, "no heartbeats");
                }
                OPEN => {
                    let vhost = String::from_utf8(r.shortstr().unwrap().to_vec()).unwrap();
                    if self.vhosts.contains(&vhost.as_str()) {
                        let f = frame(OPEN_OK, &[0]);
                        self.answer(&f);
                    } else {
                        let text = format!(
                            "NOT_ALLOWED - access to vhost '{vhost}' refused for user '{}'",
                            self.user
                        );
                        let f = frame(CLOSE, &close_args(530, &text));
                        self.answer(&f);
                    }
                }
                CLOSE => {
                    let f = frame(CLOSE_OK, &[]);
                    self.answer(&f);
                    self.closed = true;
                }
                CLOSE_OK => self.closed = true,
                m => panic!("unexpected method {m}"),
            }
        }
    }
}

impl Read for Broker {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.output.len());
        for b in buf.iter_mut().take(n) {
            *b = self.output.pop_front().unwrap();
        }
        Ok(n)
    }
}

impl Write for Broker {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        self.input.extend_from_slice(buf);
        self.step();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_right_password_opens_the_vhost_and_asks_for_a_refusal_it_can_read() {
    let mut b = broker(Style::Modern);
    assert!(matches!(
        converse(&mut b, "openstack", "rabbit pass", "/"),
        Ok(Outcome::Ok)
    ));
    let (props, mech, resp) = b.start_ok.clone().unwrap();
    assert_eq!(mech, b"PLAIN");
    assert_eq!(resp, b"\0openstack\0rabbit pass");
    let caps = b"\x1cauthentication_failure_closet\x01";
    assert!(
        props.windows(caps.len()).any(|w| w == caps),
        "capabilities: {props:?}"
    );
    assert!(b.closed, "the client said goodbye");
}

#[test]
fn another_password_is_refused_by_either_kind_of_broker() {
    let mut b = broker(Style::Modern);
    match converse(&mut b, "openstack", "old pass", "/") {
        Ok(Outcome::Refused(m)) => assert!(m.contains("403 ACCESS_REFUSED"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut b = broker(Style::Legacy);
    match converse(&mut b, "openstack", "old pass", "/") {
        Ok(Outcome::Refused(m)) => assert!(m.contains("closed the connection"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut b = broker(Style::Modern);
    assert!(matches!(
        converse(&mut b, "nobody", "rabbit pass", "/"),
        Ok(Outcome::Refused(_))
    ));
}

#[test]
fn a_user_without_permission_on_the_vhost_does_not_pass() {
    let mut b = broker(Style::Modern);
    b.vhosts = &["/other"];
    match converse(&mut b, "openstack", "rabbit pass", "/") {
        Ok(Outcome::NoVhost(m)) => {
            assert!(m.contains("530 NOT_ALLOWED - access to vhost '/'"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

/// A stream that answers with fixed bytes whatever it is sent.
struct Canned(std::io::Cursor<Vec<u8>>);

impl Read for Canned {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Canned {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn canned(bytes: &[u8]) -> Result<Outcome, AmqpError> {
    converse(
        &mut Canned(std::io::Cursor::new(bytes.to_vec())),
        "openstack",
        "pw",
        "/",
    )
}

#[test]
fn what_is_not_an_amqp_broker_is_an_error_not_a_hang_or_a_huge_buffer() {
    let e = canned(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").unwrap_err();
    assert!(
        matches!(
            e,
            AmqpError::Read {
                awaited: Awaited::Start,
                error: ReadError::TooLarge(_)
            }
        ),
        "{e:?}"
    );
    let e = e.to_string();
    assert!(e.contains("not an AMQP broker"), "{e}");
    let e = canned(b"AMQP\x00\x00\x09\x01").unwrap_err().to_string();
    assert!(e.contains("another AMQP version"), "{e}");
    let e = canned(b"").unwrap_err();
    assert!(matches!(e, AmqpError::HungUp), "{e:?}");
    assert_eq!(e.to_string(), "the broker closed the connection");
    let e = canned(&[1, 0, 0, 0, 0, 0, 40, 0, 10])
        .unwrap_err()
        .to_string();
    assert!(e.contains("ended inside a frame"), "{e}");
    let mut start = frame(START, &[0, 9]);
    start[7 + 6] = 0;
    let e = canned(&start).unwrap_err().to_string();
    assert!(
        e.contains("shorter than its fields") || e.contains("end marker"),
        "{e}"
    );
    let mut a = vec![0, 9];
    put_longstr(&mut a, b"");
    put_longstr(&mut a, b"AMQPLAIN EXTERNAL");
    put_longstr(&mut a, b"en_US");
    let e = canned(&frame(START, &a)).unwrap_err().to_string();
    assert!(e.contains("no PLAIN login"), "{e}");
}

/// A transport whose tunnels reach these streams in turn, or fail as told.
struct Host {
    streams: VecDeque<Box<dyn Tunnel>>,
    fail: Option<TransportErrorKind>,
}

fn host(streams: Vec<Box<dyn Tunnel>>) -> Host {
    Host {
        streams: streams.into(),
        fail: None,
    }
}

/// A stream whose reads fail as libssh2's did now and then on the test bed.
struct Broken;

impl Read for Broken {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("transport read"))
    }
}

impl Write for Broken {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Transport for Host {
    fn name(&self) -> &str {
        "host"
    }
    fn exec(&mut self, _: &ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        unreachable!()
    }
    fn read_file(&mut self, _: &str) -> Result<Option<Vec<u8>>, TransportError> {
        unreachable!()
    }
    fn write_file(&mut self, _: &FileSpec, _: &[u8]) -> Result<(), TransportError> {
        unreachable!()
    }
    fn open_tunnel(&mut self, port: u16) -> Result<Box<dyn Tunnel + '_>, TransportError> {
        assert_eq!(port, 5672);
        match self.fail {
            Some(kind) => Err(TransportError::new(
                kind,
                "Channel open failure: connect failed",
            )),
            None => Ok(self.streams.pop_front().expect("a stream for each tunnel")),
        }
    }
    fn stats(&self) -> TransportStats {
        TransportStats::default()
    }
}

#[test]
fn a_login_through_the_transport_never_shows_the_password() {
    let mut b = broker(Style::Modern);
    // a broker that repeats what it was sent, the password with it
    b.refusal = "ACCESS_REFUSED - no user for the password s3cr3t-pw".into();
    let mut h = host(vec![Box::new(b)]);
    let pw = Secret::new("s3cr3t-pw");
    match login(&mut h, 5672, "openstack", &pw, "/") {
        Ok(Outcome::Refused(m)) => {
            assert!(
                !m.contains("s3cr3t-pw") && m.contains(crate::secrets::MASK),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    let pw = Secret::new("rabbit pass");
    let mut h = host(vec![Box::new(broker(Style::Modern))]);
    assert_eq!(login(&mut h, 5672, "openstack", &pw, "/"), Ok(Outcome::Ok));
    // a port nobody listens on is a fact; a lost host is an error
    let mut h = Host {
        streams: VecDeque::new(),
        fail: Some(TransportErrorKind::Io),
    };
    match login(&mut h, 5672, "openstack", &pw, "/") {
        Ok(Outcome::Unavailable(m)) => assert!(m.contains("connect failed"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut h = Host {
        streams: VecDeque::new(),
        fail: Some(TransportErrorKind::Unreachable),
    };
    assert!(login(&mut h, 5672, "openstack", &pw, "/").is_err());
}

#[test]
fn an_exchange_cut_short_is_tried_once_more_and_then_reported() {
    let pw = Secret::new("rabbit pass");
    let mut h = host(vec![Box::new(Broken), Box::new(broker(Style::Modern))]);
    assert_eq!(login(&mut h, 5672, "openstack", &pw, "/"), Ok(Outcome::Ok));
    let mut h = host(vec![Box::new(Broken), Box::new(Broken)]);
    match login(&mut h, 5672, "openstack", &pw, "/") {
        Ok(Outcome::Unavailable(m)) => {
            assert_eq!(m, "port 5672: transport read, waiting for Connection.Start")
        }
        other => panic!("{other:?}"),
    }
    // a refusal is an answer: not tried again (the second stream is never used)
    let mut h = host(vec![Box::new(broker(Style::Modern)), Box::new(Broken)]);
    let old = Secret::new("old pass");
    assert!(matches!(
        login(&mut h, 5672, "openstack", &old, "/"),
        Ok(Outcome::Refused(_))
    ));
    assert_eq!(h.streams.len(), 1);
}
