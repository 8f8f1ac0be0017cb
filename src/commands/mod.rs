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

use crate::cli::{ApplyArgs, Cli, Command, GuardArgs, ScopeArgs};
use crate::guards::{self, Guard};
use crate::plan::ResourceKind;
use crate::planner::{Planned, Scope};
use crate::printer::Printer;
use crate::workspace::Workspace;

/// How a successful command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done; no changes pending.
    Success,
    /// A plan with changes, under `--detailed-exitcode`.
    Changes,
    /// A safety guard refused the plan.
    Guarded,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Changes => ExitCode::from(2),
            ExitStatus::Guarded => ExitCode::from(3),
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
        Command::Completions(args) => Ok(completions(ctx.printer, args.shell)),
    }
}

/// `offersync completions SHELL`: the completion script, from the same clap types
/// that parse the command line, so it never lags behind them.
fn completions(printer: &Printer, shell: clap_complete::Shell) -> ExitStatus {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "offersync", &mut script);
    printer.data(&String::from_utf8_lossy(&script));
    ExitStatus::Success
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

impl GuardArgs {
    /// The guards this run overrides.
    pub fn allowed(&self) -> Vec<Guard> {
        [
            (self.allow_mass_pause, Guard::MassPause),
            (self.allow_source_shrink, Guard::SourceShrink),
            (self.allow_low_margin, Guard::LowMargin),
            (self.allow_payout_rise, Guard::PayoutRise),
        ]
        .into_iter()
        .filter_map(|(allowed, guard)| allowed.then_some(guard))
        .collect()
    }
}

/// The safety guards `planned` trips, said on stderr (nothing when none does).
fn tripped_guards(
    ctx: &Context<'_>,
    workspace: &Workspace,
    planned: &Planned,
    args: &GuardArgs,
) -> Vec<String> {
    let tripped: Vec<String> = guards::check(workspace, planned, &args.allowed())
        .iter()
        .map(ToString::to_string)
        .collect();
    if !tripped.is_empty() {
        ctx.printer.error(&format!(
            "the plan trips {} safety guard{}, so it is not applied:\n  {}\n\
             hint: if this is intended, run again with the override flag named",
            tripped.len(),
            if tripped.len() == 1 { "" } else { "s" },
            tripped.join("\n  ")
        ));
    }
    tripped
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
