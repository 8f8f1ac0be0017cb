//! `offersync import`: records iScale offers synced by hand as managed, one line per
//! source offer on stdout; writes nothing to any API.

use super::{Context, ExitStatus};
use crate::cli::ImportArgs;
use crate::everflow::ClientOptions;
use crate::import::{Imported, Options, Outcome, Selection, import};
use crate::lock::WorkspaceLock;
use crate::workspace::Clients;

pub async fn run(ctx: &mut Context<'_>, args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let workspace = ctx.workspace()?;
    let selection = match (&args.offer, args.iscale_offer) {
        (Some(address), Some(iscale_offer)) => Selection::One {
            address: address.clone(),
            iscale_offer,
            force: args.force,
        },
        _ => Selection::Networks(args.networks.clone()),
    };
    // Like apply: state is written, so one run at a time. A dry run writes nothing.
    let lock = match args.dry_run {
        true => None,
        false => Some(WorkspaceLock::acquire(
            &workspace.store.root(),
            "offersync import",
        )?),
    };
    if let Some(dead) = lock.as_ref().and_then(|lock| lock.taken_over.as_ref()) {
        ctx.printer.warn(&format!(
            "took over the workspace lock left by {dead}, which is no longer running"
        ));
    }
    let (clients, _pacing) = Clients::connect(&workspace, &ClientOptions::default());
    let options = Options {
        dry_run: args.dry_run,
        rewrite_targeting: args.rewrite_targeting,
    };
    let outcomes = import(&workspace, &clients, &selection, options).await?;
    drop(lock);

    if outcomes.is_empty() {
        ctx.printer
            .status("Nothing to import: state records every offer of the desired files.");
        return Ok(ExitStatus::Success);
    }
    let mut lines = String::new();
    for outcome in &outcomes {
        lines.push_str(&describe(outcome, args.dry_run));
        lines.push('\n');
    }
    ctx.printer.data(&lines);

    let imported: Vec<&Imported> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Imported(imported) => Some(imported),
            _ => None,
        })
        .collect();
    for offer in &imported {
        if let Some(actual) = offer.other_advertiser {
            let expected = workspace
                .settings
                .network(&offer.address.network)
                .advertiser_id;
            ctx.printer.warn(&format!(
                "{}: iScale offer {} belongs to advertiser {actual}; the next plan moves it to advertiser {expected}",
                offer.address, offer.offer_id
            ));
        }
    }
    let assumed = imported
        .iter()
        .filter(|offer| offer.targeting_assumed)
        .count();
    if assumed > 0 {
        ctx.printer.warn(&format!(
            "iScale does not show geo targeting, so import cannot check it: {} recorded as the \
             desired config has it\nhint: pass `--rewrite-targeting` to have the next apply \
             write it instead",
            match assumed {
                1 => "the imported offer's is".to_owned(),
                n => format!("the {n} imported offers' are"),
            }
        ));
    }
    let ambiguous = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Ambiguous { .. }))
        .count();
    if ambiguous > 0 {
        ctx.printer.warn(&format!(
            "{ambiguous} offer{} not imported because more than one could match; the next apply \
             would create {} anew\nhint: import each with `offersync import NETWORK/ID --iscale-offer N`",
            if ambiguous == 1 { " was" } else { "s were" },
            if ambiguous == 1 { "it" } else { "them" },
        ));
    }
    if args.dry_run {
        ctx.printer.status("Dry run: nothing was written.");
    }
    Ok(ExitStatus::Success)
}

/// `trimrx/1: imported iScale offer 1003 (3 URLs, 1 rule, 2 creatives, 2 pixels)`.
fn describe(outcome: &Outcome, dry_run: bool) -> String {
    match outcome {
        Outcome::Imported(offer) => {
            let verb = if dry_run { "would import" } else { "imported" };
            let parts: Vec<String> = [
                (offer.urls, "URL"),
                (offer.rules, "rule"),
                (offer.creatives, "creative"),
                (offer.pixels, "pixel"),
            ]
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}{}", if *count == 1 { "" } else { "s" }))
            .collect();
            let counted = if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            };
            format!(
                "{}: {verb} iScale offer {}{counted}",
                offer.address, offer.offer_id
            )
        }
        Outcome::NoMatch { address, name } => {
            format!("{address}: no match for `{name}`, will be created")
        }
        Outcome::Ambiguous {
            address,
            name,
            ids,
            rivals,
        } => {
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            if rivals.is_empty() {
                format!(
                    "{address}: ambiguous, not imported: iScale offers {} all match `{name}`",
                    ids.join(", ")
                )
            } else {
                let rivals: Vec<String> = rivals.iter().map(ToString::to_string).collect();
                format!(
                    "{address}: ambiguous, not imported: iScale offer {} matches `{name}`, and {} too",
                    ids.join(", "),
                    rivals.join(", ")
                )
            }
        }
    }
}
