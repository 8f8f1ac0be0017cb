//! offersync: declarative sync of Everflow source offers into a destination network.

pub mod sandbox;
