//! Destinations: where rendered offers are written. Each destination owns its request
//! bodies, how it reads live state back (if it can), and declares what it can hold of a
//! source offer ([`Capabilities`]); render and diff stay the same.

pub mod iscale;
pub mod offerit;

/// What a destination can hold of a source offer, declared once per destination as
/// octoDNS providers declare what they SUPPORT. What a destination cannot hold is listed
/// in the plan as not carried (once per offer), never silently dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The destination's name, as plans say it.
    pub name: &'static str,
    /// Whether it can be read back: if not, plans compare with what was last applied,
    /// and edits made in it are not visible.
    pub readable: bool,
    /// Creatives (images, html, text, links).
    pub creatives: bool,
    /// Custom payout rules (URL-specific or plain payout overrides).
    pub payout_rules: bool,
    /// Region rules of the geo targeting (countries are carried everywhere).
    pub regions: bool,
    /// Every payout event (`true`), or only the events the desired entry maps to one of
    /// the destination's own goals (`false`).
    pub every_event: bool,
    /// Postbacks of payout events other than the base conversion.
    pub event_postbacks: bool,
    /// The offer's visibility to affiliates (`visibility:`).
    pub visibility: bool,
}
