//! Hostile input (DESIGN section 7: "Bad input (config, env, API responses) gives a clear
//! one-line error with where and what, exit 1, and nothing written. No panics on any
//! input").
//!
//! The corpus is one table. Each case spoils one input of the example workspace (a desired
//! file, a setting, or an answer of a source network's Affiliate API) and names what its
//! error line must say. Every case runs `plan`, some also `apply --auto-approve`, and each
//! run must exit 1 with exactly one `error:` line on stderr, short, without control
//! characters or secrets, without a panic, without any write to the sandbox and without
//! anything new in `state/`. Answers are spoiled by [`Proxy`], which stands between
//! offersync and the sandbox and passes everything else through.
//!
//! Then the fuzz tests: random and mutated input fed straight to the parsers of outside
//! input: `desired::parse`, and the source-offer parser (`serde_json` then
//! `SourceSnapshot::new`, then `render` of whatever parsed), which must answer every input
//! with an error on one short line and never panic; and `.env.local` through
//! `EnvMap::load` and `Settings::resolve`, which must never panic.
//! `OFFERSYNC_FUZZ_ITERATIONS` sets how many inputs each fuzz test tries (default
//! [`DEFAULT_ITERATIONS`]), and `OFFERSYNC_FUZZ_SEED` where the generator starts. A
//! failure names the seed and shows the inputs that broke a rule.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use offersync::desired::{self, Destination, SourceOfferId};
use offersync::everflow::affiliate::SourceOffer;
use offersync::money::Margin;
use offersync::render::{CountryTable, PostbackTarget, RenderInput, render};
use offersync::secret::Secret;
use offersync::settings::{EnvMap, NetworkRequest, Settings};
use offersync::source::{LandingPage, SourceSnapshot};
use serde_json::{Value, json};

use crate::common::{DESIRED_DIRECTMEDS, DESIRED_TRIMRX, TestContext};

// ---------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------

/// Which input a case spoils.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    /// `desired/*.yaml`.
    Desired,
    /// `.env.local` and the environment.
    Settings,
    /// Answers of the source networks' Affiliate API.
    Source,
}

/// Spoils a fresh example workspace; returns environment variables for the run.
type Setup = Box<dyn Fn(&TestContext) -> Vec<(String, OsString)> + Send + Sync>;

struct Case {
    group: Group,
    name: &'static str,
    setup: Setup,
    /// Pieces of the error line: what is wrong, and where (file:line:column, setting,
    /// network/offer and JSON path).
    expect: Vec<String>,
    /// Whether `apply --auto-approve` runs too.
    apply: bool,
}

impl Case {
    fn new(group: Group, name: &'static str, setup: Setup, expect: &[&str]) -> Self {
        Self {
            group,
            name,
            setup,
            expect: expect.iter().map(|piece| (*piece).to_owned()).collect(),
            apply: false,
        }
    }

    fn and_apply(mut self) -> Self {
        self.apply = true;
        self
    }
}

/// The longest error line accepted, in characters.
const MAX_ERROR_CHARS: usize = 700;

const MEGABYTE: usize = 1 << 20;

const TRIMRX: &str = "desired/trimrx.yaml";

/// The list of offers we may run (each network's), and the tracking link of trimrx's
/// offer 1's first URL (its default one comes with the list).
const RUNNABLE: &str = "/v1/affiliates/offersrunnable";
const LINK_1: &str = "/v1/affiliates/offers/1/url/101";

fn corpus() -> Vec<Case> {
    use Group::{Desired, Settings, Source};
    let huge = "x".repeat(MEGABYTE);
    let mut cases = vec![
        // --- desired files -------------------------------------------------------------
        Case::new(
            Desired,
            "an offer id that is a word",
            trimrx("offers:\n  - source_offer_id: one\n"),
            &[
                "desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: string \"one\", expected a positive integer offer id",
            ],
        )
        .and_apply(),
        Case::new(
            Desired,
            "an offer id in quotes",
            trimrx("offers:\n  - source_offer_id: \"1\"\n"),
            &["desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: string \"1\""],
        ),
        Case::new(
            Desired,
            "a negative offer id",
            trimrx("offers:\n  - source_offer_id: -1\n"),
            &["desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: integer `-1`"],
        ),
        Case::new(
            Desired,
            "offer id zero",
            trimrx("offers:\n  - source_offer_id: 0\n"),
            &["desired/trimrx.yaml:2:22: offers[0].source_offer_id: source_offer_id must be a positive integer"],
        ),
        Case::new(
            Desired,
            "an offer id beyond 64 bits",
            trimrx("offers:\n  - source_offer_id: 99999999999999999999999999\n"),
            &["desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: integer `99999999999999999999999999`"],
        ),
        Case::new(
            Desired,
            "a fractional offer id",
            trimrx("offers:\n  - source_offer_id: 1.5\n"),
            &["desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: floating point `1.5`"],
        ),
        Case::new(
            Desired,
            "the same offer twice",
            trimrx("offers:\n  - source_offer_id: 1\n  - source_offer_id: 1\n"),
            &["desired/trimrx.yaml:3:22: offers[1].source_offer_id: duplicate source_offer_id 1"],
        ),
        Case::new(
            Desired,
            "offers with nothing after it (null, not an empty list)",
            trimrx("# all gone?\noffers:\n"),
            &[
                "desired/trimrx.yaml:",
                "offers: expected a list of offers, found nothing; write `offers: []` to carry none",
            ],
        )
        .and_apply(),
        Case::new(
            Desired,
            "after an apply: offers with nothing after it",
            // Read as an empty list, this paused every trimrx offer in iScale.
            after_apply(trimrx("offers:\n")),
            &[
                "desired/trimrx.yaml:1:8: offers: expected a list of offers, found nothing; write `offers: []` to carry none",
            ],
        )
        .and_apply(),
        Case::new(
            Desired,
            "offers that is a map",
            trimrx("offers:\n  source_offer_id: 1\n"),
            &["desired/trimrx.yaml:2:3: offers: invalid type: map, expected a list of offers"],
        ),
        Case::new(
            Desired,
            "offers that is a string",
            trimrx("offers: all of them\n"),
            &["desired/trimrx.yaml:1:9: offers: invalid type: string \"all of them\", expected a list of offers"],
        ),
        Case::new(
            Desired,
            "an empty offer entry",
            trimrx("offers:\n  -\n  - source_offer_id: 2\n"),
            &["desired/trimrx.yaml:", "offers[0]: missing field `source_offer_id`"],
        ),
        Case::new(
            Desired,
            "an offer entry that is a number",
            trimrx("offers:\n  - 1\n"),
            &["desired/trimrx.yaml:2:5: offers[0]: invalid type: integer `1`, expected an offer: a map with `source_offer_id:`"],
        ),
        Case::new(
            Desired,
            "an unknown top-level key",
            trimrx("margins: 0.1\noffers: []\n"),
            &["desired/trimrx.yaml:1:1: unknown field `margins`, expected one of"],
        ),
        Case::new(
            Desired,
            "a misspelt offer key",
            trimrx("offers:\n  - source_offer_id: 1\n    exclude_url: [101]\n"),
            &["desired/trimrx.yaml:3:5: offers[0]: unknown field `exclude_url`, expected one of"],
        ),
        Case::new(
            Desired,
            "an unknown visibility",
            trimrx("offers:\n  - source_offer_id: 1\n    visibility: everyone\n"),
            &["desired/trimrx.yaml:3:17: offers[0].visibility: unknown variant `everyone`, expected one of `public`, `require_approval`, `private`"],
        ),
        Case::new(
            Desired,
            "an unknown destination",
            trimrx("destination: offerit2\noffers: []\n"),
            &["desired/trimrx.yaml:1:14: destination: unknown variant `offerit2`, expected `iscale` or `offerit`"],
        ),
        Case::new(
            Desired,
            "goals in a file for iScale",
            trimrx("offers:\n  - source_offer_id: 1\n    goals: {Upsell: 1}\n"),
            &["desired/trimrx.yaml:3:", "offers[0].goals: goals are Offerit goals: they need `destination: offerit`"],
        ),
        Case::new(
            Desired,
            "a goal id that is not a positive integer",
            trimrx("destination: offerit\noffers:\n  - source_offer_id: 1\n    goals: {Upsell: -3}\n"),
            &["desired/trimrx.yaml:4:21: offers[0].goals.Upsell: invalid type: integer `-3`, expected a positive integer goal id"],
        ),
        Case::new(
            Desired,
            "a margin that is a word",
            trimrx("margin: abc\noffers: []\n"),
            &["desired/trimrx.yaml:1:9: margin: margin expected a decimal number such as 0.20, got `abc`"],
        ),
        Case::new(
            Desired,
            "a margin of 1.5",
            trimrx("offers:\n  - source_offer_id: 1\n    margin: 1.5\n"),
            &["desired/trimrx.yaml:3:13: offers[0].margin: margin must be at least 0 and less than 1, got 1.5"],
        ),
        Case::new(
            Desired,
            "a negative margin",
            trimrx("margin: -0.1\noffers: []\n"),
            &["desired/trimrx.yaml:1:9: margin: margin must be at least 0 and less than 1, got -0.1"],
        ),
        Case::new(
            Desired,
            "a margin that is not a number",
            trimrx("margin: .nan\noffers: []\n"),
            &["desired/trimrx.yaml:1:9: margin: margin expected a decimal number such as 0.20, got `NaN`"],
        ),
        Case::new(
            Desired,
            "paused as a string",
            trimrx("offers:\n  - source_offer_id: 1\n    paused: \"yes\"\n"),
            &["desired/trimrx.yaml:3:13: offers[0].paused: invalid type: string \"yes\", expected a boolean"],
        ),
        Case::new(
            Desired,
            "postbacks: no (a string in YAML 1.2)",
            trimrx("postbacks: no\noffers: []\n"),
            &["desired/trimrx.yaml:1:12: postbacks: invalid type: string \"no\", expected a boolean"],
        ),
        Case::new(
            Desired,
            "an excluded URL id that is a word",
            trimrx("offers:\n  - source_offer_id: 1\n    exclude_urls: [quiz]\n"),
            &["desired/trimrx.yaml:3:20: offers[0].exclude_urls[0]: invalid type: string \"quiz\""],
        ),
        Case::new(
            Desired,
            "a three-letter country",
            trimrx("offers:\n  - source_offer_id: 1\n    geo:\n      countries: [USA]\n"),
            &["desired/trimrx.yaml:4:19: offers[0].geo.countries[0]: expected a two-letter country code such as US, got `USA`"],
        ),
        Case::new(
            Desired,
            "a country with a newline in it",
            trimrx("offers:\n  - source_offer_id: 1\n    geo:\n      countries: [\"U\\nS\"]\n"),
            &["desired/trimrx.yaml:4:19: offers[0].geo.countries[0]: expected a two-letter country code such as US, got `U\\nS`"],
        ),
        Case::new(
            Desired,
            "an empty name",
            trimrx("offers:\n  - source_offer_id: 1\n    name: \"  \"\n"),
            &["desired/trimrx.yaml:", "offers[0]", "expected a non-empty string"],
        ),
        Case::new(
            Desired,
            "a name that is a list",
            trimrx("offers:\n  - source_offer_id: 1\n    name: [a, b]\n"),
            &["desired/trimrx.yaml:3:11: offers[0].name: invalid type: sequence, expected a string"],
        ),
        Case::new(
            Desired,
            "a description that is a map",
            trimrx("offers:\n  - source_offer_id: 1\n    html_description: {p: text}\n"),
            &["desired/trimrx.yaml:3:23: offers[0].html_description: invalid type: map, expected a string"],
        ),
        Case::new(
            Desired,
            "a 1 MB visibility",
            trimrx(format!("visibility: {huge}\noffers: []\n")),
            &[
                "desired/trimrx.yaml:1:13: visibility: unknown variant `xxxxx",
                "xxx`, expected one of `public`, `require_approval`, `private`",
            ],
        ),
        Case::new(
            Desired,
            "a 1 MB offer id",
            trimrx(format!("offers:\n  - source_offer_id: \"{huge}\"\n")),
            &[
                "desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: string \"xxxx",
                "xxx\", expected a positive integer offer id",
            ],
        ),
        Case::new(
            Desired,
            "broken UTF-8",
            trimrx(b"offers:\n  - source_offer_id: 1\n    name: Trim\xffRx\n"),
            &["desired/trimrx.yaml:3:15: not valid UTF-8"],
        )
        .and_apply(),
        Case::new(
            Desired,
            "a NUL byte",
            trimrx(b"offers: []\n\0\n"),
            &["desired/trimrx.yaml:2:1: control character U+0000 is not allowed in YAML"],
        ),
        Case::new(
            Desired,
            "a raw terminal escape sequence",
            trimrx("offers:\n  - source_offer_id: 1\n    name: Trim\u{1b}[2JRx\n"),
            &["desired/trimrx.yaml:3:15: control character U+001B is not allowed in YAML"],
        ),
        Case::new(
            Desired,
            "a YAML bomb (aliases nine deep)",
            trimrx(yaml_bomb()),
            // The position is the anchor's: an alias replays the anchored value.
            &["desired/trimrx.yaml:3:19: offers[1].exclude_urls[0]: invalid type: sequence, expected u64"],
        ),
        Case::new(
            Desired,
            "ten thousand nested lists",
            trimrx(format!(
                "offers: {}{}\n",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )),
            &["desired/trimrx.yaml:1:", "offers[0]"],
        ),
        Case::new(
            Desired,
            "indentation with tabs",
            trimrx("offers:\n\t- source_offer_id: 1\n"),
            &["desired/trimrx.yaml:2:1: found character that cannot start any token"],
        ),
        Case::new(
            Desired,
            "an empty file",
            trimrx(""),
            &["desired/trimrx.yaml: the file is empty; a desired file needs at least `offers: []`"],
        )
        .and_apply(),
        Case::new(
            Desired,
            "a file of blank lines",
            trimrx("\n  \n\n"),
            &["desired/trimrx.yaml: the file is empty"],
        ),
        Case::new(
            Desired,
            "a file of comments",
            trimrx("# offers:\n#   - source_offer_id: 1\n"),
            &["desired/trimrx.yaml:", "missing field `offers`"],
        ),
        Case::new(
            Desired,
            "a list instead of a map",
            trimrx("- source_offer_id: 1\n- source_offer_id: 2\n"),
            &["desired/trimrx.yaml:1:1: invalid type: sequence, expected a map with an `offers:` list"],
        ),
        Case::new(
            Desired,
            "a lone string",
            trimrx("trimrx\n"),
            &["desired/trimrx.yaml:1:1: invalid type: string \"trimrx\""],
        ),
        Case::new(
            Desired,
            "two documents",
            trimrx("offers: []\n---\noffers:\n  - source_offer_id: 1\n"),
            &["desired/trimrx.yaml:2:1: the file holds more than one YAML document"],
        ),
        Case::new(
            Desired,
            "a key given twice",
            trimrx("offers: []\nmargin: 0.1\noffers: []\n"),
            &["desired/trimrx.yaml:1:1: duplicate field `offers`"],
        ),
        Case::new(
            Desired,
            "an alias to no anchor",
            trimrx("offers: *everything\n"),
            &["desired/trimrx.yaml:1:9: unknown anchor"],
        ),
        Case::new(
            Desired,
            "an unclosed bracket",
            trimrx("offers: [\n"),
            &["desired/trimrx.yaml:2:1: did not find expected node content"],
        ),
        Case::new(
            Desired,
            "a key that is a list",
            trimrx("[offers]: []\n"),
            &["desired/trimrx.yaml:1:1: invalid type: sequence, expected field identifier"],
        ),
        Case::new(
            Desired,
            "a merge key",
            trimrx("offers:\n  - <<: {source_offer_id: 1}\n"),
            &["desired/trimrx.yaml:2:5: offers[0]: unknown field `<<`"],
        ),
        Case::new(
            Desired,
            "a folder named like a desired file",
            Box::new(|t| {
                std::fs::remove_file(t.path(TRIMRX)).unwrap();
                std::fs::create_dir(t.path(TRIMRX)).unwrap();
                Vec::new()
            }),
            &["desired/trimrx.yaml: Is a directory"],
        ),
        Case::new(
            Desired,
            "a file name that cannot name a network",
            Box::new(|t| {
                t.write("desired/Trim Rx.yaml", "offers: []\n");
                Vec::new()
            }),
            &["desired/Trim Rx.yaml: the file name names the network"],
        ),
        Case::new(
            Desired,
            "one network in two files",
            Box::new(|t| {
                t.write("desired/trimrx.yml", "offers: []\n");
                Vec::new()
            }),
            &["desired/trimrx.yml: network `trimrx` is already described by desired/trimrx.yaml"],
        ),
        // --- settings ------------------------------------------------------------------
        Case::new(
            Settings,
            "an affiliate id that is a word",
            env_var("TRIMRX_AFFILIATE_ID", "forty-two"),
            &["invalid settings: `TRIMRX_AFFILIATE_ID` must be a positive integer, got `forty-two`"],
        )
        .and_apply(),
        Case::new(
            Settings,
            "a negative network id",
            env_line("ISCALE_NETWORK_ID=-7001"),
            &["invalid settings: `ISCALE_NETWORK_ID` must be a positive integer, got `-7001`"],
        ),
        Case::new(
            Settings,
            "a fractional advertiser id",
            env_var("DIRECTMEDS_ADVERTISER_ID", "14.0"),
            &["`DIRECTMEDS_ADVERTISER_ID` must be a positive integer, got `14.0`"],
        ),
        Case::new(
            Settings,
            "affiliate id zero",
            env_line("DIRECTMEDS_AFFILIATE_ID=0"),
            &["`DIRECTMEDS_AFFILIATE_ID` must be a positive integer, got `0`"],
        ),
        Case::new(
            Settings,
            "an id beyond 64 bits",
            env_var("ISCALE_NETWORK_ID", "18446744073709551616"),
            &["`ISCALE_NETWORK_ID` must be a positive integer, got `18446744073709551616`"],
        ),
        Case::new(
            Settings,
            "a margin that is a word",
            env_var("ISCALE_PAYOUT_MARGIN", "abc"),
            &["invalid settings: `ISCALE_PAYOUT_MARGIN` expected a decimal number such as 0.20, got `abc`"],
        )
        .and_apply(),
        Case::new(
            Settings,
            "after an apply: a margin that is a word",
            after_apply(env_line("ISCALE_PAYOUT_MARGIN=twenty")),
            &["`ISCALE_PAYOUT_MARGIN` expected a decimal number such as 0.20, got `twenty`"],
        )
        .and_apply(),
        Case::new(
            Settings,
            "a margin of 1.5",
            env_line("ISCALE_PAYOUT_MARGIN=1.5"),
            &["`ISCALE_PAYOUT_MARGIN` must be at least 0 and less than 1, got 1.5"],
        ),
        Case::new(
            Settings,
            "a negative margin",
            env_var("ISCALE_PAYOUT_MARGIN", "-0.1"),
            &["`ISCALE_PAYOUT_MARGIN` must be at least 0 and less than 1, got -0.1"],
        ),
        Case::new(
            Settings,
            "a percentage for a margin",
            env_var("ISCALE_PAYOUT_MARGIN", "20%"),
            &["`ISCALE_PAYOUT_MARGIN` expected a decimal number such as 0.20, got `20%`"],
        ),
        Case::new(
            Settings,
            "an API URL that is not a URL",
            env_var("EVERFLOW_API_URL", "api dot eflow dot team"),
            &["invalid settings: `EVERFLOW_API_URL` must be an absolute URL"],
        )
        .and_apply(),
        Case::new(
            Settings,
            "an API URL with another scheme",
            env_var("EVERFLOW_API_URL", "ftp://api.eflow.team"),
            &["`EVERFLOW_API_URL` must use https, got `ftp`"],
        ),
        Case::new(
            Settings,
            "an API URL in plain http to a remote host",
            env_var("EVERFLOW_API_URL", "http://api.eflow.team"),
            &["`EVERFLOW_API_URL` uses plain http to `api.eflow.team`; plain http is allowed only to loopback"],
        ),
        Case::new(
            Settings,
            "an API URL carrying credentials",
            env_var("EVERFLOW_API_URL", "https://me:hunter2@api.eflow.team"),
            &["`EVERFLOW_API_URL` must not carry credentials"],
        ),
        Case::new(
            Settings,
            "an API URL where nothing listens",
            env_var("EVERFLOW_API_URL", "http://127.0.0.1:9"),
            &["GET /v1/networks/settings: cannot connect"],
        ),
        Case::new(
            Settings,
            "a tracking domain with a space",
            env_var("ISCALE_TRACKING_DOMAIN", "trk iscale.test"),
            &["`ISCALE_TRACKING_DOMAIN` must be a host name such as trk.example.com, got `trk iscale.test`"],
        ),
        Case::new(
            Settings,
            "a verification token of 51 characters",
            env_var("TRIMRX_VERIFICATION_TOKEN", "t".repeat(51)),
            &["`TRIMRX_VERIFICATION_TOKEN` is 51 characters long; Everflow accepts at most 50"],
        ),
        Case::new(
            Settings,
            "an empty API key",
            env_line("DIRECTMEDS_API_KEY="),
            &["missing settings: `DIRECTMEDS_API_KEY` (empty; the API key for desired/directmeds.yaml)"],
        ),
        Case::new(
            Settings,
            "an API key of spaces",
            env_var("ISCALE_API_KEY", "   "),
            &["missing settings: `ISCALE_API_KEY` (empty)"],
        ),
        Case::new(
            Settings,
            "an API key the network does not know",
            env_var("TRIMRX_API_KEY", "not-a-key-of-trimrx"),
            &["trimrx: GET /v1/affiliates/settings: HTTP 401"],
        ),
        Case::new(
            Settings,
            "an API key that is not UTF-8",
            env_var("TRIMRX_API_KEY", os(b"sbx_af_trimrx_\xff")),
            &["trimrx: GET /v1/affiliates/settings: HTTP 401"],
        ),
        Case::new(
            Settings,
            "an affiliate id that is not UTF-8",
            env_var("TRIMRX_AFFILIATE_ID", os(b"4\xff2")),
            &["`TRIMRX_AFFILIATE_ID` must be a positive integer, got `4\u{fffd}2`"],
        )
        .and_apply(),
        Case::new(
            Settings,
            ".env.local with broken UTF-8",
            env_line(b"TRIMRX_AFFILIATE_ID=4\xff2"),
            &[".env.local`: line 21 is not valid UTF-8; save the file as UTF-8"],
        )
        .and_apply(),
        Case::new(
            Settings,
            ".env.local with a line that is not NAME=value",
            env_line("this line is broken"),
            &[".env.local:21: cannot parse this line: expected `NAME=value`"],
        ),
        Case::new(
            Settings,
            ".env.local with a name of spaces",
            env_line("   =value"),
            &[".env.local:21: cannot parse this line"],
        ),
        Case::new(
            Settings,
            ".env.local with an unterminated quote",
            env_line("TRIMRX_API_KEY=\"sbx_af_trimrx"),
            &[".env.local:21: cannot parse this line"],
        ),
        Case::new(
            Settings,
            ".env.local that is a folder",
            Box::new(|t| {
                std::fs::remove_file(t.path(".env.local")).unwrap();
                std::fs::create_dir(t.path(".env.local")).unwrap();
                Vec::new()
            }),
            &["cannot read `", ".env.local`"],
        ),
        Case::new(
            Settings,
            "an id with a NUL",
            env_line(b"TRIMRX_AFFILIATE_ID=4\x002"),
            &["`TRIMRX_AFFILIATE_ID` must be a positive integer, got `4\\u{0}2`"],
        ),
        Case::new(
            Settings,
            "an id with a terminal escape sequence",
            env_var("TRIMRX_ADVERTISER_ID", "13\u{1b}[2J"),
            &["`TRIMRX_ADVERTISER_ID` must be a positive integer, got `13\\u{1b}[2J`"],
        ),
        Case::new(
            Settings,
            "an id over two lines (quoted)",
            env_line("TRIMRX_AFFILIATE_ID=\"4\n2\""),
            &["`TRIMRX_AFFILIATE_ID` must be a positive integer, got `4\\n2`"],
        ),
        Case::new(
            Settings,
            "a 1 MB id",
            // In the file: one environment variable cannot hold a megabyte.
            env_line(format!("TRIMRX_AFFILIATE_ID={}", "9".repeat(MEGABYTE))),
            &["`TRIMRX_AFFILIATE_ID` must be a positive integer, got `999", "999`"],
        ),
        Case::new(
            Settings,
            "an API key with a NUL",
            env_line(b"TRIMRX_API_KEY=sbx_af_trimrx_42\x00SandboxNotARealKey"),
            &["`TRIMRX_API_KEY` holds control characters"],
        ),
        Case::new(
            Settings,
            "an API key with a newline",
            env_var("ISCALE_API_KEY", "sbx_nw_7001\nX-Injected: 1"),
            &["`ISCALE_API_KEY` holds control characters"],
        ),
        Case::new(
            Settings,
            "the API key pasted as the affiliate id",
            Box::new(|t| {
                let key = t.fixtures.sources[0].api_key.clone();
                vec![("TRIMRX_AFFILIATE_ID".to_owned(), key.into())]
            }),
            &["`TRIMRX_AFFILIATE_ID` must be a positive integer, got `********`"],
        ),
        // --- source answers ------------------------------------------------------------
        Case::new(
            Source,
            "an unknown payout type",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][0]["payout_type"] = json!("cpx");
            }),
            &[
                "trimrx/1: the source offer is malformed: at `relationship.payouts.entries[0].payout_type`: unknown variant `cpx`, expected one of",
            ],
        )
        .and_apply(),
        Case::new(
            Source,
            "after an apply: an unknown payout type",
            after_apply(listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][1]["payout_type"] = json!("cpz");
            })),
            &[
                "trimrx/1: the source offer is malformed: at `relationship.payouts.entries[1].payout_type`: unknown variant `cpz`",
            ],
        )
        .and_apply(),
        Case::new(
            Source,
            "after an apply: an HTML page with status 200",
            after_apply(alone("directmeds", 15, fixed(200, "text/html", MAINTENANCE_PAGE))),
            &["directmeds/15: GET /v1/affiliates/offers/15: unexpected response: not JSON (expected value at line 1 column 1): `<!DOCTYPE html>"],
        )
        .and_apply(),
        Case::new(
            Source,
            "after an apply: payouts that are null",
            after_apply(listed("trimrx", 2, |offer| {
                offer["relationship"]["payouts"] = Value::Null;
            })),
            &["trimrx/2: the source offer has no payout events"],
        )
        .and_apply(),
        Case::new(
            Source,
            "a payout type that is null",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][1]["payout_type"] = Value::Null;
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.payouts.entries[1].payout_type`: invalid type: null"],
        ),
        Case::new(
            Source,
            "a payout entry that is null",
            listed("directmeds", 12, |offer| {
                offer["relationship"]["payouts"]["entries"][0] = Value::Null;
            }),
            &["directmeds/12: the source offer is malformed: at `relationship.payouts.entries[0]`: invalid type: null, expected a payout object"],
        )
        .and_apply(),
        Case::new(
            Source,
            "payouts that are null",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"] = Value::Null;
            }),
            &["trimrx/1: the source offer has no payout events"],
        )
        .and_apply(),
        Case::new(
            Source,
            "payouts that are a string",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"] = json!("350.00");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.payouts`: invalid type: string \"350.00\", expected a list or {\"entries\": [...]}"],
        ),
        Case::new(
            Source,
            "payout entries that are a number",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"] = json!(2);
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.payouts.entries`: invalid type: number, expected a sequence"],
        ),
        Case::new(
            Source,
            "a relationship that is null",
            listed("trimrx", 1, |offer| {
                offer["relationship"] = Value::Null;
            }),
            &["trimrx/1: the source offer is malformed: at `relationship`: invalid type: null, expected a `relationship` object"],
        )
        .and_apply(),
        Case::new(
            Source,
            "an offer id that is a string",
            alone("trimrx", 1, edited(|offer| offer["network_offer_id"] = json!("1"))),
            &["trimrx/1: the source offer is malformed: at `network_offer_id`: invalid type: string \"1\", expected u64"],
        ),
        Case::new(
            Source,
            "no offer id",
            alone("trimrx", 1, edited(|offer| {
                offer.as_object_mut().unwrap().remove("network_offer_id");
            })),
            &["trimrx/1: the source offer is malformed: missing field `network_offer_id`"],
        ),
        Case::new(
            Source,
            "another offer than the one asked for",
            alone("trimrx", 1, edited(|offer| offer["network_offer_id"] = json!(2))),
            &["trimrx/1: the source offer is malformed: asked for offer 1 but the answer is offer 2"],
        )
        .and_apply(),
        Case::new(
            Source,
            "a payout amount that is a word",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][0]["payout_amount"] = json!("a lot");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.payouts.entries[0].payout_amount`"],
        ),
        Case::new(
            Source,
            "a payout amount of 1e400",
            list_bytes("trimrx", |body| {
                replace_once(&body, b"\"payout_amount\":350", b"\"payout_amount\":1e400")
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.payouts.entries[0].payout_amount`: "],
        ),
        Case::new(
            Source,
            "a negative payout",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][0]["payout_amount"] = json!(-350);
            }),
            &["trimrx/1: payout event `Base` has a negative payout amount"],
        )
        .and_apply(),
        Case::new(
            Source,
            "is_default as a string",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][0]["is_default"] = json!("true");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.payouts.entries[0].is_default`: invalid type: string \"true\", expected a boolean"],
        ),
        Case::new(
            Source,
            "an unknown creative type",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["creatives"]["entries"][0]["creative_type"] = json!("hologram");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.creatives.entries[0].creative_type`: unknown variant `hologram`"],
        ),
        Case::new(
            Source,
            "an unknown targeting type",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["ruleset"]["countries"][0]["targeting_type"] = json!("maybe");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.ruleset.countries[0].targeting_type`: unknown variant `maybe`, expected `include` or `exclude`"],
        ),
        Case::new(
            Source,
            "a URL id that is a string",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["urls"]["entries"][0]["network_offer_url_id"] = json!("101");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.urls.entries[0].network_offer_url_id`: invalid type: string \"101\""],
        ),
        Case::new(
            Source,
            "payout rule URLs that are a string",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["custom_payout_settings"]["entries"][0]["relationship"]["offer_urls"] = json!("all");
            }),
            &["trimrx/1: the source offer is malformed: at `relationship.custom_payout_settings.entries[0].relationship.offer_urls`: invalid type: string \"all\""],
        ),
        Case::new(
            Source,
            "a 1 MB payout type",
            listed("trimrx", 1, move |offer| {
                offer["relationship"]["payouts"]["entries"][0]["payout_type"] =
                    json!("x".repeat(MEGABYTE));
            }),
            &[
                "trimrx/1: the source offer is malformed: at `relationship.payouts.entries[0].payout_type`: unknown variant `xxxx",
                "`cpa_cps_sku`, `prv_sku`",
            ],
        ),
        Case::new(
            Source,
            "a 1 MB offer id",
            alone("trimrx", 1, edited(move |offer| {
                offer["network_offer_id"] = json!("9".repeat(MEGABYTE));
            })),
            &[
                "trimrx/1: the source offer is malformed: at `network_offer_id`: invalid type: string \"9999",
                "999\", expected u64",
            ],
        ),
        Case::new(
            Source,
            "two payout events of one name",
            listed("trimrx", 1, |offer| {
                offer["relationship"]["payouts"]["entries"][1]["entry_name"] = json!("Base");
            }),
            &["trimrx/1: two payout events are both named `Base`"],
        ),
        Case::new(
            Source,
            "broken UTF-8 in a string",
            alone("trimrx", 1, Answer::Rewrite(Box::new(|body| replace_once(&body, b"TrimRx - ", b"Trim\xffRx - ")))),
            &["trimrx/1: GET /v1/affiliates/offers/1: unexpected response: not JSON (invalid unicode code point at line 1 column 863)"],
        )
        .and_apply(),
        Case::new(
            Source,
            "an HTML page with status 200",
            list_raw("trimrx", 200, "text/html", MAINTENANCE_PAGE),
            &["trimrx: listing the offers we may run: GET /v1/affiliates/offersrunnable: unexpected response: not JSON (expected value at line 1 column 1): `<!DOCTYPE html> <html><head><title>Down for maintenance</title>"],
        )
        .and_apply(),
        Case::new(
            Source,
            "an HTML page with status 502",
            list_raw("trimrx", 502, "text/html", BAD_GATEWAY_PAGE),
            &["trimrx: listing the offers we may run: GET /v1/affiliates/offersrunnable: HTTP 502: `<html> <head><title>502 Bad Gateway</title></head>"],
        )
        .and_apply(),
        Case::new(
            Source,
            "an error object with status 200",
            alone("trimrx", 1, fixed(200, "application/json", br#"{"Error":"internal error"}"#)),
            &["trimrx/1: the source offer is malformed: missing field `network_offer_id`"],
        ),
        Case::new(
            Source,
            "an error object with status 500",
            list_raw("trimrx", 500, "application/json", br#"{"Error":"database unavailable"}"#),
            &["trimrx: listing the offers we may run: GET /v1/affiliates/offersrunnable: HTTP 500: database unavailable"],
        ),
        Case::new(
            Source,
            "an empty body",
            alone("trimrx", 1, fixed(200, "application/json", b"")),
            &["trimrx/1: GET /v1/affiliates/offers/1: unexpected response: an empty body"],
        ),
        Case::new(
            Source,
            "truncated JSON",
            alone("trimrx", 1, Answer::Rewrite(Box::new(|body| body[..body.len() / 2].to_vec()))),
            &["trimrx/1: GET /v1/affiliates/offers/1: unexpected response: not JSON (EOF while parsing a value at line 1 column"],
        ),
        Case::new(
            Source,
            "a list instead of an object",
            alone("trimrx", 1, edited(|offer| *offer = json!([offer.clone()]))),
            &["trimrx/1: the source offer is malformed: expected an offer object, got a list"],
        )
        .and_apply(),
        Case::new(
            Source,
            "null instead of an object",
            alone("trimrx", 1, fixed(200, "application/json", b"null")),
            &["trimrx/1: the source offer is malformed: expected an offer object, got null"],
        ),
        Case::new(
            Source,
            "JSON nested ten thousand deep",
            alone("trimrx", 1, fixed(200, "application/json", &deep_json(10_000))),
            &["trimrx/1: GET /v1/affiliates/offers/1: unexpected response: not JSON (recursion limit exceeded at line 1 column 128)"],
        ),
        Case::new(
            Source,
            "a tracking link that is not http",
            raw(LINK_1, 200, "application/json", br#"{"url":"javascript:alert(1)"}"#),
            &["trimrx/1: the source offer is malformed: the tracking link of URL 101 is not an http(s) URL: `javascript:alert(1)`"],
        )
        .and_apply(),
        Case::new(
            Source,
            "a listed default tracking link that is not http",
            listed("trimrx", 1, |offer| offer["tracking_url"] = json!("javascript:alert(1)")),
            &["trimrx/1: the source offer is malformed: the tracking link of URL 0 is not an http(s) URL: `javascript:alert(1)`"],
        ),
        Case::new(
            Source,
            "a tracking link answer without its url",
            raw(LINK_1, 200, "application/json", br#"{"tracking_url":"https://trk.trimrx.test/x"}"#),
            &["trimrx/1: GET /v1/affiliates/offers/1/url/101: unexpected response: missing field `url`"],
        ),
        Case::new(
            Source,
            "a tracking link that is null",
            raw(LINK_1, 200, "application/json", br#"{"url":null}"#),
            &["trimrx/1: GET /v1/affiliates/offers/1/url/101: unexpected response: at `url`: invalid type: null, expected a string"],
        ),
        Case::new(
            Source,
            "a 1 MB tracking link",
            raw(
                LINK_1,
                200,
                "application/json",
                format!(r#"{{"url":"{}"}}"#, "y".repeat(MEGABYTE)).as_bytes(),
            ),
            &["trimrx/1: the source offer is malformed: the tracking link of URL 101 is not an http(s) URL: `yyyy", "yyy`"],
        ),
        Case::new(
            Source,
            "a tracking link answered with HTML",
            raw(LINK_1, 200, "text/html", MAINTENANCE_PAGE),
            &["trimrx/1: GET /v1/affiliates/offers/1/url/101: unexpected response: not JSON (expected value at line 1 column 1): `<!DOCTYPE html>"],
        ),
        Case::new(
            Source,
            "an affiliate id that is a string",
            raw(
                "/v1/affiliates/settings",
                200,
                "application/json",
                br#"{"network_affiliate_id":"42"}"#,
            ),
            &["GET /v1/affiliates/settings: unexpected response: at `network_affiliate_id`: invalid type: string \"42\", expected u64"],
        ),
        Case::new(
            Source,
            "a 1 MB affiliate id",
            raw(
                "/v1/affiliates/settings",
                200,
                "application/json",
                format!(r#"{{"network_affiliate_id":"{}"}}"#, "4".repeat(MEGABYTE)).as_bytes(),
            ),
            &["GET /v1/affiliates/settings: unexpected response: at `network_affiliate_id`: invalid type: string \"444", "444\", expected u64"],
        ),
        Case::new(
            Source,
            "a pixel id that is a string",
            raw(
                "/v1/affiliates/pixels",
                200,
                "application/json",
                br#"{"pixels":[{"network_pixel_id":"p-1","network_offer_id":1}]}"#,
            ),
            &["GET /v1/affiliates/pixels: unexpected response: pixels[0] at `network_pixel_id`: invalid type: string \"p-1\", expected u64"],
        )
        .and_apply(),
        Case::new(
            Source,
            "pixels that are null",
            raw("/v1/affiliates/pixels", 200, "application/json", br#"{"pixels":null}"#),
            &["GET /v1/affiliates/pixels: unexpected response: at `pixels`: invalid type: null, expected a sequence"],
        ),
    ];
    cases.sort_by_key(|case| case.group);
    cases
}

const MAINTENANCE_PAGE: &[u8] = b"<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>\n<body><h1>We'll be right back</h1></body></html>\n";

const BAD_GATEWAY_PAGE: &[u8] = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Nine levels of aliases, each nine times the one below (387 million numbers if it
/// were expanded).
fn yaml_bomb() -> String {
    let mut yaml = String::from(
        "offers:\n  - source_offer_id: 1\n    exclude_urls: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n",
    );
    for level in 1..9 {
        let below = format!("*a{}", level - 1);
        yaml.push_str(&format!(
            "  - source_offer_id: {}\n    exclude_urls: &a{level} [{}]\n",
            level + 1,
            vec![below; 9].join(", ")
        ));
    }
    yaml
}

fn deep_json(depth: usize) -> Vec<u8> {
    let mut json = "[".repeat(depth);
    json.push_str(&"]".repeat(depth));
    json.into_bytes()
}

fn os(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes.to_vec())
}

fn replace_once(body: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = body
        .windows(from.len())
        .position(|window| window == from)
        .unwrap_or_else(|| panic!("`{}` is not in the answer", String::from_utf8_lossy(from)));
    [&body[..at], to, &body[at + from.len()..]].concat()
}

// --- setups ----------------------------------------------------------------------------

/// `desired/trimrx.yaml` holds `bytes`.
fn trimrx(bytes: impl AsRef<[u8]>) -> Setup {
    let bytes = bytes.as_ref().to_vec();
    Box::new(move |t| {
        std::fs::write(t.path(TRIMRX), &bytes).unwrap();
        Vec::new()
    })
}

/// The example workspace applied first (so that `state/` and iScale hold its offers, and
/// a plan would otherwise update or pause them), then spoiled by `setup`.
fn after_apply(setup: Setup) -> Setup {
    Box::new(move |t| {
        t.run(&["apply", "--auto-approve"]).expect(0);
        setup(t)
    })
}

/// `.env.local` gets one more line (a later line wins).
fn env_line(line: impl AsRef<[u8]>) -> Setup {
    let line = line.as_ref().to_vec();
    Box::new(move |t| {
        let mut text = std::fs::read(t.path(".env.local")).unwrap();
        assert_eq!(
            text.iter().filter(|byte| **byte == b'\n').count(),
            20,
            "the corpus counts on .env.local having 20 lines"
        );
        text.extend_from_slice(&line);
        text.push(b'\n');
        std::fs::write(t.path(".env.local"), text).unwrap();
        Vec::new()
    })
}

/// A variable of the process environment (which overrides `.env.local`).
fn env_var(name: &'static str, value: impl Into<OsString>) -> Setup {
    let value = value.into();
    Box::new(move |_| vec![(name.to_owned(), value.clone())])
}

/// This status, content type and body instead of the sandbox's answer to `path`.
fn raw(path: &'static str, status: u16, content_type: &'static str, body: &[u8]) -> Setup {
    spoil(vec![Spoil::any(path, fixed(status, content_type, body))])
}

/// Offer `id` of `network` as the runnable list shows it, edited by `f`.
fn listed(network: &'static str, id: u64, f: impl Fn(&mut Value) + Send + Sync + 'static) -> Setup {
    spoil(vec![Spoil::of(
        RUNNABLE,
        network,
        edited(move |list| {
            let offer = list["offers"]
                .as_array_mut()
                .and_then(|offers| {
                    offers
                        .iter_mut()
                        .find(|offer| offer["network_offer_id"] == json!(id))
                })
                .expect("the offer is in the runnable list");
            f(offer);
        }),
    )])
}

/// The runnable list of `network` answered with this status, content type and body.
fn list_raw(network: &'static str, status: u16, content_type: &'static str, body: &[u8]) -> Setup {
    spoil(vec![Spoil::of(
        RUNNABLE,
        network,
        fixed(status, content_type, body),
    )])
}

/// The runnable list of `network`, rewritten as bytes.
fn list_bytes(
    network: &'static str,
    f: impl Fn(Vec<u8>) -> Vec<u8> + Send + Sync + 'static,
) -> Setup {
    spoil(vec![Spoil::of(
        RUNNABLE,
        network,
        Answer::Rewrite(Box::new(f)),
    )])
}

/// Offer `id` of `network` left out of the runnable list (as if no longer runnable), so
/// that it is read on its own, and that read answered with `answer`.
fn alone(network: &'static str, id: u64, answer: Answer) -> Setup {
    spoil(vec![
        Spoil::of(
            RUNNABLE,
            network,
            edited(move |list| {
                if let Some(offers) = list["offers"].as_array_mut() {
                    offers.retain(|offer| offer["network_offer_id"] != json!(id));
                }
            }),
        ),
        Spoil::any(format!("/v1/affiliates/offers/{id}"), answer),
    ])
}

/// The sandbox's JSON answer edited by `f`.
fn edited(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Answer {
    Answer::Rewrite(Box::new(move |body| {
        let mut value: Value = serde_json::from_slice(&body).expect("the sandbox answers JSON");
        f(&mut value);
        serde_json::to_vec(&value).unwrap()
    }))
}

fn fixed(status: u16, content_type: &'static str, body: &[u8]) -> Answer {
    Answer::Fixed {
        status,
        content_type,
        body: body.to_vec(),
    }
}

fn spoil(spoils: Vec<Spoil>) -> Setup {
    let spoils = Arc::new(spoils);
    Box::new(move |t| {
        let keyed: Vec<(String, Option<String>)> = spoils
            .iter()
            .map(|spoil| {
                let key = spoil.network.map(|network| {
                    t.fixtures
                        .sources
                        .iter()
                        .find(|source| source.name == network)
                        .expect("a built-in source network")
                        .api_key
                        .clone()
                });
                (spoil.path.clone(), key)
            })
            .collect();
        let proxy = Proxy::start(&t.sandbox_url(), keyed, Arc::clone(&spoils));
        vec![("EVERFLOW_API_URL".to_owned(), proxy.into())]
    })
}

// --- running a case ----------------------------------------------------------------------

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(t: &TestContext, args: &[&str], env: &[(String, OsString)]) -> Outcome {
    let mut command = t.command();
    command.args(args).timeout(Duration::from_secs(120));
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the binary runs");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every file under `state/` with its contents, except the apply lock (which every apply
/// takes, failing or not) and the Git-ignored cache.
fn state_files(t: &TestContext) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "offersync.lock" || name == ".cache" {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(&t.path("state"), &mut files);
    files
}

fn secrets(t: &TestContext) -> Vec<String> {
    let mut secrets = vec![t.fixtures.destination.api_key.clone()];
    for source in &t.fixtures.sources {
        secrets.push(source.api_key.clone());
        secrets.push(source.verification_token.clone());
    }
    secrets
}

/// Runs one case; returns what was wrong with it.
fn check(case: &Case) -> Vec<String> {
    let t = TestContext::new();
    let env = (case.setup)(&t);
    let secrets = secrets(&t);
    let mut problems = Vec::new();
    let mut commands: Vec<&[&str]> = vec![&["plan"]];
    if case.apply {
        commands.push(&["apply", "--auto-approve"]);
    }
    for args in commands {
        let command = args.join(" ");
        let mut problem = |text: String| problems.push(format!("`{command}`: {text}"));
        let before = state_files(&t);
        t.clear_log();
        let run = run(&t, args, &env);
        let shown = |text: &str| text.chars().take(2000).collect::<String>();
        if run.code != 1 {
            problem(format!("exit {} (want 1)", run.code));
        }
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
                problem(format!("a panic on {stream}: {}", shown(text)));
            }
        }
        if !run.stdout.is_empty() {
            problem(format!("data on stdout: {}", shown(&run.stdout)));
        }
        let writes = t.writes();
        if !writes.is_empty() {
            let writes: Vec<String> = writes
                .iter()
                .map(|write| format!("{} {}", write.method, write.path))
                .collect();
            problem(format!("writes: {writes:?}"));
        }
        if state_files(&t) != before {
            problem("state/ changed".to_owned());
        }
        let lines: Vec<&str> = run.stderr.lines().collect();
        let [line] = lines[..] else {
            problem(format!(
                "{} lines on stderr (want one): {}",
                lines.len(),
                shown(&run.stderr)
            ));
            continue;
        };
        let Some(message) = line.strip_prefix("error: ") else {
            problem(format!("not an error line: {}", shown(line)));
            continue;
        };
        if message.chars().count() > MAX_ERROR_CHARS {
            problem(format!(
                "an error of {} characters: {}...",
                message.chars().count(),
                shown(message)
            ));
        }
        if message.chars().any(char::is_control) {
            problem(format!("control characters in: {message:?}"));
        }
        for secret in &secrets {
            if message.contains(secret.as_str()) {
                problem(format!("a secret in: {message}"));
            }
        }
        for piece in &case.expect {
            if !message.contains(piece.as_str()) {
                problem(format!("no `{piece}` in: {}", shown(message)));
            }
        }
    }
    problems
}

/// Runs every case of a group (two at a time) and reports every failure at once.
#[track_caller]
fn check_group(group: Group) {
    let cases: Vec<Case> = corpus()
        .into_iter()
        .filter(|case| case.group == group)
        .collect();
    assert!(!cases.is_empty());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(case) = cases.get(index) else {
                        break;
                    };
                    let problems = check(case);
                    if !problems.is_empty() {
                        failures.lock().unwrap().push(format!(
                            "{:?} / {}:\n    {}",
                            case.group,
                            case.name,
                            problems.join("\n    ")
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn malformed_desired_files() {
    check_group(Group::Desired);
}

#[test]
fn malformed_settings() {
    check_group(Group::Settings);
}

#[test]
fn malformed_source_answers() {
    check_group(Group::Source);
}

#[test]
fn the_corpus_has_at_least_30_cases_in_every_kind_of_input() {
    let corpus = corpus();
    let count = |group| corpus.iter().filter(|case| case.group == group).count();
    let counts = [
        (Group::Desired, count(Group::Desired)),
        (Group::Settings, count(Group::Settings)),
        (Group::Source, count(Group::Source)),
    ];
    assert!(corpus.len() >= 30, "{counts:?}");
    assert!(counts.iter().all(|(_, count)| *count >= 10), "{counts:?}");
    let names: std::collections::BTreeSet<(Group, &str)> =
        corpus.iter().map(|case| (case.group, case.name)).collect();
    assert_eq!(
        names.len(),
        corpus.len(),
        "case names are unique in their group"
    );
}

/// Regression: `std::env::vars` panicked on any variable that is not UTF-8, even one
/// offersync never reads.
#[test]
fn a_variable_that_is_not_utf8_does_not_stop_offersync() {
    let t = TestContext::new();
    let run = run(
        &t,
        &["validate"],
        &[("LC_WEIRD".to_owned(), os(b"\xff\xfe"))],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("Valid: "), "{}", run.stdout);
}

// --- the proxy -----------------------------------------------------------------------------

/// What the proxy answers for the spoiled path.
enum Answer {
    /// This instead of the sandbox's answer.
    Fixed {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// The sandbox's answer with its body rewritten.
    Rewrite(Box<dyn Fn(Vec<u8>) -> Vec<u8> + Send + Sync>),
}

/// A hostile answer to the requests for one path (of one source network's key, when
/// `network` is set).
struct Spoil {
    path: String,
    network: Option<&'static str>,
    answer: Answer,
}

impl Spoil {
    fn any(path: impl Into<String>, answer: Answer) -> Self {
        Self {
            path: path.into(),
            network: None,
            answer,
        }
    }

    fn of(path: &str, network: &'static str, answer: Answer) -> Self {
        Self {
            path: path.to_owned(),
            network: Some(network),
            answer,
        }
    }
}

/// A loopback HTTP proxy in front of the sandbox: each request is passed on as it came,
/// except requests for one path, which get a hostile answer. One request per connection
/// (`connection: close`), which reqwest handles by connecting again.
struct Proxy;

impl Proxy {
    /// Starts a proxy for `upstream` (`http://127.0.0.1:PORT`); returns its URL.
    /// `keyed`: each spoil's path and the API key it applies to (`None`: any).
    fn start(
        upstream: &str,
        keyed: Vec<(String, Option<String>)>,
        spoils: Arc<Vec<Spoil>>,
    ) -> String {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("the sandbox is plain http")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let keyed = Arc::new(keyed);
            for stream in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let spoils = Arc::clone(&spoils);
                let keyed = Arc::clone(&keyed);
                std::thread::spawn(move || {
                    let _ = serve(stream, &upstream, &keyed, &spoils);
                });
            }
        });
        url
    }
}

/// One HTTP/1.1 message: start line, headers, body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    keyed: &[(String, Option<String>)],
    spoils: &[Spoil],
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let request = read_head(&mut reader)?;
    let length: usize = request
        .header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = Message { body, ..request };
    let target = request.start.split(' ').nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or(target);
    let key = request.header("x-eflow-api-key");
    let answer = keyed
        .iter()
        .position(|(spoiled, only)| {
            *spoiled == path && only.as_deref().is_none_or(|only| key == Some(only))
        })
        .map(|index| &spoils[index].answer);

    let (status, content_type, body) = match answer {
        Some(Answer::Fixed {
            status,
            content_type,
            body,
        }) => (*status, (*content_type).to_owned(), body.clone()),
        _ => {
            let response = forward(upstream, &request)?;
            let status = response
                .start
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or(502);
            let content_type = response
                .header("content-type")
                .unwrap_or("application/json")
                .to_owned();
            match answer {
                Some(Answer::Rewrite(rewrite)) => (status, content_type, rewrite(response.body)),
                _ => (status, content_type, response.body),
            }
        }
    };
    let mut client = client;
    write!(
        client,
        "HTTP/1.1 {status} Hostile\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    client.write_all(&body)?;
    client.flush()
}

/// Sends a request to the sandbox and reads its whole answer.
fn forward(upstream: &str, request: &Message) -> std::io::Result<Message> {
    let mut stream = TcpStream::connect(upstream)?;
    let mut head = format!(
        "{}\r\nhost: {upstream}\r\nconnection: close\r\n",
        request.start
    );
    for (name, value) in &request.headers {
        let skip = ["host", "connection", "content-length", "transfer-encoding"]
            .iter()
            .any(|hop| name.eq_ignore_ascii_case(hop));
        if !skip {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&request.body)?;
    let mut reader = BufReader::new(stream);
    let response = read_head(&mut reader)?;
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest)?;
    let body = if response
        .header("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        dechunk(&rest)
    } else {
        match response
            .header("content-length")
            .and_then(|value| value.parse::<usize>().ok())
        {
            Some(length) => rest[..length.min(rest.len())].to_vec(),
            None => rest,
        }
    };
    Ok(Message { body, ..response })
}

fn read_head(reader: &mut impl BufRead) -> std::io::Result<Message> {
    let mut start = String::new();
    reader.read_line(&mut start)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Ok(Message {
        start: start.trim_end().to_owned(),
        headers,
        body: Vec::new(),
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = data.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let chunk = &data[end + 2..];
        body.extend_from_slice(&chunk[..size.min(chunk.len())]);
        data = chunk.get(size + 2..).unwrap_or_default();
    }
    body
}

// ---------------------------------------------------------------------------------------
// Fuzzing
// ---------------------------------------------------------------------------------------

/// Inputs per fuzz test unless `OFFERSYNC_FUZZ_ITERATIONS` says otherwise: a few seconds
/// in a debug build (the `.env.local` one, which writes a file per input, is the slowest).
const DEFAULT_ITERATIONS: u64 = 20_000;

fn iterations() -> u64 {
    std::env::var("OFFERSYNC_FUZZ_ITERATIONS")
        .ok()
        .and_then(|text| text.trim().replace('_', "").parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

fn seed(test: u64) -> u64 {
    let base = std::env::var("OFFERSYNC_FUZZ_SEED")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0x5eed_0ff3_125c);
    base ^ test.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// xorshift64*: small, fast and reproducible; quality is not the point.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds start far apart (and never at 0).
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// What a fuzz test requires of each answer besides not panicking.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// An error is one line of at most [`MAX_ERROR_CHARS`] characters.
    OneShortLine,
    /// Only: no panic.
    NoPanic,
}

/// Runs `target` on `input`, catching a panic; returns a description of what went wrong.
fn probe<T, E: std::fmt::Display>(
    input: &[u8],
    rule: Rule,
    target: impl FnOnce(&[u8]) -> Result<T, E> + std::panic::UnwindSafe,
) -> Option<String> {
    let shown = || {
        format!(
            "{:?}",
            String::from_utf8_lossy(&input[..input.len().min(4000)])
        )
    };
    match std::panic::catch_unwind(|| target(input).err().map(|error| error.to_string())) {
        Err(_) => Some(format!("panicked on {}", shown())),
        Ok(_) if rule == Rule::NoPanic => None,
        Ok(Some(message)) if message.contains('\n') || message.contains('\r') => Some(format!(
            "a message of several lines, {message:?}, for {}",
            shown()
        )),
        Ok(Some(message)) if message.chars().count() > MAX_ERROR_CHARS => Some(format!(
            "a message of {} characters for {}",
            message.chars().count(),
            shown()
        )),
        Ok(_) => None,
    }
}

/// Feeds `iterations()` inputs from `generate` to `target`; fails with the first few
/// inputs that broke a rule. Prints nothing while all is well.
#[track_caller]
fn fuzz<T, E: std::fmt::Display>(
    test: u64,
    rule: Rule,
    mut generate: impl FnMut(&mut Rng) -> Vec<u8>,
    target: impl Fn(&[u8]) -> Result<T, E> + std::panic::RefUnwindSafe,
) {
    let mut rng = Rng::new(seed(test));
    let mut failures = Vec::new();
    let total = iterations();
    for _ in 0..total {
        let input = generate(&mut rng);
        if let Some(failure) = probe(&input, rule, |input| target(input)) {
            failures.push(failure);
            if failures.len() >= 5 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures (seed {}):\n{}",
        failures.len(),
        seed(test),
        failures.join("\n")
    );
}

fn parse_desired(bytes: &[u8]) -> Result<desired::DesiredFile, desired::DesiredError> {
    desired::parse(Path::new(TRIMRX), bytes)
}

/// The source-offer parser: the answer's bytes as JSON (what the client does), then the
/// snapshot's check of its shape.
fn parse_source(bytes: &[u8]) -> Result<SourceSnapshot, String> {
    // The typed view straight from the bytes must not panic either.
    let _ = serde_json::from_slice::<SourceOffer>(bytes);
    let raw: Value = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    let id = raw
        .get("network_offer_id")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    SourceSnapshot::new(SourceOfferId(id), &raw, BTreeMap::new())
}

/// What rendering a parsed offer needs, as the planner has it.
struct Renderer {
    settings: Settings,
    files: Vec<desired::DesiredFile>,
    countries: CountryTable,
    token: Secret,
}

impl Renderer {
    fn new() -> Self {
        let env = EnvMap::from_pairs([
            ("ISCALE_API_KEY", "nw-key-0123456789"),
            ("ISCALE_NETWORK_ID", "7001"),
            ("ISCALE_TRACKING_DOMAIN", "trk.iscale.test"),
            ("TRIMRX_API_KEY", "aff-key-0123456789"),
            ("TRIMRX_AFFILIATE_ID", "42"),
            ("TRIMRX_ADVERTISER_ID", "13"),
            ("TRIMRX_VERIFICATION_TOKEN", "token-0123456789"),
        ]);
        let request = NetworkRequest {
            name: "trimrx",
            desired_file: Path::new(TRIMRX),
            destination: Destination::Iscale,
            postbacks: true,
        };
        let settings = Settings::resolve(&env, &[request], &[]).expect("valid settings");
        let files = [
            "offers:\n  - source_offer_id: 1\n",
            "margin: 0.99\noffers:\n  - source_offer_id: 1\n    exclude_urls: [101, 1202]\n    geo: {countries: [US, CA], regions: false}\n",
            "offers:\n  - source_offer_id: 1\n    margin: 0\n    name: Named\n    paused: true\n",
        ]
        .iter()
        .map(|text| parse_desired(text.as_bytes()).expect("valid desired file"))
        .collect();
        Self {
            settings,
            files,
            countries: CountryTable::new([
                ("US".to_owned(), 227, "United States".to_owned()),
                ("CA".to_owned(), 39, "Canada".to_owned()),
            ]),
            token: Secret::new("token-0123456789"),
        }
    }

    /// Parses an answer and, when it is an offer, renders everything the destination
    /// should hold for it, with a landing page behind each of its URLs.
    fn parse_and_render(&self, bytes: &[u8]) -> Result<(), String> {
        let mut snapshot = parse_source(bytes)?;
        let url_ids = std::iter::once(0).chain(
            snapshot
                .offer
                .relationship
                .urls
                .0
                .iter()
                .map(|url| url.network_offer_url_id),
        );
        for id in url_ids {
            snapshot.landing_pages.insert(
                id,
                LandingPage {
                    name: format!("URL {id}"),
                    url: format!("https://lp.test/{id}"),
                },
            );
        }
        // Which desired file: any, chosen by the input so that runs are reproducible.
        let file = &self.files[bytes.len() % self.files.len()];
        render(RenderInput {
            network: self.settings.network("trimrx"),
            default_margin: Margin::default(),
            file,
            offer: &file.offers[0],
            snapshot: &snapshot,
            countries: &self.countries,
            postbacks: Some(PostbackTarget {
                tracking_domain: "trk.iscale.test",
                network_id: 7001,
                token: &self.token,
            }),
        })
        .map(|_| ())
        .map_err(|error| error.to_string())
    }
}

/// A desired file using every key, to mutate.
const DESIRED_EVERY_KEY: &str = "\
# yaml-language-server: $schema=../schemas/desired.schema.json
destination: iscale
margin: 0.15
visibility: private
postbacks: false
offers:
  - source_offer_id: 1
    name: \"TrimRx: GLP-1 \\u00e9\"
    html_description: |
      <p>Weight care</p>
    visibility: public
    margin: 0.2
    paused: true
    exclude_urls: [101, 102]
    geo:
      countries: [US, ca]
      regions: false
  - {source_offer_id: 2, name: 'Two', geo: {countries: []}}
";

const YAML_TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "&b",
    "*b",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!custom ",
    "\t",
    "\n",
    "\r\n",
    "  ",
    "    ",
    "'",
    "\"",
    "---\n",
    "...\n",
    "? ",
    "|\n",
    ">-\n",
    "#",
    "null",
    "~",
    "-1",
    "0",
    "1e400",
    "0x1F",
    "0o17",
    ".nan",
    "-.inf",
    "18446744073709551616",
    "9223372036854775808",
    "true",
    "no",
    "\u{0}",
    "\u{feff}",
    "<<: *a",
    "é",
    "\u{1b}[2J",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "source_offer_id",
    "offers",
    "margin",
    "geo",
    "countries",
    "visibility",
    "public",
    "exclude_urls",
    "\\u0000",
    "\\",
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "false",
    "-",
    "0",
    "-0",
    "1e400",
    "-1e400",
    "1.5",
    "18446744073709551616",
    "-9223372036854775809",
    "0.000000000000000000000000000001",
    "79228162514264337593543950336",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\\",
    "\"cpx\"",
    "\"\"",
    "{}",
    "[]",
    "\u{feff}",
    "\u{0}",
    " ",
    "\n",
    "\"payout_type\"",
    "\"entries\"",
    "\"relationship\"",
    "\"network_offer_id\"",
    "\"payout_amount\"",
];

/// Strings that mean something to the parsers (enum values, numbers in text, oddities).
const JSON_STRINGS: &[&str] = &[
    "",
    "cpa",
    "cpx",
    "cps",
    "prv",
    "image",
    "hologram",
    "include",
    "maybe",
    "active",
    "350.00",
    "-1",
    "1e400",
    "NaN",
    "\n",
    "\u{0}",
    "\u{1b}[2J",
    "é",
    "javascript:alert(1)",
];

/// Random input: mostly bytes of `alphabet`, then ASCII, any character, and now and then
/// a byte that breaks UTF-8 (rarely, so that most inputs get past the UTF-8 check).
fn random_bytes(rng: &mut Rng, alphabet: &[u8]) -> Vec<u8> {
    let len = match rng.below(10) {
        0 => 0,
        1..=6 => rng.below(64),
        _ => rng.below(1024),
    };
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        match rng.below(100) {
            0..=59 => out.push(*rng.pick(alphabet)),
            60..=89 => out.push(rng.byte() & 0x7f),
            90..=98 => {
                let c = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}');
                out.extend_from_slice(c.to_string().as_bytes());
            }
            _ => out.push(rng.byte()),
        }
    }
    out
}

/// One to eight byte-level mutations of `input`: flips, insertions of tokens and random
/// bytes, deletions, duplications and splices from `donor`.
fn mutate_bytes(rng: &mut Rng, mut input: Vec<u8>, tokens: &[&str], donor: &[u8]) -> Vec<u8> {
    for _ in 0..=rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(8) {
            0 if !input.is_empty() => {
                let at = at.min(input.len() - 1);
                input[at] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let at = at.min(input.len() - 1);
                input[at] = rng.byte();
            }
            2 | 3 => {
                let token = rng.pick(tokens).as_bytes();
                input.splice(at..at, token.iter().copied());
            }
            4 => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                input.drain(at.min(end)..end);
            }
            5 => {
                let end = (at + 1 + rng.below(32)).min(input.len());
                let copy = input[at.min(end)..end].to_vec();
                let to = rng.below(input.len() + 1);
                input.splice(to..to, copy);
            }
            6 if !donor.is_empty() => {
                let from = rng.below(donor.len());
                let end = (from + 1 + rng.below(64)).min(donor.len());
                let cut = (at + rng.below(16)).min(input.len());
                input.splice(at..cut, donor[from..end].iter().copied());
            }
            _ => {
                // A run of a repeated token: depth, length.
                let token = rng.pick(tokens).as_bytes();
                let times = 1 + rng.below(200);
                input.splice(at..at, token.repeat(times));
            }
        }
    }
    input
}

fn source_seeds() -> Vec<Value> {
    offersync::sandbox::Fixtures::builtin()
        .sources
        .into_iter()
        .flat_map(|source| source.offers)
        .map(|offer| Value::Object(offer.offer))
        .collect()
}

/// A JSON value of any kind, with the numbers and strings the parsers care about.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    const NUMBERS: &[&str] = &[
        "0",
        "1",
        "-1",
        "350",
        "99.99",
        "-0.5",
        "1e400",
        "1e-400",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "79228162514264337593543950335",
        "79228162514264337593543950336",
        "0.0000000000000000000000000001",
        "1.5e10",
    ];
    match rng.below(if depth > 3 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => serde_json::from_str(rng.pick::<&str>(NUMBERS)).unwrap(),
        3 => Value::String(match rng.below(4) {
            0 => "x".repeat(rng.below(5000)),
            _ => (*rng.pick(JSON_STRINGS)).to_owned(),
        }),
        4 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        5 => json!({"entries": [random_value(rng, depth + 1)]}),
        _ => {
            const KEYS: &[&str] = &[
                "entries",
                "payout_type",
                "payout_amount",
                "payout_percentage",
                "is_default",
                "network_offer_url_id",
                "creative_type",
                "targeting_type",
                "country_id",
                "network_offer_url_ids",
                "offer_urls",
                "relationship",
                "name",
            ];
            Value::Object(
                (0..rng.below(4))
                    .map(|_| ((*rng.pick(KEYS)).to_owned(), random_value(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

/// Replaces, removes or wraps one node somewhere in `value`.
fn mutate_value(rng: &mut Rng, value: &mut Value) {
    // Walk down a random path, stopping at random.
    if rng.chance(75) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
                if rng.chance(10) {
                    map.remove(&key);
                    return;
                }
                return mutate_value(rng, map.get_mut(&key).unwrap());
            }
            Value::Array(items) if !items.is_empty() => {
                let index = rng.below(items.len());
                return mutate_value(rng, &mut items[index]);
            }
            _ => {}
        }
    }
    *value = match rng.below(4) {
        0 => Value::Array(vec![value.take()]),
        _ => random_value(rng, 0),
    };
}

#[test]
fn fuzz_the_desired_loader_with_random_bytes() {
    const YAML_BYTES: &[u8] = b" \n\t-:[]{},&*!|>#'\"?%@`~.0123456789abcxyz";
    fuzz(
        1,
        Rule::OneShortLine,
        |rng| random_bytes(rng, YAML_BYTES),
        parse_desired,
    );
}

#[test]
fn fuzz_the_desired_loader_with_mutated_files() {
    let seeds = [DESIRED_TRIMRX, DESIRED_DIRECTMEDS, DESIRED_EVERY_KEY];
    for seed in seeds {
        parse_desired(seed.as_bytes()).expect("every seed is valid");
    }
    fuzz(
        2,
        Rule::OneShortLine,
        |rng| {
            let seed = rng.pick(&seeds).as_bytes().to_vec();
            let donor = rng.pick(&seeds).as_bytes();
            mutate_bytes(rng, seed, YAML_TOKENS, donor)
        },
        parse_desired,
    );
}

#[test]
fn fuzz_the_source_offer_parser_with_random_bytes() {
    const JSON_BYTES: &[u8] = b" \n{}[],:\"-0123456789.eE+truefalsn\\u";
    let renderer = Renderer::new();
    fuzz(
        3,
        Rule::OneShortLine,
        |rng| random_bytes(rng, JSON_BYTES),
        |bytes| renderer.parse_and_render(bytes),
    );
}

#[test]
fn fuzz_the_source_offer_parser_with_mutated_offers() {
    let seeds = source_seeds();
    assert!(seeds.len() >= 6, "the fixtures hold the offers to mutate");
    let renderer = Renderer::new();
    for seed in &seeds {
        renderer
            .parse_and_render(&serde_json::to_vec(seed).unwrap())
            .expect("every seed is valid");
    }
    let texts: Vec<Vec<u8>> = seeds
        .iter()
        .map(|seed| serde_json::to_vec(seed).unwrap())
        .collect();
    fuzz(
        4,
        Rule::OneShortLine,
        |rng| {
            if rng.chance(60) {
                let mut value = rng.pick(&seeds).clone();
                for _ in 0..=rng.below(4) {
                    mutate_value(rng, &mut value);
                }
                serde_json::to_vec(&value).unwrap()
            } else {
                let text = rng.pick(&texts).clone();
                let donor = rng.pick(&texts);
                mutate_bytes(rng, text, JSON_TOKENS, donor)
            }
        },
        |bytes| renderer.parse_and_render(bytes),
    );
}

const ENV_TOKENS: &[&str] = &[
    "=",
    "==",
    "\"",
    "'",
    "`",
    "\n",
    "\r\n",
    "#",
    "export ",
    "${TRIMRX_API_KEY}",
    "$",
    "{",
    "}",
    "\\",
    " ",
    "\t",
    "\u{0}",
    "\u{1b}[2J",
    "\u{feff}",
    "é",
    "TRIMRX_AFFILIATE_ID=",
    "ISCALE_PAYOUT_MARGIN=",
    "EVERFLOW_API_URL=",
    "ISCALE_TRACKING_DOMAIN=",
    "-1",
    "0",
    "1.5",
    "18446744073709551616",
    "http://",
    "https://a@b/",
    "ftp://x",
];

/// Loads `.env.local` holding `bytes` and resolves trimrx's settings from it.
fn load_settings(dir: &Path, bytes: &[u8]) -> Result<Settings, String> {
    std::fs::write(dir.join(".env.local"), bytes).unwrap();
    let env = EnvMap::load(dir, []).map_err(|error| error.to_string())?;
    let request = NetworkRequest {
        name: "trimrx",
        desired_file: Path::new(TRIMRX),
        destination: Destination::Iscale,
        postbacks: true,
    };
    Settings::resolve(&env, &[request], &[]).map_err(|error| error.to_string())
}

#[test]
fn fuzz_the_settings_loader_with_mutated_env_files() {
    let dir = tempfile::tempdir().unwrap();
    let seed = offersync::sandbox::Fixtures::builtin().env_local("http://127.0.0.1:8085");
    load_settings(dir.path(), seed.as_bytes()).expect("the seed is valid");
    let path = dir.path().to_owned();
    fuzz(
        5,
        Rule::OneShortLine,
        |rng| {
            if rng.chance(10) {
                random_bytes(rng, b"=#\"' \n\tABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
            } else {
                mutate_bytes(rng, seed.clone().into_bytes(), ENV_TOKENS, seed.as_bytes())
            }
        },
        |bytes| load_settings(&path, bytes),
    );
}
