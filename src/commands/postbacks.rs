//! `offersync postbacks report`: postback delivery health of the managed offers.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};

use super::{Context, ExitStatus};
use crate::cli::ReportArgs;
use crate::everflow::ClientOptions;
use crate::everflow::network::DeliveryQuery;
use crate::plan::Address;
use crate::report::{Period, render, summarize};
use crate::workspace::Clients;

pub async fn report(ctx: &mut Context<'_>, args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    if args.from > args.to {
        bail!("--from {} is after --to {}", args.from, args.to);
    }
    let workspace = ctx.workspace()?;
    // The managed offers are the ones state records: no source needs to be read.
    let mut offers: Vec<(Address, u64)> = Vec::new();
    for network in workspace.store.networks()? {
        if !args.networks.is_empty() && !args.networks.contains(&network) {
            continue;
        }
        for id in workspace.store.offer_ids(&network)? {
            let address = Address {
                network: network.clone(),
                source_offer_id: id,
            };
            if !args.offers.is_empty() && !args.offers.contains(&address) {
                continue;
            }
            if let Some(state) = workspace.store.load(&network, id)? {
                offers.push((address, state.offer.id));
            }
        }
    }
    if offers.is_empty() {
        bail!("no managed offers in scope: apply first, or widen --network/--offer");
    }
    let (clients, _pacing) = Clients::connect(&workspace, &ClientOptions::default());
    let api = clients
        .iscale
        .as_ref()
        .context("the iScale settings are missing")?;
    let query = DeliveryQuery {
        from: args.from.clone(),
        to: args.to.clone(),
        timezone_id: args.timezone_id,
        offer_ids: offers.iter().map(|(_, id)| *id).collect(),
    };
    let (rows, exported) = api.deliveries(&query).await?;
    let partners = api.partner_postbacks(&query.offer_ids).await?;
    let names: BTreeMap<u64, Address> = offers
        .iter()
        .map(|(address, id)| (*id, address.clone()))
        .collect();
    let period = Period {
        from: &args.from,
        to: &args.to,
        timezone_id: args.timezone_id,
        exported,
    };
    ctx.printer.data(&render(
        &period,
        &summarize(&offers, &rows),
        &partners,
        &names,
    ));
    Ok(ExitStatus::Success)
}
