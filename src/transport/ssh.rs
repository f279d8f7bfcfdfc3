//! The ssh2 transport (issue 3 replaces this placeholder with the real one).

use super::{HostTarget, TransportError, TransportErrorKind};

pub type SshTransport = super::fake::FakeHost;

pub fn connect(target: &HostTarget) -> Result<SshTransport, TransportError> {
    Err(TransportError::new(
        TransportErrorKind::Unreachable,
        format!("{}: the SSH transport is not built yet", target.name),
    ))
}
