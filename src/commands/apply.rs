//! `offersync apply`: plan, confirm, then make exactly the planned changes.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::bail;

use super::{Context, ExitStatus};
use crate::apply::{Applied, StopSignal, apply};
use crate::cli::ApplyArgs;
use crate::desired::Destination;
use crate::everflow::ClientOptions;
use crate::lock::WorkspaceLock;
use crate::plan::show::render_text;
use crate::plan::{Action, Address, ResourceId};
use crate::planner::{self, Planned, Reads};
use crate::saved_plan::SavedPlan;
use crate::setup::restore_pending_visibility;
use crate::workspace::{Clients, Workspace};

pub async fn run(ctx: &mut Context<'_>, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    // A saved plan was reviewed when it was made: applying it asks nothing.
    let ask = args.plan_file.is_none() && !args.auto_approve;
    if ask && !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply: stdin is not a terminal, so the plan cannot be confirmed; \
             pass --auto-approve to apply without confirmation"
        );
    }
    let workspace = ctx.workspace()?;
    let lock = WorkspaceLock::acquire(&workspace.store.root(), "offersync apply")?;
    if let Some(dead) = &lock.taken_over {
        ctx.printer.warn(&format!(
            "took over the workspace lock left by {dead}, which is no longer running"
        ));
    }
    let (clients, _pacing) = Clients::connect(&workspace, &ClientOptions::default());
    if let Some(api) = &clients.iscale
        && let Some(pending) = restore_pending_visibility(api, &workspace.root).await?
    {
        ctx.printer.warn(&format!(
            "put iScale offer {} back to `{}` visibility, left public by an interrupted setup",
            pending.network_offer_id, pending.visibility
        ));
    }
    let thumbnails = crate::apply::thumbnails(&workspace);
    let planned = match &args.plan_file {
        Some(path) => saved(ctx, &workspace, &clients, path, args.skip_stale).await?,
        None => {
            let bar = ctx.printer.progress("pulling source offers");
            let pulled = |done, total| bar.update(done, total);
            let reads = Reads::Live {
                clients: &clients,
                keep: false,
                thumbnails: Some(&thumbnails),
            };
            planner::plan_from(&workspace, reads, &args.scope.scope(), &pulled).await?
        }
    };
    let style = ctx.printer.stdout_style();
    ctx.printer.data(&render_text(&planned.plan, style));
    if planned.plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    if !super::tripped_guards(ctx, &workspace, &planned, &args.guards).is_empty() {
        return Ok(ExitStatus::Guarded);
    }
    if ask && !confirm(ctx).await? {
        ctx.printer.status("Apply cancelled; nothing was changed.");
        return Ok(ExitStatus::Success);
    }

    // The reads a `plan --refresh=false` would use are about to be out of date.
    planner::forget_cache(&workspace.root).map_err(|error| {
        anyhow::anyhow!(
            "cannot remove {} before applying: {error}",
            planner::CACHE_FILE
        )
    })?;
    let printer = &*ctx.printer;
    let stop = StopSignal::default();
    let bar = printer.progress("applying");
    let total = planned.plan.changes.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = |applied: &Applied| {
        printer.status(&describe(
            applied,
            workspace.destination(&applied.address.network),
        ));
        let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        bar.update(done, total);
    };
    let applying = apply(
        &workspace,
        &clients,
        &planned,
        &thumbnails,
        &progress,
        &stop,
    );
    tokio::pin!(applying);
    // Ctrl-C: no new change starts; those in flight finish and are recorded.
    let report = loop {
        tokio::select! {
            report = &mut applying => break report,
            signal = tokio::signal::ctrl_c() => {
                if signal.is_err() || stop.is_stopped() {
                    printer.warn("quit at once; the next apply finds what was written and not recorded");
                    std::process::exit(130);
                }
                stop.stop();
                printer.warn(
                    "stopping: the writes in flight finish and are recorded (Ctrl-C again to quit at once)",
                );
            }
        }
    };
    let count = |action| report.applied.iter().filter(|a| a.action == action).count();
    let summary = format!(
        "{} created, {} updated, {} paused, {} marked deleted",
        count(Action::Create),
        count(Action::Update),
        count(Action::Pause),
        count(Action::Delete)
    );
    drop(lock);
    match (report.failures.as_slice(), report.interrupted) {
        ([], false) => {
            ctx.printer.data(&format!("\nApply complete: {summary}.\n"));
            Ok(ExitStatus::Success)
        }
        ([], true) => {
            ctx.printer.data(&format!(
                "\nApply interrupted: {summary}; what was done is recorded in state.\n"
            ));
            bail!("interrupted; run apply again to finish")
        }
        (failures, _) => {
            ctx.printer.data(&format!(
                "\nApply stopped: {summary} before the failures below; what was done is recorded in state.\n"
            ));
            match failures {
                [only] => bail!("{only}"),
                many => bail!(
                    "{} changes failed:\n  {}",
                    many.len(),
                    many.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n  ")
                ),
            }
        }
    }
}

/// The saved plan at `path`, planned again over its offers: what of it may still be
/// applied. Offers that moved since are refused as stale, or skipped with `skip_stale`.
async fn saved(
    ctx: &mut Context<'_>,
    workspace: &Workspace,
    clients: &Clients,
    path: &Path,
    skip_stale: bool,
) -> anyhow::Result<Planned> {
    let saved = SavedPlan::read(&ctx.root.join(path), path)?;
    let (present, gone): (Vec<Address>, Vec<Address>) = saved
        .addresses(path)?
        .into_iter()
        .partition(|address| workspace.knows(address));
    let fresh = if present.is_empty() {
        // An empty scope would mean every offer.
        Planned::default()
    } else {
        planner::plan(workspace, clients, &saved.scope(path, present)?).await?
    };
    let stale = saved.stale(workspace, &fresh, &gone);
    if stale.is_empty() {
        return Ok(fresh);
    }
    let listed = stale
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ");
    if !skip_stale {
        bail!(
            "the saved plan {} is stale; nothing was applied:\n  {listed}\n\
             hint: run `offersync plan --out {}` again and review it, or pass --skip-stale \
             to apply the offers that did not move",
            path.display(),
            path.display()
        );
    }
    ctx.printer.warn(&format!(
        "skipping {} stale offer{} of the saved plan:\n  {listed}",
        stale.len(),
        if stale.len() == 1 { "" } else { "s" }
    ));
    let skipped: Vec<&Address> = stale.iter().map(|stale| &stale.address).collect();
    Ok(Planned {
        plan: fresh.plan.retain(|address| !skipped.contains(&address)),
        ..fresh
    })
}

fn describe(applied: &Applied, destination: Destination) -> String {
    let offerit = destination == Destination::Offerit;
    let verb = match applied.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Pause => "paused",
        Action::Delete if offerit => "made private",
        Action::Delete => "marked deleted",
    };
    let what = match &applied.resource {
        ResourceId::Offer => format!(
            "{verb} {} offer {}",
            destination.title(),
            applied.destination_id
        ),
        ResourceId::Goals => format!("set the goals of Offerit offer {}", applied.destination_id),
        ResourceId::Url(_) if offerit => format!("{verb} landing page {}", applied.destination_id),
        ResourceId::Thumbnail => format!(
            "set the thumbnail of iScale offer {}",
            applied.destination_id
        ),
        ResourceId::Targeting => format!(
            "set the geo targeting of iScale offer {}",
            applied.destination_id
        ),
        ResourceId::Url(_) => format!("{verb} offer URL {}", applied.destination_id),
        ResourceId::Rule(_) => format!("{verb} payout rule {}", applied.destination_id),
        ResourceId::Creative(_) => format!("{verb} creative {}", applied.destination_id),
        ResourceId::Pixel(_) => format!(
            "{verb} pixel {} in the source network",
            applied.destination_id
        ),
        ResourceId::Advertiser => format!(
            "set the verification token of iScale advertiser {}",
            applied.destination_id
        ),
    };
    let subject = match &applied.resource {
        ResourceId::Offer | ResourceId::Advertiser => applied.address.to_string(),
        resource => format!("{} {resource}", applied.address),
    };
    let mut line = format!("{subject}: {what}");
    for note in &applied.notes {
        line.push_str("\n    ");
        line.push_str(note);
    }
    line
}

async fn confirm(ctx: &mut Context<'_>) -> anyhow::Result<bool> {
    ctx.printer
        .status("\nDo you want to apply these changes? Only `yes` will be accepted.");
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await??;
    Ok(answer.trim() == "yes")
}
