//! Incremental replication lag as a function of cloud time (see [`LagCurve`]).

use crate::sim::ids::{stable_hash, unit};
use crate::sim::scenario::LagCurve;

/// Jitter is re-drawn every this many cloud milliseconds, so repeated reads agree.
const JITTER_BUCKET_MS: i64 = 10_000;

/// Lag in milliseconds `t_ms` after the curve's origin. `backlog_ms` is the decay start when
/// the curve does not fix one; `key` and `seed` make the jitter deterministic per job.
pub fn lag_ms(curve: &LagCurve, t_ms: i64, backlog_ms: i64, key: &str, seed: u64) -> i64 {
    let t = t_ms.max(0);
    let base = if curve.points.is_empty() {
        let start = curve.start.map(|d| d.ms()).unwrap_or(backlog_ms) as f64;
        let floor = curve.floor.ms() as f64;
        let half_life = curve.half_life.ms().max(1) as f64;
        floor + (start - floor) * 0.5f64.powf(t as f64 / half_life)
    } else {
        piecewise(&curve.points, t)
    };
    let spikes: f64 = curve
        .spikes
        .iter()
        .map(|s| {
            let (at, dur) = (s.at.ms(), s.duration.ms().max(1));
            if t < at || t >= at + dur {
                return 0.0;
            }
            let x = (t - at) as f64 / dur as f64;
            s.peak.ms() as f64 * (1.0 - (2.0 * x - 1.0).abs())
        })
        .sum();
    let jitter = if curve.jitter.ms() > 0 {
        let bucket = (t / JITTER_BUCKET_MS).to_string();
        let u = unit(stable_hash(&[key, &bucket], seed));
        (u * 2.0 - 1.0) * curve.jitter.ms() as f64
    } else {
        0.0
    };
    (base + spikes + jitter).max(0.0).round() as i64
}

fn piecewise(points: &[(crate::sim::scenario::Dur, crate::sim::scenario::Dur)], t: i64) -> f64 {
    let mut prev = points[0];
    if t <= prev.0.ms() {
        return prev.1.ms() as f64;
    }
    for &p in &points[1..] {
        if t <= p.0.ms() {
            let span = (p.0.ms() - prev.0.ms()).max(1) as f64;
            let f = (t - prev.0.ms()) as f64 / span;
            return prev.1.ms() as f64 + f * (p.1.ms() - prev.1.ms()) as f64;
        }
        prev = p;
    }
    prev.1.ms() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::{Dur, Spike};

    #[test]
    fn decays_from_the_backlog_to_the_floor() {
        let curve = LagCurve {
            jitter: Dur::millis(0),
            ..LagCurve::default()
        };
        let at = |t| lag_ms(&curve, t, 120_000, "job", 1);
        assert_eq!(at(0), 120_000);
        assert!(at(60_000) < 61_000);
        assert!(at(600_000) < 1_400);
        assert!(at(600_000) >= 1_200);
    }

    #[test]
    fn points_spikes_and_jitter() {
        let curve = LagCurve {
            points: vec![(Dur::secs(0), Dur::secs(10)), (Dur::secs(10), Dur::secs(0))],
            jitter: Dur::millis(0),
            spikes: vec![Spike {
                at: Dur::secs(20),
                peak: Dur::secs(8),
                duration: Dur::secs(10),
            }],
            ..LagCurve::default()
        };
        assert_eq!(lag_ms(&curve, 5_000, 0, "j", 1), 5_000);
        assert_eq!(lag_ms(&curve, 25_000, 0, "j", 1), 8_000);
        assert_eq!(lag_ms(&curve, 40_000, 0, "j", 1), 0);
        let jittery = LagCurve::default();
        let a = lag_ms(&jittery, 1_000_000, 0, "j", 1);
        assert_eq!(a, lag_ms(&jittery, 1_000_001, 0, "j", 1));
        assert!((900..=1_500).contains(&a));
    }
}
