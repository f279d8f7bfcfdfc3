//! OpenStack APIs, reached through the transport's tunnel to the host's loopback.

pub mod http;
pub mod keystone;
pub mod qcow2;
pub mod keystone2;
