//! One background task per account: it picks the next batch (highest priority, oldest due),
//! reads it, records what was learnt and triggers the reconciles that have news.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::follow::{Shared, Tracked};
use super::poller::{Got, Item, Observation, Poller, Round};
use super::schedule::{self, Demand};
use super::{Account, ObjKey};
use crate::aliyun::Priority;

/// After a failed round, try its objects again after at most this long.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

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

pub(super) async fn run_account<P: Poller>(shared: Arc<Shared<P>>, account: Account) {
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
