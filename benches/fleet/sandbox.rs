//! The sandbox in a child process (`offersync sandbox`), so that its CPU and memory are
//! not counted as the tool's, and its control endpoints (`/_sandbox/...`: the request
//! log, source-side changes), which are neither rate-limited nor logged.
//!
//! The child is killed when [`SandboxProcess`] is dropped, on a panic too.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};
use offersync::sandbox::LoggedRequest;
use serde_json::Value;

/// How the sandbox answers: Everflow's limits (or others) and a latency.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub latency_ms: u64,
    pub network_rate: u32,
    pub affiliate_rate: u32,
    pub window_secs: u64,
}

/// A running `offersync sandbox` child.
pub struct SandboxProcess {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl SandboxProcess {
    /// Starts the sandbox on a free loopback port with the fixtures in `fixtures`, and
    /// has it write the `.env.local` for itself to `env_out`. Returns once it listens.
    pub fn start(fixtures: &Path, env_out: &Path, limits: Limits) -> anyhow::Result<Self> {
        let binary = env!("CARGO_BIN_EXE_offersync");
        let mut child = Command::new(binary)
            // Nothing of the developer's environment: no real keys, no colour.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .arg("sandbox")
            .args(["--port", "0"])
            .arg("--fixtures")
            .arg(fixtures)
            .arg("--env-out")
            .arg(env_out)
            .args(["--latency-ms", &limits.latency_ms.to_string()])
            .args(["--network-rate", &limits.network_rate.to_string()])
            .args(["--affiliate-rate", &limits.affiliate_rate.to_string()])
            .args(["--rate-window", &limits.window_secs.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{binary} sandbox`"))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        // From here on, dropping `process` stops the child, whatever goes wrong.
        let mut process = SandboxProcess {
            child,
            url: String::new(),
            client: client()?,
        };
        let mut lines = BufReader::new(stderr).lines();
        let mut said = String::new();
        // It says it listens after writing the env file; anything else is a failure.
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(line)) => {
                    said.push_str(&line);
                    said.push('\n');
                }
                Some(Err(_)) | None => {
                    let status = process.child.wait()?;
                    bail!("the sandbox stopped before listening ({status}):\n{said}");
                }
            }
        }
        // The rest of what it says (warnings, if any) is passed on, and the pipe never
        // fills up.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("sandbox: {line}");
            }
        });
        let env = std::fs::read_to_string(env_out)
            .with_context(|| format!("cannot read {}", env_out.display()))?;
        process.url = env
            .lines()
            .find_map(|line| line.strip_prefix("EVERFLOW_API_URL="))
            .context("the sandbox's env file has no EVERFLOW_API_URL")?
            .to_owned();
        Ok(process)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Empties the request log (`DELETE /_sandbox/requests`).
    pub async fn clear_requests(&self) -> anyhow::Result<()> {
        self.client
            .delete(format!("{}/_sandbox/requests", self.url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Every `/v1` request since the log was last emptied (`GET /_sandbox/requests`).
    pub async fn requests(&self) -> anyhow::Result<Vec<LoggedRequest>> {
        let response = self
            .client
            .get(format!("{}/_sandbox/requests", self.url))
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }

    /// Changes a source offer's payout, as the source network's staff would
    /// (`PATCH /_sandbox/sources/{network}/offers/{id}/payouts/{entry_name}`).
    pub async fn set_source_payout(
        &self,
        network: &str,
        offer_id: u64,
        entry_name: &str,
        amount: Value,
    ) -> anyhow::Result<()> {
        let url = format!(
            "{}/_sandbox/sources/{network}/offers/{offer_id}/payouts/{entry_name}",
            self.url
        );
        let response = self
            .client
            .patch(url)
            .json(&serde_json::json!({ "payout_amount": amount }))
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!(
                "cannot change the payout of {network}/{offer_id} `{entry_name}`: {status} {body}"
            );
        }
        Ok(())
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    offersync::http::install_crypto_provider();
    Ok(reqwest::Client::builder().build()?)
}
