//! `offersync verify`: checks live state of every managed offer; exit 1 on any failure.

use anyhow::bail;

use super::{Context, ExitStatus};
use crate::cli::VerifyArgs;
use crate::everflow::ClientOptions;
use crate::planner::{self, Scope};
use crate::verify::{Inputs, Outcome, render_table, verify};
use crate::workspace::Clients;

pub async fn run(ctx: &mut Context<'_>, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let workspace = ctx.workspace()?;
    let (clients, _pacing) = Clients::connect(&workspace, &ClientOptions::default());
    let scope = Scope {
        networks: args.networks.clone(),
        offers: args.offers.clone(),
        kinds: Default::default(),
    };
    let planned = planner::plan(&workspace, &clients, &scope).await?;
    let checks = verify(Inputs {
        planned: &planned,
        settings: &workspace.settings,
        advertisers: &planned.advertisers,
    });
    ctx.printer.data(&render_table(&checks));
    let failed = checks
        .iter()
        .filter(|check| check.outcome == Outcome::Fail)
        .count();
    if failed > 0 {
        bail!(
            "verify found {failed} problem{}",
            if failed == 1 { "" } else { "s" }
        );
    }
    Ok(ExitStatus::Success)
}
