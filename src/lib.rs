//! stackprov: a bare host to an OpenStack controller, from one YAML site file.

pub mod diag;
pub mod encode;
pub mod release;
pub mod secret;
pub mod site;
pub mod transport;
