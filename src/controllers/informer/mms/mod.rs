//! The MMS informer: for each account and region, one background task lists the data sources'
//! jobs (ListMmsJobs pages with status and task figures), reads a job's tasks (ListMmsTasks, one
//! read for all states) only when its listed figures changed, and hands every MmsJob the
//! [`Observation`] its reconcile decides on. Finished jobs are not tracked: they cost no calls.

pub mod plan;
mod read;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::schedule::{self, Demand};
use super::{Account, ObjKey, Triggers};
use crate::aliyun::{MmsClient, Pacing, Priority};
use crate::api::mms_job::MmsJob;
pub use crate::controllers::mms_job::decide::Observation;
use crate::controllers::mms_job::decide::{JobView, Observed};
use crate::metrics::Metrics;
pub use plan::Target;
use plan::{Summary, list_plan};
use read::{Got, Want, read_source};

fn next_epoch() -> u64 {
    static EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Re-read a running job's tasks after this many polls that showed the same list figures.
const TASK_REFRESH_POLLS: u32 = 4;
/// After a failed round, try the objects again after at most this long.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// A reconcile's request to follow an MmsJob.
#[derive(Clone, Debug)]
pub struct Track {
    /// Region and credentials of the job's data source.
    pub client: MmsClient,
    pub source_id: i64,
    pub target: Target,
    /// Nominal poll interval for the object's phase (scaled by the operator's poll scale).
    pub interval: Duration,
    /// What status already shows (after a restart: no need to read unchanged tasks again).
    pub known: Option<JobView>,
    /// Read it at the next opportunity (a forced reconcile, or an act whose effect to see).
    pub poll_now: bool,
}

#[derive(Debug)]
struct Tracked {
    source_id: i64,
    target: Target,
    interval: Duration,
    due: Instant,
    summary: Option<Summary>,
    view: Option<JobView>,
    observation: Option<Observation>,
    urgent: bool,
    polls_since_tasks: u32,
    /// Moves on every act: a round that started before it may bring pre-act news only.
    epoch: u64,
}

impl Tracked {
    fn new(track: &Track, now: Instant) -> Self {
        Self {
            epoch: next_epoch(),
            source_id: track.source_id,
            target: track.target.clone(),
            interval: track.interval,
            due: now,
            summary: track.known.as_ref().map(Summary::of_view),
            view: track.known.clone(),
            observation: None,
            urgent: false,
            polls_since_tasks: 0,
        }
    }

    fn priority(&self) -> Priority {
        if self.urgent {
            Priority::Fresh
        } else if self.observation.is_none() {
            Priority::FirstObservation
        } else {
            Priority::Poll
        }
    }
}

struct AccountState {
    client: MmsClient,
    objects: HashMap<ObjKey, Tracked>,
    wake: Arc<Notify>,
    task: Option<JoinHandle<()>>,
    /// Jobs per data source, as the last complete listing counted them.
    total_jobs: HashMap<i64, u64>,
    calls_per_poll: f64,
    stretch: f64,
}

#[derive(Default)]
struct State {
    accounts: HashMap<Account, AccountState>,
    owner: HashMap<ObjKey, Account>,
    /// No poller starts (the process shuts down, or is not the leader).
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
    triggers: Triggers<MmsJob>,
    metrics: Arc<Metrics>,
    /// MMS calls per second one account may make in one region.
    rate: f64,
    /// How long a created job may stay invisible before its async task is read.
    create_grace: Duration,
}

/// See the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct MmsInformer {
    shared: Arc<Shared>,
}

/// One round of work: the due objects of one data source.
struct Work {
    client: MmsClient,
    source_id: i64,
    priority: Priority,
    wants: Vec<Want>,
    total_jobs: Option<u64>,
}

enum Next {
    Work(Work),
    Sleep(Option<Instant>, Arc<Notify>),
    Done,
}

impl MmsInformer {
    pub fn new(metrics: Arc<Metrics>, rate: f64, create_grace: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::default(),
                triggers: Triggers::default(),
                metrics,
                rate,
                create_grace,
            }),
        }
    }

    /// The reconcile requests of the MmsJob controller.
    pub fn subscribe(
        &self,
    ) -> futures::channel::mpsc::UnboundedReceiver<kube::runtime::reflector::ObjectRef<MmsJob>>
    {
        self.shared.triggers.subscribe()
    }

    /// Follows `key` (or updates what to follow) and returns the latest observation, if any.
    pub fn track(&self, key: &ObjKey, track: Track) -> Option<Observation> {
        let now = Instant::now();
        let account = Account {
            identity: track.client.credentials().short_id(),
            region: track.client.region().to_string(),
        };
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
                total_jobs: HashMap::new(),
                calls_per_poll: 1.0,
                stretch: 1.0,
            });
        acc.client = track.client.clone();
        let mut wake = false;
        let tracked = acc
            .objects
            .entry(key.clone())
            .and_modify(|t| {
                if t.target != track.target || t.source_id != track.source_id {
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

    /// A call changed the job: what was seen before is history. Until a read made after the
    /// call arrives, the object has no observation (so nothing acts twice on the old one), and
    /// that read comes at the next opportunity.
    pub fn acted(&self, key: &ObjKey) {
        let mut state = self.shared.state.lock().expect("informer lock");
        let Some(account) = state.owner.get(key).cloned() else {
            return;
        };
        if let Some(acc) = state.accounts.get_mut(&account)
            && let Some(t) = acc.objects.get_mut(key)
        {
            t.observation = None;
            t.epoch = next_epoch();
            t.due = Instant::now();
            t.urgent = true;
            acc.wake.notify_one();
        }
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

    /// Whether `key` is followed (tests and metrics).
    pub fn is_tracked(&self, key: &ObjKey) -> bool {
        self.shared
            .state
            .lock()
            .expect("informer lock")
            .owner
            .contains_key(key)
    }

    /// Lets pollers start again.
    pub fn start(&self) {
        self.shared.state.lock().expect("informer lock").stopped = false;
    }

    /// Ends every poller, forgets everything and starts none until [`start`](Self::start)
    /// (shutdown, lost leadership).
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

/// Chooses the next round: the data source whose due objects have the highest priority, the
/// oldest due first; objects of that source due soon ride along.
fn next_work(shared: &Shared, account: &Account) -> Next {
    let now = Instant::now();
    let mut state = shared.state.lock().expect("informer lock");
    let Some(acc) = state.accounts.get_mut(account) else {
        return Next::Done;
    };
    if acc.objects.is_empty() {
        acc.task = None;
        shared.metrics.set_poll_state(
            "mms",
            &account.label(),
            &account.region,
            0,
            Duration::ZERO,
            acc.stretch,
        );
        return Next::Done;
    }
    let behind = acc
        .objects
        .values()
        .map(|t| now.saturating_duration_since(t.due))
        .max()
        .unwrap_or_default();
    shared.metrics.set_poll_state(
        "mms",
        &account.label(),
        &account.region,
        acc.objects.len(),
        behind,
        acc.stretch,
    );
    let best = acc
        .objects
        .values()
        .filter(|t| t.due <= now)
        .min_by_key(|t| (t.priority(), t.due))
        .map(|t| t.source_id);
    let Some(source_id) = best else {
        let next = acc.objects.values().map(|t| t.due).min();
        return Next::Sleep(next, acc.wake.clone());
    };
    let mut priority = Priority::Poll;
    let mut wants = Vec::new();
    for (key, t) in acc.objects.iter().filter(|(_, t)| t.source_id == source_id) {
        let until_due = t.due.saturating_duration_since(now);
        if t.due > now && !schedule::rides_along(until_due, t.interval) {
            continue;
        }
        priority = priority.min(t.priority());
        wants.push(Want {
            epoch: t.epoch,
            key: key.clone(),
            target: t.target.clone(),
            summary: t.summary.clone(),
            view: t.view.clone(),
            refresh_tasks: t.summary.as_ref().is_some_and(Summary::running)
                && t.polls_since_tasks >= TASK_REFRESH_POLLS,
        });
    }
    Next::Work(Work {
        client: acc.client.clone(),
        source_id,
        priority,
        wants,
        total_jobs: acc.total_jobs.get(&source_id).copied(),
    })
}

async fn run_account(shared: Arc<Shared>, account: Account) {
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
                let names = work
                    .wants
                    .iter()
                    .filter(|w| matches!(w.target, Target::Name(_)))
                    .count();
                let client = work.client.clone().with_pacing(Pacing::Wait(work.priority));
                let result = read_source(
                    &client,
                    work.source_id,
                    &work.wants,
                    list_plan(work.total_jobs, names),
                    shared.create_grace,
                    jiff::Timestamp::now(),
                )
                .await;
                if let Err(e) = &result {
                    tracing::warn!(source_id = work.source_id, error = %e, "MMS informer round failed; retrying later");
                }
                apply(&shared, &account, &work, result.ok());
            }
        }
    }
}

/// Records a round's results and triggers the reconciles whose observation changed.
fn apply(shared: &Shared, account: &Account, work: &Work, round: Option<read::Round>) {
    let now = Instant::now();
    let at = jiff::Timestamp::now();
    let mut state = shared.state.lock().expect("informer lock");
    let Some(acc) = state.accounts.get_mut(account) else {
        return;
    };
    let Some(round) = round else {
        for want in &work.wants {
            if let Some(t) = acc.objects.get_mut(&want.key) {
                t.due = now + t.interval.min(RETRY_AFTER_FAILURE);
            }
        }
        return;
    };
    if let Some(total) = round.total_jobs {
        acc.total_jobs.insert(work.source_id, total);
    }
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
    for (want, (key, got)) in work.wants.iter().zip(round.got) {
        let Some(t) = acc.objects.get_mut(&key) else {
            continue;
        };
        if t.target != want.target || t.epoch != want.epoch {
            // Re-targeted or acted on while the round ran: this result may predate that.
            continue;
        }
        let every = schedule::stretched(t.interval, acc.stretch);
        t.due = now + every;
        t.urgent = false;
        let next_poll_at = at + every;
        let fresh = |observed| Observation {
            observed,
            at,
            next_poll_at,
        };
        match got {
            Got::Observed(observed, summary) => {
                if let Observed::Job(view) = &observed {
                    t.view = Some(view.clone());
                    t.summary = summary;
                    t.polls_since_tasks = 0;
                }
                let changed = t.observation.as_ref().map(|o| &o.observed) != Some(&observed);
                t.observation = Some(fresh(observed));
                if changed {
                    shared.triggers.send(&key);
                }
            }
            Got::Unchanged => {
                t.polls_since_tasks += 1;
                match &mut t.observation {
                    Some(o) => {
                        o.at = at;
                        o.next_poll_at = next_poll_at;
                    }
                    None => {
                        // Confirmed what status showed (after a restart).
                        let view = t.view.clone().expect("unchanged only with a view");
                        t.observation = Some(fresh(Observed::Job(view)));
                        shared.triggers.send(&key);
                    }
                }
            }
            Got::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests;
