//! Maintenance windows: recurring `start` + `durationMinutes` on some weekdays, in a time zone.

use jiff::civil::{Time, Weekday as JiffWeekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

use crate::api::cutover::{MaintenanceWindow, Weekday};

/// Where `now` stands relative to the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowState {
    /// Open until the given instant.
    Open { closes_at: Timestamp },
    /// Closed; opens next at the given instant (None if it never opens, e.g. no days match).
    Closed { opens_at: Option<Timestamp> },
}

/// Why a window spec cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowError(pub String);

fn weekday(w: Weekday) -> JiffWeekday {
    match w {
        Weekday::Mon => JiffWeekday::Monday,
        Weekday::Tue => JiffWeekday::Tuesday,
        Weekday::Wed => JiffWeekday::Wednesday,
        Weekday::Thu => JiffWeekday::Thursday,
        Weekday::Fri => JiffWeekday::Friday,
        Weekday::Sat => JiffWeekday::Saturday,
        Weekday::Sun => JiffWeekday::Sunday,
    }
}

/// Evaluates the window at `now`. Windows may span midnight and last up to a week; a day named
/// in `days` is the day the window *opens*.
pub fn evaluate(window: &MaintenanceWindow, now: Timestamp) -> Result<WindowState, WindowError> {
    let tz_name = window.time_zone.as_deref().unwrap_or("UTC");
    let tz = TimeZone::get(tz_name).map_err(|e| {
        WindowError(format!(
            "spec.gates.window.timeZone {tz_name:?} is not a known IANA time zone: {e}"
        ))
    })?;
    let start: Time = window.start.parse().map_err(|e| {
        WindowError(format!(
            "spec.gates.window.start {:?} is not HH:MM: {e}",
            window.start
        ))
    })?;
    let minutes = window.duration_minutes.clamp(1, 7 * 24 * 60);
    let local: Zoned = now.to_zoned(tz.clone());
    let today = local.date();
    let opens_on = |d: jiff::civil::Date| {
        window.days.is_empty() || window.days.iter().any(|w| weekday(*w) == d.weekday())
    };
    // A window opened up to 7 days ago may still be open; the next may open within 8 days.
    for back in (0..=7).rev() {
        let day = today
            .checked_sub(back.days())
            .map_err(|e| WindowError(e.to_string()))?;
        if !opens_on(day) {
            continue;
        }
        let opens = open_instant(day, start, &tz)?;
        let closes = opens
            .checked_add(minutes.minutes())
            .map_err(|e| WindowError(e.to_string()))?;
        if opens <= now && now < closes {
            return Ok(WindowState::Open { closes_at: closes });
        }
    }
    for ahead in 0..=8 {
        let day = today
            .checked_add(ahead.days())
            .map_err(|e| WindowError(e.to_string()))?;
        if !opens_on(day) {
            continue;
        }
        let opens = open_instant(day, start, &tz)?;
        if opens > now {
            return Ok(WindowState::Closed {
                opens_at: Some(opens),
            });
        }
    }
    Ok(WindowState::Closed { opens_at: None })
}

/// The instant the window opens on `day` (a gap in local time moves it later, as clocks do).
fn open_instant(
    day: jiff::civil::Date,
    start: Time,
    tz: &TimeZone,
) -> Result<Timestamp, WindowError> {
    day.to_datetime(start)
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| WindowError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start: &str, minutes: i64, days: &[Weekday], tz: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            start: start.into(),
            duration_minutes: minutes,
            days: days.to_vec(),
            time_zone: Some(tz.into()),
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn open_inside_and_closed_outside_a_daily_window() {
        let win = w("02:00", 120, &[], "UTC");
        assert_eq!(
            evaluate(&win, ts("2026-11-22T02:30:00Z")).unwrap(),
            WindowState::Open {
                closes_at: ts("2026-11-22T04:00:00Z")
            }
        );
        assert_eq!(
            evaluate(&win, ts("2026-11-22T04:00:00Z")).unwrap(),
            WindowState::Closed {
                opens_at: Some(ts("2026-11-23T02:00:00Z"))
            }
        );
        assert_eq!(
            evaluate(&win, ts("2026-11-22T01:59:59Z")).unwrap(),
            WindowState::Closed {
                opens_at: Some(ts("2026-11-22T02:00:00Z"))
            }
        );
    }

    #[test]
    fn time_zone_shifts_the_window() {
        // 02:00 in Shanghai is 18:00 UTC the day before.
        let win = w("02:00", 60, &[], "Asia/Shanghai");
        assert!(matches!(
            evaluate(&win, ts("2026-11-21T18:30:00Z")).unwrap(),
            WindowState::Open { .. }
        ));
        assert!(matches!(
            evaluate(&win, ts("2026-11-22T02:30:00Z")).unwrap(),
            WindowState::Closed { .. }
        ));
    }

    #[test]
    fn windows_span_midnight_from_the_opening_day() {
        // Opens Saturday 23:00, lasts 3 h: Sunday 01:00 is still inside.
        let win = w("23:00", 180, &[Weekday::Sat], "UTC");
        // 2026-11-22 is a Sunday.
        assert!(matches!(
            evaluate(&win, ts("2026-11-22T01:00:00Z")).unwrap(),
            WindowState::Open { .. }
        ));
        assert_eq!(
            evaluate(&win, ts("2026-11-22T03:00:00Z")).unwrap(),
            WindowState::Closed {
                opens_at: Some(ts("2026-11-28T23:00:00Z"))
            }
        );
    }

    #[test]
    fn only_the_listed_days_open() {
        let win = w("10:00", 60, &[Weekday::Mon, Weekday::Wed], "UTC");
        // Sunday 10:30: closed, next Monday 10:00.
        assert_eq!(
            evaluate(&win, ts("2026-11-22T10:30:00Z")).unwrap(),
            WindowState::Closed {
                opens_at: Some(ts("2026-11-23T10:00:00Z"))
            }
        );
        assert!(matches!(
            evaluate(&win, ts("2026-11-25T10:59:00Z")).unwrap(),
            WindowState::Open { .. }
        ));
    }

    #[test]
    fn bad_zone_and_start_are_reported() {
        assert!(
            evaluate(
                &w("02:00", 60, &[], "Mars/Olympus"),
                ts("2026-11-22T00:00:00Z")
            )
            .unwrap_err()
            .0
            .contains("timeZone")
        );
        assert!(evaluate(&w("25:00", 60, &[], "UTC"), ts("2026-11-22T00:00:00Z")).is_err());
    }
}
