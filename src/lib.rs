//! stackprov: a bare host to an OpenStack controller, from one YAML site file.

pub mod apply;
pub mod assets;
pub mod atomic_file;
pub mod cli;
pub mod cmd;
pub mod diag;
pub mod engine;
pub mod facts;
pub mod hostops;
pub mod ini;
pub mod openstack;
pub mod plan;
pub mod planner;
pub mod playbook;
pub mod profile;
pub mod quote;
pub mod release;
pub mod render;
pub mod resource;
pub mod schema;
pub mod secrets;
pub mod site;
pub mod transport;
pub mod verify;
pub mod yaml;
