//! What every informer shares: the objects followed per account, their schedule, one background
//! task per account that reads batches in priority order, and the fan-out of observations to
//! the reconciles. A [`Poller`] says how one product batches and reads.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Resource;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::schedule::{self, Demand};
use super::{Account, ObjKey, Triggers};
use crate::aliyun::{Error, Priority};
use crate::metrics::Metrics;

/// After a failed round, try its objects again after at most this long.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// What an informer last learnt about an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation<O> {
    pub observed: O,
    /// When the answer arrived, on the operator's clock.
    pub at: jiff::Timestamp,
    /// When the informer plans to read the object next.
    pub next_poll_at: jiff::Timestamp,
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
    epoch: u64,
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

struct Tracked<P: Poller> {
    target: P::Target,
    interval: Duration,
    due: Instant,
    memo: P::Memo,
    observation: Option<Observation<P::Observed>>,
    urgent: bool,
    /// Until then a Cutover needs fresh samples: read first, never stretched.
    fresh_until: Option<Instant>,
    /// Moves on every act: a round that started before it may bring pre-act news only.
    epoch: u64,
}

fn next_epoch() -> u64 {
    static EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl<P: Poller> Tracked<P> {
    fn new(track: &Track<P>, now: Instant) -> Self {
        Self {
            target: track.target.clone(),
            interval: track.interval,
            due: now,
            memo: track.memo.clone(),
            observation: None,
            urgent: false,
            fresh_until: None,
            epoch: next_epoch(),
        }
    }

    fn fresh_wanted(&self, now: Instant) -> bool {
        self.fresh_until.is_some_and(|t| t > now)
    }

    fn priority(&self, now: Instant) -> Priority {
        if self.urgent || self.fresh_wanted(now) {
            Priority::Fresh
        } else if self.observation.is_none() {
            Priority::FirstObservation
        } else {
            Priority::Poll
        }
    }
}

struct AccountState<P: Poller> {
    client: P::Client,
    objects: HashMap<ObjKey, Tracked<P>>,
    wake: Arc<Notify>,
    task: Option<JoinHandle<()>>,
    memo: P::AccountMemo,
    calls_per_poll: f64,
    stretch: f64,
}

struct State<P: Poller> {
    accounts: HashMap<Account, AccountState<P>>,
    owner: HashMap<ObjKey, Account>,
    /// No poller starts (the process shuts down, or is not the leader).
    stopped: bool,
}

impl<P: Poller> Default for State<P> {
    fn default() -> Self {
        Self {
            accounts: HashMap::new(),
            owner: HashMap::new(),
            stopped: false,
        }
    }
}

struct Shared<P: Poller> {
    poller: P,
    state: Mutex<State<P>>,
    triggers: Triggers<P::Kind>,
    metrics: Arc<Metrics>,
    /// Calls per second one account may make in one region.
    rate: f64,
}

/// An informer over one product. Cheap to clone.
pub struct Informer<P: Poller> {
    shared: Arc<Shared<P>>,
}

impl<P: Poller> Clone for Informer<P> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// One round of work.
struct Work<P: Poller> {
    client: P::Client,
    priority: Priority,
    items: Vec<Item<P>>,
    intervals: Vec<(Duration, bool)>,
    memo: P::AccountMemo,
}

enum Next<P: Poller> {
    Work(Work<P>),
    Sleep(Option<Instant>, Arc<Notify>),
    Done,
}

impl<P: Poller> Informer<P> {
    pub fn new(poller: P, metrics: Arc<Metrics>, rate: f64) -> Self {
        Self {
            shared: Arc::new(Shared {
                poller,
                state: Mutex::default(),
                triggers: Triggers::default(),
                metrics,
                rate,
            }),
        }
    }

    /// The reconcile requests of the kind's controller.
    pub fn subscribe(
        &self,
    ) -> futures::channel::mpsc::UnboundedReceiver<kube::runtime::reflector::ObjectRef<P::Kind>>
    {
        self.shared.triggers.subscribe()
    }

    /// Follows `key` (or updates what to follow) and returns the latest observation, if any. A
    /// new target starts afresh (what was seen for the old one is dropped).
    pub fn track(&self, key: &ObjKey, track: Track<P>) -> Option<Observation<P::Observed>> {
        let now = Instant::now();
        let account = P::account(&track.client);
        let mut state = self.shared.state.lock().expect("informer lock");
        let stopped = state.stopped;
        if let Some(old) = state.owner.get(key).filter(|a| **a != account).cloned()
            && let Some(acc) = state.accounts.get_mut(&old)
        {
            acc.objects.remove(key);
        }
        state.owner.insert(key.clone(), account.clone());
        let acc = state
            .accounts
            .entry(account.clone())
            .or_insert_with(|| AccountState {
                client: track.client.clone(),
                objects: HashMap::new(),
                wake: Arc::new(Notify::new()),
                task: None,
                memo: P::AccountMemo::default(),
                calls_per_poll: 1.0,
                stretch: 1.0,
            });
        acc.client = track.client.clone();
        let mut wake = false;
        let tracked = acc
            .objects
            .entry(key.clone())
            .and_modify(|t| {
                if t.target != track.target {
                    *t = Tracked::new(&track, now);
                    wake = true;
                }
            })
            .or_insert_with(|| {
                wake = true;
                Tracked::new(&track, now)
            });
        if tracked.interval != track.interval {
            tracked.interval = track.interval;
            tracked.due = tracked.due.min(now + track.interval);
        }
        if track.poll_now {
            tracked.due = now;
            tracked.urgent = true;
            wake = true;
        }
        let observation = tracked.observation.clone();
        if stopped {
            return observation;
        }
        if acc.task.as_ref().is_none_or(JoinHandle::is_finished) {
            acc.task = Some(tokio::spawn(run_account(
                self.shared.clone(),
                account.clone(),
            )));
        } else if wake {
            acc.wake.notify_one();
        }
        observation
    }

    fn with_tracked(&self, key: &ObjKey, f: impl FnOnce(&mut Tracked<P>, Instant)) {
        let mut state = self.shared.state.lock().expect("informer lock");
        let Some(account) = state.owner.get(key).cloned() else {
            return;
        };
        if let Some(acc) = state.accounts.get_mut(&account)
            && let Some(t) = acc.objects.get_mut(key)
        {
            f(t, Instant::now());
            acc.wake.notify_one();
        }
    }

    /// A call changed the object: what was seen before is history. Until a read made after the
    /// call arrives, the object has no observation (so nothing acts twice on the old one), and
    /// that read comes at the next opportunity.
    pub fn acted(&self, key: &ObjKey) {
        self.with_tracked(key, |t, now| {
            t.observation = None;
            t.epoch = next_epoch();
            t.due = now;
            t.urgent = true;
        });
    }

    /// Someone (a Cutover gating on lag) needs fresh reads of `key` for `window`: it is read
    /// first among the polls and its interval does not stretch.
    pub fn want_fresh(&self, key: &ObjKey, window: Duration) {
        self.with_tracked(key, |t, now| {
            let until = now + window;
            if !t.fresh_wanted(now) {
                // Due at its nominal interval from now at the latest.
                t.due = t.due.min(now + t.interval);
            }
            t.fresh_until = Some(t.fresh_until.map_or(until, |u| u.max(until)));
        });
    }

    /// Stops following `key` and forgets what was seen of it.
    pub fn untrack(&self, key: &ObjKey) {
        let mut state = self.shared.state.lock().expect("informer lock");
        if let Some(account) = state.owner.remove(key)
            && let Some(acc) = state.accounts.get_mut(&account)
        {
            acc.objects.remove(key);
        }
    }

    /// Whether `key` is followed.
    pub fn is_tracked(&self, key: &ObjKey) -> bool {
        let state = self.shared.state.lock().expect("informer lock");
        state.owner.contains_key(key)
    }

    /// Lets pollers start again (a leadership term starts).
    pub fn start(&self) {
        self.shared.state.lock().expect("informer lock").stopped = false;
    }

    /// Ends every poller, forgets everything and starts none until [`start`](Self::start).
    pub fn stop(&self) {
        let mut state = self.shared.state.lock().expect("informer lock");
        for acc in state.accounts.values_mut() {
            if let Some(task) = acc.task.take() {
                task.abort();
            }
        }
        *state = State {
            stopped: true,
            ..State::default()
        };
    }
}

/// The next round: the due object of the highest priority (the oldest first), with the objects
/// of the same batch that are due or nearly so.
fn next_work<P: Poller>(shared: &Shared<P>, account: &Account) -> Next<P> {
    let now = Instant::now();
    let mut state = shared.state.lock().expect("informer lock");
    let Some(acc) = state.accounts.get_mut(account) else {
        return Next::Done;
    };
    let behind = acc
        .objects
        .values()
        .map(|t| now.saturating_duration_since(t.due))
        .max()
        .unwrap_or_default();
    shared.metrics.set_poll_state(
        P::PRODUCT,
        &account.label(),
        &account.region,
        acc.objects.len(),
        behind,
        acc.stretch,
    );
    if acc.objects.is_empty() {
        acc.task = None;
        return Next::Done;
    }
    let first = acc
        .objects
        .values()
        .filter(|t| t.due <= now)
        .min_by_key(|t| (t.priority(now), t.due))
        .map(|t| t.target.clone());
    let Some(first) = first else {
        let next = acc.objects.values().map(|t| t.due).min();
        return Next::Sleep(next, acc.wake.clone());
    };
    let mut batch: Vec<(&ObjKey, &Tracked<P>)> = acc
        .objects
        .iter()
        .filter(|(_, t)| P::joins(&first, &t.target))
        .filter(|(_, t)| {
            t.due <= now || schedule::rides_along(t.due.saturating_duration_since(now), t.interval)
        })
        .collect();
    batch.sort_by_key(|(_, t)| (t.priority(now), t.due));
    batch.truncate(P::MAX_BATCH);
    let priority = batch
        .iter()
        .map(|(_, t)| t.priority(now))
        .min()
        .unwrap_or(Priority::Poll);
    let (items, intervals) = batch
        .into_iter()
        .map(|(key, t)| {
            (
                Item {
                    key: key.clone(),
                    target: t.target.clone(),
                    memo: t.memo.clone(),
                    observed: t.observation.is_some(),
                    epoch: t.epoch,
                },
                (t.interval, t.fresh_wanted(now)),
            )
        })
        .unzip();
    Next::Work(Work {
        client: P::waiting(&acc.client, priority),
        priority,
        items,
        intervals,
        memo: acc.memo.clone(),
    })
}

async fn run_account<P: Poller>(shared: Arc<Shared<P>>, account: Account) {
    loop {
        match next_work(&shared, &account) {
            Next::Done => return,
            Next::Sleep(until, wake) => {
                let notified = wake.notified();
                match until {
                    Some(at) => {
                        let _ = tokio::time::timeout_at(at, notified).await;
                    }
                    None => notified.await,
                }
            }
            Next::Work(work) => {
                let result = shared
                    .poller
                    .read(work.client.clone(), work.items.clone(), work.memo.clone())
                    .await;
                if let Err(e) = &result {
                    tracing::warn!(product = P::PRODUCT, priority = work.priority.as_str(), error = %e, "informer round failed; retrying later");
                }
                apply(&shared, &account, work, result.ok());
            }
        }
    }
}

/// Records a round's results and triggers the reconciles that have news.
fn apply<P: Poller>(shared: &Shared<P>, account: &Account, work: Work<P>, round: Option<Round<P>>) {
    let now = Instant::now();
    let at = jiff::Timestamp::now();
    let mut state = shared.state.lock().expect("informer lock");
    let Some(acc) = state.accounts.get_mut(account) else {
        return;
    };
    let Some(round) = round else {
        for item in &work.items {
            if let Some(t) = acc.objects.get_mut(&item.key) {
                t.due = now + t.interval.min(RETRY_AFTER_FAILURE);
            }
        }
        return;
    };
    acc.memo = round.memo;
    acc.calls_per_poll = schedule::calls_per_poll(acc.calls_per_poll, round.calls, round.got.len());
    let demand = Demand {
        polls_per_second: acc
            .objects
            .values()
            .map(|t| 1.0 / t.interval.as_secs_f64().max(0.001))
            .sum(),
        calls_per_poll: acc.calls_per_poll,
    };
    acc.stretch = schedule::stretch(demand, shared.rate);
    let rounds = work.items.into_iter().zip(work.intervals).zip(round.got);
    for ((item, (_, fresh)), got) in rounds {
        let Some(t) = acc.objects.get_mut(&item.key) else {
            continue;
        };
        if t.target != item.target || t.epoch != item.epoch {
            // Re-targeted or acted on while the round ran: this result may predate that.
            continue;
        }
        let every = if fresh {
            t.interval
        } else {
            schedule::stretched(t.interval, acc.stretch)
        };
        t.due = now + every;
        t.urgent = false;
        let next_poll_at = at + every;
        match got {
            Got::Observed(observed, memo) => {
                t.memo = memo;
                let news = P::is_news(t.observation.as_ref().map(|o| &o.observed), &observed);
                t.observation = Some(Observation {
                    observed,
                    at,
                    next_poll_at,
                });
                if news {
                    shared.triggers.send(&item.key);
                }
            }
            Got::Unchanged(memo) => {
                t.memo = memo;
                if let Some(o) = &mut t.observation {
                    o.at = at;
                    o.next_poll_at = next_poll_at;
                }
            }
            Got::Nothing => {}
        }
    }
}
