//! Showing a plan to people: Terraform-like text that reads correctly without colour.
//!
//! `+` create, `~` update, `-` pause (offers are never deleted). Each changed field shows
//! `before -> after` and why; multi-line text is shown as a line diff; money shows its
//! lineage. Pure: returns a string, the printer decides where it goes.

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::fields::FieldValue;
use super::{Action, Change, FieldChange, Plan, Reason, ResourceId};
use crate::desired::Destination;

/// ANSI styling, or none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn action(self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Pause | Action::Delete => "31",
        };
        self.paint(code, text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// The plan as text.
pub fn render_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The destination matches the desired config and the sources ({} managed offer{}).",
            plan.summary.unchanged,
            plural(plan.summary.unchanged)
        );
    } else {
        out.push_str("offersync will make these changes:\n");
        for change in &plan.changes {
            out.push('\n');
            render_change(&mut out, change, style);
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for note in &plan.notes {
            let _ = writeln!(out, "  {}: {}", note.address, note.message);
        }
    }
    if !plan.is_empty() {
        let summary = plan.summary;
        let _ = writeln!(
            out,
            "\n{} {} to create, {} to update, {} to pause, {} to delete; {} offer{} unchanged.",
            style.bold("Plan:"),
            summary.create,
            summary.update,
            summary.pause,
            summary.delete,
            summary.unchanged,
            plural(summary.unchanged)
        );
    }
    out
}

fn render_change(out: &mut String, change: &Change, style: Style) {
    let target = describe_target(change);
    let header = match &change.resource {
        ResourceId::Offer => format!("{} {}", change.action.symbol(), change.address),
        resource => format!("{} {} {resource}", change.action.symbol(), change.address),
    };
    let _ = writeln!(
        out,
        "{}  {target}  {}",
        style.action(change.action, &style.bold(&header)),
        style.dim(&format!("({})", describe(&change.reasons)))
    );
    let shown: Vec<&FieldChange> = change
        .fields
        .iter()
        .filter(|field| change.action != Action::Create || !is_noise(field))
        .collect();
    let width = shown
        .iter()
        .map(|field| field.field.chars().count())
        .max()
        .unwrap_or(0);
    for field in shown {
        render_field(out, change.action, field, width, style);
    }
}

/// What the change does, in words: `create offer URL`, `update iScale offer 1003`.
pub(super) fn describe_target(change: &Change) -> String {
    let offerit = change.destination == Destination::Offerit;
    let what = match &change.resource {
        ResourceId::Offer if offerit => "Offerit offer",
        ResourceId::Offer => "iScale offer",
        ResourceId::Thumbnail => return "set the thumbnail".to_owned(),
        ResourceId::Targeting => return "set geo targeting".to_owned(),
        ResourceId::Goals => {
            return match change.destination_id {
                Some(id) => format!("set the goals of Offerit offer {id}"),
                None => "set the offer's goals".to_owned(),
            };
        }
        ResourceId::Url(_) if offerit => "landing page",
        ResourceId::Url(_) => "offer URL",
        ResourceId::Rule(_) => "payout rule",
        ResourceId::Creative(_) => "creative",
        ResourceId::Pixel(_) => "pixel",
        ResourceId::Advertiser => {
            return match change.destination_id {
                Some(id) => format!("set the verification token of iScale advertiser {id}"),
                None => "set the verification token".to_owned(),
            };
        }
    };
    let verb = match change.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Pause => "pause",
        Action::Delete if matches!(change.resource, ResourceId::Pixel(_)) => "deactivate",
        // Offerit cannot delete a landing page.
        Action::Delete if offerit => "make private",
        Action::Delete => "mark deleted",
    };
    match change.destination_id {
        Some(id) => format!("{verb} {what} {id}"),
        None => format!("{verb} {what}"),
    }
}

/// In a create, zero amounts and percentages are the API's "unset": leave them out.
pub(super) fn is_noise(field: &FieldChange) -> bool {
    matches!(
        field.after,
        Some(FieldValue::Money(value) | FieldValue::Percent(value)) if value.is_zero()
    )
}

fn render_field(out: &mut String, action: Action, field: &FieldChange, width: usize, style: Style) {
    let (symbol, field_action) = match (action, &field.before, &field.after) {
        (Action::Create, _, _) | (_, None, Some(_)) => ('+', Action::Create),
        (_, Some(_), None) => ('-', Action::Delete),
        _ => ('~', Action::Update),
    };
    let name = format!("{:width$}", field.field);
    let prefix = format!(
        "    {} {name}",
        style.action(field_action, &symbol.to_string())
    );
    let why = annotation(action, field);
    let multiline = field.before.as_ref().is_some_and(FieldValue::is_multiline)
        || field.after.as_ref().is_some_and(FieldValue::is_multiline);
    if multiline {
        let _ = writeln!(out, "{prefix}  {}", style.dim(&why));
        render_text_diff(out, field, style);
        return;
    }
    let value = match (&field.before, &field.after) {
        (None, Some(after)) => after.to_string(),
        (Some(before), None) => before.to_string(),
        (Some(before), Some(after)) => format!("{before} -> {after}"),
        (None, None) => String::new(),
    };
    if why.is_empty() {
        let _ = writeln!(out, "{prefix}  {value}");
    } else {
        let _ = writeln!(out, "{prefix}  {value}  {}", style.dim(&why));
    }
}

/// `# source changed; source 350.00 x (1 - 0.20) = 280.00`. Creates repeat no reason
/// per field (the header says it), only the lineage.
fn annotation(action: Action, field: &FieldChange) -> String {
    let mut parts = Vec::new();
    if action != Action::Create {
        parts.push(describe(&field.reasons));
    }
    if let Some(lineage) = &field.lineage {
        parts.push(lineage.clone());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("# {}", parts.join("; "))
    }
}

fn render_text_diff(out: &mut String, field: &FieldChange, style: Style) {
    let text = |value: &Option<FieldValue>| match value {
        Some(FieldValue::Text(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let (before, after) = (text(&field.before), text(&field.after));
    let diff = TextDiff::from_lines(&before, &after);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let (mark, action) = match change.tag() {
            ChangeTag::Delete => ("-", Some(Action::Delete)),
            ChangeTag::Insert => ("+", Some(Action::Create)),
            ChangeTag::Equal => (" ", None),
        };
        let shown = format!("{mark} {line}");
        let shown = match action {
            Some(action) => style.action(action, &shown),
            None => shown,
        };
        let _ = writeln!(out, "        {shown}");
    }
}

/// Reasons in words: `source changed, changed in iScale`.
pub(super) fn describe(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|reason| reason.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The plan as JSON for machines (`plan --json`).
pub fn render_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan serializes");
    text.push('\n');
    text
}
