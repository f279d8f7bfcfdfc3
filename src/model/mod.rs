//! Plain values shared across layers: they import nothing of stackprov's
//! but the leaf utilities (`yaml` for positions), so any layer may use them.
//!
//! - [`perms`]: a file's owner, group and mode; a RabbitMQ login to try;
//! - [`release`]: the OpenStack releases stackprov knows and what each has;
//! - [`diagnostic`]: one positioned problem in a file the user wrote.

pub mod diagnostic;
pub mod perms;
pub mod release;

pub use diagnostic::Diagnostic;
pub use perms::{AmqpLogin, Perms};
pub use release::Release;
