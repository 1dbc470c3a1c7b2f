//! Cache of STS exchange results, keyed by credential fingerprint, with single-flight refresh.
//!
//! Refresh rule (`docs/cloud-apis.md#credential-refresh`): a key is refreshed once less than
//! 15 minutes (for sessions of an hour or more) or 5 minutes (shorter sessions) of its life
//! remain — but never earlier than half-way through its life. When a refresh fails and the old
//! key still has more than [`MIN_USABLE_SECS`] left (and was not explicitly rejected), the old
//! key is used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Mutex as AsyncMutex;

use super::AccessKey;

/// A key closer than this to its expiry is never handed out.
pub(crate) const MIN_USABLE_SECS: i64 = 10;

pub(crate) struct Cached {
    key: AccessKey,
    refresh_at: i64,
    rejected: bool,
}

impl Cached {
    pub fn new(key: AccessKey, now: i64) -> Self {
        let refresh_at = match key.expiration {
            Some(exp) => {
                let lifetime = (exp - now).max(0);
                let margin = if lifetime >= 3600 { 15 * 60 } else { 5 * 60 };
                exp - margin.min(lifetime / 2)
            }
            None => i64::MAX,
        };
        Self {
            key,
            refresh_at,
            rejected: false,
        }
    }

    pub fn key(&self) -> &AccessKey {
        &self.key
    }

    /// Good to use without trying to refresh.
    pub fn is_fresh(&self, now: i64) -> bool {
        !self.rejected && now < self.refresh_at
    }

    /// Acceptable as a fallback when a refresh fails.
    pub fn is_usable(&self, now: i64) -> bool {
        !self.rejected
            && self
                .key
                .expiration
                .is_none_or(|exp| now + MIN_USABLE_SECS < exp)
    }
}

/// One slot per fingerprint; holding the slot's lock while refreshing makes concurrent
/// callers wait for that one exchange instead of starting their own.
pub(crate) type Slot = Arc<AsyncMutex<Option<Cached>>>;

#[derive(Default)]
pub(crate) struct CredentialCache {
    slots: Mutex<HashMap<u128, Slot>>,
}

impl CredentialCache {
    pub fn slot(&self, fingerprint: u128) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() > 1024 {
            // Forget identities nobody uses any more (e.g. deleted Secrets) once their key is
            // no longer usable anyway.
            let now = jiff::Timestamp::now().as_second();
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .map(|c| c.as_ref().is_some_and(|c| c.is_usable(now)))
                        .unwrap_or(true)
            });
        }
        slots.entry(fingerprint).or_default().clone()
    }

    /// Marks the cached key as rejected by the service, unless it was already replaced.
    pub async fn reject(&self, fingerprint: u128, key_id: &str) {
        let slot = self.slot(fingerprint);
        let mut guard = slot.lock().await;
        if let Some(cached) = guard.as_mut().filter(|c| c.key.id == key_id) {
            cached.rejected = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::SecretString;

    fn key(exp: Option<i64>) -> AccessKey {
        AccessKey {
            id: "STS.x".into(),
            secret: SecretString::new("s"),
            token: None,
            expiration: exp,
        }
    }

    #[test]
    fn refresh_margin_depends_on_lifetime() {
        let hour = Cached::new(key(Some(3600)), 0);
        assert!(hour.is_fresh(3600 - 15 * 60 - 1));
        assert!(!hour.is_fresh(3600 - 15 * 60));
        let quarter = Cached::new(key(Some(900)), 0);
        assert!(quarter.is_fresh(599) && !quarter.is_fresh(600));
        let short = Cached::new(key(Some(60)), 0);
        assert!(short.is_fresh(29) && !short.is_fresh(30));
        assert!(short.is_usable(49) && !short.is_usable(50));
        assert!(Cached::new(key(None), 0).is_fresh(i64::MAX - 1));
    }

    #[tokio::test]
    async fn reject_only_hits_the_key_that_failed() {
        let cache = CredentialCache::default();
        let slot = cache.slot(7);
        *slot.lock().await = Some(Cached::new(key(Some(10_000)), 0));
        cache.reject(7, "STS.other").await;
        assert!(slot.lock().await.as_ref().unwrap().is_fresh(1));
        cache.reject(7, "STS.x").await;
        assert!(!slot.lock().await.as_ref().unwrap().is_fresh(1));
    }
}
