//! Fault injection settings and the seeded PRNG that decides which request gets one.
//!
//! Semantics (applied by `pipeline.rs` to `/v1` requests that passed authentication):
//! - `burst_429`: the next N such requests get 429 `Too Many Requests` with
//!   `X-RateLimit-Remaining: 0`; they do not use up the real quota.
//! - `error_rate`: probability of a 500 `{"Error":"internal error"}` before the
//!   route runs, so nothing changes.
//! - `drop_after_commit_rate`: for a write (POST/PUT/PATCH/DELETE, not `*table`
//!   searches) whose route answered 2xx, probability that the response is cut:
//!   the status line and headers go out, then the connection is closed before any
//!   body byte (see `conn.rs`). The effect is committed; the client sees a body
//!   read error.
//!
//! Reproducibility: one xorshift64* stream per sandbox. Every request that reaches
//! the fault stage draws exactly two numbers (error roll, drop roll) whatever the
//! settings are, so a sequential client sees the same faults on the same requests
//! for a given seed, even when rates change at runtime.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Faults to inject. `Default` injects none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability (0..=1) of a 500 before any effect.
    pub error_rate: f64,
    /// Probability (0..=1) that a successful write's response is cut after the commit.
    pub drop_after_commit_rate: f64,
    /// The next this-many authenticated requests get 429.
    pub burst_429: u32,
}

impl Faults {
    /// `None` when valid, else what is wrong.
    pub(crate) fn problem(&self) -> Option<String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("drop_after_commit_rate", self.drop_after_commit_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Some(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        None
    }

    /// Rates clamped into 0..=1 (NaN becomes 0), for settings that bypass validation.
    fn clamped(mut self) -> Faults {
        let clamp = |r: f64| if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        self.error_rate = clamp(self.error_rate);
        self.drop_after_commit_rate = clamp(self.drop_after_commit_rate);
        self
    }
}

/// xorshift64* (Vigna), seeded through splitmix64 so any seed, even 0, works.
#[derive(Debug, Clone)]
pub(crate) struct XorShift64Star {
    state: u64,
}

impl XorShift64Star {
    pub fn new(seed: u64) -> XorShift64Star {
        let s = splitmix64(seed);
        XorShift64Star {
            state: if s == 0 { 0x9e37_79b9_7f4a_7c15 } else { s },
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One splitmix64 step: a well-mixed function of `x` (also used for link tokens).
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What the fault stage decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Pass { drop_if_write: bool },
    Error500,
}

/// The mutable fault settings of a running sandbox.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    burst_left: u32,
    rng: XorShift64Star,
    pub latency: Duration,
}

impl FaultState {
    pub fn new(faults: Faults, latency: Duration, seed: u64) -> FaultState {
        let faults = faults.clamped();
        FaultState {
            burst_left: faults.burst_429,
            faults,
            rng: XorShift64Star::new(seed),
            latency,
        }
    }

    pub fn set_faults(&mut self, faults: Faults) {
        let faults = faults.clamped();
        self.burst_left = faults.burst_429;
        self.faults = faults;
    }

    pub fn faults(&self) -> Faults {
        Faults {
            burst_429: self.burst_left,
            ..self.faults.clone()
        }
    }

    /// Uses up one forced 429, if any are left.
    pub fn take_burst(&mut self) -> bool {
        if self.burst_left > 0 {
            self.burst_left -= 1;
            true
        } else {
            false
        }
    }

    /// Draws the error and drop rolls for one request (always both).
    pub fn roll(&mut self) -> Decision {
        let error_roll = self.rng.next_f64();
        let drop_roll = self.rng.next_f64();
        if error_roll < self.faults.error_rate {
            return Decision::Error500;
        }
        Decision::Pass {
            drop_if_write: drop_roll < self.faults.drop_after_commit_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_decisions() {
        let faults = Faults {
            error_rate: 0.3,
            drop_after_commit_rate: 0.3,
            burst_429: 0,
        };
        let run = |seed| {
            let mut s = FaultState::new(faults.clone(), Duration::ZERO, seed);
            (0..64).map(|_| s.roll()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let errors = run(7).iter().filter(|d| **d == Decision::Error500).count();
        assert!(
            (5..40).contains(&errors),
            "{errors} errors of 64 at rate 0.3"
        );
    }

    #[test]
    fn burst_runs_out() {
        let mut s = FaultState::new(
            Faults {
                burst_429: 2,
                ..Faults::default()
            },
            Duration::ZERO,
            1,
        );
        assert!(s.take_burst());
        assert_eq!(s.faults().burst_429, 1);
        assert!(s.take_burst());
        assert!(!s.take_burst());
        assert_eq!(s.faults().burst_429, 0);
    }

    #[test]
    fn rates_are_validated_and_clamped() {
        let bad = Faults {
            error_rate: 1.5,
            ..Faults::default()
        };
        assert!(bad.problem().unwrap().contains("error_rate"));
        assert_eq!(bad.clamped().error_rate, 1.0);
        assert_eq!(Faults::default().problem(), None);
    }

    #[test]
    fn next_f64_is_in_unit_interval() {
        let mut r = XorShift64Star::new(0);
        for _ in 0..1000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
