//! stackprov: a bare host to an OpenStack controller, from one YAML site file.

pub mod amqp;
pub mod apply;
pub mod atomic_file;
pub mod cli;
pub mod commands;
pub mod desired;
pub mod error;
pub mod facts;
/// An in-memory host with Keystone and Glance, for tests only (the
/// `testing` feature, which the test build turns on): the top layer, since it
/// understands the scripts every layer below writes.
#[cfg(any(test, feature = "testing"))]
pub mod fake;
pub mod host_commands;
pub mod ini;
pub mod input_file;
pub mod model;
pub mod openstack;
pub mod pipeline;
pub mod plan;
pub mod planner;
pub mod quote;
pub mod render;
pub mod secrets;
pub mod site;
pub mod tempest;
pub mod transport;
pub mod verify;
pub mod yaml;
