//! `offersync schema`: writes the JSON Schema of desired files, or checks it is current.

use anyhow::bail;

use super::{Context, ExitStatus};
use crate::fsutil::write_atomic;
use crate::schema::{DESIRED_SCHEMA_PATH, desired_schema};

pub fn run(ctx: &mut Context<'_>, args: &crate::cli::SchemaArgs) -> anyhow::Result<ExitStatus> {
    let path = ctx.root.join(DESIRED_SCHEMA_PATH);
    let fresh = desired_schema();
    if args.check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            bail!("{DESIRED_SCHEMA_PATH} is out of date; run `offersync schema` to rewrite it");
        }
        ctx.printer
            .data(&format!("{DESIRED_SCHEMA_PATH} is up to date.\n"));
        return Ok(ExitStatus::Success);
    }
    write_atomic(&path, fresh.as_bytes())?;
    ctx.printer.data(&format!("Wrote {DESIRED_SCHEMA_PATH}.\n"));
    Ok(ExitStatus::Success)
}
