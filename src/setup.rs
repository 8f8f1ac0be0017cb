//! Setup (the runbook's `/setup` wizard): what it discovers and writes, without the
//! asking, which belongs to the command.
//!
//! The tracking domain is discovered as the runbook does it (seed 004): generate a
//! tracking link for an iScale offer and read its host. Everflow refuses links for offers
//! the affiliate cannot run, so a non-public offer is made public for that one request,
//! and put back on every path: after success, after an error, on Ctrl-C, and, since a
//! killed process cannot clean up, from a journal written before the change, which the
//! next setup or apply reads and undoes.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::everflow::ApiError;
use crate::everflow::network::NetworkApi;
use crate::fsutil::{stable_json, write_atomic};
use crate::settings::ENV_FILE;

/// Where a visibility change waiting to be undone is recorded (outside the offer
/// folders, Git-ignored).
pub const VISIBILITY_JOURNAL: &str = "state/visibility-restore.json";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("interrupted; the offer's visibility was put back")]
    Interrupted,
    #[error("the tracking link `{0}` has no host")]
    NoHost(String),
}

/// A visibility change to undo.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct PendingVisibility {
    pub network_offer_id: u64,
    pub visibility: String,
}

/// How the tracking domain was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    pub domain: String,
    pub how: String,
}

/// Undoes a visibility change an interrupted run left behind, if any.
pub async fn restore_pending_visibility(
    api: &NetworkApi,
    workspace: &Path,
) -> Result<Option<PendingVisibility>, SetupError> {
    let path = workspace.join(VISIBILITY_JOURNAL);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Ok(pending) = serde_json::from_str::<PendingVisibility>(&text) else {
        // Unreadable: nothing safe to undo; do not keep tripping over it.
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    };
    set_visibility(api, pending.network_offer_id, &pending.visibility).await?;
    let _ = std::fs::remove_file(&path);
    Ok(Some(pending))
}

/// Finds the tracking domain with a tracking link for `affiliate_id` on some iScale
/// offer, or, when the network has no offer yet, its primary tracking domain.
pub async fn discover_tracking_domain(
    api: &NetworkApi,
    workspace: &Path,
    affiliate_id: u64,
) -> Result<Discovered, SetupError> {
    let Some(offer) = api.any_offer().await? else {
        let domains = api.tracking_domains().await?;
        let primary = domains
            .iter()
            .find(|domain| domain.is_primary_domain)
            .or(domains.first())
            .ok_or_else(|| SetupError::NoHost("(no offer and no tracking domain)".to_owned()))?;
        return Ok(Discovered {
            domain: primary.url.clone(),
            how: "the network's primary tracking domain (it has no offer to make a link for yet)"
                .to_owned(),
        });
    };
    let id = offer.id();
    let visibility = offer.view.visibility.clone();
    let url = if visibility == "public" {
        api.tracking_link(id, affiliate_id).await?
    } else {
        let journal = workspace.join(VISIBILITY_JOURNAL);
        let pending = PendingVisibility {
            network_offer_id: id,
            visibility: visibility.clone(),
        };
        write_atomic(&journal, &stable_json(&pending)).map_err(|source| SetupError::Write {
            path: PathBuf::from(VISIBILITY_JOURNAL),
            source,
        })?;
        let made_public = set_visibility(api, id, "public").await;
        let outcome = match made_public {
            Ok(()) => tokio::select! {
                link = api.tracking_link(id, affiliate_id) => link.map_err(SetupError::from),
                _ = tokio::signal::ctrl_c() => Err(SetupError::Interrupted),
            },
            Err(error) => Err(error.into()),
        };
        // Whatever happened above, the offer gets its visibility back.
        set_visibility(api, id, &visibility).await?;
        let _ = std::fs::remove_file(&journal);
        outcome?
    };
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|parsed| parsed.host_str().map(str::to_owned))
        .ok_or_else(|| SetupError::NoHost(url.clone()))?;
    Ok(Discovered {
        domain: host,
        how: format!("a tracking link for iScale offer {id} and affiliate {affiliate_id}"),
    })
}

async fn set_visibility(api: &NetworkApi, offer_id: u64, visibility: &str) -> Result<(), ApiError> {
    api.patch_offers(
        &[offer_id],
        json!([{"field_type": "visibility", "field_value": visibility, "operator": "overwrite"}]),
    )
    .await
}

/// A verification token nobody can guess: 24 letters and digits from the OS's random
/// source (a guessable token would let anyone report conversions).
pub fn random_token() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 48];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    // Rejection sampling keeps every letter equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let token: String = bytes
        .iter()
        .filter(|byte| usize::from(**byte) < limit)
        .take(24)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect();
    if token.len() < 24 {
        return random_token();
    }
    Ok(token)
}

/// `.env.local` with `values` set: lines of other variables (and comments) are kept,
/// lines of these variables are replaced in place, new ones appended.
pub fn env_file(existing: &str, values: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut written = Vec::new();
    for line in existing.lines() {
        let name = line
            .trim_start()
            .trim_start_matches("export ")
            .split('=')
            .next()
            .unwrap_or_default()
            .trim();
        match values.iter().find(|(key, _)| key == name) {
            Some((key, value)) => {
                out.push_str(&format!("{key}={value}\n"));
                written.push(key.clone());
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if existing.is_empty() {
        out.push_str(
            "# offersync settings, written by `offersync setup`. Keep this file out of Git.\n",
        );
    }
    for (key, value) in values {
        if !written.contains(key) {
            out.push_str(&format!("{key}={value}\n"));
        }
    }
    out
}

/// Writes `.env.local` readable by its owner only (it holds keys).
pub fn write_env_file(workspace: &Path, text: &str) -> Result<(), SetupError> {
    let path = workspace.join(ENV_FILE);
    let error = |source| SetupError::Write {
        path: PathBuf::from(ENV_FILE),
        source,
    };
    write_atomic(&path, text.as_bytes()).map_err(error)?;
    set_owner_only(&path).map_err(error)
}

#[cfg(unix)]
fn set_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_owner_only(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A first `desired/<network>.yaml`: nothing carried yet, the runnable offers listed as
/// comments to pick from.
pub fn starter_desired(network: &str, runnable: &[(u64, String)]) -> String {
    let mut text = format!(
        "# yaml-language-server: $schema=../schemas/desired.schema.json\n#\n\
         # Offers of the {network} network to carry into iScale. Uncomment the ones to carry,\n\
         # then run `offersync plan`.\n\noffers: []\n"
    );
    if !runnable.is_empty() {
        text.push_str("# offers:\n");
        for (id, name) in runnable {
            let name: String = name.chars().filter(|c| *c != '\n').collect();
            text.push_str(&format!("#   - source_offer_id: {id}  # {name}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_keeps_other_lines_and_replaces_ours() {
        let existing = "# mine\nOTHER=1\nISCALE_NETWORK_ID=1\n";
        let text = env_file(
            existing,
            &[
                ("ISCALE_NETWORK_ID".into(), "7001".into()),
                ("TRIMRX_AFFILIATE_ID".into(), "42".into()),
            ],
        );
        assert_eq!(
            text,
            "# mine\nOTHER=1\nISCALE_NETWORK_ID=7001\nTRIMRX_AFFILIATE_ID=42\n"
        );
    }

    #[test]
    fn random_tokens_are_long_and_differ() {
        let one = random_token().unwrap();
        let two = random_token().unwrap();
        assert_eq!(one.len(), 24);
        assert!(one.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(one, two);
    }

    #[test]
    fn starter_desired_parses_and_lists_offers() {
        let text = starter_desired("trimrx", &[(1, "GLP-1".into()), (2, "Starter".into())]);
        let file =
            crate::desired::parse(Path::new("desired/trimrx.yaml"), text.as_bytes()).unwrap();
        assert!(file.offers.is_empty());
        assert!(text.contains("#   - source_offer_id: 2  # Starter\n"));
    }
}
