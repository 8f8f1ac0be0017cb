//! Peak memory of one phase, from Linux's `/proc/self`: writing `5` to `clear_refs`
//! resets the high-water mark (`VmHWM`) to the current resident set (`VmRSS`), so the
//! mark read after the phase is that phase's peak. Elsewhere, or where `/proc` refuses,
//! the figures are absent and printed as `n/a`.

use serde::Serialize;

/// Resident memory around one phase, in KiB.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Memory {
    /// `VmRSS` just before the phase.
    pub baseline_kib: Option<u64>,
    /// `VmHWM` just after it (the peak during the phase).
    pub peak_kib: Option<u64>,
}

/// Starts measuring: resets the high-water mark and reads the baseline.
pub fn start() -> Tracker {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    Tracker {
        reset,
        baseline_kib: status_kib("VmRSS"),
    }
}

/// A phase being measured.
#[derive(Debug)]
pub struct Tracker {
    reset: bool,
    baseline_kib: Option<u64>,
}

impl Tracker {
    /// The figures, once the phase is over. Without a reset the mark would be the whole
    /// process's peak, not the phase's, so it is not reported.
    pub fn finish(self) -> Memory {
        Memory {
            baseline_kib: self.baseline_kib,
            peak_kib: self.reset.then(|| status_kib("VmHWM")).flatten(),
        }
    }
}

/// A `kB` field of `/proc/self/status`, e.g. `VmHWM:   123456 kB`.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// `12.3 MiB`, or `n/a`.
pub fn show(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}
