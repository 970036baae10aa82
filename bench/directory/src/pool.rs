//! Runs numbered jobs on a fixed set of clients, one thread per client, each job recording the
//! requests it sends as [`Sample`]s against the run's start.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::client::{Client, Exchange};
use crate::latency::Sample;

/// Unexpected answers printed in full (to stderr) before the rest are only counted.
const SHOWN_UNEXPECTED: usize = 5;

/// What a job records its requests with.
pub(crate) struct Recorder<'a> {
    epoch: Instant,
    samples: Vec<Sample>,
    shown: &'a AtomicUsize,
}

impl Recorder<'_> {
    /// Sends a request and records it; its status should be one of `expected`.
    pub fn send(
        &mut self,
        client: &Client,
        method: &str,
        path: &str,
        body: Option<&str>,
        expected: &[u16],
    ) -> anyhow::Result<Exchange> {
        let start = self.epoch.elapsed();
        let exchange = client.send(method, path, body)?;
        let ok = expected.contains(&exchange.status);
        if !ok && self.shown.fetch_add(1, Ordering::Relaxed) < SHOWN_UNEXPECTED {
            eprintln!(
                "unexpected {} for {method} {path} (expected {expected:?}): {}",
                exchange.status,
                exchange.body.chars().take(400).collect::<String>()
            );
        }
        self.samples.push(Sample {
            start,
            end: self.epoch.elapsed(),
            ok,
        });
        Ok(exchange)
    }

    /// Marks the last recorded request as wrong although its status was right (its body was
    /// not what it should be).
    pub fn reject_last(&mut self, why: &str) {
        if let Some(last) = self.samples.last_mut() {
            if last.ok && self.shown.fetch_add(1, Ordering::Relaxed) < SHOWN_UNEXPECTED {
                eprintln!("wrong answer: {why}");
            }
            last.ok = false;
        }
    }
}

/// One job's result: what it returned and the samples of its requests.
pub(crate) struct Done<T> {
    pub value: Option<T>,
    pub samples: Vec<Sample>,
}

/// Runs jobs `0..jobs` on `clients` (each client takes the next job when it is free) and
/// returns each job's result, by job number. A job that fails (a transport error) has no value;
/// its error is printed and the run goes on.
pub(crate) fn run<T, F>(clients: &[Client], epoch: Instant, jobs: usize, job: F) -> Vec<Done<T>>
where
    T: Send,
    F: Fn(&Client, usize, &mut Recorder) -> anyhow::Result<T> + Sync,
{
    let next = AtomicUsize::new(0);
    let shown = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Done<T>>>> = Mutex::new((0..jobs).map(|_| None).collect());
    std::thread::scope(|scope| {
        for client in clients {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= jobs {
                        break;
                    }
                    let mut recorder = Recorder {
                        epoch,
                        samples: Vec::new(),
                        shown: &shown,
                    };
                    let value = match job(client, index, &mut recorder) {
                        Ok(value) => Some(value),
                        Err(error) => {
                            eprintln!("job {index} failed: {error:#}");
                            recorder.samples.push(Sample {
                                start: epoch.elapsed(),
                                end: epoch.elapsed(),
                                ok: false,
                            });
                            None
                        }
                    };
                    let done = Done {
                        value,
                        samples: recorder.samples,
                    };
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(done);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|done| {
            done.unwrap_or(Done {
                value: None,
                samples: Vec::new(),
            })
        })
        .collect()
}
