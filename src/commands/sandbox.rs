//! `offersync sandbox`: the built-in Everflow simulator on loopback, for rehearsing a
//! change or pointing a second tool at something that behaves like Everflow.

use std::time::Duration;

use anyhow::Context as _;

use super::{Context, ExitStatus};
use crate::cli::SandboxArgs;
use crate::fsutil::write_atomic;
use crate::sandbox::{Fixtures, Sandbox, SandboxOptions, serve};

pub async fn run(ctx: &mut Context<'_>, args: &SandboxArgs) -> anyhow::Result<ExitStatus> {
    let fixtures = match &args.fixtures {
        Some(path) => Fixtures::from_path(path)?,
        None => Fixtures::builtin(),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let url = format!("http://{}", listener.local_addr()?);
    // Fixture images and pages are served by the sandbox itself: point them at it.
    let fixtures = fixtures.with_base_url(&url);
    if let Some(path) = &args.env_out {
        // The sandbox's keys are not real, but the file is still a settings file: it is
        // written, never printed.
        let mut env = fixtures.env_local(&url);
        // Limits other than Everflow's: tell offersync, so it paces itself to them.
        if args.rate_window != 30 {
            env.push_str(&format!("EVERFLOW_RATE_WINDOW={}\n", args.rate_window));
        }
        if args.network_rate != 30 {
            env.push_str(&format!("ISCALE_RATE_LIMIT={}\n", args.network_rate));
        }
        if args.affiliate_rate != 5 {
            for source in &fixtures.sources {
                let prefix = crate::settings::env_prefix(&source.name);
                env.push_str(&format!("{prefix}_RATE_LIMIT={}\n", args.affiliate_rate));
            }
        }
        write_atomic(path, env.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        ctx.printer.status(&format!(
            "Wrote {} (settings for this sandbox).",
            path.display()
        ));
    }
    let options = SandboxOptions {
        network_rate: args.network_rate,
        affiliate_rate: args.affiliate_rate,
        window: Duration::from_secs(args.rate_window),
        latency: Duration::from_millis(args.latency_ms),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::new(fixtures, options);
    ctx.printer.status(&format!(
        "Everflow sandbox listening on {url} (EVERFLOW_API_URL={url}); Ctrl-C stops it."
    ));
    tokio::select! {
        served = serve(listener, sandbox) => served.context("the sandbox stopped")?,
        _ = tokio::signal::ctrl_c() => ctx.printer.status("Sandbox stopped."),
    }
    Ok(ExitStatus::Success)
}
