//! The fleet of issue 7: every offer with 3 URLs besides the default landing page,
//! 2 payout events, 2 creatives, a custom payout rule and a thumbnail. It owns the
//! fixture for that fleet and the check, in a first apply's log, that the tool was
//! given (and created) exactly that.
//!
//! [`Fixtures::fleet`] copies each source network's richest offer; directmeds's has
//! only 2 URLs, so each of its copies gets a third one here, with its own landing page.

use offersync::sandbox::{Fixtures, LoggedRequest};
use serde::Serialize;
use serde_json::{Value, json};

/// URLs per offer besides the default landing page.
pub const URLS: usize = 3;
/// Payout events per offer.
pub const EVENTS: usize = 2;
/// Creatives per offer.
pub const CREATIVES: usize = 2;
/// Custom payout rules per offer.
pub const RULES: usize = 1;

/// `per_network` offers of the shape in each source network.
pub fn fixtures(per_network: usize) -> anyhow::Result<Fixtures> {
    let mut fixtures = Fixtures::fleet(per_network);
    for source in &mut fixtures.sources {
        for offer in &mut source.offers {
            let at = format!("{}/{}", source.name, offer.offer["network_offer_id"]);
            let urls = offer.offer["relationship"]["urls"]["entries"]
                .as_array_mut()
                .ok_or_else(|| anyhow::anyhow!("{at}: no relationship.urls.entries"))?;
            while urls.len() < URLS {
                // Ids of fleet copies are 10000 apart, so the next id is nobody's.
                let next = urls
                    .iter()
                    .filter_map(|url| url["network_offer_url_id"].as_u64())
                    .max()
                    .unwrap_or(0)
                    + 1;
                urls.push(json!({
                    "network_offer_url_id": next,
                    "name": format!("Bench Landing Page {}", urls.len() + 1),
                    "preview_url": "",
                }));
                let default_page = offer
                    .landing_pages
                    .get("0")
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("{at}: no default landing page"))?;
                offer
                    .landing_pages
                    .insert(next.to_string(), format!("{default_page}/bench-{next}"));
            }
            check_offer(&at, &offer.offer)?;
        }
    }
    let problems = fixtures.problems();
    anyhow::ensure!(problems.is_empty(), "fleet fixtures: {problems:?}");
    Ok(fixtures)
}

/// Fails unless a source offer has the shape.
fn check_offer(at: &str, offer: &serde_json::Map<String, Value>) -> anyhow::Result<()> {
    let relationship = &offer["relationship"];
    let count = |name: &str| relationship[name]["entries"].as_array().map_or(0, Vec::len);
    let counts = [
        ("urls", URLS),
        ("payouts", EVENTS),
        ("creatives", CREATIVES),
        ("custom_payout_settings", RULES),
    ];
    for (name, expected) in counts {
        let found = count(name);
        anyhow::ensure!(found == expected, "{at}: {found} {name}, not {expected}");
    }
    let thumbnail = offer.get("thumbnail_url").and_then(Value::as_str);
    anyhow::ensure!(
        thumbnail.is_some_and(|url| !url.is_empty()),
        "{at}: no thumbnail"
    );
    Ok(())
}

/// What a first apply created, per offer, against the fleet's shape.
#[derive(Clone, Debug, Serialize)]
pub struct Shape {
    pub offers: usize,
    pub offers_created: usize,
    pub urls_created: usize,
    pub creatives_created: usize,
    pub rules_created: usize,
    pub ok: bool,
}

impl Shape {
    /// Counts the creates of a first apply of `offers` offers.
    pub fn of_first_apply(offers: usize, log: &[LoggedRequest]) -> Shape {
        let posts = |path: &str| {
            log.iter()
                .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == path)
                .count()
        };
        let offers_created = posts("/v1/networks/offers");
        let urls_created = posts("/v1/networks/offerurls");
        let creatives_created = posts("/v1/networks/creatives");
        let rules_created = posts("/v1/networks/custom/payoutrevenue");
        let ok = offers_created == offers
            && urls_created == URLS * offers
            && creatives_created == CREATIVES * offers
            && rules_created == RULES * offers;
        Shape {
            offers,
            offers_created,
            urls_created,
            creatives_created,
            rules_created,
            ok,
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per_offer = |n: usize| n as f64 / self.offers.max(1) as f64;
        write!(
            f,
            "fleet shape: {} of {} offers created; per offer {:.2} URLs, {:.2} creatives, \
             {:.2} payout rules (expected {URLS}, {CREATIVES}, {RULES}): {}",
            self.offers_created,
            self.offers,
            per_offer(self.urls_created),
            per_offer(self.creatives_created),
            per_offer(self.rules_created),
            if self.ok { "ok" } else { "WRONG" }
        )
    }
}
