//! Poll timing shared by the controllers' pure decisions.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Time from `from` to `now`; zero when `now` is earlier (clock skew between replicas).
pub fn elapsed(from: jiff::Timestamp, now: jiff::Timestamp) -> Duration {
    Duration::try_from(now.duration_since(from)).unwrap_or_default()
}

/// How long until a poll every `interval` (times the operator's poll `scale`) is due again
/// after `last`; zero when it is due now or never happened. The early return of a reconcile
/// that is not due requeues after exactly this, so waiting objects cost nothing in between:
/// a fixed short requeue would keep thousands of them cycling and starve new objects.
pub fn remaining(
    last: Option<&Time>,
    interval: Duration,
    now: jiff::Timestamp,
    scale: f64,
) -> Duration {
    let Some(last) = last else {
        return Duration::ZERO;
    };
    interval
        .mul_f64(scale.max(0.0))
        .saturating_sub(elapsed(last.0, now))
}

/// Keeps the previous poll stamp when nothing else in the status changed: a poll that learnt
/// nothing new then writes nothing (no status churn, no watch event, no idle writes with
/// thousands of objects). The stamp still moves with every real change, which is what keeps
/// the reconcile that the operator's own write triggers from polling again at once.
pub fn keep_stamp_unless_changed<S: Clone + PartialEq>(
    prev: &S,
    next: &mut S,
    stamp: fn(&mut S) -> &mut Option<Time>,
) {
    keep_stamps_unless_changed(prev, next, &[stamp]);
}

/// [`keep_stamp_unless_changed`] for several stamps (e.g. the last poll and the next one): when
/// nothing but them changed, `next` is `prev` again.
pub fn keep_stamps_unless_changed<S: Clone + PartialEq>(
    prev: &S,
    next: &mut S,
    stamps: &[fn(&mut S) -> &mut Option<Time>],
) {
    let mut unchanged = prev.clone();
    for stamp in stamps {
        *stamp(&mut unchanged) = stamp(next).clone();
    }
    if unchanged == *next {
        *next = prev.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn remaining_counts_down_from_the_last_poll_and_scales() {
        let last = Time(t(0));
        let every = Duration::from_secs(120);
        assert_eq!(remaining(None, every, t(0), 1.0), Duration::ZERO);
        assert_eq!(
            remaining(Some(&last), every, t(20), 1.0),
            Duration::from_secs(100)
        );
        assert_eq!(remaining(Some(&last), every, t(120), 1.0), Duration::ZERO);
        assert_eq!(remaining(Some(&last), every, t(500), 1.0), Duration::ZERO);
        assert_eq!(
            remaining(Some(&last), every, t(2), 0.1),
            Duration::from_secs(10)
        );
        // A timestamp from a replica whose clock runs ahead does not stall polling forever.
        assert_eq!(remaining(Some(&last), every, t(-30), 1.0), every);
    }

    #[derive(Clone, PartialEq, Debug, Default)]
    struct S {
        phase: &'static str,
        polled: Option<Time>,
    }

    #[test]
    fn the_stamp_moves_only_with_a_change() {
        let prev = S {
            phase: "Running",
            polled: Some(Time(t(0))),
        };
        let mut same = S {
            phase: "Running",
            polled: Some(Time(t(30))),
        };
        keep_stamp_unless_changed(&prev, &mut same, |s| &mut s.polled);
        assert_eq!(same, prev);
        let mut changed = S {
            phase: "Done",
            polled: Some(Time(t(30))),
        };
        keep_stamp_unless_changed(&prev, &mut changed, |s| &mut s.polled);
        assert_eq!(changed.polled, Some(Time(t(30))));
    }
}
