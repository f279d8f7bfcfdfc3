//! What can go wrong talking to an OpenStack API through the tunnel. Callers
//! decide by variant, never by message: a lost connection makes the run's exit
//! code "unreachable", a refusal is the API answering no.

use crate::transport::{TransportError, TransportErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The connection to the host is gone (the tunnel could not be opened on it).
    #[error("{request}: {source}")]
    Lost {
        request: String,
        source: TransportError,
    },
    /// No usable answer: refused, reset, closed early, not HTTP.
    #[error("{request}: {message}")]
    NoAnswer { request: String, message: String },
    /// An answer, but not the status expected.
    #[error("{request}: HTTP {status}{}", body.as_deref().map(|b| format!(": {b}")).unwrap_or_default())]
    Status {
        request: String,
        status: u16,
        /// The start of the body, when the message should show it.
        body: Option<String>,
    },
    /// An answer without what it must hold (JSON, a token).
    #[error("{0}")]
    Malformed(String),
    #[error("Keystone refuses the password of `{user}` from the secrets file (secret `{secret}`)")]
    PasswordRefused { user: String, secret: String },
    #[error("Keystone refuses the password of `{user}` in tenant `{tenant}` from the secrets file")]
    TenantPasswordRefused { user: String, tenant: String },
    #[error("{source}: Keystone refuses the admin token from the secrets file (secret `{secret}`)")]
    TokenRefused {
        source: Box<ApiError>,
        secret: String,
    },
    #[error(
        "{0}: the secrets file does not match this cloud's admin password \
         (restore the right secrets file, or set the admin password to the file's value)"
    )]
    SecretsMismatch(Box<ApiError>),
    #[error("secret `{0}` is not in the secrets file")]
    MissingSecret(String),
    #[error("no {kind} named `{name}` in Keystone")]
    NotFound { kind: String, name: String },
    #[error("no service of type `{0}`")]
    NoService(String),
    #[error("{api} did not answer within {secs}s: {last}")]
    Timeout {
        api: &'static str,
        secs: u64,
        last: Box<ApiError>,
    },
    /// An answer, but not what a check expects of a working service.
    #[error("{0}")]
    Unexpected(String),
    /// A call or a site setting the API cannot serve.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl ApiError {
    /// The host itself is gone, not just the API.
    pub fn is_unreachable(&self) -> bool {
        match self {
            ApiError::Lost { source, .. } => source.kind == TransportErrorKind::Unreachable,
            ApiError::Timeout { last, .. } => last.is_unreachable(),
            ApiError::TokenRefused { source, .. } | ApiError::SecretsMismatch(source) => {
                source.is_unreachable()
            }
            _ => false,
        }
    }

    /// The API answers and refuses the credentials from the secrets file.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ApiError::PasswordRefused { .. }
                | ApiError::TenantPasswordRefused { .. }
                | ApiError::TokenRefused { .. }
        )
    }

    /// The HTTP status of an unexpected answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The status error for `request`, with the first 300 characters of the body.
    pub fn status_with_body(request: String, status: u16, body: &[u8]) -> ApiError {
        ApiError::Status {
            request,
            status,
            body: Some(String::from_utf8_lossy(body).chars().take(300).collect()),
        }
    }
}
