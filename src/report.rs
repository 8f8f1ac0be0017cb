//! Postback health (seeds 001 and 002): how iScale's postbacks to its affiliates fared on
//! the managed offers, and which affiliates have postbacks there. Pure: summarises rows
//! read by the command and renders them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::everflow::network::{DeliveryRow, PartnerPostback};
use crate::plan::Address;
use crate::timefmt::format_utc;

/// Failures shown per offer.
const EXAMPLES: usize = 3;

/// One managed offer's deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferHealth {
    pub address: Address,
    pub offer_id: u64,
    pub delivered: usize,
    pub failed: usize,
    /// The first failures, oldest first.
    pub examples: Vec<DeliveryRow>,
}

/// Deliveries per managed offer (`offers`: address and iScale offer id), in address order.
pub fn summarize(offers: &[(Address, u64)], rows: &[DeliveryRow]) -> Vec<OfferHealth> {
    let mut by_offer: BTreeMap<u64, Vec<&DeliveryRow>> = BTreeMap::new();
    for row in rows {
        by_offer.entry(row.network_offer_id).or_default().push(row);
    }
    offers
        .iter()
        .map(|(address, offer_id)| {
            let mut rows = by_offer.remove(offer_id).unwrap_or_default();
            rows.sort_by_key(|row| (row.timestamp, row.pixel_id));
            let failed: Vec<&DeliveryRow> =
                rows.iter().copied().filter(|row| !row.is_success).collect();
            OfferHealth {
                address: address.clone(),
                offer_id: *offer_id,
                delivered: rows.len() - failed.len(),
                failed: failed.len(),
                examples: failed.into_iter().take(EXAMPLES).cloned().collect(),
            }
        })
        .collect()
}

/// What the report covers, for its heading.
#[derive(Clone, Debug)]
pub struct Period<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub timezone_id: u64,
    /// Whether the rows came from the export stream (more than the report's 1000).
    pub exported: bool,
}

/// The report as text.
pub fn render(
    period: &Period<'_>,
    health: &[OfferHealth],
    partners: &[PartnerPostback],
    names: &BTreeMap<u64, Address>,
) -> String {
    let mut out = String::new();
    let total: usize = health
        .iter()
        .map(|offer| offer.delivered + offer.failed)
        .sum();
    let _ = writeln!(
        out,
        "Postback deliveries from {} to {} (timezone_id {}), {} managed offer{}, {total} postback{}{}.\n",
        period.from,
        period.to,
        period.timezone_id,
        health.len(),
        if health.len() == 1 { "" } else { "s" },
        if total == 1 { "" } else { "s" },
        if period.exported {
            " (read from the export stream: more than 1000)"
        } else {
            ""
        },
    );
    let address_width = health
        .iter()
        .map(|offer| offer.address.to_string().len())
        .max()
        .unwrap_or(0)
        .max("OFFER".len());
    let _ = writeln!(
        out,
        "{:address_width$}  {:>6}  {:>9}  {:>6}  FAILURE RATE",
        "OFFER", "ISCALE", "DELIVERED", "FAILED"
    );
    for offer in health {
        let attempts = offer.delivered + offer.failed;
        let rate = if attempts == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}%", offer.failed as f64 * 100.0 / attempts as f64)
        };
        let _ = writeln!(
            out,
            "{:address_width$}  {:>6}  {:>9}  {:>6}  {rate}",
            offer.address.to_string(),
            offer.offer_id,
            offer.delivered,
            offer.failed
        );
    }

    let failing: Vec<&OfferHealth> = health
        .iter()
        .filter(|offer| !offer.examples.is_empty())
        .collect();
    if !failing.is_empty() {
        out.push_str("\nFailures (the first of each offer):\n");
        for offer in failing {
            for row in &offer.examples {
                let affiliate = row.relationship.affiliate.as_ref().map_or_else(
                    || format!("affiliate {}", row.affiliate_id),
                    |a| format!("affiliate {} {}", a.network_affiliate_id, a.name),
                );
                let when = format_utc(u64::try_from(row.timestamp).unwrap_or(0));
                let _ = writeln!(
                    out,
                    "  {}  {when}  pixel {} ({affiliate}), {} attempt{}: {}",
                    offer.address,
                    row.pixel_id,
                    row.failed_attempts,
                    if row.failed_attempts == 1 { "" } else { "s" },
                    failure_reason(row)
                );
            }
        }
    }

    out.push_str("\nPartner postbacks on managed offers:\n");
    if partners.is_empty() {
        out.push_str("  none: no iScale affiliate has a postback on these offers\n");
    }
    for partner in partners {
        let scope = match (
            partner.pixel_level.as_str(),
            names.get(&partner.network_offer_id),
        ) {
            ("global", _) => "every offer".to_owned(),
            (_, Some(address)) => address.to_string(),
            (_, None) => format!("iScale offer {}", partner.network_offer_id),
        };
        let affiliate = if partner.network_affiliate_name.is_empty() {
            format!("affiliate {}", partner.network_affiliate_id)
        } else {
            format!(
                "affiliate {} {}",
                partner.network_affiliate_id, partner.network_affiliate_name
            )
        };
        let _ = writeln!(
            out,
            "  pixel {:<5} {affiliate}: {} {} via {}, {}, on {scope}",
            partner.network_pixel_id,
            partner.pixel_status,
            partner.pixel_type,
            partner.delivery_method,
            partner.pixel_level,
        );
    }
    out
}

/// Why a delivery failed, in one short line: the HTTP status the partner answered, or
/// the error that kept it from answering (Everflow's debug information is
/// `PostbackUrl: ...`, then `Status: 500` or `Error: Get "<url>": <what happened>`).
fn failure_reason(row: &DeliveryRow) -> String {
    let lines: Vec<&str> = row
        .debug_information
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let reason = if let Some(status) = lines.iter().find_map(|line| line.strip_prefix("Status:")) {
        format!("HTTP {}", status.trim())
    } else if let Some(error) = lines.iter().find_map(|line| line.strip_prefix("Error:")) {
        // The Go error repeats the URL before the cause: keep the cause.
        let error = error.trim();
        error
            .rsplit_once("\": ")
            .map_or(error, |(_, cause)| cause)
            .to_owned()
    } else {
        lines
            .iter()
            .find(|line| !line.starts_with("PostbackUrl:"))
            .or(lines.first())
            .map_or_else(|| "no detail given".to_owned(), |line| (*line).to_owned())
    };
    let reason: String = reason.chars().take(120).collect();
    let target: String = row.payload.chars().take(100).collect();
    format!("{reason}, to {target}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::SourceOfferId;

    fn row(offer: u64, timestamp: i64, success: bool) -> DeliveryRow {
        DeliveryRow {
            network_offer_id: offer,
            network_offer_payout_revenue_id: 0,
            affiliate_id: 7,
            pixel_id: 112,
            transaction_id: format!("t{timestamp}"),
            timestamp,
            delivery_method: "postback".into(),
            pixel_type: "conversion".into(),
            payload: "https://partner.test/pb?tid=abc".into(),
            is_success: success,
            debug_information:
                "PostbackUrl: https://partner.test/pb?tid=abc\nStatus: 500\nScheme: https".into(),
            failed_attempts: if success { 0 } else { 3 },
            relationship: Default::default(),
        }
    }

    #[test]
    fn counts_and_examples_per_offer() {
        let address = Address {
            network: "trimrx".into(),
            source_offer_id: SourceOfferId(1),
        };
        let health = summarize(
            &[(address, 1003)],
            &[
                row(1003, 30, false),
                row(1003, 10, true),
                row(1003, 20, false),
                row(9999, 5, false),
            ],
        );
        assert_eq!(health.len(), 1);
        assert_eq!((health[0].delivered, health[0].failed), (1, 2));
        assert_eq!(health[0].examples[0].timestamp, 20, "oldest failure first");
        assert_eq!(
            failure_reason(&health[0].examples[0]),
            "HTTP 500, to https://partner.test/pb?tid=abc"
        );
        let mut timeout = row(1003, 40, false);
        timeout.debug_information =
            "PostbackUrl: https://p.test/x\nError: Get \"https://p.test/x\": \
            context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                .into();
        assert_eq!(
            failure_reason(&timeout),
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers), \
             to https://partner.test/pb?tid=abc"
        );
    }
}
