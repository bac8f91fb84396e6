//! The one retry mechanism every Blob service request goes through.

use std::future::Future;
use std::time::{Duration, Instant};

use super::AzureError;

/// Longest `Retry-After` we honour; a server asking for more is treated as this, so a bad header
/// cannot park a run for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Request-level retries: exponential backoff with full jitter, honouring `Retry-After`, only for
/// errors that [`AzureError::is_retriable`] says may clear.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    /// Backoff ceiling before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// Largest backoff between two attempts.
    pub max_backoff: Duration,
    /// No retry starts after this much time has passed since the first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Four attempts spread over a few seconds ride out a throttled or restarting service
        // without making a dead endpoint look like a hang.
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(400),
            max_backoff: Duration::from_secs(15),
            deadline: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Runs `attempt` until it succeeds, fails permanently, or retries run out.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, AzureError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, AzureError>>,
    {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            match attempt(retry).await {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_retriable() || retry >= self.max_retries => return Err(e),
                Err(e) => {
                    let wait = self.delay(retry, e.retry_after());
                    if started.elapsed() + wait > self.deadline {
                        return Err(e);
                    }
                    tracing::debug!(retry = retry + 1, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
            }
        }
    }

    /// The wait before retry number `retry + 1`: the server's `Retry-After` when it sent one,
    /// else a random delay up to the exponential ceiling ("full jitter", so that many clients
    /// throttled together do not retry together).
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(MAX_RETRY_AFTER);
        }
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << retry.min(16))
            .min(self.max_backoff);
        ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::azure::AzureErrorKind;

    fn err(status: u16) -> AzureError {
        AzureError {
            operation: "Put Block",
            target: "t".into(),
            kind: AzureErrorKind::Service {
                status,
                code: None,
                message: None,
                retry_after: None,
            },
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        }
    }

    #[tokio::test]
    async fn retries_transient_then_succeeds() {
        let calls = AtomicU32::new(0);
        let out = fast()
            .run(|_| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(err(503))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn never_retries_permanent_errors() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = fast()
            .run(|_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err(403))
            })
            .await;
        assert_eq!(out.unwrap_err().status(), Some(403));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = fast()
            .run(|_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err(500))
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let p = RetryPolicy::default();
        for retry in 0..10 {
            let d = p.delay(retry, None);
            let ceiling = p
                .initial_backoff
                .saturating_mul(1 << retry)
                .min(p.max_backoff);
            assert!(
                d <= ceiling && d >= ceiling / 2,
                "retry {retry}: {d:?} vs {ceiling:?}"
            );
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER);
    }
}
