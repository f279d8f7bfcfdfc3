//! stackprov: a bare host to an OpenStack controller, from one YAML site file.

pub mod encode;
pub mod secret;
pub mod transport;
