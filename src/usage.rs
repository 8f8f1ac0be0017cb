//! What this process has used so far: CPU time and resident memory, from Linux's
//! `/proc/self`. Elsewhere, or where `/proc` refuses, the answers are `None`.
//!
//! `OFFERSYNC_LOG=debug` ends every run with these figures; the fleet benchmark reads
//! them, and measures its in-process phases with the same functions.

use std::time::Duration;

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux, whose USER_HZ it is.
const TICKS_PER_SEC: u64 = 100;

/// User and system time of every thread the process has had, to the clock tick (10 ms):
/// `utime + stime` of `/proc/self/stat` (fields 14 and 15, counted after the `)` that
/// ends the command name, which may hold spaces).
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SEC,
    ))
}

/// The resident set now (`VmRSS`), in KiB.
pub fn resident_kib() -> Option<u64> {
    status_kib("VmRSS")
}

/// The most the resident set has been (`VmHWM`), in KiB: since the process started, or
/// since [`reset_peak`].
pub fn peak_resident_kib() -> Option<u64> {
    status_kib("VmHWM")
}

/// Sets the peak back to the resident set now (writing `5` to `clear_refs`); whether
/// the kernel allowed it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `kB` field of `/proc/self/status`, e.g. `VmHWM:   123456 kB`.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_answers_and_the_peak_is_at_least_the_resident_set() {
        let resident = resident_kib().expect("VmRSS on Linux");
        let peak = peak_resident_kib().expect("VmHWM on Linux");
        assert!(peak >= resident, "{peak} < {resident}");
        assert!(cpu_time().is_some());
    }
}
