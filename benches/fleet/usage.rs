//! Peak memory and CPU time of one phase (see `offersync::usage`): the high-water mark
//! is reset to the resident set before the phase, so the mark read after it is that
//! phase's peak. Where `/proc` refuses, the figures are absent and printed as `n/a`.

use std::time::Duration;

use offersync::usage;
use serde::Serialize;

/// Resident memory around one phase, in KiB, and the CPU time it took.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Usage {
    /// `VmRSS` just before the phase.
    pub baseline_kib: Option<u64>,
    /// `VmHWM` just after it (the peak during the phase).
    pub peak_kib: Option<u64>,
    /// User and system time of the process that ran the phase, to the clock tick (10 ms).
    pub cpu_secs: Option<f64>,
}

/// Starts measuring: resets the high-water mark and reads the baseline.
pub fn start() -> Tracker {
    Tracker {
        reset: usage::reset_peak(),
        baseline_kib: usage::resident_kib(),
        cpu: usage::cpu_time(),
    }
}

/// A phase being measured in this process.
#[derive(Debug)]
pub struct Tracker {
    reset: bool,
    baseline_kib: Option<u64>,
    cpu: Option<Duration>,
}

impl Tracker {
    /// The figures, once the phase is over. Without a reset the mark would be the whole
    /// process's peak, not the phase's, so it is not reported.
    pub fn finish(self) -> Usage {
        Usage {
            baseline_kib: self.baseline_kib,
            peak_kib: self.reset.then(usage::peak_resident_kib).flatten(),
            cpu_secs: self
                .cpu
                .zip(usage::cpu_time())
                .map(|(before, after)| after.saturating_sub(before).as_secs_f64()),
        }
    }
}

/// `0.42 s`, or `n/a`.
pub fn show_cpu(secs: Option<f64>) -> String {
    secs.map_or_else(|| "n/a".to_owned(), |secs| format!("{secs:.2} s"))
}

/// `12.3 MiB`, or `n/a`.
pub fn show(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}
