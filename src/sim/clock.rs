//! The simulated clock: real monotonic time multiplied by a scale, plus admin adjustments.
//!
//! Every state transition of the simulated services is computed from this clock (lazily, when a
//! request or an admin call looks at the state), so one `--time-scale 60` run lets a cloud minute
//! pass in a real second. Signature dates and STS expiries are *not* checked against it: clients
//! sign with their real wall clock (see `auth.rs`).

use std::time::Instant;

/// Simulated time: milliseconds since the Unix epoch (UTC).
pub type SimMillis = i64;

/// A scaled, adjustable clock that never runs backwards.
#[derive(Debug, Clone)]
pub struct SimClock {
    /// Real instant at which `base` was the simulated time.
    anchor: Instant,
    /// Simulated time at `anchor`.
    base: SimMillis,
    /// Simulated milliseconds per real millisecond; 0 freezes the clock.
    scale: f64,
}

impl SimClock {
    /// A clock that starts at `start` (simulated) now and runs `scale` times faster than real time.
    pub fn new(start: SimMillis, scale: f64) -> Self {
        Self {
            anchor: Instant::now(),
            base: start,
            scale: sanitize_scale(scale),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimMillis {
        let real = self.anchor.elapsed().as_secs_f64() * 1000.0;
        self.base + (real * self.scale) as i64
    }

    /// The current time scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Changes the scale from now on (the simulated time does not jump).
    pub fn set_scale(&mut self, scale: f64) {
        self.rebase();
        self.scale = sanitize_scale(scale);
    }

    /// Moves simulated time forward.
    pub fn advance(&mut self, millis: i64) {
        self.rebase();
        self.base += millis.max(0);
    }

    /// Jumps to `target`; refuses to go back, because the services' state was already computed
    /// up to the present and time travel would make it inconsistent.
    pub fn set(&mut self, target: SimMillis) -> Result<(), String> {
        let now = self.now();
        if target < now {
            return Err(format!(
                "the simulated clock cannot go back (now {now} ms, asked {target} ms)"
            ));
        }
        self.advance(target - now);
        Ok(())
    }

    /// How many real milliseconds it takes for `sim_millis` of simulated time to pass.
    pub fn real_millis_for(&self, sim_millis: i64) -> Option<u64> {
        (self.scale > 0.0).then(|| (sim_millis.max(0) as f64 / self.scale).ceil() as u64)
    }

    fn rebase(&mut self) {
        self.base = self.now();
        self.anchor = Instant::now();
    }
}

fn sanitize_scale(scale: f64) -> f64 {
    if scale.is_finite() && scale >= 0.0 {
        scale
    } else {
        1.0
    }
}

/// Real wall-clock time, milliseconds since the Unix epoch.
pub fn wall_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// `YYYY-MM-DD HH:mm:ss` in UTC, the MMS payload format.
pub fn fmt_mms(t: SimMillis) -> String {
    timestamp(t).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `YYYY-MM-DDTHH:mm:ssZ` in UTC, the DTS and STS payload format.
pub fn fmt_iso(t: SimMillis) -> String {
    timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses RFC 3339 / ISO 8601 timestamps (`2025-01-15T08:30:00Z`) and MMS-style
/// `2025-01-15 08:30:00` (taken as UTC).
pub fn parse_time(text: &str) -> Option<SimMillis> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", text).ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

fn timestamp(t: SimMillis) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let mut clock = SimClock::new(1_000, 0.0);
        assert_eq!(clock.now(), 1_000);
        clock.advance(5_000);
        assert_eq!(clock.now(), 6_000);
        assert!(clock.set(2_000).is_err());
        clock.set(10_000).unwrap();
        assert_eq!(clock.now(), 10_000);
        assert_eq!(clock.real_millis_for(1_000), None);
    }

    #[test]
    fn formats_match_the_services() {
        let t = parse_time("2025-01-15T08:30:00Z").unwrap();
        assert_eq!(fmt_mms(t), "2025-01-15 08:30:00");
        assert_eq!(fmt_iso(t), "2025-01-15T08:30:00Z");
        assert_eq!(parse_time("2025-01-15 08:30:00"), Some(t));
    }
}
