//! `offersync plan`: what apply would change, and why; never writes anything.

use super::{Context, ExitStatus};
use crate::cli::PlanArgs;
use crate::everflow::ClientOptions;
use crate::plan::markdown::{COMMENT_LIMIT, guards_section, render_markdown};
use crate::plan::show::{render_json, render_text};
use crate::planner;
use crate::saved_plan::SavedPlan;
use crate::setup::VISIBILITY_JOURNAL;
use crate::workspace::Clients;

pub async fn run(ctx: &mut Context<'_>, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let workspace = ctx.workspace()?;
    if workspace.root.join(VISIBILITY_JOURNAL).exists() {
        ctx.printer.warn(
            "an interrupted setup left an iScale offer public; `offersync apply` or `offersync setup` puts it back",
        );
    }
    let (clients, _pacing) = Clients::connect(&workspace, &ClientOptions::default());
    let scope = args.scope.scope();
    let planned = {
        let bar = ctx.printer.progress("pulling source offers");
        planner::plan_reporting(&workspace, &clients, &scope, &|done, total| {
            bar.update(done, total);
        })
        .await?
    };
    let plan = &planned.plan;
    if let Some(path) = &args.out {
        // Like every path, relative to the workspace (`-C`).
        SavedPlan::new(&workspace, &planned, &scope.kinds()).write(&ctx.root.join(path), path)?;
        ctx.printer.status(&format!(
            "Saved the plan to {}; `offersync apply {}` applies exactly it.",
            path.display(),
            path.display()
        ));
    }
    let tripped = super::tripped_guards(ctx, &workspace, &planned, &args.guards);
    if args.json {
        ctx.printer.data(&render_json(plan));
    } else if args.markdown {
        // On a pull request, the reason its check fails goes above the plan.
        let warning = match tripped.is_empty() {
            true => String::new(),
            false => guards_section(&tripped),
        };
        let limit = COMMENT_LIMIT.saturating_sub(warning.chars().count());
        ctx.printer
            .data(&format!("{warning}{}", render_markdown(plan, limit)));
    } else {
        ctx.printer
            .data(&render_text(plan, ctx.printer.stdout_style()));
    }
    if !tripped.is_empty() {
        return Ok(ExitStatus::Guarded);
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
