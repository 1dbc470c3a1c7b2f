//! One DTS migration instance and its job, with the state machine of
//! `docs/cloud-apis.md#dts-status-values-and-state-machine`:
//! `NotConfigured` → `Prechecking` → `PreCheckPass`/`PrecheckFailed` → `Migrating`
//! (structure → full → incremental) with `Suspending`, `Retrying`, `MigrationFailed` and
//! `Finished`. Progress is accounted in active cloud time, so pauses freeze it.

use std::collections::BTreeMap;

use super::lag;
use super::writes::Writes;
use crate::sim::clock::SimMillis;
use crate::sim::scenario::{CheckResult, DtsTimings, LagCurve, PrecheckItemSpec};

/// Where a running job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Phase {
    Precheck,
    /// `PreCheckPass`, shown briefly before migrating.
    PassDwell,
    Structure,
    Full,
    Incremental,
}

/// The job's state (the wire `Status` derives from it and the phase).
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    NotConfigured,
    NotStarted,
    Running,
    PrecheckFailed,
    Suspended,
    Retrying {
        since: SimMillis,
        message: String,
        recover_at: Option<SimMillis>,
    },
    Failed {
        message: String,
    },
    Finished {
        at: SimMillis,
    },
}

/// Migration types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modes {
    pub structure: bool,
    pub full: bool,
    pub incremental: bool,
}

/// A source or destination endpoint as configured (passwords are never kept).
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub instance_type: String,
    pub engine_name: String,
    pub instance_id: String,
    pub region: String,
    pub ip: String,
    pub port: String,
    pub database_name: String,
    pub user_name: String,
    pub oracle_sid: String,
    pub owner_id: String,
    pub role: String,
}

/// A migrated table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtsTable {
    pub db: String,
    pub dst_db: String,
    pub name: String,
    pub dst_name: String,
    pub rows: i64,
}

/// The configuration given by ConfigureDtsJob / ConfigureMigrationJob.
#[derive(Debug, Clone, Default)]
pub struct JobConfig {
    pub name: String,
    pub source: Endpoint,
    pub dest: Endpoint,
    pub modes: Modes,
    /// DbList (new API) as sent.
    pub db_list: String,
    /// MigrationObject (legacy API) as sent.
    pub migration_object: String,
    pub reserve: String,
    pub tables: Vec<DtsTable>,
    pub checkpoint: Option<i64>,
    pub data_check: bool,
    /// `incrementalDataCheck` of DataCheckConfigure.
    pub inc_data_check: bool,
    pub max_retry_ms: i64,
}

/// A precheck item of this job and whether SkipPreCheck waived it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemConfig {
    pub spec: PrecheckItemSpec,
    pub skipped: bool,
}

/// One evaluated precheck item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    pub item: String,
    pub description: String,
    /// `NotStarted`, `Checking`, `Success`, `Failed` or `Warning`.
    pub state: &'static str,
    pub message: String,
    pub repair: String,
    pub can_skip: bool,
    pub skipped: bool,
    pub boot_time: Option<SimMillis>,
    pub finish_time: Option<SimMillis>,
}

/// A lag monitoring rule (CreateJobMonitorRule).
#[derive(Debug, Clone, Default)]
pub struct MonitorRule {
    pub kind: String,
    pub state: String,
    pub delay_rule_time: i64,
    pub phone: String,
    pub notice_value: i64,
    pub period: i64,
    pub times: i64,
}

/// What the state machine needs besides the job: timings, the default lag curve and the seed.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub timings: &'a DtsTimings,
    pub curve: &'a LagCurve,
    pub seed: u64,
}

/// A DTS instance and its job.
#[derive(Debug, Clone)]
pub struct DtsJob {
    pub id: String,
    pub instance_id: Option<String>,
    pub account_id: String,
    pub region: String,
    /// `MIGRATION` or `SYNC`.
    pub job_type: String,
    pub pay_type: String,
    pub class: String,
    pub source_engine: String,
    pub dest_engine: String,
    /// Created through the legacy migration-job API.
    pub legacy: bool,
    pub created_at: SimMillis,
    pub state: State,
    pub config: Option<JobConfig>,
    pub items: Vec<ItemConfig>,
    pub last_results: Vec<ItemResult>,
    pub precheck_runs: u32,
    pub phase: Phase,
    pub done_ms: i64,
    pub active_since: Option<SimMillis>,
    pub migration_started_at: Option<SimMillis>,
    pub phase_started: BTreeMap<Phase, SimMillis>,
    pub phase_finished: BTreeMap<Phase, SimMillis>,
    pub retry_count: u32,
    pub error_message: Option<String>,
    /// Admin lag override: curve, origin, lag at the origin.
    pub lag_override: Option<(LagCurve, SimMillis, i64)>,
    pause_lag: Option<(i64, SimMillis)>,
    resume_residual: Option<(i64, SimMillis)>,
    pub check_diffs: BTreeMap<String, i64>,
    /// Inconsistent rows the incremental data check reports per table (admin).
    pub inc_check_diffs: BTreeMap<String, i64>,
    pub monitor_rules: Vec<MonitorRule>,
    /// Transactions committed on the source (admin), replicated up to the checkpoint.
    pub writes: Writes,
    /// The checkpoint (ms) when StopDtsJob ended incremental migration: it never moves again.
    pub stop_checkpoint: Option<SimMillis>,
    /// DDL statements run on the source during incremental migration (admin), as DTS applied
    /// them (DescribePreCheckStatus `StructType=after`).
    pub ddl_events: Vec<DdlEvent>,
}

/// One DDL statement incremental migration met.
#[derive(Debug, Clone, PartialEq)]
pub struct DdlEvent {
    /// `db.table`.
    pub table: String,
    pub sql: String,
    pub at: SimMillis,
    /// Empty when applied.
    pub error: String,
}

impl DdlEvent {
    /// Seed 001: into MaxCompute only ADD COLUMN replicates. The simulator fails the others (the
    /// real service's reaction is not documented).
    pub fn applied(table: &str, sql: &str, at: SimMillis, dest_engine: &str) -> Self {
        let upper = sql.to_ascii_uppercase();
        let add_column = upper.contains("ALTER TABLE") && upper.contains("ADD COLUMN");
        let error = if dest_engine.eq_ignore_ascii_case("ODPS") && !add_column {
            "MaxCompute takes only ALTER TABLE ... ADD COLUMN during incremental migration".into()
        } else {
            String::new()
        };
        Self {
            table: table.into(),
            sql: sql.into(),
            at,
            error,
        }
    }
}

impl DtsJob {
    /// A purchased, unconfigured instance (or, with `instance_id` `None`, a configured-first job).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        with_instance: bool,
        account_id: &str,
        region: &str,
        job_type: &str,
        pay_type: &str,
        class: &str,
        now: SimMillis,
    ) -> Self {
        Self {
            instance_id: with_instance.then(|| format!("dts{id}")),
            id,
            account_id: account_id.to_string(),
            region: region.to_string(),
            job_type: job_type.to_string(),
            pay_type: pay_type.to_string(),
            class: class.to_string(),
            source_engine: String::new(),
            dest_engine: String::new(),
            legacy: false,
            created_at: now,
            state: State::NotConfigured,
            config: None,
            items: Vec::new(),
            last_results: Vec::new(),
            precheck_runs: 0,
            phase: Phase::Precheck,
            done_ms: 0,
            active_since: None,
            migration_started_at: None,
            phase_started: BTreeMap::new(),
            phase_finished: BTreeMap::new(),
            retry_count: 0,
            error_message: None,
            lag_override: None,
            pause_lag: None,
            resume_residual: None,
            check_diffs: BTreeMap::new(),
            inc_check_diffs: BTreeMap::new(),
            ddl_events: Vec::new(),
            monitor_rules: Vec::new(),
            writes: Writes::default(),
            stop_checkpoint: None,
        }
    }

    /// The wire `Status` of the new API.
    pub fn status(&self) -> &'static str {
        let sync = self.job_type == "SYNC";
        match &self.state {
            State::NotConfigured => "NotConfigured",
            State::NotStarted => "NotStarted",
            State::Running => match self.phase {
                Phase::Precheck => "Prechecking",
                Phase::PassDwell => "PreCheckPass",
                _ if sync => "Synchronizing",
                _ => "Migrating",
            },
            State::PrecheckFailed => "PrecheckFailed",
            State::Suspended => "Suspending",
            State::Retrying { .. } => "Retrying",
            State::Failed { .. } if sync => "Failed",
            State::Failed { .. } => "MigrationFailed",
            State::Finished { .. } => "Finished",
        }
    }

    fn modes(&self) -> Modes {
        self.config.as_ref().map(|c| c.modes).unwrap_or_default()
    }

    /// Applies the configuration; the job then waits (`NotStarted`) or starts its precheck.
    pub fn configure(
        &mut self,
        config: JobConfig,
        items: Vec<PrecheckItemSpec>,
        auto_start: bool,
        now: SimMillis,
    ) {
        let incremental = config.modes.incremental;
        // Outcomes set through the admin API before configuring survive the configuration.
        let overrides = std::mem::take(&mut self.items);
        self.items = items
            .into_iter()
            .filter(|i| incremental || !i.incremental_only)
            .map(
                |spec| match overrides.iter().find(|o| o.spec.item == spec.item) {
                    Some(o) => o.clone(),
                    None => ItemConfig {
                        spec,
                        skipped: false,
                    },
                },
            )
            .collect();
        let added: Vec<ItemConfig> = overrides
            .into_iter()
            .filter(|o| !self.items.iter().any(|i| i.spec.item == o.spec.item))
            .collect();
        self.items.extend(added);
        self.config = Some(config);
        self.state = State::NotStarted;
        if auto_start && self.instance_id.is_some() {
            self.start_precheck(now);
        }
    }

    fn start_precheck(&mut self, now: SimMillis) {
        self.state = State::Running;
        self.phase = Phase::Precheck;
        self.done_ms = 0;
        self.active_since = Some(now);
        self.precheck_runs += 1;
        self.phase_started.insert(Phase::Precheck, now);
        self.phase_finished.remove(&Phase::Precheck);
    }

    fn phase_len(&self, phase: Phase, t: &DtsTimings) -> Option<i64> {
        let config = self.config.as_ref();
        let tables = config.map(|c| c.tables.len()).unwrap_or(0).max(1) as i64;
        let rows: i64 = config
            .map(|c| c.tables.iter().map(|t| t.rows).sum())
            .unwrap_or(0);
        match phase {
            Phase::Precheck => Some(t.precheck.ms().max(1)),
            Phase::PassDwell => Some(t.precheck_pass_dwell.ms().max(1)),
            Phase::Structure => Some((t.structure_per_table.ms() * tables).max(1)),
            Phase::Full => Some(
                ((rows as f64 / t.full_rows_per_second.max(1.0)) * 1000.0)
                    .max(t.full_min.ms() as f64)
                    .max(1.0) as i64,
            ),
            Phase::Incremental => None,
        }
    }

    fn next_phase(&self, phase: Phase) -> Option<Phase> {
        let m = self.modes();
        let order = [
            (Phase::Structure, m.structure),
            (Phase::Full, m.full),
            (Phase::Incremental, m.incremental),
        ];
        match phase {
            Phase::Precheck => Some(Phase::PassDwell),
            Phase::Incremental => None,
            _ => order
                .into_iter()
                .find(|(p, on)| *on && *p > phase)
                .map(|(p, _)| p),
        }
    }

    /// Applies everything that happens up to `now`.
    pub fn advance(&mut self, now: SimMillis, ctx: Ctx<'_>) {
        let timings = ctx.timings;
        loop {
            match self.state.clone() {
                State::Running => {
                    let Some(since) = self.active_since else {
                        break;
                    };
                    let Some(len) = self.phase_len(self.phase, timings) else {
                        self.done_ms += (now - since).max(0);
                        self.active_since = Some(now.max(since));
                        break;
                    };
                    let end = since + (len - self.done_ms).max(0);
                    if end <= now {
                        self.complete_phase(end, ctx);
                    } else {
                        self.done_ms += now - since;
                        self.active_since = Some(now);
                        break;
                    }
                }
                State::Retrying {
                    since,
                    message,
                    recover_at,
                } => {
                    let give_up = since + self.max_retry_ms(timings);
                    match recover_at {
                        Some(r) if r <= now && r < give_up => self.resume(r, ctx),
                        _ if give_up <= now => {
                            self.state = State::Failed { message };
                            break;
                        }
                        _ => break,
                    }
                }
                _ => break,
            }
        }
    }

    /// `maxRetryTime` of this job in milliseconds.
    pub fn max_retry_ms(&self, timings: &DtsTimings) -> i64 {
        self.config
            .as_ref()
            .map(|c| c.max_retry_ms)
            .filter(|m| *m > 0)
            .unwrap_or(timings.max_retry.ms())
    }

    fn complete_phase(&mut self, at: SimMillis, ctx: Ctx<'_>) {
        self.phase_finished.insert(self.phase, at);
        if self.phase == Phase::Precheck {
            let len = self.phase_len(Phase::Precheck, ctx.timings).unwrap_or(1);
            self.last_results = self.evaluate_items(at, len, true);
            // A warning blocks the task as a failure does until it is skipped (SkipPreCheck):
            // DTS waits for someone to accept it.
            if self
                .last_results
                .iter()
                .any(|r| matches!(r.state, "Failed" | "Warning"))
            {
                self.state = State::PrecheckFailed;
                self.active_since = None;
                return;
            }
        }
        match self.next_phase(self.phase) {
            Some(next) => {
                if next >= Phase::Structure && self.migration_started_at.is_none() {
                    self.migration_started_at = Some(at);
                }
                self.phase = next;
                self.done_ms = 0;
                self.active_since = Some(at);
                self.phase_started.entry(next).or_insert(at);
            }
            None => {
                self.state = State::Finished { at };
                self.active_since = None;
            }
        }
    }

    /// Precheck items of the running (or just completed) check: items finish one after another
    /// across the precheck duration `len`.
    fn evaluate_items(&self, at: SimMillis, len: i64, complete: bool) -> Vec<ItemResult> {
        let n = self.items.len().max(1) as i64;
        let start = self
            .phase_started
            .get(&Phase::Precheck)
            .copied()
            .unwrap_or(at);
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let began = len * i as i64 / n;
                let due = len * (i as i64 + 1) / n;
                let finished = complete || self.done_ms >= due;
                let checking = !finished && self.done_ms >= began;
                let state = if finished {
                    match (item.skipped, item.spec.result) {
                        (true, _) | (false, CheckResult::Success) => "Success",
                        (false, CheckResult::Failed) => "Failed",
                        (false, CheckResult::Warning) => "Warning",
                    }
                } else if checking {
                    "Checking"
                } else {
                    "NotStarted"
                };
                let flagged = matches!(state, "Failed" | "Warning");
                ItemResult {
                    item: item.spec.item.clone(),
                    description: item.spec.description.clone(),
                    state,
                    message: if flagged {
                        item.spec
                            .message
                            .clone()
                            .unwrap_or_else(|| format!("{} check failed", item.spec.item))
                    } else {
                        String::new()
                    },
                    repair: if flagged {
                        item.spec.repair.clone().unwrap_or_default()
                    } else {
                        String::new()
                    },
                    can_skip: item.spec.can_skip,
                    skipped: item.skipped,
                    boot_time: (finished || checking).then_some(start + began),
                    finish_time: finished.then_some(start + due),
                }
            })
            .collect()
    }

    /// Precheck items to show: live while prechecking, else the last run's.
    pub fn precheck_items(&self, now: SimMillis, timings: &DtsTimings) -> Vec<ItemResult> {
        if self.state == State::Running && self.phase == Phase::Precheck {
            let len = self.phase_len(Phase::Precheck, timings).unwrap_or(1);
            self.evaluate_items(now, len, false)
        } else {
            self.last_results.clone()
        }
    }

    /// Precheck `Status` and `Percent`.
    pub fn precheck_status(&self, now: SimMillis, timings: &DtsTimings) -> (&'static str, i64) {
        if self.precheck_runs == 0 {
            return ("NotStarted", 0);
        }
        let items = self.precheck_items(now, timings);
        let done = items
            .iter()
            .filter(|i| matches!(i.state, "Success" | "Failed" | "Warning"))
            .count();
        let percent = (done * 100 / items.len().max(1)) as i64;
        if self.state == State::Running && self.phase == Phase::Precheck {
            ("Checking", percent.min(99))
        } else if self.state == State::PrecheckFailed {
            ("Failed", 100)
        } else {
            ("Finished", 100)
        }
    }

    /// Status, percent and progress (tables or rows) of schema (`Phase::Structure`) or full migration.
    pub fn stage_status(&self, phase: Phase, timings: &DtsTimings) -> (&'static str, i64, i64) {
        let config = self.config.as_ref();
        let total = match phase {
            Phase::Structure => config.map(|c| c.tables.len() as i64).unwrap_or(0),
            _ => config
                .map(|c| c.tables.iter().map(|t| t.rows).sum())
                .unwrap_or(0),
        };
        let enabled = match phase {
            Phase::Structure => self.modes().structure,
            _ => self.modes().full,
        };
        if !enabled || !self.phase_started.contains_key(&phase) {
            return ("NotStarted", 0, 0);
        }
        if self.phase_finished.contains_key(&phase) {
            return ("Finished", 100, total);
        }
        let len = self.phase_len(phase, timings).unwrap_or(1).max(1);
        let fraction = (self.done_ms as f64 / len as f64).clamp(0.0, 1.0);
        let status = match &self.state {
            State::Failed { .. } => "Failed",
            _ => "Migrating",
        };
        (
            status,
            (fraction * 100.0) as i64,
            (fraction * total as f64) as i64,
        )
    }

    /// Incremental `Status`: NotStarted, Migrating/Catched, Suspending, Failed or Finished.
    pub fn sync_status(&self, now: SimMillis, ctx: Ctx<'_>) -> &'static str {
        if !self.modes().incremental || !self.phase_started.contains_key(&Phase::Incremental) {
            return "NotStarted";
        }
        match &self.state {
            State::Suspended => "Suspending",
            State::Failed { .. } => "Failed",
            State::Finished { .. } => "Finished",
            State::Retrying { .. } => "Migrating",
            _ => {
                let lag = self.lag_ms(now, ctx).unwrap_or(0);
                if lag <= ctx.timings.catched_threshold.ms() {
                    "Catched"
                } else {
                    "Migrating"
                }
            }
        }
    }

    /// Replication lag in ms; `None` when no incremental migration is configured or started.
    pub fn lag_ms(&self, now: SimMillis, ctx: Ctx<'_>) -> Option<i64> {
        if !self.modes().incremental {
            return None;
        }
        let started = self.migration_started_at?;
        match &self.state {
            State::Finished { .. } => Some(0),
            State::Suspended | State::Retrying { .. } | State::Failed { .. } => {
                let (lag, at) = self.pause_lag.unwrap_or((0, now));
                Some(lag + (now - at).max(0))
            }
            State::Running if self.phase != Phase::Incremental => Some((now - started).max(0)),
            State::Running => Some(self.running_lag(now, ctx)),
            _ => None,
        }
    }

    fn running_lag(&self, now: SimMillis, ctx: Ctx<'_>) -> i64 {
        let base = self.base_lag(now, ctx);
        let residual = self.resume_residual.map_or(0.0, |(r, at)| {
            let half = ctx.curve.half_life.ms().max(1) as f64;
            r as f64 * 0.5f64.powf((now - at).max(0) as f64 / half)
        });
        base + residual.round() as i64
    }

    fn base_lag(&self, now: SimMillis, ctx: Ctx<'_>) -> i64 {
        if let Some((over, origin, start)) = &self.lag_override {
            return lag::lag_ms(over, now - origin, *start, &self.id, ctx.seed);
        }
        let inc_start = self
            .phase_started
            .get(&Phase::Incremental)
            .copied()
            .unwrap_or(now);
        let backlog = inc_start - self.migration_started_at.unwrap_or(inc_start);
        let active = self.done_ms + self.active_since.map_or(0, |s| (now - s).max(0));
        lag::lag_ms(ctx.curve, active, backlog, &self.id, ctx.seed)
    }

    /// Sets (or with `None` clears) an admin lag curve starting now.
    pub fn set_lag(&mut self, curve: Option<LagCurve>, now: SimMillis, ctx: Ctx<'_>) {
        let current = self.lag_ms(now, ctx).unwrap_or(0);
        self.lag_override = curve.map(|c| (c, now, current));
        self.resume_residual = None;
    }

    fn pause(&mut self, state: State, now: SimMillis, ctx: Ctx<'_>) {
        let lag = self.lag_ms(now, ctx).unwrap_or(0);
        self.pause_lag = Some((lag, now));
        self.active_since = None;
        self.state = state;
    }

    /// Continues after a pause. The lag built up while paused drains on top of the curve, so
    /// the reported lag is continuous at the moment of resuming.
    fn resume(&mut self, now: SimMillis, ctx: Ctx<'_>) {
        self.state = State::Running;
        self.active_since = Some(now);
        self.error_message = None;
        self.resume_residual = None;
        if let Some((lag, at)) = self.pause_lag.take()
            && self.phase == Phase::Incremental
        {
            let paused = lag + (now - at).max(0);
            let base = self.base_lag(now, ctx);
            self.resume_residual = Some(((paused - base).max(0), now));
        }
    }

    /// StartDtsJob / StartMigrationJob: starts a configured job, re-runs a failed precheck,
    /// resumes a paused, retrying or failed job, or skips the `PreCheckPass` pause.
    pub fn start(&mut self, now: SimMillis, ctx: Ctx<'_>) -> Result<(), String> {
        match &self.state {
            State::NotStarted if self.instance_id.is_some() => self.start_precheck(now),
            State::PrecheckFailed => self.start_precheck(now),
            State::Suspended | State::Failed { .. } | State::Retrying { .. } => {
                self.resume(now, ctx)
            }
            State::Running if self.phase == Phase::PassDwell => self.complete_phase(now, ctx),
            _ => return Err(self.status().to_string()),
        }
        Ok(())
    }

    /// SuspendDtsJob: only while migrating.
    pub fn suspend(&mut self, now: SimMillis, ctx: Ctx<'_>) -> Result<(), String> {
        match (&self.state, self.phase) {
            (State::Running, p) if p >= Phase::Structure => {
                self.pause(State::Suspended, now, ctx);
                Ok(())
            }
            _ => Err(self.status().to_string()),
        }
    }

    /// StopDtsJob: ends a migrating, paused, retrying or failed task for good; the checkpoint
    /// stays where replication stopped.
    pub fn stop(&mut self, now: SimMillis, ctx: Ctx<'_>) -> Result<(), String> {
        let migrating = self.state == State::Running && self.phase >= Phase::Structure;
        let paused = matches!(
            self.state,
            State::Suspended | State::Retrying { .. } | State::Failed { .. }
        );
        if !(migrating || paused) {
            return Err(self.status().to_string());
        }
        if migrating {
            self.phase_finished.entry(self.phase).or_insert(now);
        }
        self.stop_checkpoint = self.checkpoint_ms(now, ctx);
        self.state = State::Finished { at: now };
        self.active_since = None;
        Ok(())
    }

    /// Admin: the task fails (`MigrationFailed`) or starts retrying (`Retrying`).
    pub fn inject_failure(
        &mut self,
        message: String,
        retrying: bool,
        recover_at: Option<SimMillis>,
        now: SimMillis,
        ctx: Ctx<'_>,
    ) -> Result<(), String> {
        let active = matches!(self.state, State::Running) && self.phase >= Phase::Structure;
        let already = matches!(self.state, State::Retrying { .. } | State::Failed { .. });
        if !active && !already {
            return Err(format!(
                "the job is {}; only a migrating job can fail",
                self.status()
            ));
        }
        if active {
            self.pause(State::Suspended, now, ctx);
        }
        self.error_message = Some(message.clone());
        self.state = if retrying {
            self.retry_count += 1;
            State::Retrying {
                since: now,
                message,
                recover_at,
            }
        } else {
            State::Failed { message }
        };
        Ok(())
    }

    /// Admin: a retrying or failed task recovers and migrates again.
    pub fn recover(&mut self, now: SimMillis, ctx: Ctx<'_>) -> Result<(), String> {
        match self.state {
            State::Retrying { .. } | State::Failed { .. } => {
                self.resume(now, ctx);
                Ok(())
            }
            _ => Err(format!("the job is {}; nothing to recover", self.status())),
        }
    }

    /// Checkpoint (unix seconds) of incremental migration.
    pub fn checkpoint(&self, now: SimMillis, ctx: Ctx<'_>) -> Option<i64> {
        self.checkpoint_ms(now, ctx).map(|ms| ms / 1000)
    }

    /// Checkpoint in milliseconds: every source change up to it is in the destination.
    pub fn checkpoint_ms(&self, now: SimMillis, ctx: Ctx<'_>) -> Option<SimMillis> {
        if let (State::Finished { .. }, Some(stopped)) = (&self.state, self.stop_checkpoint) {
            return Some(stopped);
        }
        let started = self.migration_started_at?;
        let lag = self.lag_ms(now, ctx)?;
        Some(if self.phase_started.contains_key(&Phase::Incremental) {
            now - lag
        } else {
            started
        })
    }

    /// When the full data check (DataCheckConfigure) starts and how far it is (0–1).
    pub fn data_check_progress(&self, now: SimMillis, timings: &DtsTimings) -> Option<f64> {
        if !self.config.as_ref().is_some_and(|c| c.data_check) {
            return None;
        }
        let start = *self.phase_finished.get(&Phase::Full)?;
        Some(((now - start) as f64 / timings.data_check.ms().max(1) as f64).clamp(0.0, 1.0))
    }
}
