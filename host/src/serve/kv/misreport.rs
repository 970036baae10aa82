//! Test-only: a compare-and-swap whose answer cannot be trusted, as on Spin 4.1 with its Redis
//! backend (`crates/key-value-redis/src/store.rs`). With [`MisreportSwaps`] set, each swap's
//! outcome is reported the wrong way round with the given probability:
//! - a write that **landed** is reported as failed (Spin: the `UNWATCH <key>` it sends after
//!   EXEC is refused by Redis): the guest gets `cas-failed` with a fresh handle whose
//!   `current` already shows the value it wrote;
//! - a write that was **dropped** (the key had changed) is reported as done (Spin: an aborted
//!   EXEC comes back as Nil, which converts to success): the guest gets `ok`.
//!
//! The store itself stays correct: only the report lies. A service that verifies its writes
//! (reads back and looks for its own) still gives the right answer and loses nothing.
//! The draws come from a seeded generator, so a run can be repeated.

use std::sync::atomic::{AtomicU64, Ordering};

use super::SwapOutcome;
use crate::serve::config::MisreportSwaps;

/// Decides, swap by swap, whether to misreport, and counts what it did.
#[derive(Debug)]
pub(crate) struct Misreporter {
    settings: MisreportSwaps,
    /// The generator's state (SplitMix64, advanced atomically).
    state: AtomicU64,
}

/// SplitMix64's increment (the golden ratio in 64-bit fixed point).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Misreporter {
    pub(crate) fn new(settings: MisreportSwaps) -> Self {
        Misreporter {
            state: AtomicU64::new(settings.seed),
            settings,
        }
    }

    /// The outcome to report for a swap of `key` that really had `outcome`.
    pub(crate) fn report(&self, key: &str, outcome: SwapOutcome) -> SwapOutcome {
        if !self.draw() {
            return outcome;
        }
        let (reported, what) = match outcome {
            SwapOutcome::Swapped => (SwapOutcome::Conflict, "landed, reported as failed"),
            SwapOutcome::Conflict => (SwapOutcome::Swapped, "was dropped, reported as done"),
        };
        eprintln!("scim-host: test-only misreport: a swap of {key:?} {what}");
        reported
    }

    /// True with probability `rate`.
    fn draw(&self) -> bool {
        let z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let z = z ^ (z >> 31);
        // The top 53 bits as a uniform number in [0, 1).
        ((z >> 11) as f64 / (1_u64 << 53) as f64) < self.settings.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn misreporter(rate: f64) -> Misreporter {
        Misreporter::new(MisreportSwaps { rate, seed: 7 })
    }

    #[test]
    fn rate_zero_and_one_are_never_and_always() {
        let never = misreporter(0.0);
        let always = misreporter(1.0);
        for _ in 0..1000 {
            assert_eq!(
                never.report("k", SwapOutcome::Swapped),
                SwapOutcome::Swapped
            );
            assert_eq!(
                always.report("k", SwapOutcome::Swapped),
                SwapOutcome::Conflict
            );
            assert_eq!(
                always.report("k", SwapOutcome::Conflict),
                SwapOutcome::Swapped
            );
        }
    }

    #[test]
    fn the_rate_is_kept_and_the_draws_repeat_for_a_seed() {
        let run = || {
            let m = misreporter(0.25);
            (0..4000)
                .map(|_| m.report("k", SwapOutcome::Swapped) == SwapOutcome::Conflict)
                .collect::<Vec<bool>>()
        };
        let first = run();
        assert_eq!(first, run(), "the same seed gives the same draws");
        let misreported = first.iter().filter(|m| **m).count();
        assert!(
            (800..1200).contains(&misreported),
            "{misreported} of 4000 misreported at rate 0.25"
        );
    }
}
