//! Client-side rate limiting (GCRA token buckets from `governor`), keyed by credential identity
//! and region, one bucket set per rule of [`RateLimits`].

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter as Governor};

use super::config::{RateLimit, RateLimits};
use super::endpoint::Product;

/// Bucket key: identity fingerprint and region.
type Key = (u64, String);

struct Rule {
    product: Product,
    action: Option<String>,
    limiter: Option<DefaultKeyedRateLimiter<Key>>,
}

pub(crate) struct RateLimiter {
    rules: Vec<Rule>,
}

fn limiter(limit: RateLimit) -> Option<DefaultKeyedRateLimiter<Key>> {
    let rate = NonZeroU32::new(limit.per_second)?;
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Some(Governor::keyed(Quota::per_second(rate).allow_burst(burst)))
}

impl RateLimiter {
    pub fn new(limits: &RateLimits) -> Self {
        let mut rules: Vec<Rule> = limits
            .actions
            .iter()
            .map(|(product, action, limit)| Rule {
                product: *product,
                action: Some(action.clone()),
                limiter: limiter(*limit),
            })
            .collect();
        for product in [
            Product::Mms,
            Product::Dts,
            Product::Sts,
            Product::DataWorks,
            Product::OpenPlatform,
        ] {
            rules.push(Rule {
                product,
                action: None,
                limiter: limiter(limits.for_product(product)),
            });
        }
        Self { rules }
    }

    /// Waits until the call may go; returns how long it waited.
    pub async fn acquire(
        &self,
        product: Product,
        action: &str,
        identity: u64,
        region: &str,
    ) -> Duration {
        let rule = self
            .rules
            .iter()
            .find(|r| r.product == product && r.action.as_deref().is_none_or(|a| a == action));
        let Some(limiter) = rule.and_then(|r| r.limiter.as_ref()) else {
            return Duration::ZERO;
        };
        let key = (identity, region.to_string());
        let start = Instant::now();
        if limiter.check_key(&key).is_err() {
            limiter.until_key_ready(&key).await;
        }
        start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sustained_rate_is_enforced_per_identity_and_region() {
        let limits = RateLimits {
            mms: RateLimit {
                per_second: 20,
                burst: 2,
            },
            ..RateLimits::unlimited()
        };
        let rl = RateLimiter::new(&limits);
        let start = Instant::now();
        for _ in 0..6 {
            rl.acquire(Product::Mms, "ListMmsJobs", 1, "cn-hangzhou")
                .await;
        }
        // 2 free (burst), then 4 more at 50 ms each.
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "{:?}",
            start.elapsed()
        );
        let other = Instant::now();
        rl.acquire(Product::Mms, "ListMmsJobs", 2, "cn-hangzhou")
            .await;
        rl.acquire(Product::Mms, "ListMmsJobs", 1, "cn-beijing")
            .await;
        rl.acquire(Product::Dts, "DescribeDtsJobs", 1, "cn-hangzhou")
            .await;
        assert!(
            other.elapsed() < Duration::from_millis(40),
            "other keys are independent"
        );
    }

    #[tokio::test]
    async fn action_rule_replaces_product_rule() {
        let limits = RateLimits {
            dts: RateLimit {
                per_second: 5,
                burst: 1,
            },
            actions: vec![(
                Product::Dts,
                "DescribeDtsJobDetail".into(),
                RateLimit::unlimited(),
            )],
            ..RateLimits::unlimited()
        };
        let rl = RateLimiter::new(&limits);
        let start = Instant::now();
        for _ in 0..5 {
            rl.acquire(Product::Dts, "DescribeDtsJobDetail", 1, "r")
                .await;
        }
        assert!(start.elapsed() < Duration::from_millis(40));
        rl.acquire(Product::Dts, "StartDtsJob", 1, "r").await;
        let waited = rl.acquire(Product::Dts, "StartDtsJob", 1, "r").await;
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
    }
}
