//! `offersync validate`: desired files and settings, checked without any network call.

use super::{Context, ExitStatus};

pub fn run(ctx: &mut Context<'_>) -> anyhow::Result<ExitStatus> {
    let workspace = ctx.workspace()?;
    let offers: usize = workspace
        .desired
        .iter()
        .map(|network| network.file.offers.len())
        .sum();
    let names: Vec<&str> = workspace
        .desired
        .iter()
        .map(|network| network.name.as_str())
        .collect();
    ctx.printer.data(&format!(
        "Valid: {} network{} ({}), {offers} offer{} to carry; settings complete.\n",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        },
        if offers == 1 { "" } else { "s" },
    ));
    Ok(ExitStatus::Success)
}
