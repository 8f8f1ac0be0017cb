//! The Offerit destination (issue 8, seed 003): request forms for what render wants, and
//! the record that keeps a lost `add_offer` from being sent twice.
//!
//! Offerit has no endpoint that reads an offer back, so there is nothing to refresh:
//! plans compare with what state recorded as applied, and an edit made in Offerit is not
//! visible. Each form field is named as the plan names the field (`add_offer`'s names),
//! so an edit sends exactly the fields the plan shows as changed. Countries go as CSV
//! (`authorized=US,CA`), as seed 003's example sends them; money with its exact digits.

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use super::Capabilities;
use crate::desired::SourceOfferId;
use crate::offerit::{Form, FormValue};
use crate::plan::fields::{FieldValue, Fields};
use crate::plan::{Address, FieldChange};
use crate::render::offerit::GoalSpec;
use crate::state::StateStore;

/// What Offerit holds of a source offer: the offer with its commission, landing pages,
/// countries and goals for the events the desired entry maps. Not creatives, custom
/// payout rules, region rules, unmapped events, goal postbacks or a visibility.
pub const CAPABILITIES: Capabilities = Capabilities {
    name: "Offerit",
    readable: false,
    creatives: false,
    payout_rules: false,
    regions: false,
    every_event: false,
    event_postbacks: false,
    visibility: false,
};

/// The plan's field that no form carries: `pause_offer` and `activate_offer` set it.
pub const STATUS_FIELD: &str = "offer_status";

/// Fields of an offer that belong to its default landing page: an edit sends them with
/// `edit_landing_page` (`edit_offer` sets fields on the offer only).
pub const LANDING_PAGE_FIELDS: [&str; 2] = ["url", "preview_url"];

/// The text Offerit is sent for a value: money and percentages with at least two
/// decimals (`350.00`, `26.66`, `12.345`), never through a float.
pub fn form_value(value: &FieldValue) -> FormValue {
    match value {
        FieldValue::Money(amount) | FieldValue::Percent(amount) => {
            FormValue::Text(money_text(*amount))
        }
        FieldValue::Bool(flag) => FormValue::from(*flag),
        other => FormValue::Text(other.recorded()),
    }
}

fn money_text(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

/// The body of `add_offer` (or `add_landing_page`): every field but the status, in the
/// order of `fields`.
pub fn create_form(fields: &Fields) -> Form {
    fields
        .iter()
        .filter(|(path, _)| path != STATUS_FIELD)
        .map(|(path, value)| (path.clone(), form_value(value)))
        .collect()
}

/// The fields of an edit: those `changes` names that `keep` accepts, each with its new
/// value; a field that goes away is sent empty, so that Offerit forgets it.
pub fn edit_form(changes: &[FieldChange], keep: impl Fn(&str) -> bool) -> Form {
    changes
        .iter()
        .filter(|change| change.field != STATUS_FIELD && keep(&change.field))
        .map(|change| {
            let value = change
                .after
                .as_ref()
                .map_or_else(|| FormValue::Text(String::new()), form_value);
            (change.field.clone(), value)
        })
        .collect()
}

/// One `goal_vars` entry per goal, for `set_offer_goals`.
pub fn goal_forms(goals: &[GoalSpec]) -> Vec<Form> {
    let money = |goal: &GoalSpec, amount| {
        form_value(&if goal.percentage {
            FieldValue::Percent(amount)
        } else {
            FieldValue::Money(amount)
        })
    };
    goals
        .iter()
        .map(|goal| {
            Form::new()
                .with("goal_id", goal.goal_id)
                .with("commission_type", goal.commission_type())
                .with("amount", money(goal, goal.amount))
                .with("revenue_type", goal.revenue_type())
                .with("revenue_amount", money(goal, goal.revenue_amount))
        })
        .collect()
}

/// The form a landing page no longer at the source is edited with: Offerit cannot
/// delete a landing page, a private one is offered to no affiliate who was not enabled
/// for it (seed 003, `private`).
pub fn private_form() -> Form {
    Form::new().with("private", true)
}

/// Creates sent whose answer was lost (`state/<network>/<offer>/offerit_pending.json`).
///
/// Offerit documents no idempotency keys and no way to read an offer back, so a create
/// that may have taken effect cannot be checked. Before each `add_offer` (and
/// `add_landing_page`) the resource is written here; once the answer names its id, it is
/// removed. One left behind means Offerit may hold an object state does not know, and
/// plans refuse to create that resource again until someone has looked.
#[derive(Clone, Debug)]
pub struct PendingCreates {
    path: PathBuf,
    shown: PathBuf,
}

/// The file name of [`PendingCreates`] in an offer's state folder.
pub const PENDING_FILE: &str = "offerit_pending.json";

impl PendingCreates {
    pub fn new(workspace: &Path, network: &str, offer: SourceOfferId) -> Self {
        let shown = StateStore::shown_dir(network, offer).join(PENDING_FILE);
        Self {
            path: workspace.join(&shown),
            shown,
        }
    }

    /// The file as people should look for it (relative to the workspace).
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The resources (`offer`, `url[102]`) whose create may have happened unrecorded.
    pub fn load(&self) -> std::io::Result<Vec<String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// Notes that `resource` is about to be created.
    pub fn begin(&self, resource: &str) -> std::io::Result<()> {
        let mut pending = self.load()?;
        if !pending.iter().any(|known| known == resource) {
            pending.push(resource.to_owned());
        }
        self.write(&pending)
    }

    /// Forgets `resource`: its create was recorded, or certainly did not happen.
    pub fn end(&self, resource: &str) -> std::io::Result<()> {
        let mut pending = self.load()?;
        pending.retain(|known| known != resource);
        self.write(&pending)
    }

    fn write(&self, pending: &[String]) -> std::io::Result<()> {
        if pending.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            };
        }
        crate::fsutil::write_atomic(&self.path, &crate::fsutil::stable_json(pending))
    }

    /// Why `address` cannot be planned while `pending` is left: one line, with the way out.
    pub fn refusal(&self, address: &Address, pending: &[String]) -> String {
        format!(
            "{address}: an earlier apply sent Offerit a create for {} and lost the answer: \
             Offerit may hold it, and cannot be read back, so offersync will not send it \
             again\nhint: look in Offerit for it; pause or delete a copy there by hand, then \
             remove {} and plan again",
            pending.join(", "),
            self.shown.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::everflow::types::OfferStatus;
    use crate::money::Margin;
    use crate::plan::Reason;
    use crate::plan::flatten::{landing_page_fields, offerit_offer_fields};
    use crate::render::UrlSpec;
    use crate::render::offerit::{Basis, Commission, OfferitOfferSpec};

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    /// The sandbox's TrimRx GLP-1 offer as render makes it for Offerit.
    fn spec() -> OfferitOfferSpec {
        OfferitOfferSpec {
            name: "TrimRx - Compounded Semaglutide Weight Loss Program".into(),
            offer_description: "<p>Physician-guided GLP-1 & \"more\"</p>".into(),
            authorized: vec!["US".into(), "CA".into()],
            unauthorized: vec!["PR".into()],
            advertiser_id: 4003,
            commission: Commission {
                basis: Basis::Conversion,
                revenue: dec("350"),
                payout: Margin::default().apply(dec("350")),
            },
            url: "https://start.trimrx.test/semaglutide?uid=0&oid=1&affid=42&sub5=%%click_hash%%"
                .into(),
            preview_url: "https://start.trimrx.test/semaglutide".into(),
            thumb_url: "https://cdn.trimrx.test/semaglutide-640x360.png".into(),
            offer_status: OfferStatus::Active,
            margin: Margin::default(),
        }
    }

    /// The body as sent, one field per line, decoded for reading.
    fn shown(form: &Form) -> String {
        let encoded = form.encode();
        let lines: Vec<String> = encoded
            .split('&')
            .map(|pair| {
                let decoded: Vec<(String, String)> = url::form_urlencoded::parse(pair.as_bytes())
                    .into_owned()
                    .collect();
                let (name, value) = &decoded[0];
                format!("{name}={value}")
            })
            .collect();
        format!("{encoded}\n\n{}", lines.join("\n"))
    }

    #[test]
    fn add_offer_form_snapshot() {
        insta::assert_snapshot!(shown(&create_form(&offerit_offer_fields(&spec()))));
    }

    #[test]
    fn a_revenue_share_offer_form_snapshot() {
        let mut spec = spec();
        spec.commission = Commission {
            basis: Basis::Sale,
            revenue: dec("33.33"),
            payout: Margin::default().apply(dec("33.33")),
        };
        spec.authorized.clear();
        spec.thumb_url.clear();
        insta::assert_snapshot!(shown(&create_form(&offerit_offer_fields(&spec))));
    }

    #[test]
    fn add_landing_page_form_snapshot() {
        let page = UrlSpec {
            source_url_id: 102,
            name: "Quiz".into(),
            destination_url:
                "https://start.trimrx.test/quiz/semaglutide?uid=102&oid=1&affid=42&sub5=%%click_hash%%"
                    .into(),
            preview_url: String::new(),
        };
        insta::assert_snapshot!(shown(&create_form(&landing_page_fields(&page))));
    }

    #[test]
    fn set_offer_goals_form_snapshot() {
        let goals = [
            GoalSpec {
                entry_name: "Upsell".into(),
                goal_id: 1,
                percentage: false,
                amount: Margin::default().apply(dec("290")),
                revenue_amount: dec("290"),
                margin: Margin::default(),
            },
            GoalSpec {
                entry_name: "Share".into(),
                goal_id: 2,
                percentage: true,
                amount: Margin::default().apply(dec("12.5")),
                revenue_amount: dec("12.5"),
                margin: Margin::default(),
            },
        ];
        // The body the client sends, not a copy of how it builds one.
        let body = crate::offerit::goals_form(400, &goal_forms(&goals));
        insta::assert_snapshot!(shown(&body));
    }

    #[test]
    fn an_edit_sends_only_what_changed_and_empties_what_went_away() {
        let change =
            |field: &str, before: Option<FieldValue>, after: Option<FieldValue>| FieldChange {
                field: field.into(),
                before,
                after,
                reasons: vec![Reason::SourceChanged],
                lineage: None,
            };
        let changes = [
            change(
                "advertiser_cost_flat",
                Some(FieldValue::Money(dec("350"))),
                Some(FieldValue::Money(dec("370"))),
            ),
            change(
                "flat_amount_per_conversion",
                Some(FieldValue::Money(dec("280"))),
                Some(FieldValue::Money(dec("296.00"))),
            ),
            change("unauthorized", Some(FieldValue::Symbol("PR".into())), None),
            change(
                "url",
                None,
                Some(FieldValue::Text("https://x.test/".into())),
            ),
            change(
                STATUS_FIELD,
                Some(FieldValue::Symbol("active".into())),
                Some(FieldValue::Symbol("paused".into())),
            ),
        ];
        let form = edit_form(&changes, |field| !LANDING_PAGE_FIELDS.contains(&field));
        assert_eq!(
            form.encode(),
            "advertiser_cost_flat=370.00&flat_amount_per_conversion=296.00&unauthorized="
        );
        let page = edit_form(&changes, |field| LANDING_PAGE_FIELDS.contains(&field));
        assert_eq!(page.encode(), "url=https%3A%2F%2Fx.test%2F");
    }

    #[test]
    fn pending_creates_are_kept_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingCreates::new(dir.path(), "trimrx", SourceOfferId(1));
        assert!(pending.load().unwrap().is_empty());
        pending.begin("offer").unwrap();
        pending.begin("url[102]").unwrap();
        pending.begin("offer").unwrap();
        assert_eq!(pending.load().unwrap(), ["offer", "url[102]"]);
        pending.end("offer").unwrap();
        pending.end("url[102]").unwrap();
        assert!(
            !dir.path()
                .join("state/trimrx/1")
                .join(PENDING_FILE)
                .exists()
        );
        let address = Address {
            network: "trimrx".into(),
            source_offer_id: SourceOfferId(1),
        };
        let message = pending.refusal(&address, &["offer".into()]);
        assert!(
            message.starts_with("trimrx/1: an earlier apply sent Offerit a create for offer"),
            "{message}"
        );
        assert!(
            message.contains("state/trimrx/1/offerit_pending.json"),
            "{message}"
        );
    }
}
