//! Process-wide settings of the cloud client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::endpoint::Product;

/// Lets the operator's metrics see every call without the client knowing Prometheus.
pub trait CallObserver: Send + Sync {
    /// One logical call finished (after all its retries). `outcome` is `ok`, `throttled`,
    /// `transient`, `not_found`, `invalid_state` or `terminal`.
    fn call_finished(&self, product: &str, action: &str, outcome: &str, latency: Duration);

    /// A call waited for the client-side rate limiter.
    fn rate_limited(&self, _product: &str, _waited: Duration) {}

    /// A reconcile's call got no token: it was not sent, and the reconcile comes back after
    /// `wait`.
    fn queued(&self, _product: &str, _priority: &str, _wait: Duration) {}

    /// An attempt failed and the call will be retried after `delay`.
    fn retrying(&self, _product: &str, _action: &str, _attempt: u32, _delay: Duration) {}
}

/// Retries of one call: exponential backoff with jitter (from `backon`), bounded by attempts,
/// by `max_delay` per wait, and by [`CloudConfig::call_deadline`] overall.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = no retries).
    pub max_attempts: u32,
    /// Wait before the first retry; it doubles on every further retry.
    pub base_delay: Duration,
    /// Upper bound of one wait, also applied to a server's `x-acs-retry-after` (as the SDK does).
    pub max_delay: Duration,
    /// Add random jitter (up to the current delay) so that many callers do not retry in step.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(20),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The waits between attempts, in order (one fewer than `max_attempts`).
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize);
        if self.jitter {
            builder = builder.with_jitter();
        }
        let cap = self.max_delay;
        builder.build().map(move |d| d.min(cap))
    }
}

/// A token bucket (GCRA): `per_second` sustained, up to `burst` at once. On a per-action lane
/// (a documented limit) any one-second window then holds at most `per_second + burst - 1`
/// calls — the figure to compare with the documented one. A product lane (the operator's own
/// ceiling, nothing documented) lets a reconcile that makes several calls take up to 8 tokens
/// at its turn and spend them back to back, so its windows can hold a few more: the cloud
/// benchmark measured 11 MMS calls in one second at 2,500 objects against 8/s with burst 2.
/// `per_second == 0` disables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_second: u32,
    /// Calls allowed at once before the rate applies.
    pub burst: u32,
}

impl RateLimit {
    /// Evenly spaced calls: `per_second` per second, no burst (so never more than `per_second`
    /// in any one-second window).
    pub const fn per_second(per_second: u32) -> Self {
        Self {
            per_second,
            burst: 1,
        }
    }

    /// The most calls any one-second window can hold.
    pub fn max_in_any_second(&self) -> u32 {
        if self.per_second == 0 {
            u32::MAX
        } else {
            self.per_second + self.burst.max(1) - 1
        }
    }

    /// No limit.
    pub const fn unlimited() -> Self {
        Self {
            per_second: 0,
            burst: 0,
        }
    }
}

/// Client-side rate limits, applied per credential identity (the "account": a fingerprint of
/// the AccessKey or role, never the secret) **and region**, before every attempt.
///
/// The most specific rule wins: an action rule replaces (does not add to) its product's rule.
///
/// Defaults (at most this many calls in any one-second window, per identity and region; the
/// documented limits are in `docs/cloud-apis.md#documented-rate-limits`):
/// * DTS `DescribeDtsJobDetail`: 25/s, burst 10 → ≤ 34 — under the documented 40 per account
///   per region, with room for clock skew between us and the gateway.
/// * DTS, everything else: 8/s, burst 2 → ≤ 9 — undocumented; chosen well below the one
///   documented figure, and still far above what many `DtsMigration`s polling every few
///   seconds need.
/// * MaxCompute MMS: 8/s, burst 2 → ≤ 9 — MMS publishes no limits.
/// * STS: 4/s, burst 1 → ≤ 4 — exchanges are cached, so only a cold start of many identities
///   gets near it.
/// * DataWorks: 4/s, burst 1 → ≤ 4 — under the documented 5 QPS for all DataWorks OpenAPI calls
///   of an account in a region on Basic/Standard/Professional; the operator's own calls are a
///   small share of that budget.
/// * OpenPlatform: 2/s, burst 1 — one upload grant per package.
/// * OSS (package up- and downloads): unlimited — they are not OpenAPI calls.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// MaxCompute MMS.
    pub mms: RateLimit,
    /// DTS.
    pub dts: RateLimit,
    /// STS credential exchanges.
    pub sts: RateLimit,
    /// DataWorks.
    pub dataworks: RateLimit,
    /// OpenPlatform (upload grants).
    pub openplatform: RateLimit,
    /// Per-action rules: `(product, action, limit)`.
    pub actions: Vec<(Product, String, RateLimit)>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            mms: RateLimit {
                per_second: 8,
                burst: 2,
            },
            dts: RateLimit {
                per_second: 8,
                burst: 2,
            },
            sts: RateLimit {
                per_second: 4,
                burst: 1,
            },
            dataworks: RateLimit::per_second(4),
            openplatform: RateLimit::per_second(2),
            actions: vec![(
                Product::Dts,
                "DescribeDtsJobDetail".to_string(),
                RateLimit {
                    per_second: 25,
                    burst: 10,
                },
            )],
        }
    }
}

impl RateLimits {
    /// No client-side limits (tests, or when a proxy enforces them).
    pub fn unlimited() -> Self {
        Self {
            mms: RateLimit::unlimited(),
            dts: RateLimit::unlimited(),
            sts: RateLimit::unlimited(),
            dataworks: RateLimit::unlimited(),
            openplatform: RateLimit::unlimited(),
            actions: Vec::new(),
        }
    }

    pub(crate) fn for_product(&self, product: Product) -> RateLimit {
        match product {
            Product::Mms => self.mms,
            Product::Dts => self.dts,
            Product::Sts => self.sts,
            Product::DataWorks => self.dataworks,
            Product::OpenPlatform => self.openplatform,
            Product::Oss => RateLimit::unlimited(),
        }
    }
}

/// Settings of a [`Cloud`](super::Cloud), built once per process.
#[derive(Clone)]
pub struct CloudConfig {
    /// Send every call (MaxCompute, DTS and STS) to this base URL instead of the regional
    /// endpoints, e.g. `http://127.0.0.1:18080` for the simulator. The `host` header (and the
    /// signature) then name that host and port.
    pub endpoint_override: Option<String>,
    /// Use the VPC endpoints (`maxcompute-vpc.<region>`, `sts-vpc.<region>`); DTS has none.
    pub vpc_endpoints: bool,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one attempt: sending the request and reading the whole response.
    pub attempt_timeout: Duration,
    /// Time for a whole call, retries and waits included.
    pub call_deadline: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Client-side rate limits.
    pub rate_limits: RateLimits,
    /// The `user-agent` header.
    pub user_agent: String,
    /// Requested lifetime of STS credentials (`DurationSeconds`, 900..=43200).
    pub sts_duration: Duration,
    /// Sees every call, for metrics.
    pub observer: Option<Arc<dyn CallObserver>>,
}

impl Default for CloudConfig {
    fn default() -> Self {
        Self {
            endpoint_override: None,
            vpc_endpoints: false,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
            call_deadline: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::default(),
            user_agent: concat!("aliyun-migration-operator/", env!("CARGO_PKG_VERSION"))
                .to_string(),
            sts_duration: Duration::from_secs(3600),
            observer: None,
        }
    }
}

impl fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConfig")
            .field("endpoint_override", &self.endpoint_override)
            .field("vpc_endpoints", &self.vpc_endpoints)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("call_deadline", &self.call_deadline)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("user_agent", &self.user_agent)
            .field("sts_duration", &self.sts_duration)
            .field("observer", &self.observer.as_ref().map(|_| "..."))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_and_stay_capped() {
        let policy = RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            jitter: false,
        };
        let delays: Vec<u128> = policy.delays().map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        let jittered = RetryPolicy {
            jitter: true,
            ..policy
        };
        for (i, d) in jittered.delays().enumerate() {
            let floor = [100, 200, 400, 500, 500][i];
            assert!(d.as_millis() >= floor && d.as_millis() <= 500, "{d:?}");
        }
        assert_eq!(RetryPolicy::none().delays().count(), 0);
    }

    #[test]
    fn default_limits_stay_under_the_documented_figure() {
        let limits = RateLimits::default();
        let detail = limits
            .actions
            .iter()
            .find(|(p, a, _)| *p == Product::Dts && a == "DescribeDtsJobDetail")
            .unwrap()
            .2;
        assert!(detail.max_in_any_second() <= 35);
        assert!(
            limits.dataworks.max_in_any_second() < 5,
            "DataWorks: 5 QPS per account"
        );
        for l in [limits.mms, limits.dts, limits.sts] {
            assert!(l.max_in_any_second() <= 10);
        }
    }
}
