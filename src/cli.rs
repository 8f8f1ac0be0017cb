//! The command line, parsed with clap. Only types live here; each command's behaviour is
//! in `commands/<verb>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plan::{Address, ResourceKind};
use crate::printer::ColorChoice;

#[derive(Debug, Parser)]
#[command(
    name = "offersync",
    version,
    about = "Carry offers from source Everflow networks into your own network, declaratively.",
    long_about = "Carry offers from source Everflow networks into your own network (iScale), \
                  declaratively: desired/<network>.yaml says which source offers to carry and how; \
                  `plan` shows what would change, `apply` makes exactly those changes.",
    after_help = "Try it without any API key: offersync demo"
)]
pub struct Cli {
    /// Run as if started in DIR (the workspace with desired/, state/ and .env.local).
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, and why.
    Plan(PlanArgs),
    /// Make the changes a plan shows (asks for confirmation at a terminal).
    Apply(ApplyArgs),
    /// Take over iScale offers synced by hand, without recreating them.
    #[command(
        long_about = "Take over iScale offers synced by hand before offersync, without recreating \
                      them: records each in state/ as if offersync had applied what iScale shows, \
                      so that the next plan lists only what differs from the desired config. \
                      Writes nothing to iScale or the source networks.",
        after_help = "Examples:\n  offersync import trimrx/1 --iscale-offer 1003\n  \
                      offersync import --network trimrx --dry-run"
    )]
    Import(ImportArgs),
    /// Check desired files and settings without calling any API.
    Validate,
    /// Check live state of every managed offer, across iScale and the source networks.
    Verify(VerifyArgs),
    /// Postback health: iScale's postback deliveries on managed offers.
    Postbacks(PostbacksArgs),
    /// First-time configuration: keys, ids, advertisers, token, tracking domain.
    Setup(SetupArgs),
    /// Write the JSON Schemas of desired files and of `plan --json` to schemas/.
    Schema(SchemaArgs),
    /// The runbook's name for a full sync of offers: `apply`.
    SyncOffer(ApplyArgs),
    /// The runbook's name for syncing landing-page URLs only: `apply --only urls`.
    SyncLinks(ApplyArgs),
    /// The runbook's name for syncing custom payout rules only: `apply --only rules`.
    SyncRules(ApplyArgs),
    /// The runbook's name for syncing postback pixels only: `apply --only postbacks`.
    SyncPostbacks(ApplyArgs),
    /// Run the built-in Everflow simulator on loopback.
    Sandbox(SandboxArgs),
    /// The whole job on the built-in simulator, in a temporary workspace.
    Demo,
    /// Print a shell completion script (e.g. `offersync completions bash > ~/.local/share/bash-completion/completions/offersync`).
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Which offers a command covers.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Only this network (repeatable).
    #[arg(long = "network", value_name = "NAME")]
    pub networks: Vec<String>,

    /// Only this offer, as NETWORK/ID (repeatable).
    #[arg(long = "offer", value_name = "NETWORK/ID", value_parser = parse_address)]
    pub offers: Vec<Address>,

    /// Only these kinds of resources (comma-separated): offer, urls, creatives,
    /// targeting, rules, postbacks.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KINDS")]
    pub only: Vec<ResourceKind>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Print the plan as JSON (see docs/plan-json.md).
    #[arg(long)]
    pub json: bool,

    /// Print the plan as Markdown for a pull-request comment (shortened to stay under
    /// GitHub's size limit).
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,

    /// Also save the plan to FILE, for `offersync apply FILE` to apply exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Read Everflow first (the default). `--refresh=false` plans from what the last
    /// refreshing plan read (kept in state/.cache/), with no network at all: what
    /// changed since at the source or in iScale is not seen.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub refresh: bool,

    #[command(flatten)]
    pub guards: GuardArgs,
}

/// Overrides of the safety guards, for one run (see `guards:` in desired files).
#[derive(Debug, Args, Clone, Default)]
pub struct GuardArgs {
    /// Allow pausing more than `guards.max_paused_percent` of a network's offers.
    #[arg(long)]
    pub allow_mass_pause: bool,
    /// Allow more than `guards.max_unavailable_percent` of a network's offers to be
    /// unavailable at the source (and paused).
    #[arg(long)]
    pub allow_source_shrink: bool,
    /// Allow payouts that keep less than `guards.min_margin`.
    #[arg(long)]
    pub allow_low_margin: bool,
    /// Allow payouts to rise by more than `guards.max_payout_rise_percent`.
    #[arg(long)]
    pub allow_payout_rise: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: apply exactly it, without asking (it was
    /// reviewed); offers that moved since it was made are refused as stale.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["networks", "offers", "only"])]
    pub plan_file: Option<PathBuf>,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Apply without asking (for CI and scripts).
    #[arg(long)]
    pub auto_approve: bool,

    /// With PLANFILE: apply the offers that did not move and skip the stale ones
    /// (named), instead of refusing the whole plan.
    #[arg(long, requires = "plan_file")]
    pub skip_stale: bool,

    #[command(flatten)]
    pub guards: GuardArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The source offer to import, as NETWORK/ID; it must be in its desired file.
    #[arg(value_name = "NETWORK/ID", value_parser = parse_address, requires = "iscale_offer", conflicts_with = "networks")]
    pub offer: Option<Address>,

    /// The iScale offer that carries it.
    #[arg(long, value_name = "N", requires = "offer", value_parser = clap::value_parser!(u64).range(1..))]
    pub iscale_offer: Option<u64>,

    /// Without NETWORK/ID: import the offers of this network's desired file that state
    /// does not record, each found by the name offersync gives it (repeatable; every
    /// network when none is given).
    #[arg(long = "network", value_name = "NAME")]
    pub networks: Vec<String>,

    /// Import even when the iScale offer belongs to another advertiser than
    /// `{NETWORK}_ADVERTISER_ID` (the next plan then moves it).
    #[arg(long, requires = "offer")]
    pub force: bool,

    /// List what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Leave targeting unrecorded so that the next apply writes it (iScale does not show
    /// targeting, so import cannot check the hand-made one).
    #[arg(long)]
    pub rewrite_targeting: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only this network (repeatable).
    #[arg(long = "network", value_name = "NAME")]
    pub networks: Vec<String>,

    /// Only this offer, as NETWORK/ID (repeatable).
    #[arg(long = "offer", value_name = "NETWORK/ID", value_parser = parse_address)]
    pub offers: Vec<Address>,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// A source network to set up, named like its desired file (repeatable; asked at a
    /// terminal). Its key comes from `{NAME}_API_KEY` or the terminal.
    #[arg(long = "network", value_name = "NAME")]
    pub networks: Vec<String>,

    /// The iScale advertiser that owns a network's offers, as NAME=ID (repeatable).
    #[arg(long = "advertiser", value_name = "NAME=ID", value_parser = parse_pair)]
    pub advertisers: Vec<(String, u64)>,

    /// The tracking domain postbacks go to; discovered with a tracking link when not given.
    #[arg(long, value_name = "HOST")]
    pub tracking_domain: Option<String>,

    /// The iScale affiliate the discovery tracking link is made for (the runbook uses 1).
    #[arg(long, default_value_t = 1)]
    pub link_affiliate_id: u64,

    /// Update offersync's settings in an existing .env.local (other lines are kept).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PostbacksArgs {
    #[command(subcommand)]
    pub command: PostbacksCommand,
}

#[derive(Debug, Subcommand)]
pub enum PostbacksCommand {
    /// Deliveries and failures per managed offer, and the affiliates with postbacks there.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day (YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS).
    #[arg(long, value_parser = parse_date)]
    pub from: String,

    /// Last day (YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS).
    #[arg(long, value_parser = parse_date)]
    pub to: String,

    /// Only this network (repeatable).
    #[arg(long = "network", value_name = "NAME")]
    pub networks: Vec<String>,

    /// Only this offer, as NETWORK/ID (repeatable).
    #[arg(long = "offer", value_name = "NETWORK/ID", value_parser = parse_address)]
    pub offers: Vec<Address>,

    /// Everflow's timezone id for the days (67 is UTC).
    #[arg(long, default_value_t = 67)]
    pub timezone_id: u64,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Do not write: exit 1 if a committed schema is out of date.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8085)]
    pub port: u16,

    /// Fixture file of source offers and keys (default: the built-in fixtures).
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,

    /// Write a .env.local that points offersync at this sandbox.
    #[arg(long, value_name = "FILE")]
    pub env_out: Option<PathBuf>,

    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Network API requests per second (Everflow: 30).
    #[arg(long, default_value_t = 30)]
    pub network_rate: u32,

    /// Affiliate API requests per second per source network (Everflow: 5).
    #[arg(long, default_value_t = 5)]
    pub affiliate_rate: u32,

    /// Seconds per rate-limit window (Everflow: 30). Point offersync at a shorter one
    /// with EVERFLOW_RATE_WINDOW.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub rate_window: u64,
}

/// `trimrx=13` -> (`trimrx`, 13).
fn parse_pair(text: &str) -> Result<(String, u64), String> {
    let (name, id) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=ID, got `{text}`"))?;
    let id = id
        .parse::<u64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| format!("the id in `{text}` must be a positive integer"))?;
    Ok((name.to_owned(), id))
}

/// A reporting date: `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (seed 002).
fn parse_date(text: &str) -> Result<String, String> {
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = text
        .split_once(' ')
        .map_or((text, None), |(d, t)| (d, Some(t)));
    let date_ok = {
        let parts: Vec<&str> = date.split('-').collect();
        parts.len() == 3 && digits(parts[0], 4) && digits(parts[1], 2) && digits(parts[2], 2)
    };
    let time_ok = time.is_none_or(|time| {
        let parts: Vec<&str> = time.split(':').collect();
        parts.len() == 3 && parts.iter().all(|part| digits(part, 2))
    });
    if date_ok && time_ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, got `{text}`"
        ))
    }
}

/// `trimrx/12` -> an address; a network alone is not an offer.
fn parse_address(text: &str) -> Result<Address, String> {
    let address: Address = text.parse()?;
    if address.is_network() {
        return Err(format!("expected NETWORK/ID, got `{text}`"));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn dates_parse() {
        assert!(parse_date("2026-11-01").is_ok());
        assert!(parse_date("2026-11-01 13:05:00").is_ok());
        assert!(parse_date("2026-11-1").is_err());
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(parse_address("trimrx/12").unwrap().to_string(), "trimrx/12");
        assert!(parse_address("trimrx").is_err());
        assert!(parse_address("trimrx/0").is_err());
        assert!(parse_address("/3").is_err());
    }
}
