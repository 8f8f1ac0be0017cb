//! The figures of a run: per phase, requests per rate-limit bucket, 429s, memory and the
//! floor, as a readable table and as JSON (`--json FILE`). It computes them from the
//! sandbox's request log; running the phases is the caller's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::time::Duration;

use offersync::sandbox::LoggedRequest;
use serde::Serialize;

use crate::Settings;
use crate::floor::{self, Kind};
use crate::shape::Shape;
use crate::usage::{self, Usage};

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub settings: Settings,
    /// What the first apply created, per offer.
    pub shape: Option<Shape>,
    pub phases: Vec<PhaseFigures>,
}

/// Requests of one bucket (or all of them).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub total: u64,
    pub reads: u64,
    pub writes: u64,
    pub responses_429: u64,
}

impl Counts {
    fn add(&mut self, request: &LoggedRequest) {
        self.total += 1;
        if request.is_write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
        if request.status == 429 {
            self.responses_429 += 1;
        }
    }
}

/// One rate-limit bucket in one phase.
#[derive(Clone, Debug, Serialize)]
pub struct Bucket {
    /// `network:7001`, `affiliate:trimrx`; empty for requests without a known key.
    pub bucket: String,
    pub requests: Counts,
    /// Requests the bucket allows per window; none for a bucket without a limit.
    pub quota_per_window: Option<u64>,
    /// The time the limit forces for this bucket's requests (429s not counted: they
    /// did not use the quota, and a perfect client would not make them).
    pub rate_floor_secs: f64,
}

/// The least time the phase's requests need, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Floor {
    /// The larger of `rate_secs` and `path_secs`.
    pub secs: f64,
    pub rate_secs: f64,
    /// The bucket that sets the rate floor (the first of equals), if any.
    pub rate_bucket: Option<String>,
    /// The longest chain of dependent round trips, by request kind.
    pub critical_path: Vec<Kind>,
    pub latency_ms: u64,
    /// `critical_path.len()` x latency.
    pub path_secs: f64,
}

/// A condition the phase must meet, and whether it did.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
}

/// The figures of one phase.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseFigures {
    pub name: &'static str,
    /// The command line, e.g. `offersync apply --auto-approve`.
    pub command: String,
    pub exit_code: i32,
    /// Time slept before the phase so that every bucket started with a full quota.
    pub waited_secs: u64,
    pub wall_secs: f64,
    pub requests: Counts,
    pub buckets: Vec<Bucket>,
    pub usage: Usage,
    pub floor: Floor,
    /// Wall time over the floor; none when the floor is zero.
    pub wall_over_floor: Option<f64>,
    pub checks: Vec<Check>,
}

/// What the caller measured of one phase, besides the log.
#[derive(Debug)]
pub struct Measured {
    pub name: &'static str,
    pub command: String,
    pub exit_code: i32,
    pub waited: Duration,
    pub wall: Duration,
    pub usage: Usage,
}

impl PhaseFigures {
    /// The figures of a phase that made the requests in `log`.
    pub fn new(measured: Measured, log: &[LoggedRequest], settings: &Settings) -> Self {
        let window = Duration::from_secs(settings.window_secs);
        let mut requests = Counts::default();
        let mut by_bucket: BTreeMap<&str, Counts> = BTreeMap::new();
        for request in log {
            requests.add(request);
            by_bucket.entry(&request.bucket).or_default().add(request);
        }
        let buckets: Vec<Bucket> = by_bucket
            .into_iter()
            .map(|(bucket, counts)| {
                let rate = if bucket.starts_with("network:") {
                    Some(settings.network_rate)
                } else if bucket.starts_with("affiliate:") {
                    Some(settings.affiliate_rate)
                } else {
                    None
                };
                let quota = rate.map(|rate| u64::from(rate) * settings.window_secs);
                let used = counts.total - counts.responses_429;
                let rate_floor = quota.map_or(Duration::ZERO, |quota| {
                    floor::rate_floor(used, quota, window)
                });
                Bucket {
                    bucket: bucket.to_owned(),
                    requests: counts,
                    quota_per_window: quota,
                    rate_floor_secs: rate_floor.as_secs_f64(),
                }
            })
            .collect();
        let kinds: BTreeSet<Kind> = log
            .iter()
            .map(|r| Kind::of(&r.method, &r.path, r.is_write))
            .collect();
        let critical_path = floor::critical_path(&kinds);
        let latency = Duration::from_millis(settings.latency_ms);
        let path_secs = (latency * critical_path.len() as u32).as_secs_f64();
        let slowest = buckets
            .iter()
            .filter(|bucket| bucket.rate_floor_secs > 0.0)
            .rev()
            .max_by(|a, b| a.rate_floor_secs.total_cmp(&b.rate_floor_secs));
        let rate_secs = slowest.map_or(0.0, |bucket| bucket.rate_floor_secs);
        let floor = Floor {
            secs: rate_secs.max(path_secs),
            rate_secs,
            rate_bucket: slowest.map(|bucket| bucket.bucket.clone()),
            critical_path,
            latency_ms: settings.latency_ms,
            path_secs,
        };
        let wall_secs = measured.wall.as_secs_f64();
        PhaseFigures {
            name: measured.name,
            command: measured.command,
            exit_code: measured.exit_code,
            waited_secs: measured.waited.as_secs(),
            wall_secs,
            requests,
            buckets,
            usage: measured.usage,
            wall_over_floor: (floor.secs > 0.0).then(|| wall_secs / floor.secs),
            floor,
            checks: Vec::new(),
        }
    }

    /// Records whether `ok` holds.
    pub fn check(&mut self, what: impl Into<String>, ok: bool) {
        self.checks.push(Check {
            what: what.into(),
            ok,
        });
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.ok)
    }
}

impl fmt::Display for PhaseFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "exit {}, wall {:.2} s, CPU {}, peak memory {} (baseline RSS {})",
            self.exit_code,
            self.wall_secs,
            usage::show_cpu(self.usage.cpu_secs),
            usage::show(self.usage.peak_kib),
            usage::show(self.usage.baseline_kib)
        )?;
        writeln!(
            f,
            "  {:<24} {:>6} {:>7} {:>6} {:>4} {:>13} {:>11}",
            "bucket", "reads", "writes", "total", "429", "quota/window", "rate floor"
        )?;
        for bucket in &self.buckets {
            let quota = bucket
                .quota_per_window
                .map_or_else(|| "-".to_owned(), |quota| quota.to_string());
            writeln!(
                f,
                "  {:<24} {:>6} {:>7} {:>6} {:>4} {:>13} {:>9.1} s",
                if bucket.bucket.is_empty() {
                    "(no bucket)"
                } else {
                    &bucket.bucket
                },
                bucket.requests.reads,
                bucket.requests.writes,
                bucket.requests.total,
                bucket.requests.responses_429,
                quota,
                bucket.rate_floor_secs
            )?;
        }
        writeln!(
            f,
            "  {:<24} {:>6} {:>7} {:>6} {:>4}",
            "all",
            self.requests.reads,
            self.requests.writes,
            self.requests.total,
            self.requests.responses_429
        )?;
        let floor = &self.floor;
        let rate = match &floor.rate_bucket {
            Some(bucket) => format!("rate floor {:.2} s ({bucket})", floor.rate_secs),
            None => format!("rate floor {:.2} s", floor.rate_secs),
        };
        writeln!(
            f,
            "floor {:.2} s = max({rate}, critical path {} round trips x {} ms = {:.2} s); wall/floor {}",
            floor.secs,
            floor.critical_path.len(),
            floor.latency_ms,
            floor.path_secs,
            ratio(self.wall_over_floor)
        )?;
        let path: Vec<&str> = floor
            .critical_path
            .iter()
            .map(|kind| kind.label())
            .collect();
        writeln!(
            f,
            "critical path: {}",
            if path.is_empty() {
                "(no requests)".to_owned()
            } else {
                path.join(" -> ")
            }
        )?;
        for check in &self.checks {
            writeln!(
                f,
                "check: {} .. {}",
                check.what,
                if check.ok { "ok" } else { "FAILED" }
            )?;
        }
        Ok(())
    }
}

fn ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "n/a (floor 0)".to_owned(), |r| format!("{r:.1}x"))
}

impl Report {
    /// One line per phase: the figures side by side.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<20} {:>9} {:>8} {:>7} {:>4} {:>9} {:>10} {:>8} {:>11}",
            "phase",
            "wall",
            "requests",
            "writes",
            "429",
            "floor",
            "wall/floor",
            "CPU",
            "peak memory"
        );
        for phase in &self.phases {
            let _ = writeln!(
                out,
                "{:<20} {:>7.2} s {:>8} {:>7} {:>4} {:>7.2} s {:>10} {:>8} {:>11}",
                phase.name,
                phase.wall_secs,
                phase.requests.total,
                phase.requests.writes,
                phase.requests.responses_429,
                phase.floor.secs,
                phase
                    .wall_over_floor
                    .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.1}x")),
                usage::show_cpu(phase.usage.cpu_secs),
                usage::show(phase.usage.peak_kib)
            );
        }
        out
    }
}
