//! Timers (scheduled migrations): each firing refreshes the metadata of the timer's database
//! and creates an incremental job.

use super::{JobRequest, Mms};
use crate::sim::clock::SimMillis;
use crate::sim::wire::ApiError;

/// A scheduled migration (timer).
#[derive(Debug, Clone)]
pub struct Timer {
    pub id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub name: String,
    pub src_db_name: String,
    pub schedule_type: String,
    pub value: String,
    pub stopped: bool,
    pub create_time: SimMillis,
    pub update_time: SimMillis,
    pub request: JobRequest,
    pub next_fire: Option<SimMillis>,
}

/// A timer run.
#[derive(Debug, Clone)]
pub struct TimerLog {
    /// The async task id of the job creation.
    pub id: i64,
    pub source_id: i64,
    pub timer_id: i64,
    pub action: String,
    pub msg: String,
    pub create_time: SimMillis,
}

impl Mms {
    /// CreateMmsTimer.
    pub fn create_timer(
        &mut self,
        source_id: i64,
        request: JobRequest,
        schedule_type: &str,
        value: &str,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        self.source_started(source_id)?;
        let name = request
            .name
            .clone()
            .ok_or_else(|| ApiError::missing("name"))?;
        let db_name = request
            .src_db_name
            .clone()
            .ok_or_else(|| ApiError::missing("srcDbName"))?;
        let db_id = self
            .catalog
            .dbs
            .values()
            .find(|d| d.source_id == source_id && d.name == db_name)
            .map(|d| d.id)
            .ok_or_else(|| {
                ApiError::invalid_because(
                    "srcDbName",
                    "database not found; run a metadata scan first",
                )
            })?;
        let schedule_type = normalize_schedule(schedule_type)?;
        let next_fire = next_fire(&schedule_type, value, now)?;
        let id = self.next_timer;
        self.next_timer += 1;
        self.timers.insert(
            id,
            Timer {
                id,
                source_id,
                db_id,
                name,
                src_db_name: db_name,
                schedule_type,
                value: value.to_string(),
                stopped: false,
                create_time: now,
                update_time: now,
                request,
                next_fire: Some(next_fire),
            },
        );
        Ok(id)
    }

    /// The timer of `source_id` with `timer_id`.
    pub fn timer(&self, source_id: i64, timer_id: i64) -> Result<&Timer, ApiError> {
        self.timers
            .get(&timer_id)
            .filter(|t| t.source_id == source_id)
            .ok_or_else(|| ApiError::not_found("TimerNotFound", format!("Timer {timer_id}")))
    }

    /// UpdateMmsTimer.
    #[allow(clippy::too_many_arguments)]
    pub fn update_timer(
        &mut self,
        source_id: i64,
        timer_id: i64,
        schedule_type: Option<&str>,
        value: Option<&str>,
        stopped: Option<bool>,
        black: Option<Vec<String>>,
        white: Option<Vec<String>>,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.timer(source_id, timer_id)?;
        let timer = self.timers.get_mut(&timer_id).expect("checked");
        if let Some(s) = schedule_type {
            timer.schedule_type = normalize_schedule(s)?;
        }
        if let Some(v) = value {
            timer.value = v.to_string();
        }
        if let Some(s) = stopped {
            timer.stopped = s;
        }
        if black.is_some() {
            timer.request.table_black_list = black;
        }
        if white.is_some() {
            timer.request.table_white_list = white;
        }
        timer.update_time = now;
        timer.next_fire = Some(next_fire(&timer.schedule_type, &timer.value, now)?);
        Ok(())
    }

    /// DeleteMmsTimer.
    pub fn delete_timer(&mut self, source_id: i64, timer_id: i64) -> Result<(), ApiError> {
        self.timer(source_id, timer_id)?;
        self.timers.remove(&timer_id);
        Ok(())
    }

    /// TriggerMmsTimer: runs the timer now.
    pub fn trigger_timer(
        &mut self,
        source_id: i64,
        timer_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.timer(source_id, timer_id)?;
        self.run_timer(timer_id, now)
    }

    pub(super) fn fire_timer(&mut self, id: i64, at: SimMillis) {
        let _ = self.run_timer(id, at);
        if let Some(t) = self.timers.get_mut(&id) {
            t.next_fire = next_fire(&t.schedule_type, &t.value, at).ok();
        }
    }

    fn run_timer(&mut self, id: i64, at: SimMillis) -> Result<(), ApiError> {
        let timer = self
            .timers
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("TimerNotFound", id))?;
        self.refresh_metadata(timer.source_id, &timer.src_db_name, at);
        let stamp = crate::sim::clock::fmt_iso(at).replace(['-', ':', 'T', 'Z'], "");
        let mut request = timer.request.clone();
        request.name = Some(format!("{}_{stamp}", timer.name));
        request.increment = Some(true);
        request.timer_id = Some(id);
        let (msg, async_id) = match self.create_job(timer.source_id, request, at) {
            Ok(async_id) => ("job creation started".to_string(), async_id),
            Err(e) => (e.message.clone(), self.alloc_async()),
        };
        self.timer_logs.push(TimerLog {
            id: async_id,
            source_id: timer.source_id,
            timer_id: id,
            action: "start job".into(),
            msg,
            create_time: at,
        });
        Ok(())
    }

    /// The scheduled metadata refresh of the timer's database that precedes each round (the
    /// documented set-up for incremental migration, done here by the timer itself): partitions
    /// added to the source since the last scan become catalogue partitions in INIT, changed
    /// ones turn `updated`, and the round's planning picks them up. It is instantaneous and
    /// meets no planned scan failure. A source that is not started is not read; the job
    /// creation then reports why.
    fn refresh_metadata(&mut self, source_id: i64, db: &str, at: SimMillis) {
        let Some(source) = self
            .sources
            .get(&source_id)
            .filter(|s| s.status == "STARTED")
        else {
            return;
        };
        self.catalog.absorb_scan(source, Some(db), &[], at);
        if let Some(s) = self.sources.get_mut(&source_id) {
            s.last_update_time = Some(at);
        }
    }

    /// Status of a timer run, from its async task.
    pub fn timer_log_status(&self, log: &TimerLog) -> &'static str {
        self.async_tasks
            .get(&log.id)
            .map(|a| a.status.as_str())
            .unwrap_or("FAILED")
    }
}

fn normalize_schedule(text: &str) -> Result<String, ApiError> {
    match text.to_ascii_lowercase().as_str() {
        "daily" => Ok("Daily".into()),
        "hourly" => Ok("Hourly".into()),
        _ => Err(ApiError::invalid_because(
            "scheduleType",
            "expected Daily or Hourly",
        )),
    }
}

/// The first firing strictly after `after`: `Daily` at `HH:MM` UTC, `Hourly` at minute `MM`.
pub fn next_fire(
    schedule_type: &str,
    value: &str,
    after: SimMillis,
) -> Result<SimMillis, ApiError> {
    const MINUTE: i64 = 60_000;
    let bad = || ApiError::invalid_because("value", "expected HH:MM for Daily or MM for Hourly");
    let (period, offset) = if schedule_type == "Daily" {
        let (h, m) = value.split_once(':').ok_or_else(bad)?;
        let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(0..24).contains(&h) || !(0..60).contains(&m) {
            return Err(bad());
        }
        (24 * 60 * MINUTE, (h * 60 + m) * MINUTE)
    } else {
        let m: i64 = value.trim().parse().map_err(|_| bad())?;
        if !(0..60).contains(&m) {
            return Err(bad());
        }
        (60 * MINUTE, m * MINUTE)
    };
    let base = after.div_euclid(period) * period + offset;
    Ok(if base > after { base } else { base + period })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::fmt_mms;

    #[test]
    fn timers_fire_on_the_next_slot() {
        let t0 = crate::sim::clock::parse_time("2025-01-15T08:30:00Z").unwrap();
        let daily = next_fire("Daily", "02:00", t0).unwrap();
        assert_eq!(fmt_mms(daily), "2025-01-16 02:00:00");
        let hourly = next_fire("Hourly", "45", t0).unwrap();
        assert_eq!(fmt_mms(hourly), "2025-01-15 08:45:00");
        assert!(next_fire("Daily", "25:00", t0).is_err());
    }
}
