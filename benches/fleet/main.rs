//! The fleet benchmark of issue 7: a synthetic fleet on the sandbox, with Everflow's
//! limits and a latency, and four phases of the real tool against it:
//!
//! 1. `apply --auto-approve` on a fresh workspace (creates everything);
//! 2. `plan --detailed-exitcode` right after (no changes, no writes);
//! 3. `apply --auto-approve` after one source payout changed (exactly one write);
//! 4. `plan --refresh=false` after a refreshing plan (no changes, no requests): pure
//!    planning, run as its own process so that its CPU time and memory are its own.
//!
//! For each it reports wall time, CPU time, requests per rate-limit bucket (reads, writes,
//! 429s), peak memory and the phase's floor (see `floor.rs`).
//!
//! ```sh
//! cargo bench --bench fleet -- --offers 50 --latency-ms 50   # the defaults
//! # planning at scale: limits and latency out of the way
//! cargo bench --bench fleet -- --offers 5000 --latency-ms 0 --network-rate 10000 \
//!     --affiliate-rate 10000 --window-secs 1
//! ```
//!
//! The sandbox runs in a child process (`offersync sandbox`); the tool runs in this
//! process through the library, as `main.rs` runs it, so that its memory is what is
//! measured. Under `cargo test` (no `--bench` argument) a small, quick fleet runs instead
//! and the phases' invariants are asserted, so that the bench cannot rot.

// A benchmark's output is its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod floor;
mod report;
mod sandbox;
mod shape;
mod usage;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use offersync::cli::Cli;
use offersync::commands::{self, ExitStatus};
use offersync::printer::{Captured, Printer};
use offersync::sandbox::{Fixtures, LoggedRequest};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use report::{Measured, PhaseFigures, Report};
use sandbox::{Limits, SandboxProcess};
use shape::Shape;
use usage::Usage;

/// `cargo bench --bench fleet -- [OPTIONS]`.
#[derive(Clone, Debug, Parser, Serialize)]
#[command(
    name = "fleet",
    about = "Measures offersync on a synthetic fleet in the sandbox: first apply, \
             a plan with nothing changed, an apply after one payout change, the same plan \
             offline"
)]
pub struct Settings {
    /// Offers in the fleet, half in each of the two source networks (even).
    #[arg(long, default_value_t = 50, value_parser = parse_offers)]
    pub offers: usize,
    /// Latency the sandbox adds to every API request, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Network API requests per second (Everflow: 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub network_rate: u32,
    /// Affiliate API requests per second per source network (Everflow: 5).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub affiliate_rate: u32,
    /// Seconds per fixed rate-limit window (Everflow: 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub window_secs: u64,
    /// Also write the figures as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub json: Option<PathBuf>,
    /// Also write each phase's request log (the sandbox's, as JSON) to DIR, to see which
    /// calls a phase made.
    #[arg(long, value_name = "DIR")]
    #[serde(skip)]
    pub log_dir: Option<PathBuf>,
    /// Passed by `cargo bench`; without it (`cargo test`) the smoke run runs instead.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub bench: bool,
}

fn parse_offers(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 2 && n % 2 == 0 => Ok(n),
        _ => Err(format!(
            "expected an even number of offers, at least 2, got `{text}`"
        )),
    }
}

fn main() -> ExitCode {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let result = if bench { bench_run() } else { smoke_run() };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo bench`: the figures, as a table (and JSON with `--json`). Exits 1 when a phase
/// broke one of its invariants, after printing everything.
fn bench_run() -> anyhow::Result<ExitCode> {
    let settings = Settings::parse();
    // `OFFERSYNC_LOG=trace` shows the tool's requests as they go, with the time since
    // the start: where a phase spends its time.
    if let Some(level) = std::env::var("OFFERSYNC_LOG")
        .ok()
        .and_then(|level| level.parse::<tracing::Level>().ok())
    {
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .init();
    }
    println!(
        "fleet benchmark: {} offers ({} per source network), latency {} ms, \
         limits: Network API {}/s, Affiliate API {}/s per source network, {} s fixed windows",
        settings.offers,
        settings.offers / 2,
        settings.latency_ms,
        settings.network_rate,
        settings.affiliate_rate,
        settings.window_secs
    );
    let report = run(&settings, &mut |line| println!("{line}"))?;
    println!("\nsummary\n{}", report.summary());
    if let Some(path) = &settings.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote the figures to {}", path.display());
    }
    let failed: Vec<String> = failures(&report);
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: invariants broken:\n  {}", failed.join("\n  "));
        Ok(ExitCode::FAILURE)
    }
}

/// `cargo test`: a small fleet with no latency and 2 s windows (Everflow's rates), every
/// invariant asserted, one line of output.
fn smoke_run() -> anyhow::Result<ExitCode> {
    floor::self_check();
    let settings = Settings {
        offers: 4,
        latency_ms: 0,
        network_rate: 30,
        affiliate_rate: 5,
        window_secs: 2,
        json: None,
        log_dir: None,
        bench: false,
    };
    let started = Instant::now();
    let report = run(&settings, &mut |_| {})?;
    let failed = failures(&report);
    assert!(
        failed.is_empty(),
        "fleet bench smoke run: invariants broken:\n  {}\n\n{}",
        failed.join("\n  "),
        report
            .phases
            .iter()
            .map(|phase| format!("{}:\n{phase}", phase.name))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let walls: Vec<String> = report
        .phases
        .iter()
        .map(|phase| {
            format!(
                "{} {:.1} s / {} requests",
                phase.name, phase.wall_secs, phase.requests.total
            )
        })
        .collect();
    println!(
        "fleet bench smoke run ({} offers, {:.0} s): {}; invariants hold",
        settings.offers,
        started.elapsed().as_secs_f64(),
        walls.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Every check a phase failed, named after its phase.
fn failures(report: &Report) -> Vec<String> {
    report
        .phases
        .iter()
        .flat_map(|phase| {
            phase
                .failed_checks()
                .map(move |check| format!("{}: {}", phase.name, check.what))
        })
        .collect()
}

/// One phase: a run of the tool, and what it must do.
struct Phase {
    name: &'static str,
    args: &'static [&'static str],
    /// Run as its own process (the built binary) rather than in this one: where memory
    /// is the figure, so that what the bench and the earlier phases hold does not count.
    own_process: bool,
}

const FIRST_APPLY: Phase = Phase {
    name: "first apply",
    args: &["apply", "--auto-approve"],
    own_process: false,
};
const NO_CHANGE_PLAN: Phase = Phase {
    name: "no-change plan",
    args: &["plan", "--detailed-exitcode"],
    own_process: false,
};
const ONE_CHANGE_APPLY: Phase = Phase {
    name: "one-change apply",
    args: &["apply", "--auto-approve"],
    own_process: false,
};
const OFFLINE_PLAN: Phase = Phase {
    name: "offline plan",
    args: &["plan", "--refresh=false", "--detailed-exitcode"],
    own_process: true,
};
const PHASES: usize = 4;

/// Builds the fleet, starts the sandbox and runs the three phases; `say` gets the
/// readable report as it goes.
fn run(settings: &Settings, say: &mut dyn FnMut(&str)) -> anyhow::Result<Report> {
    let per_network = settings.offers / 2;
    let fixtures = shape::fixtures(per_network)?;
    refuse_overriding_environment(&fixtures)?;
    let dir = tempfile::tempdir()?;
    let fixture_path = dir.path().join("fleet.json");
    std::fs::write(&fixture_path, serde_json::to_string(&fixtures)?)?;
    let workspace = dir.path().join("workspace");
    write_desired(&workspace, &fixtures, per_network)?;
    let limits = Limits {
        latency_ms: settings.latency_ms,
        network_rate: settings.network_rate,
        affiliate_rate: settings.affiliate_rate,
        window_secs: settings.window_secs,
    };
    let sandbox = SandboxProcess::start(&fixture_path, &workspace.join(".env.local"), limits)?;
    say(&format!(
        "sandbox: child process `offersync sandbox` at {}; workspace {}",
        sandbox.url(),
        workspace.display()
    ));
    // Like main.rs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut bench = Bench {
        settings,
        sandbox: &sandbox,
        workspace: &workspace,
        say,
    };
    runtime.block_on(async {
        let mut phases = Vec::new();

        let (mut first, log) = bench.phase(1, &FIRST_APPLY, Duration::ZERO).await?;
        let shape = Shape::of_first_apply(settings.offers, &log);
        // Not kept through the next phases: its memory would count as theirs.
        drop(log);
        first.check("exit 0", first.exit_code == 0);
        first.check("0 responses 429", first.requests.responses_429 == 0);
        first.check(shape.to_string(), shape.ok);
        bench.report(&first);
        phases.push(first);

        let pause = Duration::from_secs(settings.window_secs + 1);
        let (mut plan, _) = bench.phase(2, &NO_CHANGE_PLAN, pause).await?;
        plan.check("exit 0 (no changes)", plan.exit_code == 0);
        plan.check("0 writes", plan.requests.writes == 0);
        plan.check("0 responses 429", plan.requests.responses_429 == 0);
        bench.report(&plan);
        phases.push(plan);

        let (network, offer_id, entry, amount) = payout_change(&fixtures)?;
        let (mut change, log) = bench
            .phase_after(
                3,
                &ONE_CHANGE_APPLY,
                pause,
                // Futures are lazy: this runs after the pause.
                sandbox.set_source_payout(&network, offer_id, &entry, amount.clone()),
            )
            .await?;
        let writes: Vec<&LoggedRequest> = log.iter().filter(|r| r.is_write).collect();
        change.check("exit 0", change.exit_code == 0);
        change.check(
            format!(
                "exactly 1 write after changing {network}/{offer_id} payout `{entry}` to {amount} \
                 (made {}: {})",
                writes.len(),
                writes
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            writes.len() == 1,
        );
        change.check("0 responses 429", change.requests.responses_429 == 0);
        bench.report(&change);
        phases.push(change);

        // Pure planning: what a refreshing plan read (that apply forgot), planned again
        // with no network.
        let refresh = async {
            match offersync(&workspace, NO_CHANGE_PLAN.args).await?.0 {
                0 => Ok(()),
                code => Err(anyhow::anyhow!(
                    "the refreshing plan before it exited {code}"
                )),
            }
        };
        let (mut offline, _) = bench
            .phase_after(4, &OFFLINE_PLAN, Duration::ZERO, refresh)
            .await?;
        offline.check("exit 0 (no changes)", offline.exit_code == 0);
        offline.check("0 requests", offline.requests.total == 0);
        bench.report(&offline);
        phases.push(offline);

        Ok(Report {
            settings: settings.clone(),
            shape: Some(shape),
            phases,
        })
    })
}

/// What the phases share.
struct Bench<'a> {
    settings: &'a Settings,
    sandbox: &'a SandboxProcess,
    workspace: &'a Path,
    say: &'a mut dyn FnMut(&str),
}

impl Bench<'_> {
    async fn phase(
        &mut self,
        number: usize,
        phase: &Phase,
        pause: Duration,
    ) -> anyhow::Result<(PhaseFigures, Vec<LoggedRequest>)> {
        self.phase_after(number, phase, pause, async { Ok(()) })
            .await
    }

    /// Waits `pause`, makes the change `prepare` makes, runs the phase and reads its log.
    async fn phase_after(
        &mut self,
        number: usize,
        phase: &Phase,
        pause: Duration,
        prepare: impl Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<(PhaseFigures, Vec<LoggedRequest>)> {
        let command = format!("offersync {}", phase.args.join(" "));
        (self.say)(&format!(
            "\nphase {number}/{PHASES}: {} ({command})",
            phase.name
        ));
        if pause.is_zero() {
            (self.say)("no wait: nothing has used the rate limits of this new sandbox yet");
        } else {
            (self.say)(&format!(
                "waiting {} s first (one whole {} s rate-limit window + 1 s since the previous \
                 phase's last request), so that every bucket starts with a full quota",
                pause.as_secs(),
                self.settings.window_secs
            ));
            tokio::time::sleep(pause).await;
        }
        prepare.await?;
        self.sandbox.clear_requests().await?;
        let started = Instant::now();
        let (exit_code, stderr, usage) = if phase.own_process {
            offersync_process(self.workspace, phase.args).await?
        } else {
            let usage = usage::start();
            let (exit_code, captured) = offersync(self.workspace, phase.args).await?;
            let usage = usage.finish();
            let captured = captured.lock().expect("the capture lock is never poisoned");
            (exit_code, captured.stderr.clone(), usage)
        };
        let wall = started.elapsed();
        let log = self.sandbox.requests().await?;
        if let Some(dir) = &self.settings.log_dir {
            std::fs::create_dir_all(dir)?;
            let path = dir.join(format!("{number}-{}.json", phase.name.replace(' ', "-")));
            std::fs::write(&path, serde_json::to_string_pretty(&log)? + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if !matches!(exit_code, 0 | 2) {
            (self.say)(&format!("offersync exited {exit_code}; it said:\n{stderr}"));
        }
        let measured = Measured {
            name: phase.name,
            command,
            exit_code,
            waited: pause,
            wall,
            usage,
        };
        Ok((PhaseFigures::new(measured, &log, self.settings), log))
    }

    fn report(&mut self, phase: &PhaseFigures) {
        (self.say)(phase.to_string().trim_end());
    }
}

/// Runs offersync in this process on `workspace`, as `main.rs` does, with its output
/// kept in memory; returns its exit code.
async fn offersync(workspace: &Path, args: &[&str]) -> anyhow::Result<(i32, Arc<Mutex<Captured>>)> {
    let argv = ["offersync".as_ref(), "-C".as_ref(), workspace.as_os_str()]
        .into_iter()
        .chain(args.iter().map(|arg| arg.as_ref()));
    let cli = Cli::try_parse_from(argv)?;
    let (mut printer, captured) = Printer::memory();
    let code = match commands::run(cli, &mut printer).await {
        Ok(ExitStatus::Success) => 0,
        Ok(ExitStatus::Changes) => 2,
        Ok(ExitStatus::Guarded) => 3,
        Err(error) => {
            printer.error(&format!("{error:#}"));
            1
        }
    };
    Ok((code, captured))
}

/// Runs the built binary on `workspace`; returns its exit code, what it said on stderr
/// and the CPU time and peak memory it reports of itself at exit (`OFFERSYNC_LOG=debug`).
async fn offersync_process(
    workspace: &Path,
    args: &[&str],
) -> anyhow::Result<(i32, String, Usage)> {
    let binary = env!("CARGO_BIN_EXE_offersync");
    let mut command = std::process::Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("OFFERSYNC_LOG", "debug")
        .arg("-C")
        .arg(workspace)
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .with_context(|| format!("cannot run `{binary}`"))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let reported = stderr
        .lines()
        .rev()
        .find(|line| line.contains("resources used"))
        .unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        let start = reported.find(&format!("{name}="))? + name.len() + 1;
        let digits: String = reported[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let usage = Usage {
        baseline_kib: None,
        peak_kib: field("peak_kib"),
        cpu_secs: field("cpu_ms").map(|ms| ms as f64 / 1000.0),
    };
    Ok((output.status.code().unwrap_or(1), stderr, usage))
}

/// `desired/<network>.yaml` listing the fleet's offers, for each source network.
fn write_desired(workspace: &Path, fixtures: &Fixtures, per_network: usize) -> anyhow::Result<()> {
    let desired = workspace.join("desired");
    std::fs::create_dir_all(&desired)?;
    let offers: String = Fixtures::fleet_offer_ids(per_network)
        .map(|id| format!("  - source_offer_id: {id}\n"))
        .collect();
    for source in &fixtures.sources {
        let path = desired.join(format!("{}.yaml", source.name));
        std::fs::write(&path, format!("offers:\n{offers}"))?;
    }
    Ok(())
}

/// The tool reads its settings from the environment before `.env.local`; a developer's
/// real `ISCALE_API_KEY` or `EVERFLOW_API_URL` would point the bench elsewhere. This
/// process cannot unset them (`unsafe` is forbidden), so it refuses to run.
fn refuse_overriding_environment(fixtures: &Fixtures) -> anyhow::Result<()> {
    let prefixes: Vec<String> = ["EVERFLOW".to_owned(), "ISCALE".to_owned()]
        .into_iter()
        .chain(
            fixtures
                .sources
                .iter()
                .map(|source| offersync::settings::env_prefix(&source.name)),
        )
        .map(|prefix| format!("{prefix}_"))
        .collect();
    let set: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| prefixes.iter().any(|prefix| name.starts_with(prefix)))
        .collect();
    anyhow::ensure!(
        set.is_empty(),
        "{} set in the environment would override the sandbox's .env.local\n\
         hint: run the bench with them unset, e.g. `env -u {} cargo bench --bench fleet`",
        set.join(", "),
        set.join(" -u ")
    );
    Ok(())
}

/// The one source change of phase 3: the default payout of the first source network's
/// first offer, 10 more than in the fixtures (well under the payout-rise guard).
fn payout_change(fixtures: &Fixtures) -> anyhow::Result<(String, u64, String, Value)> {
    let source = fixtures.sources.first().context("no source network")?;
    let offer = &source.offers.first().context("no source offer")?.offer;
    let offer_id = offer["network_offer_id"]
        .as_u64()
        .context("no network_offer_id")?;
    let entry = offer["relationship"]["payouts"]["entries"]
        .as_array()
        .and_then(|entries| entries.iter().find(|entry| entry["is_default"] == true))
        .context("no default payout")?;
    let name = entry["entry_name"].as_str().context("no entry_name")?;
    let amount: Decimal = entry["payout_amount"].to_string().parse()?;
    let changed: Value = serde_json::from_str(&(amount + Decimal::TEN).to_string())?;
    Ok((source.name.clone(), offer_id, name.to_owned(), changed))
}
