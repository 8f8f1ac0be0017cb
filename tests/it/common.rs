//! The test context: a sandbox on loopback, a temporary workspace configured for it, and
//! the real `offersync` binary run against both.

use std::path::{Path, PathBuf};

use offersync::sandbox::{Fixtures, LoggedRequest, Sandbox, SandboxHandle, SandboxOptions};

/// The repository's example desired files, which the demo also uses.
pub const DESIRED_TRIMRX: &str = include_str!("../../desired/trimrx.yaml");
pub const DESIRED_DIRECTMEDS: &str = include_str!("../../desired/directmeds.yaml");

pub struct TestContext {
    dir: tempfile::TempDir,
    handle: SandboxHandle,
    pub fixtures: Fixtures,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test with the whole output when the exit code is not `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl TestContext {
    /// A workspace with `.env.local` for the built-in sandbox and both example desired
    /// files.
    pub fn new() -> Self {
        Self::with_options(SandboxOptions::default())
    }

    /// The same, on a sandbox with other limits, latency or faults.
    pub fn with_options(options: SandboxOptions) -> Self {
        let context = Self::bare(options);
        context.write("desired/trimrx.yaml", DESIRED_TRIMRX);
        context.write("desired/directmeds.yaml", DESIRED_DIRECTMEDS);
        context
    }

    /// A workspace carrying a fleet of `per_network` copies of each source network's
    /// richest offer ([`Fixtures::fleet`]).
    pub fn with_fleet(per_network: usize, options: SandboxOptions) -> Self {
        let context = Self::on(Fixtures::fleet(per_network), options);
        let desired: String = Fixtures::fleet_offer_ids(per_network)
            .map(|id| format!("  - source_offer_id: {id}\n"))
            .collect();
        for network in ["trimrx", "directmeds"] {
            context.write(
                &format!("desired/{network}.yaml"),
                &format!("offers:\n{desired}"),
            );
        }
        context
    }

    /// Applies the example workspace one offer at a time in address order, then whole,
    /// so that iScale numbers its offers in that order (1001 directmeds/12 ... 1004
    /// trimrx/2): an apply creates offers at once, in no particular order, and
    /// snapshots show the ids.
    pub fn apply_in_address_order(&self) {
        for offer in ["directmeds/12", "directmeds/15", "trimrx/1", "trimrx/2"] {
            self.run(&["apply", "--auto-approve", "--offer", offer])
                .expect(0);
        }
        self.run(&["apply", "--auto-approve"]).expect(0);
    }

    /// A workspace with `.env.local` only.
    pub fn bare(options: SandboxOptions) -> Self {
        Self::on(Fixtures::builtin(), options)
    }

    fn on(fixtures: Fixtures, options: SandboxOptions) -> Self {
        let handle = SandboxHandle::start(fixtures.clone(), options).expect("the sandbox starts");
        let dir = tempfile::tempdir().expect("a temporary workspace");
        let context = Self {
            dir,
            handle,
            fixtures,
        };
        context.write(
            ".env.local",
            &context.fixtures.env_local(&context.handle.url()),
        );
        context
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    /// Rewrites `.env.local` with only the lines `keep` accepts, and returns it.
    pub fn keep_settings(&self, keep: impl Fn(&str) -> bool) -> String {
        let kept: String = self
            .read(".env.local")
            .lines()
            .filter(|line| keep(line))
            .map(|line| format!("{line}\n"))
            .collect();
        self.write(".env.local", &kept);
        kept
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.handle.sandbox()
    }

    /// The sandbox's base URL, `http://127.0.0.1:PORT`.
    pub fn sandbox_url(&self) -> String {
        self.handle.url()
    }

    /// Writes recorded by the sandbox since the log was last cleared.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.sandbox()
            .requests()
            .into_iter()
            .filter(LoggedRequest::is_write)
            .collect()
    }

    pub fn clear_log(&self) {
        self.sandbox().clear_requests();
    }

    /// The binary, in this workspace, with an environment holding nothing of the
    /// developer's (no real keys, no colour).
    pub fn command(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.process())
    }

    /// The same as a plain process, for runs a test starts and stops itself.
    pub fn process(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_offersync"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .arg("-C")
            .arg(self.root());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs with extra environment variables (which override `.env.local`).
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command();
        command.args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().expect("the binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
        }
    }

    /// The destination offer created for a source offer, as GET with payout_revenue
    /// shows it.
    pub fn destination_offer(&self, network: &str, source_offer_id: u64) -> serde_json::Value {
        let id: u64 = self
            .read(&format!(
                "state/{network}/{source_offer_id}/iscale_offer_id.txt"
            ))
            .trim()
            .parse()
            .unwrap();
        self.sandbox()
            .destination_offer(id)
            .expect("the offer exists in the sandbox")
    }

    /// Insta settings that hide what changes between runs (ports, temp paths).
    pub fn insta_settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(
            &regex_escape(&self.root().display().to_string()),
            "[WORKSPACE]",
        );
        settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
        settings
    }
}

fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The payout entry of a destination offer by name.
pub fn event<'a>(offer: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    offer["relationship"]["payout_revenue"]["entries"]
        .as_array()
        .expect("payout entries")
        .iter()
        .find(|entry| entry["entry_name"] == name)
        .unwrap_or_else(|| panic!("no event {name} in {offer}"))
}

/// After an apply, changes of every action and of most reasons, and a note:
/// - trimrx/1, at the source: a payout (an update with its lineage), a URL dropped (a
///   delete) and one added (a create), a video creative (a note: not carried);
/// - trimrx/2 removed from its desired file (a pause);
/// - directmeds/15 renamed in its desired file (config changed);
/// - directmeds/12 renamed in iScale, and the trimrx advertiser's token (changed in iScale);
/// - a trimrx pixel edited in the source network (changed outside offersync).
pub fn change_a_bit_of_everything(t: &TestContext) {
    let sandbox = t.sandbox();
    sandbox
        .set_source_payout("trimrx", 1, "Upsell", rust_decimal::Decimal::new(31050, 2))
        .unwrap();
    sandbox
        .edit_source_offer("trimrx", 1, |offer| {
            let relationship = &mut offer["relationship"];
            let urls = relationship["urls"]["entries"].as_array_mut().unwrap();
            urls.retain(|url| url["network_offer_url_id"] != 101);
            urls.push(serde_json::json!({
                "network_offer_url_id": 105, "name": "Spring Promo", "preview_url": ""
            }));
            relationship["creatives"]["entries"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "network_offer_creative_id": 1009,
                    "name": "Spring Video",
                    "creative_type": "video",
                    "creative_status": "active",
                    "resource_url": "https://cdn.trimrx.test/spring.mp4",
                    "width": 0,
                    "height": 0,
                    "html_code": ""
                }));
        })
        .unwrap();
    sandbox
        .set_landing_page("trimrx", 1, 105, "https://start.trimrx.test/spring")
        .unwrap();
    t.write("desired/trimrx.yaml", "offers:\n  - source_offer_id: 1\n");
    t.write(
        "desired/directmeds.yaml",
        &DESIRED_DIRECTMEDS.replace(
            "name: DirectMeds Online Pharmacy (RevShare)",
            "name: DirectMeds Pharmacy RevShare",
        ),
    );
    let id = t.destination_offer("directmeds", 12)["network_offer_id"]
        .as_u64()
        .unwrap();
    sandbox
        .edit_destination_offer(id, |offer| {
            offer.insert("name".into(), "Renamed by hand".into());
        })
        .unwrap();
    sandbox
        .set_advertiser_token(
            t.fixtures.sources[0].destination_advertiser_id,
            "someone-else-set-this",
        )
        .unwrap();
    let pixel = sandbox
        .source_pixels("trimrx")
        .into_iter()
        .find(|pixel| pixel["network_offer_id"] == 1 && pixel["pixel_type"] == "conversion")
        .expect("trimrx/1 has a conversion pixel");
    sandbox
        .edit_source_pixel(
            "trimrx",
            pixel["network_pixel_id"].as_u64().unwrap(),
            |pixel| {
                pixel.insert("pixel_status".into(), "inactive".into());
            },
        )
        .unwrap();
}
