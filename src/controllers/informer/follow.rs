//! The objects an informer follows, per account, and what reconciles ask of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::poller::{Observation, Poller, Track};
use super::rounds::run_account;
use super::{Account, ObjKey, Triggers};
use crate::aliyun::Priority;
use crate::metrics::Metrics;

pub(super) struct Tracked<P: Poller> {
    pub(super) target: P::Target,
    pub(super) interval: Duration,
    pub(super) due: Instant,
    pub(super) memo: P::Memo,
    pub(super) observation: Option<Observation<P::Observed>>,
    pub(super) urgent: bool,
    /// Until then a Cutover needs fresh samples: read first, never stretched.
    pub(super) fresh_until: Option<Instant>,
    /// Moves on every act: a round that started before it may bring pre-act news only.
    pub(super) epoch: u64,
}

pub(super) fn next_epoch() -> u64 {
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

    pub(super) fn fresh_wanted(&self, now: Instant) -> bool {
        self.fresh_until.is_some_and(|t| t > now)
    }

    pub(super) fn priority(&self, now: Instant) -> Priority {
        if self.urgent || self.fresh_wanted(now) {
            Priority::Fresh
        } else if self.observation.is_none() {
            Priority::FirstObservation
        } else {
            Priority::Poll
        }
    }
}

pub(super) struct AccountState<P: Poller> {
    pub(super) client: P::Client,
    pub(super) objects: HashMap<ObjKey, Tracked<P>>,
    pub(super) wake: Arc<Notify>,
    pub(super) task: Option<JoinHandle<()>>,
    pub(super) memo: P::AccountMemo,
    pub(super) calls_per_poll: f64,
    pub(super) stretch: f64,
}

pub(super) struct State<P: Poller> {
    pub(super) accounts: HashMap<Account, AccountState<P>>,
    pub(super) owner: HashMap<ObjKey, Account>,
    /// No poller starts (the process shuts down, or is not the leader).
    pub(super) stopped: bool,
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

pub(super) struct Shared<P: Poller> {
    pub(super) poller: P,
    pub(super) state: Mutex<State<P>>,
    pub(super) triggers: Triggers<P::Kind>,
    pub(super) metrics: Arc<Metrics>,
    /// Calls per second one account may make in one region.
    pub(super) rate: f64,
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
