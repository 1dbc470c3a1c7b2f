use super::*;

fn lane(per_second: u32, burst: u32, now: Instant) -> Lane {
    Lane::new(RateLimit { per_second, burst }, false, now)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_burst_goes_at_once_then_the_rate_applies() {
    let t0 = Instant::now();
    let mut l = lane(10, 2, t0);
    assert_eq!(l.admit("a", Priority::Poll, true, t0), Admission::Now);
    assert_eq!(l.admit("b", Priority::Poll, true, t0), Admission::Now);
    assert_eq!(
        l.admit("c", Priority::Poll, true, t0),
        Admission::Queued {
            wait: ms(100),
            ahead: 0
        }
    );
    assert_eq!(
        l.admit("c", Priority::Poll, true, t0 + ms(100)),
        Admission::Now
    );
}

#[test]
fn higher_priorities_go_first_and_equal_ones_in_arrival_order() {
    let t0 = Instant::now();
    let mut l = lane(10, 1, t0);
    assert_eq!(l.admit("first", Priority::Poll, true, t0), Admission::Now);
    // Queue: two polls, then a mutation and a critical call arrive later.
    assert!(matches!(
        l.admit("poll-1", Priority::Poll, true, t0),
        Admission::Queued { ahead: 0, .. }
    ));
    assert!(matches!(
        l.admit("poll-2", Priority::Poll, true, t0),
        Admission::Queued { ahead: 1, .. }
    ));
    assert_eq!(
        l.admit("create", Priority::Mutation, true, t0),
        Admission::Queued {
            wait: ms(100),
            ahead: 0
        }
    );
    assert_eq!(
        l.admit("stop", Priority::Critical, true, t0),
        Admission::Queued {
            wait: ms(100),
            ahead: 0
        }
    );
    // The polls moved back; nobody but the head may take the next token.
    let t1 = t0 + ms(100);
    assert!(matches!(
        l.admit("poll-1", Priority::Poll, true, t1),
        Admission::Queued { ahead: 2, .. }
    ));
    assert!(matches!(
        l.admit("create", Priority::Mutation, true, t1),
        Admission::Queued { ahead: 1, .. }
    ));
    assert_eq!(
        l.admit("stop", Priority::Critical, true, t1),
        Admission::Now
    );
    assert_eq!(
        l.admit("create", Priority::Mutation, true, t1 + ms(100)),
        Admission::Now
    );
    assert_eq!(
        l.admit("poll-1", Priority::Poll, true, t1 + ms(200)),
        Admission::Now
    );
    assert_eq!(
        l.admit("poll-2", Priority::Poll, true, t1 + ms(300)),
        Admission::Now
    );
}

#[test]
fn the_wait_counts_every_waiter_ahead_so_nobody_comes_back_early() {
    let t0 = Instant::now();
    let mut l = lane(8, 1, t0);
    assert_eq!(l.admit("x", Priority::Mutation, true, t0), Admission::Now);
    let waits: Vec<Duration> = (0..4)
        .map(
            |i| match l.admit(&format!("w{i}"), Priority::Mutation, true, t0) {
                Admission::Queued { wait, ahead } => {
                    assert_eq!(ahead, i);
                    wait
                }
                Admission::Now => panic!("no token left"),
            },
        )
        .collect();
    assert_eq!(waits, [ms(125), ms(250), ms(375), ms(500)]);
    // Each one, back at its time, goes (in order, nothing expires before it is sent).
    for (i, wait) in waits.iter().enumerate() {
        assert_eq!(
            l.admit(&format!("w{i}"), Priority::Mutation, true, t0 + *wait),
            Admission::Now,
            "w{i}"
        );
    }
}

#[test]
fn a_waiter_that_never_comes_back_loses_its_place_after_the_grace() {
    let t0 = Instant::now();
    let mut l = lane(10, 1, t0);
    assert_eq!(l.admit("x", Priority::Mutation, true, t0), Admission::Now);
    assert!(matches!(
        l.admit("gone", Priority::Mutation, true, t0),
        Admission::Queued { ahead: 0, .. }
    ));
    assert!(matches!(
        l.admit("next", Priority::Mutation, true, t0),
        Admission::Queued { ahead: 1, .. }
    ));
    let later = t0 + ms(100) + AWAY_GRACE + ms(1);
    assert_eq!(
        l.admit("next", Priority::Mutation, true, later),
        Admission::Now
    );
}

#[test]
fn a_reconcile_keeps_its_place_for_its_next_call() {
    let t0 = Instant::now();
    let mut l = lane(10, 1, t0);
    assert_eq!(
        l.admit("reconcile", Priority::Mutation, true, t0),
        Admission::Now
    );
    assert!(matches!(
        l.admit("other", Priority::Mutation, true, t0),
        Admission::Queued { ahead: 0, .. }
    ));
    // Its second call goes at once (one token of debt) instead of behind "other".
    assert_eq!(
        l.admit("reconcile", Priority::Mutation, true, t0 + ms(1)),
        Admission::Now
    );
    // ...but not a third one right away.
    assert!(matches!(
        l.admit("reconcile", Priority::Mutation, true, t0 + ms(2)),
        Admission::Queued { ahead: 0, .. }
    ));
}

#[test]
fn a_reconcile_needing_more_calls_than_the_burst_gets_them_together_at_its_next_turn() {
    let t0 = Instant::now();
    let mut l = lane(1, 1, t0);
    let mut now = t0;
    // Each attempt makes 4 calls and starts over when one is queued.
    let mut attempts = 0;
    let finished = loop {
        attempts += 1;
        assert!(attempts < 10, "the reconcile never got its 4 calls");
        let mut wait = None;
        for _ in 0..4 {
            match l.admit("multi", Priority::Mutation, true, now) {
                Admission::Now => {}
                Admission::Queued { wait: w, .. } => {
                    wait = Some(w);
                    break;
                }
            }
        }
        match wait {
            None => break now,
            Some(w) => now += w + ms(100),
        }
    };
    assert!(attempts <= 3, "{attempts} attempts");
    // The calls it took at once are paid for: the next caller waits for them.
    assert!(matches!(
        l.admit("next", Priority::Mutation, true, finished),
        Admission::Queued { .. }
    ));
}

#[test]
fn a_documented_limit_is_never_exceeded_for_a_reconcile() {
    let t0 = Instant::now();
    let mut l = Lane::new(
        RateLimit {
            per_second: 10,
            burst: 1,
        },
        true,
        t0,
    );
    assert_eq!(l.admit("r", Priority::Mutation, true, t0), Admission::Now);
    // No token of debt for its second call, and no tokens taken ahead at its next turn.
    assert!(matches!(
        l.admit("r", Priority::Mutation, true, t0),
        Admission::Queued { .. }
    ));
    assert_eq!(
        l.admit("r", Priority::Mutation, true, t0 + ms(100)),
        Admission::Now
    );
    assert!(matches!(
        l.admit("r", Priority::Mutation, true, t0 + ms(100)),
        Admission::Queued { .. }
    ));
}

#[test]
fn a_sustained_queue_never_exceeds_rate_plus_burst_in_any_second() {
    let t0 = Instant::now();
    let mut l = lane(8, 2, t0);
    let mut sent = Vec::new();
    let mut now = t0;
    // 50 away waiters, each coming back exactly when told (+ the controller's 100 ms).
    let mut due: Vec<(Instant, String)> = (0..50).map(|i| (t0, format!("w{i}"))).collect();
    while !due.is_empty() {
        due.sort();
        let (at, ticket) = due.remove(0);
        now = now.max(at);
        match l.admit(&ticket, Priority::Mutation, true, now) {
            Admission::Now => sent.push(now),
            Admission::Queued { wait, .. } => due.push((now + wait + ms(100), ticket)),
        }
    }
    let busiest = sent
        .iter()
        .map(|a| {
            sent.iter()
                .filter(|b| **b >= *a && **b - *a < ms(1000))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        busiest < 8 + 2,
        "{busiest} calls in one second (rate 8, burst 2)"
    );
    // And the queue drained at close to the full rate (50 calls at 8/s ≈ 6 s).
    let took = *sent.last().unwrap() - t0;
    assert!(took < Duration::from_secs(7), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn background_waiters_sleep_in_turn_and_leave_when_dropped() {
    let budget = Budget::new(&RateLimits {
        mms: RateLimit {
            per_second: 10,
            burst: 1,
        },
        ..RateLimits::unlimited()
    });
    let id = budget.lane(Product::Mms, "ListMmsJobs", 1, "r").unwrap();
    assert!(
        budget
            .lane(Product::Dts, "DescribeDtsJobs", 1, "r")
            .is_none()
    );
    let start = Instant::now();
    for _ in 0..5 {
        budget.acquire(&id, Priority::Poll).await;
    }
    assert_eq!(start.elapsed(), ms(400));
    // A cancelled waiter does not stay in the queue.
    let cancelled = tokio::time::timeout(ms(1), budget.acquire(&id, Priority::Poll)).await;
    assert!(cancelled.is_err());
    assert!(budget.waiting().is_empty());
    // A mutation from a reconcile is not queued behind a background poll that waits.
    let poll = budget.acquire(&id, Priority::Poll);
    tokio::pin!(poll);
    assert!(
        tokio::time::timeout(ms(1), &mut poll).await.is_err(),
        "the poll waits for the next token"
    );
    assert!(matches!(
        budget.admit(&id, "create", Priority::Mutation, true),
        Admission::Queued { ahead: 0, .. }
    ));
    assert_eq!(budget.waiting().get(&("mms", Priority::Poll)), Some(&1));
}
