//! Offerit's REST API (documented today under the Trackfinity name; seed 003 and
//! `reference/offerit-api-facts.md`) as offersync uses it: a second destination for
//! networks that do not run on Everflow.
//!
//! It owns the HTTP client of one install ([`OfferitApi`]: auth headers, retries,
//! errors), the PHP form encoding of request bodies ([`Form`]) and the response
//! envelope ([`Envelope`]). It does not decide what an offer's fields are (the render
//! step builds the forms) nor when to call (planner and apply). Offerit has no
//! endpoint that reads an offer back, so there are only writes here.

pub mod client;
pub mod envelope;
pub mod form;

pub use client::{
    OfferCreated, OfferitApi, OfferitError, OfferitOptions, goals_form, parse_base_url,
};
pub use envelope::{Envelope, Payload};
pub use form::{Form, FormValue};
