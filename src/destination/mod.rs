//! Destinations: where rendered offers are written. Each destination owns its request
//! bodies and how it reads live state back; render and diff stay the same.

pub mod iscale;
