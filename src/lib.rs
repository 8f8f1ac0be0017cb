//! offersync: declarative sync of Everflow source offers into a destination network.

pub mod desired;
pub mod everflow;
pub mod money;
pub mod sandbox;
pub mod schema;
pub mod secret;
pub mod settings;
