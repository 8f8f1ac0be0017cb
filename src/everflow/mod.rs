//! Everflow's REST API as offersync uses it: one client (auth, timeouts, retries,
//! errors) and the calls of the two APIs involved, the Affiliate API of each source
//! network and the Network API of the destination.

pub mod affiliate;
pub mod client;
pub mod network;
pub mod pacing;
pub mod types;

pub use client::{Api, ApiError, Client, ClientOptions};
pub use pacing::RateLimit;
