//! OpenStack APIs, reached through the transport's tunnel to the host's loopback.

pub mod error;
pub mod http;
pub mod keystone;
pub mod qcow2;
