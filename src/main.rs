use std::process::ExitCode;

use clap::Parser;

use offersync::cli::Cli;
use offersync::commands;
use offersync::printer::Printer;

fn main() -> ExitCode {
    // Usage errors exit 1 like every error: 2 means "changes present" (DESIGN 4.1).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging();
    let mut printer = Printer::new(cli.color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            printer.error(&format!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(commands::run(cli, &mut printer)) {
        Ok(status) => status.into(),
        Err(error) => {
            printer.error(&error.to_string());
            ExitCode::FAILURE
        }
    };
    drop(runtime);
    tracing::debug!(
        cpu_ms = offersync::usage::cpu_time().map(|cpu| cpu.as_millis()),
        peak_kib = offersync::usage::peak_resident_kib(),
        "resources used"
    );
    code
}

/// Logs go to stderr; `OFFERSYNC_LOG=debug` (or info, trace) turns them up.
fn init_logging() {
    let level = std::env::var("OFFERSYNC_LOG")
        .ok()
        .and_then(|level| level.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::WARN);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
