//! The retry loop around one logical call: the account's call budget before every attempt
//! (waited for in turn, or refused at once for a reconcile to requeue), backoff with
//! jitter between attempts (server `x-acs-retry-after`/`Retry-After` wins, capped by
//! `max_delay`), an overall deadline, the idempotency rule of
//! [`Idempotency`](super::transport::Idempotency), one tracing span per call, and the observer.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::{Instrument, Span, field};

use super::budget::Admission;
use super::cloud::CloudInner;
use super::endpoint::Product;
use super::error::Error;
use super::pacing::{Pacer, Pacing};
use super::transport::Idempotency;

/// What the loop needs to know about a call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallMeta<'a> {
    pub product: Product,
    pub action: &'a str,
    pub region: &'a str,
    /// Rate-limit identity (credential fingerprint).
    pub identity: u64,
    pub idempotency: Idempotency,
    pub pacer: &'a Pacer,
}

impl CloudInner {
    /// Takes a token from the account's budget for attempt number `attempt`: waits in turn, or
    /// (for a reconcile) fails at once with a `Queued` error saying how long to wait.
    pub(crate) async fn pace(&self, meta: &CallMeta<'_>, attempt: u32) -> Result<(), Error> {
        let Some(lane) = self
            .budget
            .lane(meta.product, meta.action, meta.identity, meta.region)
        else {
            return Ok(());
        };
        if attempt == 1 && meta.pacer.take_permit(&lane) {
            return Ok(());
        }
        match &meta.pacer.pacing {
            Pacing::Wait(priority) => {
                let waited = self.budget.acquire(&lane, *priority).await;
                if waited >= Duration::from_millis(1) {
                    tracing::debug!(waited_ms = waited.as_millis() as u64, "rate limited");
                    if let Some(observer) = &self.config.observer {
                        observer.rate_limited(meta.product.as_str(), waited);
                    }
                }
                Ok(())
            }
            Pacing::Requeue { ticket, priority } => {
                match self.budget.admit(&lane, ticket, *priority, true) {
                    Admission::Now => Ok(()),
                    Admission::Queued { wait, ahead } => {
                        if let Some(observer) = &self.config.observer {
                            observer.queued(meta.product.as_str(), priority.as_str(), wait);
                        }
                        Err(Error::queued(wait, ahead))
                    }
                }
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, runs out of attempts or of time.
    /// `attempt` receives the 1-based attempt number and must build (and sign) a fresh request
    /// each time.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        meta: CallMeta<'_>,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let span = tracing::debug_span!(
            "aliyun_call",
            product = meta.product.as_str(),
            action = meta.action,
            region = meta.region,
            attempt = field::Empty,
            request_id = field::Empty,
            latency_ms = field::Empty,
            outcome = field::Empty,
        );
        async move {
            let start = Instant::now();
            let deadline = start + self.config.call_deadline;
            let mut delays = self.config.retry.delays();
            let mut attempts = 0u32;
            let result = loop {
                attempts += 1;
                Span::current().record("attempt", attempts);
                if let Err(queued) = self.pace(&meta, attempts).await {
                    if attempts == 1 {
                        // Nothing was sent: not a call, nothing to report.
                        return Err(queued.with_call(meta.product.as_str(), meta.action));
                    }
                    break Err(queued);
                }
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break Err(Error::timeout("call deadline exceeded before sending"));
                }
                let outcome = tokio::time::timeout(remaining, attempt(attempts))
                    .await
                    .unwrap_or_else(|_| Err(Error::timeout("call deadline exceeded")));
                let err = match outcome {
                    Ok(value) => break Ok(value),
                    Err(err) => err,
                };
                if !meta.idempotency.allows_retry(&err) {
                    break Err(err);
                }
                let Some(backoff) = delays.next() else {
                    break Err(err);
                };
                let delay = err
                    .retry_after()
                    .map(|d| d.min(self.config.retry.max_delay))
                    .unwrap_or(backoff);
                if Instant::now() + delay >= deadline {
                    break Err(err);
                }
                // The text of a failure that a retry may still cure goes to trace only: at
                // debug, a call that then succeeds would read like an error (a throttled
                // attempt can be an HTTP 403 with an alarming message).
                tracing::trace!(attempt = attempts, error = %err, "attempt failed");
                tracing::debug!(
                    attempt = attempts,
                    delay_ms = delay.as_millis() as u64,
                    outcome = err.outcome_label(),
                    "attempt failed; retrying"
                );
                if let Some(observer) = &self.config.observer {
                    observer.retrying(meta.product.as_str(), meta.action, attempts, delay);
                }
                tokio::time::sleep(delay).await;
            };
            let latency = start.elapsed();
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.outcome_label(),
            };
            let span = Span::current();
            span.record("latency_ms", latency.as_millis() as u64);
            span.record("outcome", outcome);
            let latency_ms = latency.as_millis() as u64;
            match &result {
                Ok(_) if attempts > 1 => {
                    tracing::debug!(
                        outcome,
                        latency_ms,
                        attempts,
                        "call succeeded after retries"
                    )
                }
                Ok(_) => tracing::debug!(outcome, latency_ms, "call finished"),
                // An answer the caller expects and handles (the object is gone, or not in a
                // state for this operation): no error text, the caller decides what it means.
                Err(e) if e.is_not_found() || e.is_invalid_state() => {
                    tracing::debug!(
                        outcome,
                        latency_ms,
                        code = e.code().unwrap_or("-"),
                        "call answered"
                    )
                }
                Err(e) => tracing::debug!(outcome, latency_ms, error = %e, "call failed"),
            }
            if let Some(observer) = &self.config.observer {
                observer.call_finished(meta.product.as_str(), meta.action, outcome, latency);
            }
            result.map_err(|e| {
                e.with_call(meta.product.as_str(), meta.action)
                    .with_attempts(attempts)
            })
        }
        .instrument(span)
        .await
    }
}
