//! Per-second request limits per account and action (and per action over all accounts),
//! answered with `Throttling.User` and `x-acs-retry-after` like the gateway.

use std::collections::HashMap;
use std::time::Instant;

use super::scenario::RateLimitSpec;
use super::wire::ApiError;

/// Documented limits that apply unless the scenario overrides them
/// (`docs/cloud-apis.md#documented-rate-limits`).
const DOCUMENTED_PER_ACCOUNT: &[(&str, u32)] = &[("DescribeDtsJobDetail", 40)];
const DOCUMENTED_PER_REGION: &[(&str, u32)] = &[("DescribeDtsJobDetail", 160)];

/// Fixed one-second windows on the real clock.
#[derive(Debug)]
pub struct RateLimiter {
    spec: RateLimitSpec,
    origin: Instant,
    per_account: HashMap<(String, String), (u64, u32)>,
    per_region: HashMap<String, (u64, u32)>,
}

impl RateLimiter {
    /// Limits from the scenario.
    pub fn new(spec: RateLimitSpec) -> Self {
        Self {
            spec,
            origin: Instant::now(),
            per_account: HashMap::new(),
            per_region: HashMap::new(),
        }
    }

    /// The per-account limit of an action.
    pub fn account_limit(&self, action: &str) -> u32 {
        self.spec
            .per_account
            .get(action)
            .copied()
            .or_else(|| {
                DOCUMENTED_PER_ACCOUNT
                    .iter()
                    .find(|(a, _)| *a == action)
                    .map(|(_, l)| *l)
            })
            .unwrap_or(self.spec.per_account_default)
    }

    fn region_limit(&self, action: &str) -> Option<u32> {
        self.spec.per_region.get(action).copied().or_else(|| {
            DOCUMENTED_PER_REGION
                .iter()
                .find(|(a, _)| *a == action)
                .map(|(_, l)| *l)
        })
    }

    /// Counts a call; refuses it when a window is full. Refused calls do not count.
    pub fn check(&mut self, account: &str, action: &str) -> Result<(), ApiError> {
        let elapsed = self.origin.elapsed().as_millis() as u64;
        let window = elapsed / 1000;
        let retry_after = 1000 - elapsed % 1000;
        let account_limit = self.account_limit(action);
        let region_limit = self.region_limit(action);
        let key = (account.to_string(), action.to_string());
        let used = match self.per_account.get(&key) {
            Some((w, n)) if *w == window => *n,
            _ => 0,
        };
        let region_used = match self.per_region.get(action) {
            Some((w, n)) if *w == window => *n,
            _ => 0,
        };
        if used >= account_limit || region_limit.is_some_and(|l| region_used >= l) {
            return Err(ApiError::throttled(retry_after));
        }
        self.per_account.insert(key, (window, used + 1));
        self.per_region
            .insert(action.to_string(), (window, region_used + 1));
        Ok(())
    }
}
