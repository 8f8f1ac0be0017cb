//! The integration-test binary: one module per topic.

mod common;
mod config;
mod content;
mod demo;
mod e2e;
mod hostile;
mod import;
mod offerit;
mod offerit_e2e;
mod offline;
mod output;
mod postbacks;
mod reliability;
mod review;
mod sandbox;
mod schema;
mod secrets;
mod setup;
mod thumbnail;
