//! Showing a plan in a pull-request comment: GitHub-flavoured Markdown grouped by network
//! and then by offer, with what each network's changes do to payout and revenue amounts,
//! kept under a size limit (GitHub refuses a comment over 65,536 characters).
//!
//! Pure, like `show`: returns a string. Text from third parties (offer and event names,
//! URLs, descriptions, whatever a live API returns) never becomes markup: values go in
//! code spans, which GitHub shows literally (no HTML, no @mentions, no #references), with
//! control and invisible characters spelled out and table pipes escaped; note text is
//! backslash-escaped and its `@` and `#` cannot link. Secrets are already masked in the
//! plan's values (`FieldValue::Secret`); this module reads only what `plan --json` shows,
//! never `Change::target`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rust_decimal::Decimal;
use similar::{ChangeTag, TextDiff};

use super::fields::{FieldValue, MASK, is_payout_field, is_revenue_field};
use super::show::{describe, describe_target, is_noise, plural};
use super::{Action, Address, Change, FieldChange, Note, Plan, ResourceId};

/// The default size limit: under GitHub's 65,536 characters per comment, with room for
/// what a CI job writes around the plan.
pub const COMMENT_LIMIT: usize = 60_000;

/// Where the whole plan is, for a comment that had to leave some of it out.
const WHOLE_PLAN: &str = "`offersync plan --json`, or the saved plan file";

/// Keeps `@name` and `#123` from becoming a mention or a reference: invisible, and not a
/// character a GitHub name or number may hold.
const WORD_JOINER: char = '\u{2060}';

/// The plan as Markdown of fewer than `limit` characters (counted as `char`s). When the
/// whole plan does not fit, it shows the offers that do, whole and in order, and ends
/// with a line that says what it left out and where the whole plan is.
pub fn render_markdown(plan: &Plan, limit: usize) -> String {
    let head = heading(plan);
    let blocks = blocks(plan);
    let head_len = head.chars().count();
    let total: usize = head_len + blocks.iter().map(|block| block.chars).sum::<usize>();
    if total < limit {
        return blocks.iter().fold(head, |mut out, block| {
            out.push_str(&block.text);
            out
        });
    }
    // The longest run of whole offers that fits with the line saying what is left out.
    let mut shown = 0;
    let mut length = head_len;
    for (index, block) in blocks.iter().enumerate() {
        length += block.chars;
        if length + footer(&blocks[index + 1..]).chars().count() >= limit {
            break;
        }
        shown = index + 1;
    }
    let mut out = head;
    for block in &blocks[..shown] {
        out.push_str(&block.text);
    }
    out.push_str(&footer(&blocks[shown..]));
    out
}

/// What one offer (or a network itself) shows: its changes and notes, and the heading
/// of its network when it is the network's first.
struct Block {
    text: String,
    chars: usize,
    changes: usize,
    notes: usize,
    network_wide: bool,
}

/// The changes and notes of one address.
#[derive(Default)]
struct Group<'a> {
    changes: Vec<&'a Change>,
    notes: Vec<&'a Note>,
}

fn blocks(plan: &Plan) -> Vec<Block> {
    let mut groups: BTreeMap<&Address, Group<'_>> = BTreeMap::new();
    for change in &plan.changes {
        groups
            .entry(&change.address)
            .or_default()
            .changes
            .push(change);
    }
    for note in &plan.notes {
        groups.entry(&note.address).or_default().notes.push(note);
    }
    let mut blocks = Vec::with_capacity(groups.len());
    let mut network = None;
    for (address, group) in &groups {
        let mut text = String::new();
        if network != Some(address.network.as_str()) {
            network = Some(address.network.as_str());
            text.push_str(&network_heading(plan, &address.network));
        }
        text.push_str(&offer_block(address, group));
        blocks.push(Block {
            chars: text.chars().count(),
            text,
            changes: group.changes.len(),
            notes: group.notes.len(),
            network_wide: address.is_network(),
        });
    }
    blocks
}

fn heading(plan: &Plan) -> String {
    let summary = plan.summary;
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "### offersync plan: no changes\n\nThe destination matches the desired config and the sources ({} managed offer{}).",
            summary.unchanged,
            plural(summary.unchanged)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "### offersync plan: {} to create, {} to update, {} to pause, {} to delete",
        summary.create, summary.update, summary.pause, summary.delete
    );
    let mut lines = Vec::new();
    if summary.unchanged > 0 {
        lines.push(format!(
            "{} managed offer{} unchanged.",
            summary.unchanged,
            plural(summary.unchanged)
        ));
    }
    lines.extend(Money::of(plan.changes.iter()).describe());
    if !lines.is_empty() {
        let _ = writeln!(out, "\n{}", lines.join(" "));
    }
    out
}

fn network_heading(plan: &Plan, network: &str) -> String {
    let mut out = format!("\n#### {}\n", prose(network));
    let changes = plan
        .changes
        .iter()
        .filter(|change| change.address.network == network);
    if let Some(money) = Money::of(changes).describe() {
        let _ = writeln!(out, "\n{money}");
    }
    out
}

fn offer_block(address: &Address, group: &Group<'_>) -> String {
    let title = if address.is_network() {
        format!("{} (network-wide)", address.network)
    } else {
        let offer = group
            .changes
            .iter()
            .find_map(|change| match change.resource {
                ResourceId::Offer | ResourceId::Thumbnail => change.destination_id,
                _ => None,
            });
        match offer {
            Some(id) => format!("{address} (iScale offer {id})"),
            None => address.to_string(),
        }
    };
    let mut out = format!("\n##### {}\n", prose(&title));
    if !group.changes.is_empty() {
        out.push_str("\n| | change | before → after | why |\n|:-:|---|---|---|\n");
        let mut diffs = String::new();
        for change in &group.changes {
            change_rows(&mut out, &mut diffs, change);
        }
        out.push_str(&diffs);
    }
    if !group.notes.is_empty() {
        out.push('\n');
        for note in &group.notes {
            let _ = writeln!(out, "- Note: {}", note_text(&note.message));
        }
    }
    out
}

/// A row for the resource, then one per field; multi-line text goes to `diffs`, shown
/// after the table.
fn change_rows(out: &mut String, diffs: &mut String, change: &Change) {
    let target = format!("**{}**", prose(&describe_target(change)));
    // Which one, for kinds an offer has several of: `url[105]`.
    let what = match change.resource.key() {
        Some(_) => format!("{target} {}", code(&change.resource.to_string(), true)),
        None => target,
    };
    row(
        out,
        change.action.symbol(),
        &what,
        "",
        &prose(&describe(&change.reasons)),
    );
    let shown = change
        .fields
        .iter()
        .filter(|field| change.action != Action::Create || !is_noise(field));
    for field in shown {
        let symbol = match (change.action, &field.before, &field.after) {
            (Action::Create, _, _) | (_, None, Some(_)) => '+',
            (_, Some(_), None) => '-',
            _ => '~',
        };
        let multiline = field.before.as_ref().is_some_and(FieldValue::is_multiline)
            || field.after.as_ref().is_some_and(FieldValue::is_multiline);
        let values = if multiline {
            diffs.push_str(&text_diff(change, field));
            "_text: see the diff below_".to_owned()
        } else {
            values(field)
        };
        row(
            out,
            symbol,
            &code(&field.field, true),
            &values,
            &prose(&why(change.action, field)),
        );
    }
}

fn row(out: &mut String, symbol: char, what: &str, values: &str, why: &str) {
    let _ = writeln!(out, "| `{symbol}` | {what} | {values} | {why} |");
}

/// Field reasons (a create's are in its first row) and money lineage.
fn why(action: Action, field: &FieldChange) -> String {
    let mut parts = Vec::new();
    if action != Action::Create {
        parts.push(describe(&field.reasons));
    }
    parts.extend(field.lineage.clone());
    parts.join("; ")
}

fn values(field: &FieldChange) -> String {
    match (&field.before, &field.after) {
        (None, Some(after)) => value(after),
        (Some(before), None) => format!("{} → _none_", value(before)),
        (Some(before), Some(after)) => format!("{} → {}", value(before), value(after)),
        (None, None) => String::new(),
    }
}

/// A value in a table cell, exactly: money keeps every decimal it has.
fn value(value: &FieldValue) -> String {
    let text = match value {
        FieldValue::Text(text) => format!("{text:?}"),
        FieldValue::Symbol(text) if text.is_empty() => return "_empty_".to_owned(),
        FieldValue::Symbol(text) => text.escape_debug().to_string(),
        FieldValue::Money(amount) => exact(*amount),
        FieldValue::Percent(amount) => format!("{}%", exact(*amount)),
        FieldValue::Id(id) => id.to_string(),
        FieldValue::Bool(flag) => flag.to_string(),
        FieldValue::Secret(_) => MASK.to_owned(),
    };
    code(&text, true)
}

/// Multi-line text as a collapsed line diff. A fenced block shows its content literally;
/// the fence is longer than any run of backticks in it, so nothing in it can close it.
fn text_diff(change: &Change, field: &FieldChange) -> String {
    let text = |value: &Option<FieldValue>| match value {
        Some(FieldValue::Text(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let (before, after) = (text(&field.before), text(&field.after));
    let mut body = String::new();
    for line in TextDiff::from_lines(&before, &after).iter_all_changes() {
        let mark = match line.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        let text = line.value().trim_end_matches(['\n', '\r']);
        let _ = writeln!(body, "{mark} {}", visible(text));
    }
    let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
    let label = format!("{} {} {}", change.address, change.resource, field.field);
    format!(
        "\n<details><summary><code>{}</code></summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
        html(&label)
    )
}

/// The safety guards a plan trips, as a warning to put above the plan: why the pull
/// request's check failed, and the flag that would override each.
pub fn guards_section(tripped: &[String]) -> String {
    let mut out = String::from(
        "> [!CAUTION]\n> **offersync will not apply this plan**: it trips these safety guards.\n",
    );
    for message in tripped {
        out.push_str("> - ");
        out.push_str(&note_text(message));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// A note, whose names from the source sit between backticks: those become code spans
/// (whatever they hold), the rest escaped text. A message with an odd number of
/// backticks is all text.
fn note_text(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return prose(message);
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| match index % 2 {
            0 => prose(part),
            _ if part.is_empty() => prose("``"),
            _ => code(part, false),
        })
        .collect()
}

/// Text that shows as itself: Markdown's punctuation backslash-escaped (so no emphasis,
/// link, HTML, entity, math or table cell can start), `@` and `#` kept from linking,
/// control and invisible characters spelled out.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '@' | '#' => {
                out.push(c);
                out.push(WORD_JOINER);
            }
            c if is_invisible(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `text` literally. In a table cell its pipes are escaped (GFM
/// reads `\|` there as a pipe, even in a code span).
fn code(text: &str, in_table: bool) -> String {
    let mut content = visible(text);
    if in_table {
        content = content.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_run(&content, '`') + 1);
    // A space on each side is dropped when reading the span: it lets the content start
    // or end with a backtick, and keeps its own edge spaces.
    let pad = content.starts_with(['`', ' ']) || content.ends_with(['`', ' ']);
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{content}{pad}{fence}")
}

/// Control and invisible characters (bidi overrides, zero-width spaces) as `\u{...}`,
/// so what a reviewer sees is what is there.
fn visible(text: &str) -> String {
    if !text.chars().any(is_invisible) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if is_invisible(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

fn html(text: &str) -> String {
    visible(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for current in text.chars() {
        run = if current == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// The last line of a comment that leaves part of the plan out.
fn footer(left_out: &[Block]) -> String {
    let count = |f: fn(&Block) -> usize| left_out.iter().map(f).sum::<usize>();
    let changes = count(|block| block.changes);
    let notes = count(|block| block.notes);
    let networks = count(|block| usize::from(block.network_wide));
    let offers = left_out.len() - networks;
    let mut what = Vec::new();
    if changes > 0 {
        what.push(format!("{changes} change{}", plural(changes)));
    }
    if notes > 0 {
        what.push(format!("{notes} note{}", plural(notes)));
    }
    let mut whose = Vec::new();
    if offers > 0 {
        whose.push(format!("{offers} offer{}", plural(offers)));
    }
    if networks > 0 {
        whose.push(format!("{networks} network{}", plural(networks)));
    }
    format!(
        "\n---\n\n**Not shown: {} (of {}),** to keep this comment under GitHub's size limit. The whole plan: {WHOLE_PLAN}.\n",
        what.join(" and "),
        whose.join(" and "),
    )
}

/// What changes do to payout and revenue amounts: the sum of after minus before (an
/// amount that appears counts from 0, one that goes away counts to 0). Percentages are
/// not amounts and are left out.
#[derive(Default)]
struct Money {
    payouts: Decimal,
    revenue: Decimal,
    seen: bool,
}

impl Money {
    fn of<'a>(changes: impl Iterator<Item = &'a Change>) -> Self {
        let mut money = Money::default();
        for field in changes.flat_map(|change| &change.fields) {
            // Percentages are left out below: only money amounts add up.
            let total = if is_payout_field(&field.field) {
                &mut money.payouts
            } else if is_revenue_field(&field.field) {
                &mut money.revenue
            } else {
                continue;
            };
            let amount = |value: &Option<FieldValue>| match value {
                Some(FieldValue::Money(amount)) => Some(*amount),
                _ => None,
            };
            let (before, after) = (amount(&field.before), amount(&field.after));
            if before.is_none() && after.is_none() {
                continue;
            }
            *total += after.unwrap_or_default() - before.unwrap_or_default();
            money.seen = true;
        }
        money
    }

    /// `Money, summed over the payout and revenue amounts that change (after - before):
    /// payouts +16.40, revenue +20.50.`
    fn describe(&self) -> Option<String> {
        self.seen.then(|| {
            format!(
                "Money, summed over the payout and revenue amounts that change (after - before): payouts {}, revenue {}.",
                signed(self.payouts),
                signed(self.revenue)
            )
        })
    }
}

/// An amount with every decimal it has, and at least two.
fn exact(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

fn signed(amount: Decimal) -> String {
    if amount.is_zero() {
        "0.00".to_owned()
    } else if amount.is_sign_positive() {
        format!("+{}", exact(amount))
    } else {
        exact(amount)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    use super::*;
    use crate::desired::SourceOfferId;
    use crate::plan::fields::event_path;
    use crate::plan::{Reason, Target};
    use crate::render::RuleKey;
    use crate::secret::Secret;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn address(network: &str, offer: u64) -> Address {
        Address {
            network: network.to_owned(),
            source_offer_id: SourceOfferId(offer),
        }
    }

    fn field(name: &str, before: Option<FieldValue>, after: Option<FieldValue>) -> FieldChange {
        FieldChange {
            field: name.to_owned(),
            before,
            after,
            reasons: vec![Reason::SourceChanged],
            lineage: None,
        }
    }

    fn change(
        address: Address,
        resource: ResourceId,
        action: Action,
        fields: Vec<FieldChange>,
    ) -> Change {
        Change {
            address,
            destination: crate::desired::Destination::Iscale,
            resource,
            action,
            destination_id: (action != Action::Create).then_some(1003),
            reasons: vec![Reason::SourceChanged],
            fields,
            target: Target::Delete,
        }
    }

    fn text(value: &str) -> Option<FieldValue> {
        Some(FieldValue::Text(value.to_owned()))
    }

    fn money(value: &str) -> Option<FieldValue> {
        Some(FieldValue::Money(dec(value)))
    }

    /// Per offer: an update of two amounts and a new URL (2 + 4 fields).
    fn offer_changes(network: &str, offer: u64) -> Vec<Change> {
        vec![
            change(
                address(network, offer),
                ResourceId::Offer,
                Action::Update,
                vec![
                    field(
                        &event_path("Base", "payout_amount"),
                        money("280.00"),
                        money("296.01"),
                    ),
                    field(
                        &event_path("Base", "revenue_amount"),
                        money("350"),
                        money("370.015"),
                    ),
                ],
            ),
            change(
                address(network, offer),
                ResourceId::Url(offer * 10),
                Action::Create,
                vec![
                    field("name", None, text("Landing page")),
                    field(
                        "destination_url",
                        None,
                        text(&format!("https://start.{network}.test/lp?oid={offer}")),
                    ),
                    field("preview_url", None, text("")),
                    field(
                        "url_status",
                        None,
                        Some(FieldValue::Symbol("active".into())),
                    ),
                ],
            ),
        ]
    }

    fn big_plan(offers_per_network: u64) -> Plan {
        let changes = ["directmeds", "trimrx"]
            .into_iter()
            .flat_map(|network| {
                (1..=offers_per_network).flat_map(move |offer| offer_changes(network, offer))
            })
            .collect();
        Plan::new(changes, Vec::new(), 0)
    }

    /// Table rows that start a change (a resource row: its description is bold).
    fn change_rows(markdown: &str) -> usize {
        markdown
            .lines()
            .filter(|line| line.starts_with("| `") && line.contains(" | **"))
            .count()
    }

    #[test]
    fn a_plan_too_long_for_a_comment_is_cut_between_offers() {
        let plan = big_plan(1500);
        let out = render_markdown(&plan, COMMENT_LIMIT);
        assert!(
            out.chars().count() < COMMENT_LIMIT,
            "{}",
            out.chars().count()
        );
        assert!(
            out.starts_with("### offersync plan: 3000 to create, 3000 to update, 0 to pause, 0 to delete\n\nMoney, summed over the payout and revenue amounts that change (after - before): payouts +48030.00, revenue +60045.00.\n"),
            "the heading counts the whole plan: {}",
            &out[..300]
        );
        // Every offer shown is whole: its heading, its two changes and their six fields.
        let blocks: Vec<&str> = out.split("\n##### ").skip(1).collect();
        let (last, offers) = blocks.split_last().unwrap();
        for block in offers {
            assert_eq!(
                block.lines().filter(|l| l.starts_with("| `")).count(),
                8,
                "{block}"
            );
        }
        let (last, footer) = last
            .split_once("\n---\n\n")
            .expect("a footer after the last offer");
        assert_eq!(
            last.lines().filter(|l| l.starts_with("| `")).count(),
            8,
            "{last}"
        );
        let shown_offers = blocks.len();
        let shown_changes = change_rows(&out);
        assert_eq!(shown_changes, 2 * shown_offers);
        assert!(
            shown_offers > 100,
            "most of the room is used: {shown_offers}"
        );
        assert_eq!(
            footer,
            format!(
                "**Not shown: {} changes (of {} offers),** to keep this comment under GitHub's size limit. The whole plan: `offersync plan --json`, or the saved plan file.\n",
                6000 - shown_changes,
                3000 - shown_offers
            )
        );
        assert!(out.ends_with("the saved plan file.\n"));
    }

    #[test]
    fn the_limit_is_exact() {
        let plan = big_plan(3);
        let whole = render_markdown(&plan, COMMENT_LIMIT);
        let length = whole.chars().count();
        assert_eq!(render_markdown(&plan, length + 1), whole, "fits: all of it");
        let cut = render_markdown(&plan, length);
        assert!(cut.chars().count() < length, "{cut}");
        assert!(cut.contains("**Not shown: "), "{cut}");
        // Whatever the limit, the comment stays under it, and a larger limit never shows
        // fewer offers.
        let mut shown = 0;
        for limit in 400..=length + 1 {
            let out = render_markdown(&plan, limit);
            assert!(out.chars().count() < limit, "{limit}: {out}");
            let offers = out.matches("\n##### ").count();
            assert!(offers >= shown, "{limit}: {out}");
            shown = offers;
        }
        assert_eq!(shown, 6);
        // A limit too small for any offer still says what is left out.
        let nothing = render_markdown(&plan, 500);
        assert!(nothing.chars().count() < 500, "{nothing}");
        assert!(
            nothing.contains("**Not shown: 12 changes (of 6 offers),**"),
            "{nothing}"
        );
    }

    #[test]
    fn money_is_summed_exactly_per_network_and_overall() {
        let mut changes = offer_changes("trimrx", 1);
        changes.push(change(
            address("trimrx", 2),
            ResourceId::Offer,
            Action::Update,
            vec![
                // 0.1 + 0.2 is exactly 0.3 in decimals.
                field(
                    "events[\"Base\"].payout_amount",
                    money("10.10"),
                    money("10.20"),
                ),
                field(
                    "events[\"Upsell\"].payout_amount",
                    money("5.00"),
                    money("5.20"),
                ),
                // Percentages are not amounts; a new amount counts from 0, a dropped one to 0.
                field(
                    "events[\"Base\"].payout_percentage",
                    Some(FieldValue::Percent(dec("10"))),
                    Some(FieldValue::Percent(dec("90"))),
                ),
                field("events[\"New\"].revenue_amount", None, money("0.005")),
                field("events[\"Gone\"].revenue_amount", money("20.00"), None),
            ],
        ));
        changes.push(change(
            address("directmeds", 12),
            ResourceId::Rule(RuleKey("121:1202".into())),
            Action::Update,
            vec![field("payout_amount", money("93.50"), money("90.00"))],
        ));
        let out = render_markdown(&Plan::new(changes, Vec::new(), 2), COMMENT_LIMIT);
        let sums: Vec<&str> = out
            .lines()
            .filter(|line| line.contains("Money, summed"))
            .map(|line| line.split_once("): ").unwrap().1)
            .collect();
        assert_eq!(
            sums,
            [
                // Overall: 16.01 + 0.30 - 3.50, and 20.015 + 0.005 - 20.00.
                "payouts +12.81, revenue +0.02.",
                // directmeds, then trimrx.
                "payouts -3.50, revenue 0.00.",
                "payouts +16.31, revenue +0.02.",
            ]
        );
        assert!(out.contains("| `350.00` → `370.015` |"), "{out}");
    }

    #[test]
    fn an_empty_plan_says_no_changes_and_keeps_its_notes() {
        let notes = vec![Note {
            address: address("trimrx", 3),
            message: "payout event `Share` (prv) not carried: no revenue type".into(),
        }];
        let out = render_markdown(&Plan::new(Vec::new(), notes, 4), COMMENT_LIMIT);
        assert_eq!(
            out,
            "### offersync plan: no changes\n\nThe destination matches the desired config and the sources (4 managed offers).\n\n#### trimrx\n\n##### trimrx/3\n\n- Note: payout event `Share` (prv) not carried: no revenue type\n"
        );
    }

    #[test]
    fn secrets_stay_masked() {
        // The token is in the change's target (for apply) and, as a digest, in its values.
        let mut token = change(
            Address::network("trimrx"),
            ResourceId::Advertiser,
            Action::Update,
            vec![field(
                "verification_token",
                Some(FieldValue::Secret("digest-of-the-live-token".into())),
                Some(FieldValue::Secret("digest-of-the-wanted-token".into())),
            )],
        );
        token.target = Target::Token(Secret::new("tok_the_real_token"));
        let out = render_markdown(&Plan::new(vec![token], Vec::new(), 0), COMMENT_LIMIT);
        assert!(
            out.contains("| `~` | `verification_token` | `********` → `********` |"),
            "{out}"
        );
        for secret in ["tok_the_real_token", "digest-of"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
    }

    /// A source offer whose texts try to break out of the table and the comment.
    fn hostile_plan() -> Plan {
        let name = "Evil | name `code` <img src=x onerror=alert(1)> @someone #12 *bold* \
                    [link](https://evil.test) $x$ &amp; \\| \u{202E}gnp.exe | injected |";
        let description = "first line\n```\n</details>\n<script>alert(1)</script>\n@someone\n````";
        let creative = "x` @someone <b>bold</b> | cell | `y";
        let changes = vec![change(
            address("trimrx", 1),
            ResourceId::Offer,
            Action::Update,
            vec![
                field("name", text("TrimRx"), text(name)),
                field("html_description", text("first line"), text(description)),
                field(
                    "offer_status",
                    Some(FieldValue::Symbol("act|ive\\".into())),
                    Some(FieldValue::Symbol("`paused`\n| x | y |".into())),
                ),
                field(
                    &event_path("@someone | `x` <b>", "payout_amount"),
                    money("1"),
                    money("2"),
                ),
            ],
        )];
        let notes = vec![
            Note {
                address: address("trimrx", 1),
                message: format!("creative 9 `{creative}` (video) not carried"),
            },
            Note {
                address: address("trimrx", 1),
                message: "odd ` count @someone <i>x</i> \u{202E}txt.exe".into(),
            },
        ];
        Plan::new(changes, notes, 0)
    }

    #[test]
    fn hostile_text_stays_text() {
        let out = render_markdown(&hostile_plan(), COMMENT_LIMIT);
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM;
        let (mut in_code_block, mut in_strong, mut in_item) = (false, false, false);
        let mut cells_per_row = Vec::new();
        let mut code_spans = Vec::new();
        let mut code_block = String::new();
        let mut items: Vec<String> = Vec::new();
        for event in Parser::new_ext(&out, options) {
            match event {
                Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
                Event::End(TagEnd::CodeBlock) => in_code_block = false,
                Event::Start(Tag::Strong) => in_strong = true,
                Event::End(TagEnd::Strong) => in_strong = false,
                Event::Start(Tag::Item) => {
                    in_item = true;
                    items.push(String::new());
                }
                Event::End(TagEnd::Item) => in_item = false,
                Event::Start(Tag::TableHead | Tag::TableRow) => cells_per_row.push(0),
                Event::Start(Tag::TableCell) => *cells_per_row.last_mut().unwrap() += 1,
                Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. } | Tag::Strikethrough)) => {
                    panic!("{tag:?} in\n{out}")
                }
                Event::Text(text) if in_code_block => code_block.push_str(&text),
                Event::Text(text) => {
                    assert!(!text.contains("@someone"), "a mention: {text:?}\n{out}");
                    assert!(!text.contains("#12"), "a reference: {text:?}\n{out}");
                    // Bold is ours alone: what a change does.
                    if in_strong {
                        assert_eq!(&*text, "update iScale offer 1003");
                    }
                    if in_item {
                        items.last_mut().unwrap().push_str(&text);
                    }
                }
                Event::Code(code) => {
                    if in_item {
                        items.last_mut().unwrap().push_str(&code);
                    }
                    code_spans.push(code.to_string());
                }
                Event::Html(html) | Event::InlineHtml(html) => {
                    // Only the collapsible diff, with nothing but our label in its summary.
                    let ours = [
                        "<details><summary><code>trimrx/1 offer html_description</code></summary>\n",
                        "</details>\n",
                    ];
                    assert!(
                        ours.contains(&&*html),
                        "HTML from the plan: {html:?}\n{out}"
                    );
                }
                Event::InlineMath(_) | Event::DisplayMath(_) | Event::FootnoteReference(_) => {
                    panic!("{event:?} in\n{out}")
                }
                _ => {}
            }
        }
        // Header, the change and its four fields, each of 4 cells: no pipe or newline of
        // the source made a cell or a row.
        assert_eq!(cells_per_row, [4; 6], "{out}");
        // What the source wrote is all there, to be read, with what is invisible spelled
        // out; in notes, its backticks only decide what shows as code.
        for expected in [
            "\"Evil | name `code` <img src=x onerror=alert(1)> @someone #12 *bold* \
             [link](https://evil.test) $x$ &amp; \\\\| \\u{202e}gnp.exe | injected |\"",
            "act|ive\\\\",
            "`paused`\\n| x | y |",
            "events[\"@someone | `x` <b>\"].payout_amount",
        ] {
            assert!(
                code_spans.iter().any(|span| span == expected),
                "{expected} not in {code_spans:#?}"
            );
        }
        assert_eq!(
            items,
            [
                "Note: creative 9 x @\u{2060}someone <b>bold</b> | cell | y (video) not carried",
                "Note: odd ` count @\u{2060}someone <i>x</i> \\u{202e}txt.exe",
            ]
        );
        assert_eq!(
            code_block,
            "- first line\n+ first line\n+ ```\n+ </details>\n+ <script>alert(1)</script>\n+ @someone\n+ ````\n"
        );
        assert!(!out.contains('\u{202E}'), "no raw bidi override");
    }
}
