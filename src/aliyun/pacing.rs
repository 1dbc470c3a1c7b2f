//! How a client's calls wait for the account's budget: in turn (background tasks) or not at all
//! (reconciles, which requeue themselves for the computed wait instead).

use std::sync::{Arc, Mutex};

use super::budget::{Admission, LaneId, Priority};
use super::cloud::CloudInner;
use super::endpoint::Product;

/// The waiting rule of a client.
#[derive(Debug, Clone)]
pub enum Pacing {
    /// Wait in turn for a token (background tasks, tools, tests).
    Wait(Priority),
    /// Never wait: a call that gets no token fails at once with a `Queued` error carrying the
    /// wait ([`Error::queued_wait`](super::Error::queued_wait)); the reconcile requeues for it and
    /// keeps its place in the queue under `ticket`.
    Requeue {
        ticket: Arc<str>,
        priority: Priority,
    },
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::Wait(Priority::Mutation)
    }
}

/// A client's pacing plus a token taken ahead of the call by [`Pacer::admit`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Pacer {
    pub pacing: Pacing,
    permit: Arc<Mutex<Option<LaneId>>>,
}

impl Pacer {
    pub fn new(pacing: Pacing) -> Self {
        Self {
            pacing,
            permit: Arc::default(),
        }
    }

    /// Takes a token for the next `action` call now, or says how long to wait. With
    /// `Pacing::Wait` there is nothing to take ahead: always `Now`.
    pub fn admit(
        &self,
        inner: &CloudInner,
        product: Product,
        action: &str,
        identity: u64,
        region: &str,
    ) -> Admission {
        let Pacing::Requeue { ticket, priority } = &self.pacing else {
            return Admission::Now;
        };
        let Some(lane) = inner.budget.lane(product, action, identity, region) else {
            return Admission::Now;
        };
        let admission = inner.budget.admit(&lane, ticket, *priority, true);
        if admission == Admission::Now {
            *self.permit.lock().expect("permit lock") = Some(lane);
        }
        admission
    }

    /// Uses the token taken ahead, if it was taken for `lane`.
    pub fn take_permit(&self, lane: &LaneId) -> bool {
        let mut permit = self.permit.lock().expect("permit lock");
        if permit.as_ref() == Some(lane) {
            *permit = None;
            true
        } else {
            false
        }
    }
}

/// The pacing methods of a typed client (`MmsClient`, `DtsClient`): fields `cloud`, `region`,
/// `credentials`, `pacer`.
macro_rules! paced_client {
    ($product:expr) => {
        /// The same client with another way of waiting for the account's call budget.
        pub fn with_pacing(mut self, pacing: Pacing) -> Self {
            self.pacer = Pacer::new(pacing);
            self
        }

        /// Takes a token for the next `action` call now (so an intent can be recorded before it
        /// is sent), or says how long to wait. Always `Now` unless the pacing is `Requeue`.
        pub fn admit(&self, action: &str) -> Admission {
            self.pacer.admit(
                &self.cloud.inner,
                $product,
                action,
                self.credentials.short_id(),
                &self.region,
            )
        }

        /// The credentials this client signs with.
        pub fn credentials(&self) -> &Credentials {
            &self.credentials
        }
    };
}
pub(crate) use paced_client;
