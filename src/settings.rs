//! Settings: `.env.local` read into a map, overridden by the process environment, then
//! resolved into validated plain structs (DESIGN section 4.2).
//!
//! This module owns the names of the variables and what each must hold. It never mutates
//! the process environment and never puts a secret value into an error message.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::desired::Destination;
use crate::everflow::RateLimit;
use crate::everflow::pacing::EVERFLOW_WINDOW;
use crate::money::Margin;
use crate::secret::{Redactor, Secret};

/// Everflow's production API, used when `EVERFLOW_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.eflow.team";

/// Everflow rejects verification tokens longer than this (advertiser PATCH field
/// `verification_token`, SNAP advertisers-extras).
pub const MAX_TOKEN_CHARS: usize = 50;

/// The highest rate a bucket may be given, requests per second (Everflow's is 30).
const MAX_RATE: u32 = 10_000;

/// The name of the settings file inside a workspace.
pub const ENV_FILE: &str = ".env.local";

/// Where a setting's value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    EnvFile,
    Environment,
}

/// Raw settings: `.env.local` first, then the process environment on top.
#[derive(Clone, Debug, Default)]
pub struct EnvMap {
    vars: BTreeMap<String, (String, Origin)>,
}

impl EnvMap {
    /// Reads `<workspace>/.env.local` (if present) and overlays `process` (normally
    /// `std::env::vars()`), which wins.
    pub fn load(
        workspace: &Path,
        process: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut map = Self::default();
        let path = workspace.join(ENV_FILE);
        if path.exists() {
            map.read_env_file(&path)?;
        }
        for (name, value) in process {
            map.vars.insert(name, (value, Origin::Environment));
        }
        Ok(map)
    }

    fn read_env_file(&mut self, path: &Path) -> Result<(), SettingsError> {
        let bytes = std::fs::read(path).map_err(|error| SettingsError::Read {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|byte| **byte == b'\n').count() + 1;
            SettingsError::Read {
                path: path.to_owned(),
                reason: format!("line {line} is not valid UTF-8; save the file as UTF-8"),
            }
        })?;
        let entries = dotenvy::from_path_iter(path).map_err(|error| SettingsError::Read {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        for entry in entries {
            match entry {
                Ok((name, value)) => {
                    self.vars.insert(name, (value, Origin::EnvFile));
                }
                // dotenvy's message quotes the offending line, which may hold a key: name the
                // line number instead.
                Err(dotenvy::Error::LineParse(line, _)) => {
                    let number = text
                        .lines()
                        .position(|candidate| candidate.contains(line.trim()))
                        .map_or(0, |index| index + 1);
                    return Err(SettingsError::EnvFileSyntax {
                        path: path.to_owned(),
                        line: number,
                    });
                }
                Err(other) => {
                    return Err(SettingsError::Read {
                        path: path.to_owned(),
                        reason: match other {
                            dotenvy::Error::Io(io) => io.to_string(),
                            _ => "cannot parse the file".to_owned(),
                        },
                    });
                }
            }
        }
        Ok(())
    }

    /// Builds a map from explicit pairs (tests, the demo).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let vars = pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), (value.to_owned(), Origin::Environment)))
            .collect();
        Self { vars }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|(value, _)| value.as_str())
    }
}

/// Validated settings for one run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub api_url: Url,
    /// Present when some desired file sends its offers to iScale (the default destination).
    pub iscale: Option<IscaleSettings>,
    /// Present when some desired file sends its offers to Offerit.
    pub offerit: Option<OfferitSettings>,
    pub networks: BTreeMap<String, NetworkSettings>,
}

/// The Offerit (Trackfinity) install of DESIGN 4.5 and issue 8.
#[derive(Clone, Debug)]
pub struct OfferitSettings {
    /// `OFFERIT_URL`: the install's base URL; requests go to `{url}/api/<endpoint>/<action>`.
    pub url: Url,
    /// `OFFERIT_API_KEY`, sent as the `api-key` header.
    pub api_key: Secret,
    /// `OFFERIT_API_USERNAME`, sent as the `api-username` header.
    pub api_username: Secret,
    /// `OFFERIT_TRACKING_DOMAIN`: the host of `process_pixel.php`, where the source
    /// networks' pixels post conversions.
    pub tracking_domain: Option<String>,
    /// `OFFERIT_PAYOUT_MARGIN`, default 0.20.
    pub margin: Margin,
}

#[derive(Clone, Debug)]
pub struct IscaleSettings {
    pub api_key: Secret,
    pub network_id: u64,
    pub tracking_domain: Option<String>,
    pub margin: Margin,
    /// `ISCALE_RATE_LIMIT`: the Network API bucket, requests per second.
    pub rate_limit: RateLimit,
}

/// One source network, named after its desired file (`desired/trimrx.yaml` -> `trimrx`).
#[derive(Clone, Debug)]
pub struct NetworkSettings {
    pub name: String,
    /// Where its offers go (the desired file's `destination`).
    pub destination: Destination,
    pub api_key: Secret,
    pub affiliate_id: u64,
    /// The destination's advertiser that owns this network's offers:
    /// `{NETWORK}_ADVERTISER_ID` in iScale, `{NETWORK}_OFFERIT_ADVERTISER_ID` (the
    /// advertiser's `loginid`) in Offerit.
    pub advertiser_id: u64,
    /// The iScale advertiser's postback verification token (iScale destinations only).
    pub verification_token: Option<Secret>,
    /// `{NETWORK}_RATE_LIMIT`: our Affiliate API bucket there, requests per second.
    pub rate_limit: RateLimit,
}

/// A network that needs settings, and the desired file that asks for it.
#[derive(Clone, Debug)]
pub struct NetworkRequest<'a> {
    pub name: &'a str,
    pub desired_file: &'a Path,
    /// Where its offers go.
    pub destination: Destination,
    /// Whether its postbacks are managed (they need the destination's tracking domain,
    /// and for iScale a verification token).
    pub postbacks: bool,
}

impl Settings {
    /// Resolves and validates everything the given networks need, and the settings of
    /// each destination that some network sends its offers to, or that `recorded` names
    /// (destinations of offers state records for networks without a desired file: they
    /// are paused there). Reports every missing variable at once, then every invalid one.
    pub fn resolve(
        env: &EnvMap,
        networks: &[NetworkRequest<'_>],
        recorded: &[Destination],
    ) -> Result<Self, SettingsError> {
        let mut check = Checker {
            env,
            missing: Vec::new(),
            invalid: Vec::new(),
        };

        let api_url = check.api_url();
        let window = check.rate_window();
        let needs = |destination: Destination| {
            recorded.contains(&destination)
                || networks
                    .iter()
                    .any(|network| network.destination == destination)
        };
        let postbacks_to = |destination: Destination| {
            networks
                .iter()
                .any(|network| network.destination == destination && network.postbacks)
        };
        let postbacks = postbacks_to(Destination::Iscale);
        let iscale = needs(Destination::Iscale).then(|| IscaleSettings {
            api_key: check.secret("ISCALE_API_KEY", None),
            network_id: check.id("ISCALE_NETWORK_ID"),
            tracking_domain: check.tracking_domain(
                "ISCALE_TRACKING_DOMAIN",
                postbacks.then_some("postback domain; `offersync setup` discovers it"),
            ),
            margin: check.margin("ISCALE_PAYOUT_MARGIN"),
            rate_limit: check.rate_limit("ISCALE_RATE_LIMIT", RateLimit::NETWORK, window),
        });
        let offerit = needs(Destination::Offerit).then(|| OfferitSettings {
            url: check.offerit_url(),
            api_key: check.secret("OFFERIT_API_KEY", None),
            api_username: check.secret_for("OFFERIT_API_USERNAME", "the Offerit admin's username"),
            tracking_domain: check.tracking_domain(
                "OFFERIT_TRACKING_DOMAIN",
                postbacks_to(Destination::Offerit)
                    .then_some("the Offerit install's tracking domain, where postbacks go"),
            ),
            margin: check.margin("OFFERIT_PAYOUT_MARGIN"),
        });

        let mut resolved = BTreeMap::new();
        for request in networks {
            let prefix = env_prefix(request.name);
            let api_key = check.secret(&format!("{prefix}_API_KEY"), Some(request.desired_file));
            let affiliate_id = check.id(&format!("{prefix}_AFFILIATE_ID"));
            let advertiser_id = match request.destination {
                Destination::Iscale => check.id(&format!("{prefix}_ADVERTISER_ID")),
                Destination::Offerit => check.id(&format!("{prefix}_OFFERIT_ADVERTISER_ID")),
            };
            let token_name = format!("{prefix}_VERIFICATION_TOKEN");
            // The token is iScale's (its advertiser postback checks it); Offerit's
            // process_pixel.php knows none.
            let verification_token = if request.postbacks && request.destination.is_iscale() {
                Some(check.secret_for(&token_name, "postback verification token"))
            } else {
                check.optional(&token_name).map(Secret::new)
            };
            if let Some(token) = &verification_token
                && token.len() > MAX_TOKEN_CHARS
            {
                check.invalid.push(format!(
                    "`{token_name}` is {} characters long; Everflow accepts at most {MAX_TOKEN_CHARS}",
                    token.len()
                ));
            }
            let rate_limit = check.rate_limit(
                &format!("{prefix}_RATE_LIMIT"),
                RateLimit::AFFILIATE,
                window,
            );
            let network = NetworkSettings {
                name: request.name.to_owned(),
                destination: request.destination,
                api_key,
                affiliate_id,
                advertiser_id,
                verification_token,
                rate_limit,
            };
            resolved.insert(request.name.to_owned(), network);
        }

        if !check.missing.is_empty() {
            return Err(SettingsError::Missing(check.missing));
        }
        let settings = Settings {
            api_url,
            iscale,
            offerit,
            networks: resolved,
        };
        if !check.invalid.is_empty() {
            // A value quoted as invalid may be a key pasted into the wrong setting.
            let redactor = settings.redactor();
            let messages = check
                .invalid
                .iter()
                .map(|message| redactor.redact(message))
                .collect();
            return Err(SettingsError::Invalid(messages));
        }
        Ok(settings)
    }

    /// Every secret these settings hold, for scrubbing output.
    pub fn redactor(&self) -> Redactor {
        let iscale = self.iscale.iter().map(|iscale| iscale.api_key.clone());
        let offerit = self
            .offerit
            .iter()
            .flat_map(|offerit| [offerit.api_key.clone(), offerit.api_username.clone()]);
        let networks = self.networks.values().flat_map(|network| {
            std::iter::once(network.api_key.clone()).chain(network.verification_token.clone())
        });
        Redactor::new(iscale.chain(offerit).chain(networks))
    }

    /// The margin for a destination's offers when the desired file sets none:
    /// `ISCALE_PAYOUT_MARGIN` or `OFFERIT_PAYOUT_MARGIN`.
    pub fn default_margin(&self, destination: Destination) -> Margin {
        let margin = match destination {
            Destination::Iscale => self.iscale.as_ref().map(|iscale| iscale.margin),
            Destination::Offerit => self.offerit.as_ref().map(|offerit| offerit.margin),
        };
        margin.unwrap_or_default()
    }

    pub fn network(&self, name: &str) -> &NetworkSettings {
        &self.networks[name]
    }
}

/// `trimrx` -> `TRIMRX`, `direct-meds` -> `DIRECT_MEDS`.
pub fn env_prefix(network: &str) -> String {
    network
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A setting that is absent or empty, and why it is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSetting {
    pub name: String,
    pub empty: bool,
    /// What it is for, when the name alone does not say (`the API key for desired/x.yaml`).
    pub why: Option<String>,
}

impl fmt::Display for MissingSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.name)?;
        match (&self.why, self.empty) {
            (Some(why), true) => write!(f, " (empty; {why})"),
            (Some(why), false) => write!(f, " ({why})"),
            (None, true) => f.write_str(" (empty)"),
            (None, false) => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read `{}`: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{}:{line}: cannot parse this line: expected `NAME=value`", path.display())]
    EnvFileSyntax { path: PathBuf, line: usize },
    #[error(
        "missing settings: {}; set them in .env.local or the environment",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    Missing(Vec<MissingSetting>),
    #[error("invalid settings: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

struct Checker<'a> {
    env: &'a EnvMap,
    missing: Vec<MissingSetting>,
    invalid: Vec<String>,
}

impl Checker<'_> {
    fn required(&mut self, name: &str, why: Option<String>) -> Option<&str> {
        match self.env.get(name).map(str::trim) {
            Some(value) if !value.is_empty() => Some(value),
            found => {
                self.missing.push(MissingSetting {
                    name: name.to_owned(),
                    empty: found.is_some(),
                    why,
                });
                None
            }
        }
    }

    fn optional(&mut self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    fn secret(&mut self, name: &str, for_file: Option<&Path>) -> Secret {
        let why = for_file.map(|file| format!("the API key for {}", file.display()));
        let value = self.required(name, why).map(str::to_owned);
        self.checked_secret(name, value)
    }

    fn secret_for(&mut self, name: &str, why: &str) -> Secret {
        let value = self.required(name, Some(why.to_owned())).map(str::to_owned);
        self.checked_secret(name, value)
    }

    /// A secret cannot travel in an HTTP header with control characters in it (a
    /// pasted escape sequence, a NUL): say so by name, never quoting the value.
    fn checked_secret(&mut self, name: &str, value: Option<String>) -> Secret {
        let value = value.unwrap_or_default();
        if value.chars().any(char::is_control) {
            self.invalid.push(format!(
                "`{name}` holds control characters (a stray escape or NUL?); set it again"
            ));
        }
        Secret::new(value)
    }

    /// The domain postbacks are sent to: a host name (a scheme or path is dropped).
    /// Required when postbacks go there (`required` says why), else taken as it is.
    fn tracking_domain(&mut self, name: &str, required: Option<&str>) -> Option<String> {
        let Some(why) = required else {
            return self.optional(name).map(str::to_owned);
        };
        let value = self.required(name, Some(why.to_owned()))?;
        let host = value
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':');
        if !valid {
            let shown = crate::text::shown(value);
            self.invalid.push(format!(
                "`{name}` must be a host name such as trk.example.com, got `{shown}`"
            ));
            return None;
        }
        Some(host)
    }

    fn id(&mut self, name: &str) -> u64 {
        let Some(value) = self.required(name, None) else {
            return 0;
        };
        match value.parse::<u64>() {
            Ok(id) if id > 0 => id,
            _ => {
                let shown = crate::text::shown(value);
                self.invalid.push(format!(
                    "`{name}` must be a positive integer, got `{shown}`"
                ));
                0
            }
        }
    }

    /// Requests per second of one bucket: a positive integer, Everflow's by default.
    fn rate_limit(&mut self, name: &str, default: RateLimit, window: Duration) -> RateLimit {
        let per_second = match self.optional(name) {
            None => default.per_second,
            Some(value) => match value.parse::<u32>() {
                Ok(rate) if (1..=MAX_RATE).contains(&rate) => rate,
                _ => {
                    let shown = crate::text::shown(value);
                    self.invalid.push(format!(
                        "`{name}` must be a whole number of requests per second from 1 to {MAX_RATE}, got `{shown}`"
                    ));
                    default.per_second
                }
            },
        };
        RateLimit { per_second, window }
    }

    /// `EVERFLOW_RATE_WINDOW`: seconds per rate-limit window. Everflow's is 30; only a
    /// simulator has another.
    fn rate_window(&mut self) -> Duration {
        const NAME: &str = "EVERFLOW_RATE_WINDOW";
        let Some(value) = self.optional(NAME) else {
            return EVERFLOW_WINDOW;
        };
        match value.parse::<u64>() {
            Ok(seconds) if (1..=3600).contains(&seconds) => Duration::from_secs(seconds),
            _ => {
                let shown = crate::text::shown(value);
                self.invalid.push(format!(
                    "`{NAME}` must be a whole number of seconds from 1 to 3600, got `{shown}`"
                ));
                EVERFLOW_WINDOW
            }
        }
    }

    fn margin(&mut self, name: &str) -> Margin {
        let Some(value) = self.optional(name) else {
            return Margin::default();
        };
        match value.parse::<Margin>() {
            Ok(margin) => margin,
            Err(error) => {
                self.invalid.push(format!("`{name}` {error}"));
                Margin::default()
            }
        }
    }

    /// `OFFERIT_URL`, under the rule of [`crate::offerit::parse_base_url`].
    fn offerit_url(&mut self) -> Url {
        const NAME: &str = "OFFERIT_URL";
        let fallback = || Url::parse("https://offerit.invalid/").expect("a valid URL");
        let Some(text) = self.required(NAME, Some("the Offerit install's base URL".to_owned()))
        else {
            return fallback();
        };
        match crate::offerit::parse_base_url(text) {
            Ok(url) => url,
            Err(reason) => {
                self.invalid.push(format!("`{NAME}` {reason}"));
                fallback()
            }
        }
    }

    fn api_url(&mut self) -> Url {
        const NAME: &str = "EVERFLOW_API_URL";
        let default = || Url::parse(DEFAULT_API_URL).expect("the default API URL is valid");
        let Some(text) = self.optional(NAME) else {
            return default();
        };
        match parse_api_url(text) {
            Ok(url) => url,
            Err(reason) => {
                self.invalid.push(format!("`{NAME}` {reason}"));
                default()
            }
        }
    }
}

/// Parses the API base URL (the rule of [`crate::http::parse_base_url`]). A trailing
/// `/v1` is accepted and dropped.
pub fn parse_api_url(text: &str) -> Result<Url, String> {
    crate::http::parse_base_url(text, "/v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> (String, PathBuf) {
        (
            name.to_owned(),
            PathBuf::from(format!("desired/{name}.yaml")),
        )
    }

    fn resolve(pairs: &[(&str, &str)], networks: &[&str]) -> Result<Settings, SettingsError> {
        let env = EnvMap::from_pairs(pairs.iter().copied());
        let owned: Vec<_> = networks.iter().map(|name| request(name)).collect();
        let requests: Vec<_> = owned
            .iter()
            .map(|(name, file)| NetworkRequest {
                name,
                desired_file: file,
                destination: Destination::Iscale,
                postbacks: false,
            })
            .collect();
        Settings::resolve(&env, &requests, &[])
    }

    const GOOD: &[(&str, &str)] = &[
        ("ISCALE_API_KEY", "nw-key-0123456789"),
        ("ISCALE_NETWORK_ID", "7001"),
        ("TRIMRX_API_KEY", "aff-key-0123456789"),
        ("TRIMRX_AFFILIATE_ID", "42"),
        ("TRIMRX_ADVERTISER_ID", "13"),
    ];

    #[test]
    fn env_prefix_upper_cases_and_replaces() {
        assert_eq!(env_prefix("trimrx"), "TRIMRX");
        assert_eq!(env_prefix("direct-meds"), "DIRECT_MEDS");
    }

    #[test]
    fn resolves_a_complete_environment() {
        let settings = resolve(GOOD, &["trimrx"]).unwrap();
        assert_eq!(settings.api_url.as_str(), "https://api.eflow.team/");
        let iscale = settings.iscale.unwrap();
        assert_eq!(iscale.network_id, 7001);
        assert_eq!(iscale.margin, Margin::default());
        assert_eq!(settings.networks["trimrx"].affiliate_id, 42);
    }

    #[test]
    fn lists_every_missing_variable_at_once() {
        let error = resolve(&[("ISCALE_NETWORK_ID", "7001")], &["trimrx"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing settings: `ISCALE_API_KEY`, `TRIMRX_API_KEY` (the API key for desired/trimrx.yaml), \
             `TRIMRX_AFFILIATE_ID`, `TRIMRX_ADVERTISER_ID`; set them in .env.local or the environment"
        );
    }

    #[test]
    fn postbacks_need_a_token_and_the_tracking_domain() {
        let env = EnvMap::from_pairs(GOOD.iter().copied());
        let file = PathBuf::from("desired/trimrx.yaml");
        let request = NetworkRequest {
            name: "trimrx",
            desired_file: &file,
            destination: Destination::Iscale,
            postbacks: true,
        };
        let error = Settings::resolve(&env, &[request], &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing settings: `ISCALE_TRACKING_DOMAIN` (postback domain; `offersync setup` discovers it), \
             `TRIMRX_VERIFICATION_TOKEN` (postback verification token); set them in .env.local or the environment"
        );
    }

    #[test]
    fn empty_counts_as_missing() {
        let mut pairs = GOOD.to_vec();
        pairs.push(("TRIMRX_AFFILIATE_ID", "  "));
        let error = resolve(&pairs, &["trimrx"]).unwrap_err();
        assert!(
            error.to_string().contains("`TRIMRX_AFFILIATE_ID` (empty)"),
            "{error}"
        );
    }

    #[test]
    fn rejects_long_tokens_without_printing_them() {
        let token = "t".repeat(51);
        let mut pairs = GOOD.to_vec();
        pairs.push(("TRIMRX_VERIFICATION_TOKEN", &token));
        let error = resolve(&pairs, &["trimrx"]).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid settings: `TRIMRX_VERIFICATION_TOKEN` is 51 characters long; Everflow accepts at most 50"
        );
        assert!(!error.contains(&token));
    }

    fn offerit_request(file: &Path, postbacks: bool) -> NetworkRequest<'_> {
        NetworkRequest {
            name: "trimrx",
            desired_file: file,
            destination: Destination::Offerit,
            postbacks,
        }
    }

    const OFFERIT: &[(&str, &str)] = &[
        ("OFFERIT_URL", "https://net.trackfinity.test/api"),
        ("OFFERIT_API_KEY", "oi-key-0123456789"),
        ("OFFERIT_API_USERNAME", "oi-admin-user"),
        ("OFFERIT_TRACKING_DOMAIN", "https://trk.offerit.test/"),
        ("TRIMRX_API_KEY", "aff-key-0123456789"),
        ("TRIMRX_AFFILIATE_ID", "42"),
        ("TRIMRX_OFFERIT_ADVERTISER_ID", "4003"),
    ];

    #[test]
    fn a_workspace_sending_everything_to_offerit_needs_no_iscale_setting() {
        let env = EnvMap::from_pairs(OFFERIT.iter().copied());
        let file = PathBuf::from("desired/trimrx.yaml");
        let settings = Settings::resolve(&env, &[offerit_request(&file, true)], &[]).unwrap();
        assert!(settings.iscale.is_none());
        let offerit = settings.offerit.as_ref().unwrap();
        assert_eq!(offerit.url.as_str(), "https://net.trackfinity.test/");
        assert_eq!(offerit.tracking_domain.as_deref(), Some("trk.offerit.test"));
        assert_eq!(offerit.margin, Margin::default());
        let network = settings.network("trimrx");
        assert_eq!(
            (network.destination, network.advertiser_id),
            (Destination::Offerit, 4003)
        );
        // No verification token: Offerit's postback checks none.
        assert!(network.verification_token.is_none());
        let redactor = settings.redactor();
        assert_eq!(
            redactor.redact("oi-key-0123456789 oi-admin-user"),
            "******** ********"
        );
        assert_eq!(
            settings.default_margin(Destination::Offerit),
            Margin::default()
        );
    }

    #[test]
    fn missing_offerit_settings_are_named_and_secrets_never_quoted() {
        let file = PathBuf::from("desired/trimrx.yaml");
        let env = EnvMap::from_pairs([
            ("TRIMRX_API_KEY", "aff-key-0123456789"),
            ("TRIMRX_AFFILIATE_ID", "42"),
        ]);
        let error = Settings::resolve(&env, &[offerit_request(&file, true)], &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "missing settings: `OFFERIT_URL` (the Offerit install's base URL), `OFFERIT_API_KEY`, \
             `OFFERIT_API_USERNAME` (the Offerit admin's username), `OFFERIT_TRACKING_DOMAIN` \
             (the Offerit install's tracking domain, where postbacks go), \
             `TRIMRX_OFFERIT_ADVERTISER_ID`; set them in .env.local or the environment"
        );

        let mut pairs = OFFERIT.to_vec();
        pairs.push(("OFFERIT_URL", "http://net.trackfinity.test"));
        pairs.push(("OFFERIT_PAYOUT_MARGIN", "1"));
        // A key pasted into the wrong setting is never quoted back.
        pairs.push(("TRIMRX_OFFERIT_ADVERTISER_ID", "oi-key-0123456789"));
        let env = EnvMap::from_pairs(pairs.iter().copied());
        let error = Settings::resolve(&env, &[offerit_request(&file, false)], &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`OFFERIT_URL` uses plain http"), "{error}");
        assert!(
            error.contains("`OFFERIT_PAYOUT_MARGIN` must be at least 0 and less than 1, got 1"),
            "{error}"
        );
        assert!(
            error.contains(
                "`TRIMRX_OFFERIT_ADVERTISER_ID` must be a positive integer, got `********`"
            ),
            "{error}"
        );
        assert!(!error.contains("oi-key-0123456789"), "{error}");
    }

    #[test]
    fn offers_recorded_in_a_destination_need_its_settings() {
        let env = EnvMap::from_pairs(OFFERIT.iter().copied());
        let settings = Settings::resolve(&env, &[], &[Destination::Offerit]).unwrap();
        assert!(settings.offerit.is_some() && settings.iscale.is_none());
        let error = Settings::resolve(&env, &[], &[Destination::Iscale])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`ISCALE_API_KEY`"), "{error}");
    }

    #[test]
    fn rejects_bad_ids_and_margins() {
        let mut pairs = GOOD.to_vec();
        pairs.push(("ISCALE_NETWORK_ID", "0"));
        pairs.push(("ISCALE_PAYOUT_MARGIN", "1.5"));
        let error = resolve(&pairs, &["trimrx"]).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid settings: `ISCALE_NETWORK_ID` must be a positive integer, got `0`; \
             `ISCALE_PAYOUT_MARGIN` must be at least 0 and less than 1, got 1.5"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(parse_api_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_api_url("http://localhost:8080/v1/").is_ok());
        assert_eq!(
            parse_api_url("https://api.eflow.team/v1").unwrap().as_str(),
            "https://api.eflow.team/"
        );
        assert!(
            parse_api_url("http://api.eflow.team")
                .unwrap_err()
                .contains("only to loopback")
        );
        assert!(parse_api_url("ftp://x").is_err());
    }

    #[test]
    fn process_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(ENV_FILE),
            "ISCALE_NETWORK_ID=1\nTRIMRX_AFFILIATE_ID=42\n",
        )
        .unwrap();
        let env = EnvMap::load(
            dir.path(),
            [("ISCALE_NETWORK_ID".to_owned(), "2".to_owned())],
        )
        .unwrap();
        assert_eq!(env.get("ISCALE_NETWORK_ID"), Some("2"));
        assert_eq!(env.get("TRIMRX_AFFILIATE_ID"), Some("42"));
    }

    #[test]
    fn a_broken_env_line_is_named_by_number_not_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(ENV_FILE),
            "A=1\nTHIS IS SECRET sk_live_123\n",
        )
        .unwrap();
        let error = EnvMap::load(dir.path(), []).unwrap_err().to_string();
        assert!(error.ends_with(".env.local:2: cannot parse this line: expected `NAME=value`"));
        assert!(!error.contains("sk_live"));
    }
}
