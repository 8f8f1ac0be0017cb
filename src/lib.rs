//! offersync: declarative sync of Everflow source offers into a destination network.
//!
//! The modules follow the data flow of DESIGN.md section 3:
//! settings + desired config -> source pull -> render -> refresh -> diff (plan) -> apply,
//! with state on disk and the Everflow client at the edges. The sandbox is a faithful
//! Everflow simulator used by the demo, the tests and operators rehearsing a change.

pub mod sandbox;
