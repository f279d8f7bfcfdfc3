//! Secrets: passwords and tokens generated once, kept in a 0600 file beside
//! the site, sent to hosts only as bytes on stdin or into 0600 files, and never shown.
//!
//! A secret's way through stackprov, one module per step:
//! - [`store`]: the secrets file ([`SecretStore`]): load it, generate the names
//!   the resources need, append them under a lock; [`file`]: its strict reader
//!   and the writer of new lines.
//! - [`placeholder`]: templates, plans and saved facts never hold a value, only
//!   `((secret:NAME))` or `((secret:NAME|ENCODING))`; [`placeholder::resolve`]
//!   puts the values in at the moment bytes go to a host.
//! - [`encoding`]: how a value is written where it lands (URL, INI, SQL, shell...).
//! - [`secret`]: a [`Secret`] never prints itself; [`masker`]: a [`Masker`]
//!   scrubs every known value, in every encoding, out of any text shown or saved.
//!
//! Nothing here knows the site, planner, engine, transports or OpenStack APIs;
//! they all use this module.

pub mod encoding;
pub mod file;
pub mod masker;
pub mod placeholder;
pub mod secret;
pub mod store;

pub use encoding::{Encoding, UnknownEncoding};
pub use masker::Masker;
pub use placeholder::PlaceholderError;
pub use secret::{MASK, MIN_SECRET_CHARS, Secret};
pub use store::{GENERATED_LEN, SecretStore, SecretsLock, StoreError};
