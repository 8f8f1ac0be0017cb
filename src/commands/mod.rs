//! One function per command. Each parses nothing (clap did), resolves what it needs from
//! the workspace, calls into the domain modules and returns the exit status.

mod apply;
mod demo;
mod import;
mod plan;
mod postbacks;
mod sandbox;
mod schema;
mod setup;
mod validate;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{ApplyArgs, Cli, Command, ScopeArgs};
use crate::plan::ResourceKind;
use crate::planner::Scope;
use crate::printer::Printer;
use crate::workspace::Workspace;

/// How a successful command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done; no changes pending.
    Success,
    /// A plan with changes, under `--detailed-exitcode`.
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Changes => ExitCode::from(2),
        }
    }
}

/// What every command gets: the workspace folder, the environment and the printer.
pub struct Context<'a> {
    pub root: PathBuf,
    pub env: Vec<(String, String)>,
    pub printer: &'a mut Printer,
}

impl Context<'_> {
    /// Loads the workspace and from then on scrubs its secrets from all output.
    fn workspace(&mut self) -> anyhow::Result<Workspace> {
        let workspace = Workspace::load(&self.root, self.env.clone())?;
        self.printer.set_redactor(workspace.settings.redactor());
        Ok(workspace)
    }
}

/// Runs the command line.
pub async fn run(cli: Cli, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let root = cli.directory.unwrap_or_else(|| PathBuf::from("."));
    let mut ctx = Context {
        root,
        env: environment(),
        printer,
    };
    match cli.command {
        Command::Plan(args) => plan::run(&mut ctx, &args).await,
        Command::Apply(args) | Command::SyncOffer(args) => apply::run(&mut ctx, &args).await,
        Command::SyncLinks(args) => apply::run(&mut ctx, &args.only(ResourceKind::Urls)).await,
        Command::SyncRules(args) => apply::run(&mut ctx, &args.only(ResourceKind::Rules)).await,
        Command::SyncPostbacks(args) => {
            apply::run(&mut ctx, &args.only(ResourceKind::Postbacks)).await
        }
        Command::Import(args) => import::run(&mut ctx, &args).await,
        Command::Validate => validate::run(&mut ctx),
        Command::Verify(args) => verify::run(&mut ctx, &args).await,
        Command::Setup(args) => setup::run(&mut ctx, &args).await,
        Command::Postbacks(args) => match &args.command {
            crate::cli::PostbacksCommand::Report(report) => {
                postbacks::report(&mut ctx, report).await
            }
        },
        Command::Schema(args) => schema::run(&mut ctx, &args),
        Command::Sandbox(args) => sandbox::run(&mut ctx, &args).await,
        Command::Demo => demo::run(ctx.printer).await,
    }
}

/// The process environment as text. `std::env::vars` panics on a variable that is not
/// UTF-8, and one odd variable in the shell must not stop every command: bad bytes become
/// U+FFFD, so a setting that holds them is reported by name as invalid (or, for a key, is
/// refused by the API as unknown).
fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

impl ApplyArgs {
    /// The same apply, narrowed to one kind of resource (the runbook's `sync-*` commands).
    fn only(mut self, kind: ResourceKind) -> Self {
        self.scope.only = vec![kind];
        self
    }
}

impl ScopeArgs {
    pub fn scope(&self) -> Scope {
        Scope {
            networks: self.networks.clone(),
            offers: self.offers.clone(),
            kinds: self.only.iter().copied().collect(),
        }
    }
}
