//! OpenStack APIs, reached through the transport's tunnel to the host's loopback.

pub mod http;
pub mod keystone;
pub mod keystone2;
pub mod qcow2;
