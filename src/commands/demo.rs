//! `offersync demo`: the whole job, end to end, on the in-process sandbox in a temporary
//! workspace: plan, apply, plan again ("No changes"), a payout change at the source, a
//! plan that shows exactly that change and why, and the apply that sends one write per
//! destination. TrimRx goes to iScale (the Everflow destination); DirectMeds goes to
//! the sandbox's Offerit install, the second destination.
//!
//! It runs the same command functions as the command line, so what it shows is what an
//! operator gets; only the workspace and the Everflow behind it are throwaway.

use std::str::FromStr;

use anyhow::Context as _;
use rust_decimal::Decimal;

use super::{Context, ExitStatus};
use crate::cli::{ApplyArgs, PlanArgs, ScopeArgs};
use crate::fsutil::write_atomic;
use crate::printer::Printer;
use crate::sandbox::{Fixtures, SandboxHandle, SandboxOptions};
use crate::settings::ENV_FILE;

/// The example desired files of this repository, so the demo shows what a newcomer reads:
/// TrimRx's as it is, DirectMeds' sent to Offerit, its Refill event as goal 3 there.
const DESIRED: &[(&str, &str)] = &[
    ("trimrx.yaml", include_str!("../../desired/trimrx.yaml")),
    ("directmeds.yaml", DIRECTMEDS_TO_OFFERIT),
];

const DIRECTMEDS_TO_OFFERIT: &str = include_str!("../../docs/examples/directmeds-offerit.yaml");

/// The source-side changes the demo makes: one offer per destination.
const CHANGES: [(&str, u64, &str, &str); 2] = [
    ("trimrx", 1, "Base", "370.00"),
    ("directmeds", 12, "Base", "109.99"),
];

pub async fn run(printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    let fixtures = Fixtures::builtin();
    let handle = SandboxHandle::start(fixtures.clone(), SandboxOptions::default())
        .context("cannot start the sandbox")?;
    let workspace = tempfile::Builder::new()
        .prefix("offersync-demo-")
        .tempdir()
        .context("cannot create a temporary workspace")?;
    let root = workspace.path().to_owned();
    write_atomic(
        &root.join(ENV_FILE),
        fixtures.env_local(&handle.url()).as_bytes(),
    )?;
    for (name, text) in DESIRED {
        write_atomic(&root.join("desired").join(name), text.as_bytes())?;
    }

    printer.data(&format!(
        "offersync demo: the whole job against the built-in Everflow sandbox\n\
         \x20 sandbox    {} (source networks trimrx and directmeds; destinations iScale and Offerit)\n\
         \x20 workspace  {} (desired/trimrx.yaml to iScale, desired/directmeds.yaml to Offerit)\n",
        handle.url(),
        root.display()
    ));
    // Only the workspace's .env.local: an operator's real keys in the environment must
    // never reach the sandbox, nor the sandbox's settings leak into theirs.
    let mut ctx = Context {
        root: root.clone(),
        env: Vec::new(),
        printer,
    };
    let sandbox = handle.sandbox();

    step(&mut ctx, "1. offersync plan");
    super::plan::run(&mut ctx, &plan_args()).await?;
    writes_since(&mut ctx, sandbox, "plan");

    step(&mut ctx, "2. offersync apply --auto-approve");
    super::apply::run(&mut ctx, &apply_args()).await?;
    writes_since(&mut ctx, sandbox, "apply");

    step(&mut ctx, "3. offersync plan (again: nothing to do)");
    super::plan::run(&mut ctx, &plan_args()).await?;
    writes_since(&mut ctx, sandbox, "plan");

    let told: Vec<String> = CHANGES
        .iter()
        .map(|(network, offer, event, amount)| {
            format!("{network} raises the {event} payout of offer {offer} to {amount}")
        })
        .collect();
    step(&mut ctx, &format!("4. At the source: {}", told.join("; ")));
    for (network, offer, event, amount) in CHANGES {
        let amount = Decimal::from_str(amount).expect("a valid amount");
        sandbox.set_source_payout(network, offer, event, amount)?;
    }

    step(
        &mut ctx,
        "5. offersync plan (shows exactly those changes, and why)",
    );
    super::plan::run(&mut ctx, &plan_args()).await?;
    writes_since(&mut ctx, sandbox, "plan");

    step(&mut ctx, "6. offersync apply --auto-approve");
    super::apply::run(&mut ctx, &apply_args()).await?;
    writes_since(&mut ctx, sandbox, "apply");

    step(
        &mut ctx,
        "7. offersync verify (live state, across iScale and the source networks; Offerit cannot be read back)",
    );
    super::verify::run(
        &mut ctx,
        &crate::cli::VerifyArgs {
            networks: Vec::new(),
            offers: Vec::new(),
        },
    )
    .await?;
    writes_since(&mut ctx, sandbox, "verify");

    ctx.printer.data(
        "\nDone. Point EVERFLOW_API_URL at your own networks (see README.md) to do this for real.\n",
    );
    Ok(ExitStatus::Success)
}

fn plan_args() -> PlanArgs {
    PlanArgs {
        scope: ScopeArgs::default(),
        detailed_exitcode: false,
        json: false,
        markdown: false,
        out: None,
        refresh: true,
        guards: Default::default(),
    }
}

fn apply_args() -> ApplyArgs {
    ApplyArgs {
        plan_file: None,
        scope: ScopeArgs::default(),
        auto_approve: true,
        skip_stale: false,
        guards: Default::default(),
    }
}

fn step(ctx: &mut Context<'_>, title: &str) {
    ctx.printer.data(&format!("\n━━ {title} ━━\n\n"));
}

/// Says what the step sent to Everflow and Offerit, from the sandbox's request log, then
/// clears it.
fn writes_since(ctx: &mut Context<'_>, sandbox: &crate::sandbox::Sandbox, what: &str) {
    let requests = sandbox.requests();
    sandbox.clear_requests();
    let writes: Vec<String> = requests
        .iter()
        .filter(|request| request.is_write())
        .map(|request| format!("{} {}", request.method, request.path))
        .collect();
    let reads = requests.len() - writes.len();
    let listed = if writes.is_empty() {
        String::new()
    } else {
        format!(": {}", writes.join(", "))
    };
    ctx.printer.data(&format!(
        "\n[sandbox log] this {what} sent {reads} read{} and {} write{}{listed}\n",
        if reads == 1 { "" } else { "s" },
        writes.len(),
        if writes.len() == 1 { "" } else { "s" },
    ));
}
