//! Plain values shared across layers: they import nothing of stackprov's
//! but the leaf utilities (`yaml` for positions), so any layer may use them.
//!
//! - [`perms`]: a file's owner, group and mode; a RabbitMQ login to try;
//! - [`release`]: the OpenStack releases stackprov knows and what each has;
//! - [`role`]: what a role's playbook header declares (where it goes, what it needs);
//! - [`diagnostic`]: one positioned problem in a file the user wrote.

pub mod diagnostic;
pub mod perms;
pub mod release;
pub mod role;

pub use diagnostic::Diagnostic;
pub use perms::{AmqpLogin, Perms};
pub use release::Release;
pub use role::{HaPlacement, Role, Roles};
