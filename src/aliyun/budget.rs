//! The call budget of an account: client-side rate limits per credential identity and region,
//! with a queue per bucket that serves callers by [`Priority`], then in arrival order.
//!
//! `governor` enforces a rate but hands tokens to whoever polls first, so thousands of periodic
//! reads could push a user's create minutes back, and a waiter that re-polls later loses its
//! place. Here every bucket (a GCRA: sustained `per_second`, `burst` at once) keeps its waiters
//! in a queue ordered by (priority, arrival). A waiter is either *present* (a background task
//! that sleeps until its turn) or *away* (a reconcile that requeued itself with the wait this
//! queue computed and comes back for its turn): a reconcile never sits in a limiter.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::config::{RateLimit, RateLimits};
use super::endpoint::Product;

/// Who goes first within an account's budget (first variant first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Calls a cutover is blocked on: stopping replication before the switch.
    Critical,
    /// Mutating calls a user is waiting for: create, stop, start, retry, suspend, delete.
    Mutation,
    /// Reads a Cutover gate needs (fresh lag samples).
    Fresh,
    /// The first read of an object the operator has not observed yet.
    FirstObservation,
    /// Periodic reads.
    Poll,
}

impl Priority {
    /// Every priority, first served first.
    pub const ALL: [Priority; 5] = [
        Priority::Critical,
        Priority::Mutation,
        Priority::Fresh,
        Priority::FirstObservation,
        Priority::Poll,
    ];

    /// A label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::Mutation => "mutation",
            Priority::Fresh => "fresh",
            Priority::FirstObservation => "first_observation",
            Priority::Poll => "poll",
        }
    }
}

/// The answer to a request for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send now; the token is taken.
    Now,
    /// Not yet: `ahead` waiters go first; the turn comes in about `wait`.
    Queued { wait: Duration, ahead: usize },
}

/// How long an away waiter may be late for its turn before it loses its place: a reconcile
/// requeued by the controller can be delayed by busy workers, but one that never comes back
/// (object deleted, decision changed) must not hold the queue for long.
const AWAY_GRACE: Duration = Duration::from_secs(5);
/// After its admission, the same ticket keeps its place for this long, so the second call of a
/// reconcile is not sent to the back of the queue (which would make the reconcile start over,
/// send its first call again, and never finish under contention).
const CONTINUATION: Duration = Duration::from_secs(3);
/// Most tokens one reconcile gets at once (see [`Recent::need`]).
const MAX_TOKENS_AT_ONCE: u32 = 8;

/// A ticket admitted lately.
#[derive(Debug, Clone, Copy)]
struct Recent {
    /// Its place in the queue, kept while it continues.
    seq: u64,
    until: Instant,
    /// Calls admitted in its current attempt.
    calls: u32,
    /// Tokens its next attempt takes at once, learnt when an attempt ran out of tokens half-way:
    /// a reconcile requeued there starts over and makes its calls again. Without this, a
    /// reconcile that needs more calls than the burst would get one token per attempt and never
    /// finish.
    need: u32,
    /// Tokens taken for it at its turn and not used yet.
    prepaid: u32,
}

#[derive(Debug)]
struct Waiter {
    ticket: String,
    /// For away waiters: when their place lapses.
    lapses_at: Option<Instant>,
}

/// One token bucket and its queue.
#[derive(Debug)]
struct Lane {
    /// A documented limit (an action's own rule): never run into debt for a reconcile.
    strict: bool,
    interval: Duration,
    /// How far ahead of now the bucket's theoretical arrival time may run: `burst - 1` tokens.
    tolerance: Duration,
    /// GCRA theoretical arrival time of the next call.
    tat: Instant,
    waiters: BTreeMap<(Priority, u64), Waiter>,
    places: HashMap<String, (Priority, u64)>,
    /// Tickets admitted lately.
    recent: HashMap<String, Recent>,
    next_seq: u64,
}

impl Lane {
    fn new(limit: RateLimit, strict: bool, now: Instant) -> Self {
        let interval = Duration::from_secs(1) / limit.per_second.max(1);
        Self {
            strict,
            interval,
            tolerance: interval * limit.burst.max(1).saturating_sub(1),
            tat: now,
            waiters: BTreeMap::new(),
            places: HashMap::new(),
            recent: HashMap::new(),
            next_seq: 0,
        }
    }

    fn forget_lapsed(&mut self, now: Instant) {
        let lapsed: Vec<(Priority, u64)> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.lapses_at.is_some_and(|t| t < now))
            .map(|(k, _)| *k)
            .collect();
        for key in lapsed {
            if let Some(w) = self.waiters.remove(&key) {
                self.places.remove(&w.ticket);
            }
        }
        self.recent.retain(|_, r| r.until >= now);
    }

    /// The waiter's place, inserting or re-prioritising it.
    fn place(&mut self, ticket: &str, priority: Priority) -> (Priority, u64) {
        if let Some(&(p, seq)) = self.places.get(ticket) {
            if p == priority {
                return (p, seq);
            }
            let waiter = self.waiters.remove(&(p, seq)).expect("placed waiter");
            self.waiters.insert((priority, seq), waiter);
            self.places.insert(ticket.to_string(), (priority, seq));
            return (priority, seq);
        }
        let seq = match self.recent.get(ticket) {
            Some(r) => r.seq,
            None => {
                self.next_seq += 1;
                self.next_seq
            }
        };
        self.waiters.insert(
            (priority, seq),
            Waiter {
                ticket: ticket.to_string(),
                lapses_at: None,
            },
        );
        self.places.insert(ticket.to_string(), (priority, seq));
        (priority, seq)
    }

    fn admit(&mut self, ticket: &str, priority: Priority, away: bool, now: Instant) -> Admission {
        self.forget_lapsed(now);
        if let Some(r) = self.recent.get_mut(ticket).filter(|_| !self.strict)
            && r.prepaid > 0
        {
            // A token taken for this reconcile at its turn.
            r.prepaid -= 1;
            r.calls += 1;
            r.until = now + CONTINUATION;
            return Admission::Now;
        }
        let recent = self.recent.get(ticket).copied();
        let place = self.place(ticket, priority);
        let ahead = self.waiters.range(..place).count();
        // A continuing reconcile may run one token into debt so that its next call does not
        // requeue it behind its own first call.
        let slack = if !self.strict && recent.is_some_and(|r| r.calls > 0) {
            self.tolerance + self.interval
        } else {
            self.tolerance
        };
        let ready_at = self.tat.checked_sub(slack).unwrap_or(now).max(now);
        if ahead == 0 && ready_at <= now {
            let first_call = recent.is_none_or(|r| r.calls == 0);
            let tokens = if first_call && !self.strict {
                recent.map_or(1, |r| r.need.clamp(1, MAX_TOKENS_AT_ONCE))
            } else {
                1
            };
            self.tat = self.tat.max(now) + self.interval * tokens;
            self.waiters.remove(&place);
            self.places.remove(ticket);
            self.recent.insert(
                ticket.to_string(),
                Recent {
                    seq: place.1,
                    until: now + CONTINUATION,
                    calls: recent.map_or(0, |r| r.calls) + 1,
                    need: recent.map_or(0, |r| r.need),
                    prepaid: tokens - 1,
                },
            );
            return Admission::Now;
        }
        let wait = (ready_at - now) + self.interval * ahead as u32;
        if let Some(r) = self.recent.get_mut(ticket) {
            if r.calls > 0 {
                // Out of tokens half-way: this attempt ends here and will be made again in full,
                // with at least one more call (doubled, so a long reconcile learns its size in
                // one or two attempts rather than one call at a time).
                r.need = (2 * (r.calls + 1)).min(MAX_TOKENS_AT_ONCE);
                r.calls = 0;
            }
            // Remembered until it comes back.
            r.until = r.until.max(now + wait + AWAY_GRACE);
        }
        if away && let Some(w) = self.waiters.get_mut(&place) {
            w.lapses_at = Some(now + wait + AWAY_GRACE);
        }
        Admission::Queued { wait, ahead }
    }

    fn leave(&mut self, ticket: &str) {
        if let Some(place) = self.places.remove(ticket) {
            self.waiters.remove(&place);
        }
    }

    fn waiting(&self) -> impl Iterator<Item = Priority> + '_ {
        self.waiters.keys().map(|(p, _)| *p)
    }
}

/// Bucket key: identity fingerprint and region.
type Key = (u64, String);

struct Rule {
    product: Product,
    action: Option<String>,
    limit: Option<RateLimit>,
    lanes: Mutex<HashMap<Key, Lane>>,
}

/// Where a call's token comes from: the rule (product or action) and the account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LaneId {
    rule: usize,
    key: Key,
}

/// Waiters per product and priority, over every account and region (for metrics).
pub type Waiting = BTreeMap<(&'static str, Priority), usize>;

/// Every bucket of the process.
pub(crate) struct Budget {
    rules: Vec<Rule>,
}

impl Budget {
    pub fn new(limits: &RateLimits) -> Self {
        let rule = |product, action, limit: RateLimit| Rule {
            product,
            action,
            limit: (limit.per_second > 0).then_some(limit),
            lanes: Mutex::default(),
        };
        let mut rules: Vec<Rule> = limits
            .actions
            .iter()
            .map(|(product, action, limit)| rule(*product, Some(action.clone()), *limit))
            .collect();
        for product in [
            Product::Mms,
            Product::Dts,
            Product::Sts,
            Product::DataWorks,
            Product::OpenPlatform,
        ] {
            rules.push(rule(product, None, limits.for_product(product)));
        }
        Self { rules }
    }

    /// The bucket a call draws from: the action's own rule, else its product's. None: unlimited.
    pub fn lane(
        &self,
        product: Product,
        action: &str,
        identity: u64,
        region: &str,
    ) -> Option<LaneId> {
        let rule = self.rules.iter().position(|r| {
            r.product == product && r.action.as_deref().is_none_or(|a| a == action)
        })?;
        self.rules[rule].limit?;
        Some(LaneId {
            rule,
            key: (identity, region.to_string()),
        })
    }

    fn with_lane<T>(&self, id: &LaneId, now: Instant, f: impl FnOnce(&mut Lane) -> T) -> T {
        let rule = &self.rules[id.rule];
        let limit = rule.limit.expect("lanes exist only for limited rules");
        let strict = rule.action.is_some();
        let mut lanes = rule.lanes.lock().expect("budget lock");
        let lane = lanes
            .entry(id.key.clone())
            .or_insert_with(|| Lane::new(limit, strict, now));
        f(lane)
    }

    /// Asks for a token now. `away`: the caller will not wait here but come back after the
    /// returned wait (its place is kept until then plus a grace period).
    pub fn admit(&self, id: &LaneId, ticket: &str, priority: Priority, away: bool) -> Admission {
        let now = Instant::now();
        self.with_lane(id, now, |lane| lane.admit(ticket, priority, away, now))
    }

    /// Waits for a token in turn (background tasks only; never from a reconcile). Returns how
    /// long it waited.
    pub async fn acquire(&self, id: &LaneId, priority: Priority) -> Duration {
        static TICKETS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let ticket = format!(
            "task-{}",
            TICKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let start = Instant::now();
        // Leaves the queue when the caller's future is dropped half-way.
        let _leave = Leave {
            budget: self,
            id,
            ticket: &ticket,
        };
        loop {
            match self.admit(id, &ticket, priority, false) {
                Admission::Now => return start.elapsed(),
                Admission::Queued { wait, .. } => {
                    tokio::time::sleep(wait.clamp(Duration::from_millis(2), Duration::from_secs(1)))
                        .await
                }
            }
        }
    }

    /// Waiters per product and priority.
    pub fn waiting(&self) -> Waiting {
        let mut out = Waiting::new();
        for rule in &self.rules {
            let lanes = rule.lanes.lock().expect("budget lock");
            for lane in lanes.values() {
                for p in lane.waiting() {
                    *out.entry((rule.product.as_str(), p)).or_default() += 1;
                }
            }
        }
        out
    }

    /// Calls per second the rule of `lane` allows.
    pub fn rate(&self, id: &LaneId) -> f64 {
        self.rules[id.rule]
            .limit
            .map_or(f64::INFINITY, |l| l.per_second as f64)
    }
}

struct Leave<'a> {
    budget: &'a Budget,
    id: &'a LaneId,
    ticket: &'a str,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        self.budget
            .with_lane(self.id, now, |lane| lane.leave(self.ticket));
    }
}

#[cfg(test)]
mod tests;
