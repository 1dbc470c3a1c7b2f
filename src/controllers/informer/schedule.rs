//! Adaptive polling, as pure arithmetic: when an account's budget cannot poll every object at
//! its nominal interval, every interval stretches by the same factor.

use std::time::Duration;

/// Share of an account's budget the pollers plan to use; the rest is left for the mutating
/// calls users wait for (they go first anyway; this keeps polls on their announced schedule).
pub const POLL_SHARE: f64 = 0.8;

/// What one account's pollers must read, per second, at nominal intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Demand {
    /// Σ 1/interval over the tracked objects: polls per second wanted.
    pub polls_per_second: f64,
    /// Calls one poll of one object costs on average (a list page shared by many objects, plus
    /// the detail reads of the objects that changed).
    pub calls_per_poll: f64,
}

/// The factor (≥ 1) every interval is multiplied by so that the polls fit the budget.
pub fn stretch(demand: Demand, calls_per_second: f64) -> f64 {
    let available = calls_per_second * POLL_SHARE;
    let wanted = demand.polls_per_second * demand.calls_per_poll;
    if !available.is_finite() || available <= 0.0 {
        return 1.0;
    }
    (wanted / available).max(1.0)
}

/// Moves the running estimate of calls per polled object towards what the last round cost.
pub fn calls_per_poll(previous: f64, calls: u32, objects: usize) -> f64 {
    if objects == 0 {
        return previous;
    }
    let measured = calls as f64 / objects as f64;
    // Smooth over rounds: one round that found many changes should not double every interval.
    0.7 * previous + 0.3 * measured
}

/// An interval stretched by `factor`.
pub fn stretched(interval: Duration, factor: f64) -> Duration {
    interval.mul_f64(factor.max(1.0))
}

/// Whether an object that is not due yet is read along with a due one of the same list: it
/// costs nothing more than the list page, and the two then share their schedule.
pub fn rides_along(until_due: Duration, interval: Duration) -> bool {
    until_due <= interval / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_nominal_while_the_budget_suffices() {
        let demand = Demand {
            polls_per_second: 100.0 / 30.0,
            calls_per_poll: 0.05,
        };
        assert_eq!(stretch(demand, 8.0), 1.0);
    }

    #[test]
    fn intervals_stretch_evenly_by_what_is_missing() {
        // 2,000 jobs every 30 s at 0.5 calls each = 33 calls/s wanted; 6.4 available.
        let demand = Demand {
            polls_per_second: 2000.0 / 30.0,
            calls_per_poll: 0.5,
        };
        let factor = stretch(demand, 8.0);
        assert!((factor - 33.333 / 6.4).abs() < 0.01, "{factor}");
        assert_eq!(
            stretched(Duration::from_secs(30), factor).as_secs(),
            156,
            "every interval gets the same factor"
        );
        assert_eq!(stretch(demand, f64::INFINITY), 1.0);
    }

    #[test]
    fn the_cost_estimate_follows_the_rounds_smoothly() {
        let mut c = 1.0;
        for _ in 0..20 {
            c = calls_per_poll(c, 1, 100);
        }
        assert!((c - 0.01).abs() < 0.01, "{c}");
        assert_eq!(calls_per_poll(0.5, 3, 0), 0.5);
        assert!(calls_per_poll(0.01, 100, 100) < 0.5);
    }

    #[test]
    fn only_objects_due_soon_ride_along() {
        let every = Duration::from_secs(30);
        assert!(rides_along(Duration::from_secs(10), every));
        assert!(!rides_along(Duration::from_secs(20), every));
    }
}
