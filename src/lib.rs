//! offersync: declarative sync of Everflow source offers into a destination network.
//!
//! The modules follow the data flow of DESIGN.md section 3:
//!
//! ```text
//! settings + desired ─► source (pull) ─► render ─► destination (refresh) ─► plan::diff ─► apply
//!                                                      state (ids, fingerprints) ──┘
//! ```
//!
//! `planner` drives pull/render/refresh/diff for a run, `apply` carries a plan out,
//! `import` records offers made by hand as if offersync had applied them, and
//! `everflow` is the only module that speaks HTTP to Everflow, `offerit` the only one
//! that speaks to an Offerit install (the second destination). `sandbox` is a faithful
//! simulator of both used by the demo, the tests and operators rehearsing a change.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod desired;
pub mod destination;
pub mod everflow;
pub mod fsutil;
pub mod guards;
pub mod http;
pub mod import;
pub mod lock;
pub mod money;
pub mod offerit;
pub mod pixels;
pub mod plan;
pub mod planner;
pub mod printer;
pub mod render;
pub mod report;
pub mod sandbox;
pub mod saved_plan;
pub mod schema;
pub mod secret;
pub mod settings;
pub mod setup;
pub mod source;
pub mod state;
pub mod text;
pub mod thumbnail;
pub mod timefmt;
pub mod usage;
pub mod verify;
pub mod workspace;
