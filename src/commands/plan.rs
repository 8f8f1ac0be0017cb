//! `offersync plan`: what apply would change, and why; never writes anything.

use super::{Context, ExitStatus};
use crate::cli::PlanArgs;
use crate::everflow::ClientOptions;
use crate::plan::markdown::{COMMENT_LIMIT, render_markdown};
use crate::plan::show::{render_json, render_text};
use crate::planner;
use crate::setup::VISIBILITY_JOURNAL;
use crate::workspace::Clients;

pub async fn run(ctx: &mut Context<'_>, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let workspace = ctx.workspace()?;
    if workspace.root.join(VISIBILITY_JOURNAL).exists() {
        ctx.printer.warn(
            "an interrupted setup left an iScale offer public; `offersync apply` or `offersync setup` puts it back",
        );
    }
    let clients = Clients::new(&workspace.settings, &ClientOptions::default());
    let planned = planner::plan(&workspace, &clients, &args.scope.scope()).await?;
    let plan = &planned.plan;
    if args.json {
        ctx.printer.data(&render_json(plan));
    } else if args.markdown {
        ctx.printer.data(&render_markdown(plan, COMMENT_LIMIT));
    } else {
        ctx.printer
            .data(&render_text(plan, ctx.printer.stdout_style()));
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
