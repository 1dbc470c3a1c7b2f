//! What every informer shares: the objects followed per account, their schedule, one background
//! task per account that reads batches in priority order, and the fan-out of observations to
//! the reconciles. A [`Poller`] says how one product batches and reads; [`Informer`](super::Informer)
//! (`follow.rs`) keeps the objects, `rounds.rs` runs the reads.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;

use super::{Account, ObjKey};
use crate::aliyun::{Error, Priority};

/// What an informer last learnt about an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation<O> {
    pub observed: O,
    /// When the answer arrived, on the operator's clock.
    pub at: jiff::Timestamp,
    /// When the informer plans to read the object next.
    pub next_poll_at: jiff::Timestamp,
}

impl<O> Observation<O> {
    /// Whether a reconcile decides on this observation: it is news to a status that reflects
    /// the read of `last_polled_at`, or the spec changed since that status (a request answered
    /// with the latest news). Never twice on the same observation otherwise: an act's effect
    /// shows in the next one.
    pub fn worth_deciding(&self, last_polled_at: Option<&Time>, spec_changed: bool) -> bool {
        spec_changed || last_polled_at.is_none_or(|t| self.at > t.0)
    }
}

/// How one product is read.
pub trait Poller: Send + Sync + Sized + 'static {
    /// The kind whose reconciles are triggered.
    type Kind: Resource<DynamicType = ()> + Send + Sync + 'static;
    type Client: Clone + Send + Sync + 'static;
    /// What to read for an object.
    type Target: Clone + PartialEq + Debug + Send + Sync + 'static;
    type Observed: Clone + PartialEq + Debug + Send + Sync + 'static;
    /// What the informer remembers of an object between rounds.
    type Memo: Clone + Default + Debug + Send + Sync + 'static;
    /// What it remembers of an account between rounds.
    type AccountMemo: Clone + Default + Send + Sync + 'static;

    /// `mms`, `dts`: the metric label.
    const PRODUCT: &'static str;
    /// Most objects one round reads.
    const MAX_BATCH: usize;

    fn account(client: &Self::Client) -> Account;
    /// The client, waiting for the budget in turn at `priority`.
    fn waiting(client: &Self::Client, priority: Priority) -> Self::Client;
    /// Whether `other` is read in the same round as `first` (same list).
    fn joins(first: &Self::Target, other: &Self::Target) -> bool;
    /// One round: a result per item, in order.
    fn read(
        &self,
        client: Self::Client,
        items: Vec<Item<Self>>,
        memo: Self::AccountMemo,
    ) -> impl Future<Output = Result<Round<Self>, Error>> + Send;
    /// Whether a new observation is news for the reconcile.
    fn is_news(old: Option<&Self::Observed>, new: &Self::Observed) -> bool {
        old != Some(new)
    }
}

/// One object of a round.
pub struct Item<P: Poller> {
    pub key: ObjKey,
    pub target: P::Target,
    pub memo: P::Memo,
    /// The reconcile has an observation already.
    pub observed: bool,
    pub(super) epoch: u64,
}

impl<P: Poller> Clone for Item<P> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            target: self.target.clone(),
            memo: self.memo.clone(),
            observed: self.observed,
            epoch: self.epoch,
        }
    }
}

/// What a round learnt about one object.
pub enum Got<P: Poller> {
    /// A new observation (and what to remember).
    Observed(P::Observed, P::Memo),
    /// Nothing changed since the last observation.
    Unchanged(P::Memo),
    /// Nothing to say yet, or it could not be read: the object keeps what it had
    /// (could-not-read is never absent).
    Nothing,
}

/// The outcome of a round.
pub struct Round<P: Poller> {
    pub got: Vec<Got<P>>,
    /// Calls made (for the cost estimate).
    pub calls: u32,
    pub memo: P::AccountMemo,
}

/// A reconcile's request to follow an object.
pub struct Track<P: Poller> {
    /// Region and credentials.
    pub client: P::Client,
    pub target: P::Target,
    /// Nominal poll interval for the object's phase (scaled by the operator's poll scale).
    pub interval: Duration,
    /// What the informer may start from (e.g. what status shows after a restart).
    pub memo: P::Memo,
    /// Read it at the next opportunity (a forced reconcile).
    pub poll_now: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observation_is_decided_on_once_unless_the_spec_changes() {
        let at = |s: i64| jiff::Timestamp::from_second(1_700_000_000 + s).unwrap();
        let seen = Observation {
            observed: (),
            at: at(10),
            next_poll_at: at(40),
        };
        assert!(seen.worth_deciding(None, false));
        assert!(seen.worth_deciding(Some(&Time(at(5))), false));
        assert!(
            !seen.worth_deciding(Some(&Time(at(10))), false),
            "decided on already"
        );
        assert!(
            seen.worth_deciding(Some(&Time(at(10))), true),
            "a new generation"
        );
    }
}
