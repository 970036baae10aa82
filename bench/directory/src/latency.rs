//! Latency samples and their summary (rate, p50, p99), per phase or per tenth of a phase.

use std::fmt;
use std::time::Duration;

/// One timed request: when it started and ended (from the run's start) and whether its status
/// was the one the harness expected.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Start, from the run's start.
    pub start: Duration,
    /// End, from the run's start.
    pub end: Duration,
    /// The status was what this request should get.
    pub ok: bool,
}

/// The summary of a set of samples.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Requests in the set.
    pub requests: usize,
    /// Requests whose status was not the expected one.
    pub unexpected: usize,
    /// Requests per second over the wall time the set spans.
    pub rate: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
}

impl Summary {
    /// Summarises `samples` (any order).
    pub fn of(samples: &[Sample]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut latencies: Vec<Duration> = samples.iter().map(|s| s.end - s.start).collect();
        latencies.sort_unstable();
        let first = samples.iter().map(|s| s.start).min().unwrap_or_default();
        let last = samples.iter().map(|s| s.end).max().unwrap_or_default();
        let span = (last - first).as_secs_f64().max(1e-9);
        Summary {
            requests: samples.len(),
            unexpected: samples.iter().filter(|s| !s.ok).count(),
            rate: samples.len() as f64 / span,
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
        }
    }
}

/// The `pct` percentile of sorted latencies (nearest rank).
fn percentile(sorted: &[Duration], pct: f64) -> Duration {
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>8} req {:>9.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms{}",
            self.requests,
            self.rate,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            if self.unexpected > 0 {
                format!("  ({} unexpected statuses)", self.unexpected)
            } else {
                String::new()
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_rate_and_unexpected_counts() {
        let samples: Vec<Sample> = (0..100)
            .map(|i| Sample {
                start: ms(i * 10),
                end: ms(i * 10 + i + 1),
                ok: i != 7,
            })
            .collect();
        let summary = Summary::of(&samples);
        assert_eq!(summary.requests, 100);
        assert_eq!(summary.unexpected, 1);
        assert_eq!(summary.p50, ms(50));
        assert_eq!(summary.p99, ms(99));
        // 100 requests between 0 and 1,090 ms.
        assert!(
            (summary.rate - 100.0 / 1.09).abs() < 0.01,
            "{}",
            summary.rate
        );
    }

    #[test]
    fn no_samples_summarise_to_zero() {
        assert_eq!(Summary::of(&[]).requests, 0);
    }
}
