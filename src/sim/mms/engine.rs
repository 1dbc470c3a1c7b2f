//! The MMS service state and its discrete-event engine: metadata scans, async tasks, jobs and
//! their tasks, timers, and planned failures. Time only moves through [`Mms::advance`], which
//! applies every event due up to the given simulated time in order, so the outcome depends
//! only on the scenario, the seed and the sequence of calls.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::catalog::{Catalog, DataSource, ObjStatus};
use super::filter::Filter;
use super::task::{self, JobStatus, Plan, TaskStatus};
use crate::sim::clock::{SimMillis, fmt_mms};
use crate::sim::scenario::{MmsFailureSpec, MmsPhase, MmsSpec, MmsTimings};
use crate::sim::wire::ApiError;

/// What kind of work an async task stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncKind {
    /// CreateMmsJob; `objectId` becomes the job id.
    TaskCreate,
    /// CreateMmsFetchMetadataJob; the async task id is the scan id.
    MetadataScan,
    /// UpdateMmsDataSource.
    UpdateDataSource,
}

impl AsyncKind {
    /// The `type` reported by GetMmsAsyncTask.
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncKind::TaskCreate => "TASK_CREATE",
            AsyncKind::MetadataScan => "METADATA_SCAN",
            AsyncKind::UpdateDataSource => "UPDATE_DATASOURCE",
        }
    }
}

/// Async task status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncStatus {
    Doing,
    Done,
    Failed,
}

impl AsyncStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncStatus::Doing => "DOING",
            AsyncStatus::Done => "DONE",
            AsyncStatus::Failed => "FAILED",
        }
    }
}

/// What an async task will do when it completes.
#[derive(Debug, Clone)]
pub enum AsyncWork {
    CreateJob(Box<JobRequest>),
    Scan {
        db: Option<String>,
        tables: Vec<String>,
    },
    Nothing,
}

/// An async task (and, for scans, the scan itself).
#[derive(Debug, Clone)]
pub struct AsyncTask {
    pub id: i64,
    pub source_id: i64,
    pub kind: AsyncKind,
    pub status: AsyncStatus,
    pub object_id: Option<i64>,
    pub result: Option<String>,
    pub error_msg: Option<String>,
    pub create_time: SimMillis,
    pub end_time: Option<SimMillis>,
    pub due: SimMillis,
    pub work: AsyncWork,
}

impl AsyncTask {
    /// Progress 0–100 at `now` (linear over the task's duration).
    pub fn percent(&self, now: SimMillis) -> f64 {
        match self.status {
            AsyncStatus::Doing => {
                let span = (self.due - self.create_time).max(1) as f64;
                (((now - self.create_time) as f64 / span) * 100.0).clamp(0.0, 99.0)
            }
            _ => 100.0,
        }
    }
}

/// The body of CreateMmsJob / CreateMmsTimer (camelCase JSON, every field optional).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRequest {
    pub name: Option<String>,
    pub src_db_name: Option<String>,
    pub src_schema_name: Option<String>,
    pub source_name: Option<String>,
    pub dst_db_name: Option<String>,
    pub dst_schema_name: Option<String>,
    pub tables: Option<Vec<String>>,
    pub partitions: Option<Vec<i64>>,
    pub partition_filters: Option<BTreeMap<String, String>>,
    pub table_black_list: Option<Vec<String>>,
    pub table_white_list: Option<Vec<String>>,
    pub table_mapping: Option<BTreeMap<String, String>>,
    pub column_mapping: Option<BTreeMap<String, String>>,
    pub enable_schema_migration: Option<bool>,
    pub enable_data_migration: Option<bool>,
    pub enable_verification: Option<bool>,
    pub increment: Option<bool>,
    pub schema_only: Option<bool>,
    pub eta: Option<String>,
    pub task_type: Option<String>,
    pub others: Option<Value>,
    #[serde(skip)]
    pub timer_id: Option<i64>,
}

impl JobRequest {
    fn plan_flags(&self) -> (bool, bool, bool) {
        let schema_only = self.schema_only.unwrap_or(false);
        (
            self.enable_schema_migration.unwrap_or(true),
            self.enable_data_migration.unwrap_or(true) && !schema_only,
            self.enable_verification.unwrap_or(false) && !schema_only,
        )
    }
}

/// A migration job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub name: String,
    pub src_db_name: String,
    pub dst_db_name: String,
    pub dst_schema_name: Option<String>,
    /// `Database`, `Tables` or `Partitions`.
    pub kind: &'static str,
    pub status: JobStatus,
    pub stopped: bool,
    pub create_time: SimMillis,
    pub request: JobRequest,
    pub timer_id: Option<i64>,
}

/// A migration task: one table, or one group of partitions of a table.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: i64,
    pub job_id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub src_db_name: String,
    pub src_table_name: String,
    pub dst_db_name: String,
    pub dst_schema_name: Option<String>,
    pub dst_table_name: String,
    pub engine: &'static str,
    pub status: TaskStatus,
    pub stopped: bool,
    /// Waiting for a free slot on its data source.
    pub queued: bool,
    pub retried_times: i32,
    pub create_time: SimMillis,
    pub start_time: Option<SimMillis>,
    pub end_time: Option<SimMillis>,
    pub partition_ids: Vec<i64>,
    pub plan: Plan,
    /// When the current step ends (only while running).
    pub step_due: Option<SimMillis>,
    pub rows: i64,
    pub bytes: i64,
}

impl Task {
    /// Whether the task occupies a slot.
    pub fn running(&self) -> bool {
        self.step_due.is_some()
    }
}

/// A task log entry.
#[derive(Debug, Clone)]
pub struct TaskLog {
    pub id: i64,
    pub task_id: i64,
    pub source_id: i64,
    pub status: TaskStatus,
    pub action: String,
    pub msg: String,
    pub create_time: SimMillis,
}

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

/// A planned failure, resolved to a source id.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRule {
    pub id: u64,
    pub source_id: i64,
    pub db: Option<String>,
    pub table: Option<String>,
    pub phase: MmsPhase,
    /// Attempts left to fail; `None` = always.
    pub remaining: Option<u32>,
    pub message: Option<String>,
    pub mismatch: bool,
}

/// The whole MMS service.
#[derive(Debug)]
pub struct Mms {
    pub timings: MmsTimings,
    pub sources: BTreeMap<i64, DataSource>,
    pub catalog: Catalog,
    pub async_tasks: BTreeMap<i64, AsyncTask>,
    pub jobs: BTreeMap<i64, Job>,
    pub tasks: BTreeMap<i64, Task>,
    pub logs: BTreeMap<i64, Vec<TaskLog>>,
    pub timers: BTreeMap<i64, Timer>,
    pub timer_logs: Vec<TimerLog>,
    pub failures: Vec<FailureRule>,
    next_source: i64,
    next_async: i64,
    next_job: i64,
    next_task: i64,
    next_log: i64,
    next_timer: i64,
    next_failure: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Source(i64),
    Async(i64),
    Task(i64),
    Timer(i64),
}

impl Mms {
    /// The service as the scenario describes it at `now`.
    pub fn new(spec: &MmsSpec, region: &str, now: SimMillis) -> anyhow::Result<Self> {
        let mut mms = Self {
            timings: spec.timings.clone(),
            sources: BTreeMap::new(),
            catalog: Catalog::new(),
            async_tasks: BTreeMap::new(),
            jobs: BTreeMap::new(),
            tasks: BTreeMap::new(),
            logs: BTreeMap::new(),
            timers: BTreeMap::new(),
            timer_logs: Vec::new(),
            failures: Vec::new(),
            next_source: 2_000_001,
            next_async: 1_000_001,
            next_job: 1,
            next_task: 1_001,
            next_log: 1,
            next_timer: 1,
            next_failure: 1,
        };
        mms.timings.max_running_tasks = mms.timings.max_running_tasks.max(1);
        mms.timings.partitions_per_task = mms.timings.partitions_per_task.max(1);
        for ds in &spec.data_sources {
            let id = match ds.id {
                Some(id) => id,
                None => {
                    let id = mms.next_source;
                    mms.next_source += 1;
                    id
                }
            };
            anyhow::ensure!(
                !mms.sources.contains_key(&id),
                "duplicate data source id {id}"
            );
            let source = DataSource::from_spec(id, ds, region, now);
            if ds.scanned {
                let scan_id = mms.alloc_async();
                mms.catalog.absorb_scan(&source, None, &[], now);
                mms.async_tasks.insert(
                    scan_id,
                    AsyncTask {
                        id: scan_id,
                        source_id: id,
                        kind: AsyncKind::MetadataScan,
                        status: AsyncStatus::Done,
                        object_id: Some(id),
                        result: Some(scan_result(&mms.catalog, id)),
                        error_msg: None,
                        create_time: now,
                        end_time: Some(now),
                        due: now,
                        work: AsyncWork::Nothing,
                    },
                );
                let mut source = source;
                source.scan_id = Some(scan_id);
                source.last_update_time = Some(now);
                mms.sources.insert(id, source);
            } else {
                mms.sources.insert(id, source);
            }
        }
        for f in &spec.failures {
            mms.add_failure(f)?;
        }
        Ok(mms)
    }

    fn alloc_async(&mut self) -> i64 {
        let id = self.next_async;
        self.next_async += 1;
        id
    }

    /// Resolves a data source given by name or id (text).
    pub fn resolve_source(&self, name_or_id: &str) -> Option<i64> {
        if let Ok(id) = name_or_id.parse::<i64>()
            && self.sources.contains_key(&id)
        {
            return Some(id);
        }
        self.sources
            .values()
            .find(|s| s.name == name_or_id)
            .map(|s| s.id)
    }

    /// Adds a planned failure; returns its id.
    pub fn add_failure(&mut self, spec: &MmsFailureSpec) -> anyhow::Result<u64> {
        let source_id = self
            .resolve_source(&spec.source)
            .ok_or_else(|| anyhow::anyhow!("unknown data source {:?}", spec.source))?;
        let id = self.next_failure;
        self.next_failure += 1;
        self.failures.push(FailureRule {
            id,
            source_id,
            db: spec.db.clone(),
            table: spec.table.clone(),
            phase: spec.phase,
            remaining: spec.times,
            message: spec.message.clone(),
            mismatch: spec.mismatch,
        });
        Ok(id)
    }

    fn take_failure(
        &mut self,
        source_id: i64,
        db: Option<&str>,
        table: Option<&str>,
        phase: MmsPhase,
    ) -> Option<FailureRule> {
        let idx = self.failures.iter().position(|f| {
            f.source_id == source_id
                && f.phase == phase
                && f.db.as_deref().is_none_or(|d| Some(d) == db)
                && f.table.as_deref().is_none_or(|t| Some(t) == table)
        })?;
        let rule = self.failures[idx].clone();
        if let Some(n) = &mut self.failures[idx].remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.failures.remove(idx);
            }
        }
        Some(rule)
    }

    // -----------------------------------------------------------------------------------------
    // Time

    /// Applies every event due up to `now`.
    pub fn advance(&mut self, now: SimMillis) {
        while let Some((at, event)) = self.next_event() {
            if at > now {
                break;
            }
            self.apply(event, at);
        }
    }

    /// When the next thing happens, if anything is pending.
    pub fn next_event_time(&self) -> Option<SimMillis> {
        self.next_event().map(|(t, _)| t)
    }

    fn next_event(&self) -> Option<(SimMillis, Event)> {
        let sources = self.sources.values().filter_map(|s| {
            s.transition
                .as_ref()
                .map(|(_, t)| (*t, Event::Source(s.id)))
        });
        let asyncs = self
            .async_tasks
            .values()
            .filter(|a| a.status == AsyncStatus::Doing)
            .map(|a| (a.due, Event::Async(a.id)));
        let tasks = self
            .tasks
            .values()
            .filter_map(|t| t.step_due.map(|d| (d, Event::Task(t.id))));
        let timers = self
            .timers
            .values()
            .filter(|t| !t.stopped)
            .filter_map(|t| t.next_fire.map(|f| (f, Event::Timer(t.id))));
        sources.chain(asyncs).chain(tasks).chain(timers).min()
    }

    fn apply(&mut self, event: Event, at: SimMillis) {
        match event {
            Event::Source(id) => {
                if let Some(s) = self.sources.get_mut(&id)
                    && let Some((status, _)) = s.transition.take()
                {
                    s.status = status;
                }
            }
            Event::Async(id) => self.complete_async(id, at),
            Event::Task(id) => {
                self.step_task(id, at);
                if let Some(source_id) = self.tasks.get(&id).map(|t| t.source_id) {
                    self.schedule(source_id, at);
                }
            }
            Event::Timer(id) => self.fire_timer(id, at),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Data sources and scans

    /// Starts a metadata scan; returns the scan (async task) id.
    pub fn start_scan(
        &mut self,
        source_id: i64,
        db: Option<String>,
        tables: Vec<String>,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        let source = self.source_started(source_id)?;
        let table_count: usize = source
            .remote
            .iter()
            .filter(|d| db.as_deref().is_none_or(|f| f == d.name))
            .map(|d| {
                d.tables
                    .iter()
                    .filter(|t| tables.is_empty() || tables.contains(&t.name))
                    .count()
            })
            .sum();
        let duration =
            self.timings.scan_base.ms() + self.timings.scan_per_table.ms() * table_count as i64;
        let id = self.alloc_async();
        self.async_tasks.insert(
            id,
            AsyncTask {
                id,
                source_id,
                kind: AsyncKind::MetadataScan,
                status: AsyncStatus::Doing,
                object_id: Some(source_id),
                result: None,
                error_msg: None,
                create_time: now,
                end_time: None,
                due: now + duration,
                work: AsyncWork::Scan { db, tables },
            },
        );
        if let Some(s) = self.sources.get_mut(&source_id) {
            s.scan_id = Some(id);
        }
        Ok(id)
    }

    fn source_started(&self, source_id: i64) -> Result<&DataSource, ApiError> {
        let source = self.sources.get(&source_id).ok_or_else(|| {
            ApiError::not_found("DataSourceNotFound", format!("Data source {source_id}"))
        })?;
        if source.status != "STARTED" {
            return Err(ApiError::new(
                400,
                "InvalidDataSourceStatus",
                format!(
                    "Data source {source_id} is {}; it must be STARTED.",
                    source.status
                ),
            ));
        }
        Ok(source)
    }

    /// Creates a data source (CreateMmsDataSource). Its remote catalogue is empty.
    pub fn create_source(
        &mut self,
        name: &str,
        kind: &str,
        networklink: Option<String>,
        config: &serde_json::Map<String, Value>,
        region: &str,
        now: SimMillis,
    ) -> i64 {
        let id = self.next_source;
        self.next_source += 1;
        let spec = crate::sim::scenario::DataSourceSpec {
            id: Some(id),
            name: name.to_string(),
            kind: kind.to_string(),
            region: Some(region.to_string()),
            networklink,
            dst_project: config
                .get("mc.default.project")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            dst_projects: Vec::new(),
            scanned: false,
            agent_online: true,
            config: config
                .iter()
                .map(|(k, v)| crate::sim::scenario::ConfigItemSpec {
                    key: k.clone(),
                    name: None,
                    desc: None,
                    group: None,
                    kind: "string".into(),
                    required: false,
                    value: v.clone(),
                })
                .collect(),
            databases: Vec::new(),
        };
        let mut source = DataSource::from_spec(id, &spec, region, now);
        source.status = "STARTING".into();
        source.transition = Some(("STARTED".into(), now + self.timings.source_transition.ms()));
        self.sources.insert(id, source);
        id
    }

    /// UpdateMmsDataSource; returns the async task id.
    pub fn update_source(
        &mut self,
        source_id: i64,
        action: &str,
        name: Option<&str>,
        config: Option<&serde_json::Map<String, Value>>,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        let transition = self.timings.source_transition.ms();
        let source = self.sources.get_mut(&source_id).ok_or_else(|| {
            ApiError::not_found("DataSourceNotFound", format!("Data source {source_id}"))
        })?;
        match action.to_ascii_uppercase().as_str() {
            "UPDATE_CONFIG" => {
                for (k, v) in config.into_iter().flatten() {
                    match source.config.iter_mut().find(|c| &c.key == k) {
                        Some(item) => item.value = v.clone(),
                        None => source.config.push(crate::sim::scenario::ConfigItemSpec {
                            key: k.clone(),
                            name: None,
                            desc: None,
                            group: None,
                            kind: "string".into(),
                            required: false,
                            value: v.clone(),
                        }),
                    }
                }
            }
            "START" => {
                source.status = "STARTING".into();
                source.transition = Some(("STARTED".into(), now + transition));
            }
            "STOP" => {
                source.status = "STOPPING".into();
                source.transition = Some(("STOPPED".into(), now + transition));
            }
            "RENAME" => {
                let name = name.ok_or_else(|| ApiError::missing("name"))?;
                source.name = name.to_string();
            }
            _ => {
                return Err(ApiError::invalid_because(
                    "action",
                    "expected UPDATE_CONFIG, START, STOP or RENAME",
                ));
            }
        }
        let id = self.alloc_async();
        self.async_tasks.insert(
            id,
            AsyncTask {
                id,
                source_id,
                kind: AsyncKind::UpdateDataSource,
                status: AsyncStatus::Doing,
                object_id: Some(source_id),
                result: None,
                error_msg: None,
                create_time: now,
                end_time: None,
                due: now + 5_000,
                work: AsyncWork::Nothing,
            },
        );
        Ok(id)
    }

    /// DeleteMmsDataSource: the source, its jobs, tasks, timers and metadata.
    pub fn delete_source(&mut self, source_id: i64) -> Result<(), ApiError> {
        if self.sources.remove(&source_id).is_none() {
            return Err(ApiError::not_found(
                "DataSourceNotFound",
                format!("Data source {source_id}"),
            ));
        }
        self.catalog.remove_source(source_id);
        let task_ids: Vec<i64> = self
            .tasks
            .values()
            .filter(|t| t.source_id == source_id)
            .map(|t| t.id)
            .collect();
        for id in task_ids {
            self.tasks.remove(&id);
            self.logs.remove(&id);
        }
        self.jobs.retain(|_, j| j.source_id != source_id);
        self.timers.retain(|_, t| t.source_id != source_id);
        self.async_tasks.retain(|_, a| a.source_id != source_id);
        self.failures.retain(|f| f.source_id != source_id);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Jobs

    /// CreateMmsJob: validates the request and starts the `TASK_CREATE` async task.
    pub fn create_job(
        &mut self,
        source_id: i64,
        request: JobRequest,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        self.source_started(source_id)?;
        let name = request
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::missing("name"))?;
        if request
            .src_db_name
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            return Err(ApiError::missing("srcDbName"));
        }
        let taken = self
            .jobs
            .values()
            .any(|j| j.source_id == source_id && j.name == name)
            || self.async_tasks.values().any(|a| {
                a.source_id == source_id
                    && a.status == AsyncStatus::Doing
                    && matches!(&a.work, AsyncWork::CreateJob(r) if r.name.as_deref() == Some(name))
            });
        if taken {
            return Err(ApiError::new(
                400,
                "JobNameDuplicated",
                format!(
                    "A migration job named '{name}' already exists in data source {source_id}."
                ),
            ));
        }
        let id = self.alloc_async();
        self.async_tasks.insert(
            id,
            AsyncTask {
                id,
                source_id,
                kind: AsyncKind::TaskCreate,
                status: AsyncStatus::Doing,
                object_id: None,
                result: None,
                error_msg: None,
                create_time: now,
                end_time: None,
                due: now + self.timings.job_create.ms(),
                work: AsyncWork::CreateJob(Box::new(request)),
            },
        );
        Ok(id)
    }

    fn complete_async(&mut self, id: i64, at: SimMillis) {
        let Some(task) = self.async_tasks.get(&id).cloned() else {
            return;
        };
        let outcome: Result<(Option<i64>, String), String> = match &task.work {
            AsyncWork::Scan { db, tables } => {
                self.finish_scan(task.source_id, db.as_deref(), tables, at)
            }
            AsyncWork::CreateJob(request) => self.finish_job_creation(task.source_id, request, at),
            AsyncWork::Nothing => Ok((task.object_id, "{}".into())),
        };
        if let Some(t) = self.async_tasks.get_mut(&id) {
            t.end_time = Some(at);
            match outcome {
                Ok((object, result)) => {
                    t.status = AsyncStatus::Done;
                    t.object_id = object;
                    t.result = Some(result);
                }
                Err(e) => {
                    t.status = AsyncStatus::Failed;
                    t.error_msg = Some(e);
                }
            }
        }
    }

    fn finish_scan(
        &mut self,
        source_id: i64,
        db: Option<&str>,
        tables: &[String],
        at: SimMillis,
    ) -> Result<(Option<i64>, String), String> {
        if let Some(rule) = self.take_failure(source_id, db, None, MmsPhase::Scan) {
            return Err(rule.message.unwrap_or_else(|| {
                "failed to fetch metadata: connection to the metastore timed out after 60000 ms"
                    .into()
            }));
        }
        let Some(source) = self.sources.get(&source_id).cloned() else {
            return Err("the data source was deleted".into());
        };
        let counts = self.catalog.absorb_scan(&source, db, tables, at);
        if let Some(s) = self.sources.get_mut(&source_id) {
            s.last_update_time = Some(at);
        }
        Ok((
            Some(source_id),
            json!({"databases": counts.databases, "tables": counts.tables, "partitions": counts.partitions})
                .to_string(),
        ))
    }

    fn finish_job_creation(
        &mut self,
        source_id: i64,
        request: &JobRequest,
        at: SimMillis,
    ) -> Result<(Option<i64>, String), String> {
        let db_name = request.src_db_name.clone().unwrap_or_default();
        if let Some(rule) = self.take_failure(source_id, Some(&db_name), None, MmsPhase::Create) {
            return Err(rule
                .message
                .unwrap_or_else(|| "failed to create the migration plan: internal error".into()));
        }
        let plan = self.plan_job(source_id, request)?;
        let job_id = self.next_job;
        self.next_job += 1;
        let (schema, data, verify) = request.plan_flags();
        let db = self.catalog.dbs[&plan.db_id].clone();
        let source = self.sources[&source_id].clone();
        let dst_db_name = request
            .dst_db_name
            .clone()
            .unwrap_or_else(|| db.dst_project_name.clone());
        let dst_schema_name = request.dst_schema_name.clone().or(db.dst_name.clone());
        self.jobs.insert(
            job_id,
            Job {
                id: job_id,
                source_id,
                db_id: db.id,
                name: request.name.clone().unwrap_or_default(),
                src_db_name: db.name.clone(),
                dst_db_name: dst_db_name.clone(),
                dst_schema_name: dst_schema_name.clone(),
                kind: plan.kind,
                status: JobStatus::Init,
                stopped: false,
                create_time: at,
                request: request.clone(),
                timer_id: request.timer_id,
            },
        );
        let task_count = plan.units.len();
        for unit in plan.units {
            let table = self.catalog.tables[&unit.table_id].clone();
            let (rows, bytes) = if table.has_partitions() {
                unit.partition_ids
                    .iter()
                    .filter_map(|p| self.catalog.partitions.get(p))
                    .fold((0, 0), |(r, b), p| (r + p.num_rows, b + p.size))
            } else {
                (table.num_rows, table.size)
            };
            let task_id = self.next_task;
            self.next_task += 1;
            let has_data = !table.has_partitions() || !unit.partition_ids.is_empty();
            let dst_table = request
                .table_mapping
                .as_ref()
                .and_then(|m| m.get(&table.name).cloned())
                .unwrap_or_else(|| table.dst_name.clone());
            let task = Task {
                id: task_id,
                job_id,
                source_id,
                db_id: db.id,
                table_id: table.id,
                src_db_name: db.name.clone(),
                src_table_name: table.name.clone(),
                dst_db_name: dst_db_name.clone(),
                dst_schema_name: dst_schema_name.clone().or(table.dst_schema_name.clone()),
                dst_table_name: dst_table,
                engine: source.task_type(),
                status: TaskStatus::Init,
                stopped: false,
                queued: true,
                retried_times: 0,
                create_time: at,
                start_time: None,
                end_time: None,
                partition_ids: unit.partition_ids,
                plan: Plan {
                    schema,
                    data: data && has_data,
                    verify: verify && has_data,
                },
                step_due: None,
                rows,
                bytes,
            };
            let msg = if table.has_partitions() {
                format!(
                    "task created for {} partition(s) of {}.{}",
                    task.partition_ids.len(),
                    db.name,
                    table.name
                )
            } else {
                format!("task created for table {}.{}", db.name, table.name)
            };
            self.tasks.insert(task_id, task);
            self.log(task_id, "create task", &msg, at);
        }
        self.refresh_job(job_id);
        self.schedule(source_id, at);
        Ok((
            Some(job_id),
            json!({"jobId": job_id, "taskNum": task_count}).to_string(),
        ))
    }

    fn plan_job(&self, source_id: i64, request: &JobRequest) -> Result<JobPlan, String> {
        let db_name = request.src_db_name.as_deref().unwrap_or_default();
        let db = self
            .catalog
            .dbs
            .values()
            .find(|d| d.source_id == source_id && d.name == db_name)
            .ok_or_else(|| {
                format!("database '{db_name}' not found in data source {source_id}; run a metadata scan first")
            })?;
        let db_tables: Vec<&super::catalog::Table> = self
            .catalog
            .tables
            .values()
            .filter(|t| t.db_id == db.id)
            .collect();
        let partition_ids = request.partitions.clone().unwrap_or_default();
        let listed = request.tables.clone().unwrap_or_default();
        let (kind, tables): (&'static str, Vec<&super::catalog::Table>) = if !partition_ids
            .is_empty()
        {
            let mut ids: Vec<i64> = Vec::new();
            for pid in &partition_ids {
                let p = self
                    .catalog
                    .partitions
                    .get(pid)
                    .filter(|p| p.db_id == db.id)
                    .ok_or_else(|| format!("partition {pid} not found in database '{db_name}'"))?;
                if !ids.contains(&p.table_id) {
                    ids.push(p.table_id);
                }
            }
            (
                "Partitions",
                db_tables
                    .into_iter()
                    .filter(|t| ids.contains(&t.id))
                    .collect(),
            )
        } else if !listed.is_empty() {
            let missing: Vec<&str> = listed
                .iter()
                .filter(|n| !db_tables.iter().any(|t| &&t.name == n))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "table(s) not found in database '{db_name}': {}",
                    missing.join(", ")
                ));
            }
            (
                "Tables",
                db_tables
                    .into_iter()
                    .filter(|t| listed.contains(&t.name))
                    .collect(),
            )
        } else {
            let black = request.table_black_list.clone().unwrap_or_default();
            let white = request.table_white_list.clone().unwrap_or_default();
            let selected = db_tables
                .into_iter()
                .filter(|t| {
                    if !black.is_empty() {
                        !black.contains(&t.name)
                    } else {
                        white.is_empty() || white.contains(&t.name)
                    }
                })
                .collect();
            ("Database", selected)
        };
        let filters = request.partition_filters.clone().unwrap_or_default();
        let mut units = Vec::new();
        for table in tables {
            if !table.has_partitions() {
                // Tables already migrated are skipped unless their metadata changed.
                if table.status != ObjStatus::Done || table.updated {
                    units.push(Unit {
                        table_id: table.id,
                        partition_ids: Vec::new(),
                    });
                }
                continue;
            }
            let filter = match filters.get(&table.name) {
                Some(text) => {
                    let f = Filter::parse(text)
                        .map_err(|e| format!("invalid partition filter for {}: {e}", table.name))?;
                    for col in f.columns() {
                        if !table.partition_columns.iter().any(|c| c.name == col) {
                            return Err(format!(
                                "invalid partition filter for {}: unknown partition column {col}",
                                table.name
                            ));
                        }
                    }
                    Some(f)
                }
                None => None,
            };
            let all: Vec<&super::catalog::Partition> =
                self.catalog.partitions_of(table.id).collect();
            if all.is_empty() {
                units.push(Unit {
                    table_id: table.id,
                    partition_ids: Vec::new(),
                });
                continue;
            }
            let chosen: Vec<i64> = all
                .into_iter()
                .filter(|p| partition_ids.is_empty() || partition_ids.contains(&p.id))
                .filter(|p| filter.as_ref().is_none_or(|f| f.matches(&p.value)))
                .filter(|p| p.status != ObjStatus::Done || p.updated)
                .map(|p| p.id)
                .collect();
            for chunk in chosen.chunks(self.timings.partitions_per_task) {
                units.push(Unit {
                    table_id: table.id,
                    partition_ids: chunk.to_vec(),
                });
            }
        }
        Ok(JobPlan {
            db_id: db.id,
            kind,
            units,
        })
    }

    /// The job of `source_id` with `job_id`.
    pub fn job(&self, source_id: i64, job_id: i64) -> Result<&Job, ApiError> {
        self.jobs
            .get(&job_id)
            .filter(|j| j.source_id == source_id)
            .ok_or_else(|| ApiError::not_found("JobNotFound", format!("Migration job {job_id}")))
    }

    /// Tasks of a job, in id order.
    pub fn tasks_of(&self, job_id: i64) -> impl Iterator<Item = &Task> {
        self.tasks.values().filter(move |t| t.job_id == job_id)
    }

    /// StopMmsJob: running tasks are killed and marked stopped; queued ones stay put.
    pub fn stop_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.job(source_id, job_id)?;
        let ids: Vec<i64> = self.tasks_of(job_id).map(|t| t.id).collect();
        for id in ids {
            let task = self.tasks.get_mut(&id).expect("listed");
            if task.status == TaskStatus::Done || task.status.is_failed() {
                continue;
            }
            let was_running = task.running();
            task.step_due = None;
            task.queued = false;
            task.stopped = true;
            if was_running {
                self.set_objects(id, Some(ObjStatus::Doing), ObjStatus::Init);
                self.log(id, "stop task", "task stopped by StopMmsJob", now);
            }
        }
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.stopped = true;
        }
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    /// StartMmsJob: resumes a job stopped by StopMmsJob.
    pub fn start_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        if !self.job(source_id, job_id)?.stopped {
            return Err(ApiError::new(
                400,
                "InvalidJobStatus",
                format!(
                    "Migration job {job_id} is not stopped; jobs start automatically when created."
                ),
            ));
        }
        self.resume_stopped(job_id);
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    fn resume_stopped(&mut self, job_id: i64) {
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.stopped = false;
        }
        for task in self
            .tasks
            .values_mut()
            .filter(|t| t.job_id == job_id && t.stopped)
        {
            task.stopped = false;
            task.queued = task.status != TaskStatus::Done && !task.status.is_failed();
        }
    }

    /// RetryMmsJob: re-queues the failed tasks (and resumes stopped ones). No failed task: no-op.
    pub fn retry_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.job(source_id, job_id)?;
        self.resume_stopped(job_id);
        let failed: Vec<i64> = self
            .tasks_of(job_id)
            .filter(|t| t.status.is_failed())
            .map(|t| t.id)
            .collect();
        for id in failed {
            self.requeue_failed(id, now);
        }
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    /// RetryMmsTask: re-queues one failed task.
    pub fn retry_task(
        &mut self,
        source_id: i64,
        task_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        let task = self.task(source_id, task_id)?;
        if !task.status.is_failed() {
            return Err(ApiError::new(
                400,
                "InvalidTaskStatus",
                format!(
                    "Migration task {task_id} is {}; only failed tasks can be retried.",
                    task.status.as_str()
                ),
            ));
        }
        let job_id = task.job_id;
        self.requeue_failed(task_id, now);
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.stopped = false;
        }
        self.refresh_job(job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    fn requeue_failed(&mut self, task_id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&task_id) else {
            return;
        };
        let Some(point) = task::retry_point(task.status) else {
            return;
        };
        task.status = point;
        task.retried_times += 1;
        task.queued = true;
        task.stopped = false;
        task.end_time = None;
        self.set_objects(task_id, Some(ObjStatus::Failed), ObjStatus::Init);
        self.log(task_id, "retry task", "task re-queued for retry", now);
    }

    /// DeleteMmsJob: kills running tasks, resets their objects and removes the job.
    pub fn delete_job(
        &mut self,
        source_id: i64,
        job_id: i64,
        now: SimMillis,
    ) -> Result<(), ApiError> {
        self.job(source_id, job_id)?;
        let ids: Vec<i64> = self.tasks_of(job_id).map(|t| t.id).collect();
        for id in ids {
            self.set_objects(id, Some(ObjStatus::Doing), ObjStatus::Init);
            self.tasks.remove(&id);
            self.logs.remove(&id);
        }
        self.jobs.remove(&job_id);
        self.schedule(source_id, now);
        Ok(())
    }

    /// The task of `source_id` with `task_id`.
    pub fn task(&self, source_id: i64, task_id: i64) -> Result<&Task, ApiError> {
        self.tasks
            .get(&task_id)
            .filter(|t| t.source_id == source_id)
            .ok_or_else(|| ApiError::not_found("TaskNotFound", format!("Migration task {task_id}")))
    }

    // -----------------------------------------------------------------------------------------
    // Task engine

    fn schedule(&mut self, source_id: i64, now: SimMillis) {
        let running = self
            .tasks
            .values()
            .filter(|t| t.source_id == source_id && t.running())
            .count();
        let free = self.timings.max_running_tasks.saturating_sub(running);
        if free == 0 {
            return;
        }
        let mut waiting: Vec<(String, i64, i64)> = self
            .tasks
            .values()
            .filter(|t| t.source_id == source_id && t.queued && !t.stopped && !t.running())
            .map(|t| {
                let eta = self
                    .jobs
                    .get(&t.job_id)
                    .and_then(|j| j.request.eta.clone())
                    .unwrap_or_else(|| "~".into());
                (eta, t.job_id, t.id)
            })
            .collect();
        waiting.sort();
        for (_, job_id, task_id) in waiting.into_iter().take(free) {
            self.start_task(task_id, now);
            self.refresh_job(job_id);
        }
    }

    fn start_task(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.queued = false;
        task.end_time = None;
        task.start_time.get_or_insert(now);
        task.status = task::start_from(task.status, task.plan);
        let plan = task.plan;
        if task.status == TaskStatus::Done {
            self.finish_task(id, now);
            return;
        }
        if plan.data {
            self.set_objects(id, None, ObjStatus::Doing);
        }
        self.enter_step(id, now);
    }

    /// Schedules the end of the task's current step and logs its start.
    fn enter_step(&mut self, id: i64, now: SimMillis) {
        let timings = self.timings.clone();
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        let duration = match task.status {
            TaskStatus::SchemaDoing => timings.schema.ms(),
            TaskStatus::DataDoing => {
                let mb = task.bytes as f64 / (1024.0 * 1024.0);
                timings.data_base.ms()
                    + (mb / timings.data_mb_per_second.max(0.001) * 1000.0) as i64
            }
            TaskStatus::VerificationDoing => {
                timings.verification_base.ms()
                    + (task.rows as f64 / timings.verification_rows_per_second.max(1.0) * 1000.0)
                        as i64
            }
            _ => timings.handoff.ms(),
        };
        task.step_due = Some(now + duration.max(1));
        let (action, msg) = match task.status {
            TaskStatus::SchemaDoing => (
                format!(
                    "create table if not exists {}.{}{}",
                    task.dst_db_name,
                    task.dst_schema_name
                        .as_deref()
                        .map(|s| format!("{s}."))
                        .unwrap_or_default(),
                    task.dst_table_name
                ),
                "running".to_string(),
            ),
            TaskStatus::DataDoing => (
                "copy data".to_string(),
                format!(
                    "started: {} partition(s), {} rows, {} bytes",
                    task.partition_ids.len(),
                    task.rows,
                    task.bytes
                ),
            ),
            TaskStatus::VerificationDoing => (
                format!(
                    "select count(*) from {}.{}",
                    task.src_db_name, task.src_table_name
                ),
                "running".to_string(),
            ),
            _ => return,
        };
        self.log(id, &action, &msg, now);
    }

    fn step_task(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get(&id).cloned() else {
            return;
        };
        if task.status.is_doing() {
            let phase = match task.status {
                TaskStatus::SchemaDoing => MmsPhase::Schema,
                TaskStatus::DataDoing => MmsPhase::Data,
                _ => MmsPhase::Verification,
            };
            let failure = self.take_failure(
                task.source_id,
                Some(&task.src_db_name),
                Some(&task.src_table_name),
                phase,
            );
            if phase == MmsPhase::Verification {
                let mismatch = failure.as_ref().is_some_and(|f| f.mismatch);
                let msg = self.verification_message(&task, mismatch);
                self.log(id, "compare source and destination count", &msg, now);
                if failure.is_some() {
                    let reason = failure.and_then(|f| f.message).unwrap_or_else(|| {
                        "verification failed: source and destination row counts differ".into()
                    });
                    self.fail_task(id, &reason, now);
                    return;
                }
            } else if let Some(rule) = failure {
                let reason = rule
                    .message
                    .unwrap_or_else(|| default_failure(phase, &task));
                self.fail_task(id, &reason, now);
                return;
            }
            let next = task::advance(task.status, task.plan);
            self.tasks.get_mut(&id).expect("exists").status = next;
            let msg = match task.status {
                TaskStatus::DataDoing => format!("ok: {} rows copied", task.rows),
                _ => "ok".to_string(),
            };
            self.log(id, phase_name(task.status), &msg, now);
            self.enter_step(id, now);
        } else {
            let next = task::advance(task.status, task.plan);
            self.tasks.get_mut(&id).expect("exists").status = next;
            if next == TaskStatus::Done {
                self.finish_task(id, now);
            } else {
                self.enter_step(id, now);
            }
        }
        self.refresh_job(task.job_id);
    }

    fn verification_message(&self, task: &Task, mismatch: bool) -> String {
        let diff = if mismatch {
            (task.rows / 997).max(1)
        } else {
            0
        };
        let mut msg = format!("src: {}, dst: {}", task.rows, task.rows - diff);
        let mut first = true;
        for pid in &task.partition_ids {
            if let Some(p) = self.catalog.partitions.get(pid) {
                let d = if first { diff } else { 0 };
                first = false;
                msg.push_str(&format!(
                    "\n{}: {}, {}",
                    p.value,
                    p.num_rows,
                    p.num_rows - d
                ));
                if d > 0 {
                    msg.push_str(" not equal!");
                }
            }
        }
        msg
    }

    fn fail_task(&mut self, id: i64, reason: &str, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.status = task::fail(task.status);
        task.step_due = None;
        task.end_time = Some(now);
        let (plan, job_id) = (task.plan, task.job_id);
        if plan.data {
            self.set_objects(id, None, ObjStatus::Failed);
        }
        self.log(id, "task failed", reason, now);
        self.refresh_job(job_id);
    }

    fn finish_task(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.status = TaskStatus::Done;
        task.step_due = None;
        task.end_time = Some(now);
        let (plan, job_id) = (task.plan, task.job_id);
        if plan.data {
            self.set_objects(id, None, ObjStatus::Done);
            self.clear_updated(id);
        }
        self.log(id, "task done", "ok", now);
        self.refresh_job(job_id);
    }

    fn clear_updated(&mut self, task_id: i64) {
        let Some(task) = self.tasks.get(&task_id) else {
            return;
        };
        for pid in &task.partition_ids {
            if let Some(p) = self.catalog.partitions.get_mut(pid) {
                p.updated = false;
            }
        }
        if let Some(t) = self.catalog.tables.get_mut(&task.table_id)
            && !t.has_partitions()
        {
            t.updated = false;
        }
    }

    /// Sets the migration status of the task's partitions (or non-partitioned table) to `to`,
    /// only where the current status is `from` when given; then rolls up.
    fn set_objects(&mut self, task_id: i64, from: Option<ObjStatus>, to: ObjStatus) {
        let Some(task) = self.tasks.get(&task_id) else {
            return;
        };
        let (source_id, table_id) = (task.source_id, task.table_id);
        if task.partition_ids.is_empty() {
            if let Some(t) = self.catalog.tables.get_mut(&table_id)
                && !t.has_partitions()
                && from.is_none_or(|f| f == t.status)
            {
                t.status = to;
            }
        } else {
            for pid in task.partition_ids.clone() {
                if let Some(p) = self.catalog.partitions.get_mut(&pid)
                    && from.is_none_or(|f| f == p.status)
                {
                    p.status = to;
                }
            }
        }
        self.catalog.refresh_source(source_id);
    }

    fn refresh_job(&mut self, job_id: i64) {
        let states: Vec<(TaskStatus, bool)> = self
            .tasks_of(job_id)
            .map(|t| (t.status, t.stopped))
            .collect();
        if let Some(job) = self.jobs.get_mut(&job_id) {
            job.status = task::aggregate(&states, job.status);
        }
    }

    fn log(&mut self, task_id: i64, action: &str, msg: &str, now: SimMillis) {
        let Some(task) = self.tasks.get(&task_id) else {
            return;
        };
        let entry = TaskLog {
            id: self.next_log,
            task_id,
            source_id: task.source_id,
            status: task.status,
            action: action.to_string(),
            msg: msg.to_string(),
            create_time: now,
        };
        self.next_log += 1;
        self.logs.entry(task_id).or_default().push(entry);
    }

    // -----------------------------------------------------------------------------------------
    // Timers

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

    fn fire_timer(&mut self, id: i64, at: SimMillis) {
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

    /// Status of a timer run, from its async task.
    pub fn timer_log_status(&self, log: &TimerLog) -> &'static str {
        self.async_tasks
            .get(&log.id)
            .map(|a| a.status.as_str())
            .unwrap_or("FAILED")
    }

    /// Counts used by `/_sim/state`.
    pub fn summary(&self) -> Value {
        let mut sources = Vec::new();
        for s in self.sources.values() {
            let jobs: Vec<Value> = self
                .jobs
                .values()
                .filter(|j| j.source_id == s.id)
                .map(|j| {
                    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
                    for t in self.tasks_of(j.id) {
                        *by_status.entry(t.status.as_str()).or_default() += 1;
                    }
                    json!({"id": j.id, "name": j.name, "status": j.status.as_str(), "stopped": j.stopped,
                           "taskNum": by_status.values().sum::<usize>(), "tasksByStatus": by_status})
                })
                .collect();
            let scan = s.scan_id.and_then(|id| self.async_tasks.get(&id)).map(|a| {
                json!({"id": a.id, "status": a.status.as_str(), "createTime": fmt_mms(a.create_time)})
            });
            sources.push(json!({
                "id": s.id, "name": s.name, "type": s.kind, "status": s.status,
                "dbs": self.catalog.dbs.values().filter(|d| d.source_id == s.id).count(),
                "tables": self.catalog.tables.values().filter(|t| t.source_id == s.id).count(),
                "partitions": self.catalog.partitions.values().filter(|p| p.source_id == s.id).count(),
                "lastScan": scan,
                "jobs": jobs,
            }));
        }
        json!({
            "sources": sources,
            "jobs": self.jobs.len(),
            "tasks": self.tasks.len(),
            "runningTasks": self.tasks.values().filter(|t| t.running()).count(),
            "pendingAsyncTasks": self.async_tasks.values().filter(|a| a.status == AsyncStatus::Doing).count(),
            "timers": self.timers.len(),
            "failureRules": self.failures,
        })
    }
}

struct JobPlan {
    db_id: i64,
    kind: &'static str,
    units: Vec<Unit>,
}

struct Unit {
    table_id: i64,
    partition_ids: Vec<i64>,
}

fn phase_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::SchemaDoing => "create table",
        TaskStatus::DataDoing => "copy data",
        _ => "verify",
    }
}

fn default_failure(phase: MmsPhase, task: &Task) -> String {
    match phase {
        MmsPhase::Schema => format!(
            "ODPS-0130071: Semantic analysis exception - failed to create table {}.{}: column type not supported",
            task.dst_db_name, task.dst_table_name
        ),
        _ => format!(
            "Job aborted due to stage failure: Task 3 in stage 2.0 failed 4 times; reading {}.{}: java.io.IOException: Connection reset by peer",
            task.src_db_name, task.src_table_name
        ),
    }
}

fn scan_result(catalog: &Catalog, source_id: i64) -> String {
    json!({
        "databases": catalog.dbs.values().filter(|d| d.source_id == source_id).count(),
        "tables": catalog.tables.values().filter(|t| t.source_id == source_id).count(),
        "partitions": catalog.partitions.values().filter(|p| p.source_id == source_id).count(),
    })
    .to_string()
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
