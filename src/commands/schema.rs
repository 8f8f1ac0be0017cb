//! `offersync schema`: writes the JSON Schemas of desired files and of `plan --json`, or
//! checks that they are current.

use anyhow::bail;

use super::{Context, ExitStatus};
use crate::fsutil::write_atomic;
use crate::schema::schemas;

pub fn run(ctx: &mut Context<'_>, args: &crate::cli::SchemaArgs) -> anyhow::Result<ExitStatus> {
    let schemas = schemas();
    if args.check {
        let stale: Vec<&str> = schemas
            .iter()
            .filter(|(path, fresh)| {
                std::fs::read_to_string(ctx.root.join(path)).unwrap_or_default() != *fresh
            })
            .map(|(path, _)| *path)
            .collect();
        match stale.as_slice() {
            [] => {}
            [path] => bail!("{path} is out of date; run `offersync schema` to rewrite it"),
            paths => bail!(
                "{} are out of date; run `offersync schema` to rewrite them",
                paths.join(" and ")
            ),
        }
        for (path, _) in &schemas {
            ctx.printer.data(&format!("{path} is up to date.\n"));
        }
        return Ok(ExitStatus::Success);
    }
    for (path, fresh) in &schemas {
        write_atomic(&ctx.root.join(path), fresh.as_bytes())?;
        ctx.printer.data(&format!("Wrote {path}.\n"));
    }
    Ok(ExitStatus::Success)
}
