//! `offersync setup`: the runbook's wizard. At a terminal it asks (keys without echo);
//! without one every answer comes from flags and the environment, and anything missing
//! is an error that names the flag or variable. It discovers what the APIs can tell
//! (the network id, each affiliate id, the tracking domain), lets the operator pick each
//! network's advertiser, proposes a random verification token, and writes `.env.local`
//! (mode 0600) and a starter `desired/<network>.yaml`. It never prints a key.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, bail};

use super::{Context, ExitStatus};
use crate::cli::SetupArgs;
use crate::everflow::affiliate::AffiliateApi;
use crate::everflow::network::{Advertiser, NetworkApi};
use crate::everflow::{Api, Client, ClientOptions};
use crate::secret::{Redactor, Secret};
use crate::settings::{DEFAULT_API_URL, ENV_FILE, MAX_TOKEN_CHARS, env_prefix, parse_api_url};
use crate::setup::{
    discover_tracking_domain, env_file, random_token, restore_pending_visibility, starter_desired,
    write_env_file,
};

pub async fn run(ctx: &mut Context<'_>, args: &SetupArgs) -> anyhow::Result<ExitStatus> {
    let env: BTreeMap<String, String> = ctx.env.iter().cloned().collect();
    let mut ask = Asker {
        interactive: std::io::stdin().is_terminal(),
        env: &env,
    };
    let existing = std::fs::read_to_string(ctx.root.join(ENV_FILE)).unwrap_or_default();
    if !existing.is_empty() && !args.force && !ask.interactive {
        bail!("{ENV_FILE} exists; pass --force to update offersync's settings in it");
    }

    let api_url = match env.get("EVERFLOW_API_URL") {
        Some(url) => url.clone(),
        None => ask.text(
            "Everflow API URL",
            Some(DEFAULT_API_URL),
            "EVERFLOW_API_URL",
        )?,
    };
    let base =
        parse_api_url(&api_url).map_err(|reason| anyhow::anyhow!("`EVERFLOW_API_URL` {reason}"))?;
    let options = ClientOptions::default();

    let iscale_key = ask.secret("iScale Network API key", "ISCALE_API_KEY")?;
    let mut secrets = vec![iscale_key.clone()];
    ctx.printer.set_redactor(Redactor::new(secrets.clone()));
    let iscale = NetworkApi::new(Client::new(
        &base,
        iscale_key.clone(),
        Api::Network,
        options.clone(),
    ));
    if let Some(pending) = restore_pending_visibility(&iscale, &ctx.root).await? {
        ctx.printer.warn(&format!(
            "put iScale offer {} back to `{}` visibility, left public by an interrupted run",
            pending.network_offer_id, pending.visibility
        ));
    }
    let network_id = iscale
        .identity()
        .await
        .context("checking the iScale key")?
        .network_id;
    ctx.printer.status(&format!("iScale network {network_id}."));

    let names = if args.networks.is_empty() {
        let answer = ask.text(
            "Source networks (comma-separated, e.g. trimrx,directmeds)",
            None,
            "--network",
        )?;
        answer
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect()
    } else {
        args.networks.clone()
    };
    if names.is_empty() {
        bail!("no source network given; pass --network NAME");
    }
    let advertisers = iscale
        .advertisers()
        .await
        .context("listing iScale advertisers")?;

    let mut values: Vec<(String, String)> = vec![
        ("EVERFLOW_API_URL".into(), api_url.trim().to_owned()),
        ("ISCALE_API_KEY".into(), iscale_key.expose().to_owned()),
        ("ISCALE_NETWORK_ID".into(), network_id.to_string()),
    ];
    let mut starters = Vec::new();
    for name in &names {
        let prefix = env_prefix(name);
        let key = ask.secret(
            &format!("{name}: Affiliate API key"),
            &format!("{prefix}_API_KEY"),
        )?;
        secrets.push(key.clone());
        ctx.printer.set_redactor(Redactor::new(secrets.clone()));
        let source = AffiliateApi::new(Client::new(
            &base,
            key.clone(),
            Api::Affiliate,
            options.clone(),
        ));
        let affiliate_id = source
            .identity()
            .await
            .with_context(|| format!("checking the {name} key"))?
            .network_affiliate_id;
        ctx.printer
            .status(&format!("{name}: affiliate {affiliate_id}."));

        let advertiser = pick_advertiser(&mut ask, args, name, &advertisers, ctx)?;
        let token = match env.get(&format!("{prefix}_VERIFICATION_TOKEN")) {
            Some(token) if !token.trim().is_empty() => Secret::new(token.trim()),
            _ => {
                let proposed = random_token().context("reading the OS random source")?;
                let token = ask.text_hidden_default(
                    &format!("{name}: postback verification token (Enter keeps a new random one)"),
                    &proposed,
                )?;
                Secret::new(token)
            }
        };
        if token.len() > MAX_TOKEN_CHARS {
            bail!(
                "the {name} verification token is {} characters long; Everflow accepts at most {MAX_TOKEN_CHARS}",
                token.len()
            );
        }
        secrets.push(token.clone());
        ctx.printer.set_redactor(Redactor::new(secrets.clone()));
        values.extend([
            (format!("{prefix}_API_KEY"), key.expose().to_owned()),
            (format!("{prefix}_AFFILIATE_ID"), affiliate_id.to_string()),
            (format!("{prefix}_ADVERTISER_ID"), advertiser.to_string()),
            (
                format!("{prefix}_VERIFICATION_TOKEN"),
                token.expose().to_owned(),
            ),
        ]);
        let runnable = source.runnable_offer_names().await.unwrap_or_default();
        starters.push((name.clone(), runnable));
    }

    let domain = match args
        .tracking_domain
        .clone()
        .or_else(|| env.get("ISCALE_TRACKING_DOMAIN").cloned())
    {
        Some(domain) => domain,
        None => {
            let found = discover_tracking_domain(&iscale, &ctx.root, args.link_affiliate_id)
                .await
                .context("discovering the tracking domain (or pass --tracking-domain)")?;
            ctx.printer.status(&format!(
                "Tracking domain {} (from {}).",
                found.domain, found.how
            ));
            found.domain
        }
    };
    values.push(("ISCALE_TRACKING_DOMAIN".into(), domain));

    write_env_file(&ctx.root, &env_file(&existing, &values))?;
    let mut report = format!("Wrote {ENV_FILE} (mode 0600, keys not shown):\n");
    for (name, value) in &values {
        let shown = if name.ends_with("_API_KEY") || name.ends_with("_VERIFICATION_TOKEN") {
            Secret::new(value.clone()).masked()
        } else {
            value.clone()
        };
        report.push_str(&format!("  {name}={shown}\n"));
    }
    for (name, runnable) in starters {
        let path = ctx.root.join("desired").join(format!("{name}.yaml"));
        if path.exists() {
            report.push_str(&format!("Kept desired/{name}.yaml.\n"));
            continue;
        }
        crate::fsutil::write_atomic(&path, starter_desired(&name, &runnable).as_bytes())?;
        report.push_str(&format!(
            "Wrote desired/{name}.yaml ({} runnable offer{} listed to pick from).\n",
            runnable.len(),
            if runnable.len() == 1 { "" } else { "s" }
        ));
    }
    report.push_str("Next: choose offers in desired/, then `offersync plan`.\n");
    ctx.printer.data(&report);
    Ok(ExitStatus::Success)
}

fn pick_advertiser(
    ask: &mut Asker<'_>,
    args: &SetupArgs,
    network: &str,
    advertisers: &[Advertiser],
    ctx: &Context<'_>,
) -> anyhow::Result<u64> {
    if let Some((_, id)) = args.advertisers.iter().find(|(name, _)| name == network) {
        if !advertisers
            .iter()
            .any(|advertiser| advertiser.network_advertiser_id == *id)
        {
            bail!("iScale has no advertiser {id} (for --advertiser {network}={id})");
        }
        return Ok(*id);
    }
    let suggested = advertisers.iter().find(|advertiser| {
        advertiser
            .name
            .to_ascii_lowercase()
            .replace([' ', '-', '_'], "")
            == network.replace(['-', '_'], "")
    });
    if ask.interactive {
        let mut list = format!("{network}: which iScale advertiser owns its offers?\n");
        for advertiser in advertisers {
            list.push_str(&format!(
                "  {}  {}\n",
                advertiser.network_advertiser_id, advertiser.name
            ));
        }
        ctx.printer.status(list.trim_end());
    }
    let default = suggested.map(|advertiser| advertiser.network_advertiser_id.to_string());
    let answer = ask.text(
        &format!("{network}: advertiser id"),
        default.as_deref(),
        &format!("--advertiser {network}=ID"),
    )?;
    let id: u64 = answer
        .trim()
        .parse()
        .with_context(|| format!("`{answer}` is not an advertiser id"))?;
    if !advertisers
        .iter()
        .any(|advertiser| advertiser.network_advertiser_id == id)
    {
        bail!("iScale has no advertiser {id}");
    }
    Ok(id)
}

/// Answers: from the terminal when there is one, else from the environment and flags.
struct Asker<'a> {
    interactive: bool,
    env: &'a BTreeMap<String, String>,
}

impl Asker<'_> {
    /// A visible answer; `source` names the flag or variable that gives it without a
    /// terminal.
    fn text(
        &mut self,
        question: &str,
        default: Option<&str>,
        source: &str,
    ) -> anyhow::Result<String> {
        if !self.interactive {
            return default
                .map(str::to_owned)
                .with_context(|| format!("no terminal to ask `{question}`: pass {source}"));
        }
        let suffix = default.map_or_else(String::new, |value| format!(" [{value}]"));
        let answer = prompt_line(&format!("{question}{suffix}: "))?;
        Ok(match (answer.trim(), default) {
            ("", Some(value)) => value.to_owned(),
            (answer, _) => answer.to_owned(),
        })
    }

    /// A secret: the environment variable if set, else asked without echo.
    fn secret(&mut self, question: &str, variable: &str) -> anyhow::Result<Secret> {
        if let Some(value) = self
            .env
            .get(variable)
            .filter(|value| !value.trim().is_empty())
        {
            return Ok(Secret::new(value.trim()));
        }
        if !self.interactive {
            bail!("no terminal to ask for `{variable}`: set it in the environment");
        }
        let value = rpassword::prompt_password(format!("{question} (not shown): "))
            .context("reading from the terminal")?;
        let value = value.trim().to_owned();
        if value.is_empty() {
            bail!("`{variable}` is empty");
        }
        Ok(Secret::new(value))
    }

    /// A secret with a proposed value: Enter keeps it; nothing is echoed.
    fn text_hidden_default(&mut self, question: &str, proposed: &str) -> anyhow::Result<String> {
        if !self.interactive {
            return Ok(proposed.to_owned());
        }
        let value = rpassword::prompt_password(format!("{question}: "))
            .context("reading from the terminal")?;
        Ok(match value.trim() {
            "" => proposed.to_owned(),
            value => value.to_owned(),
        })
    }
}

fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    let mut stderr = std::io::stderr();
    stderr.write_all(prompt.as_bytes())?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line)
}
