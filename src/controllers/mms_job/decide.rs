//! MmsJob decisions: a pure function of (spec, previous status, DataSource state, what MMS
//! showed, now).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::aliyun::mms::CreateMmsJobRequest;
use crate::api::common::{ManagementPolicy, VerificationState};
use crate::api::conditions::{self, Desired, READY};
use crate::api::mms_job::{
    FailedTask, MmsJobPhase, MmsJobSpec, MmsJobStatus, RetriedTask, RunningTask, TableRetryStatus,
    VerificationStatus,
};
use crate::controllers::decision;
use crate::controllers::ownership;
use crate::controllers::poll::{elapsed, keep_stamps_unless_changed, remaining};

pub const VERIFIED: &str = "Verified";

/// Every task state MMS documents, in pipeline order.
pub const TASK_STATES: [&str; 11] = [
    "INIT",
    "SCHEMA_DOING",
    "SCHEMA_DONE",
    "SCHEMA_FAILED",
    "DATA_DOING",
    "DATA_DONE",
    "DATA_FAILED",
    "VERIFICATION_DOING",
    "VERIFICATION_DONE",
    "VERIFICATION_FAILED",
    "DONE",
];
pub const FAILED_STATES: [&str; 3] = ["SCHEMA_FAILED", "DATA_FAILED", "VERIFICATION_FAILED"];
/// At most this many failed tasks (and mismatches) go into status.
pub const MAX_FAILED_TASKS: usize = 10;

/// Poll intervals per situation: 10 s while a job is being created (its async task takes one to
/// five minutes), 30 s while it runs (jobs take minutes to hours).
pub const POLL_CREATING: Duration = Duration::from_secs(10);
pub const POLL_RUNNING: Duration = Duration::from_secs(30);
pub const POLL_SUSPENDED: Duration = Duration::from_secs(120);
/// The DataSource watch wakes a waiting job at once; this poll is only a safety net.
pub const POLL_WAITING: Duration = Duration::from_secs(300);
/// Requeue of a settled job after an error, and the safety net of an idle reconcile. Settled
/// jobs (succeeded, failed, gone) are not read at all: they cost no calls until the spec asks
/// for something.
pub const POLL_SETTLED: Duration = Duration::from_secs(600);
/// After a create whose answer was lost, look for the job by name this long before creating
/// again (the async task needs time to make the job visible).
pub const ADOPT_GRACE: Duration = Duration::from_secs(120);

/// The MMS job a resource stands for: the name it goes by and the UID its ownership marker
/// names (what tells our job from another of the same name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobIdentity<'a> {
    pub name: &'a str,
    pub owner_uid: &'a str,
}

/// The job's scope, as MMS will type it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Database,
    Tables,
    Partitions,
}

pub fn granularity(spec: &MmsJobSpec) -> Granularity {
    if !spec.partitions.is_empty() || !spec.partition_filters.is_empty() {
        Granularity::Partitions
    } else if !spec.tables.is_empty() {
        Granularity::Tables
    } else {
        Granularity::Database
    }
}

/// The finished `CreateMmsJob` request: whole database → no `tables` (lists only filter),
/// tables → `tables`, partitions → `partitions` ids or `tables` + `partitionFilters`; with the
/// ownership marker in `others`.
pub fn job_request(spec: &MmsJobSpec, job: JobIdentity<'_>) -> CreateMmsJobRequest {
    let mut request = CreateMmsJobRequest {
        name: job.name.to_string(),
        src_db_name: spec.src_db_name.clone(),
        src_schema_name: spec.src_schema_name.clone(),
        dst_db_name: spec.dst_db_name.clone(),
        dst_schema_name: spec.dst_schema_name.clone(),
        table_mapping: spec.table_mapping.clone(),
        column_mapping: spec.column_mapping.clone(),
        enable_schema_migration: Some(spec.enable_schema_migration),
        enable_data_migration: Some(spec.enable_data_migration),
        enable_verification: Some(spec.enable_verification),
        increment: Some(spec.increment),
        eta: spec.eta.clone(),
        others: Some(serde_json::json!({ ownership::OWNER_KEY: job.owner_uid })),
        ..CreateMmsJobRequest::default()
    };
    match granularity(spec) {
        Granularity::Database => {
            request.table_white_list = spec.table_white_list.clone();
            request.table_black_list = spec.table_black_list.clone();
        }
        Granularity::Tables => request.tables = spec.tables.clone(),
        Granularity::Partitions if !spec.partitions.is_empty() => {
            request.partitions = spec.partitions.clone();
        }
        Granularity::Partitions => {
            request.tables = if spec.tables.is_empty() {
                spec.partition_filters.keys().cloned().collect()
            } else {
                spec.tables.clone()
            };
            request.partition_filters = spec.partition_filters.clone();
        }
    }
    request
}

/// Longest MMS job name the operator derives (MMS documents no limit; `spec.jobName` allows
/// 128).
pub const MAX_DERIVED_NAME: usize = 64;

/// The MMS job name: an adopted job's own, else `spec.jobName`, else the name this resource
/// already uses (status), else
/// one derived from namespace, name and UID that no other resource can get (see
/// [`ownership::cloud_name`]).
pub fn job_name(
    spec: &MmsJobSpec,
    status: &MmsJobStatus,
    namespace: &str,
    name: &str,
    uid: &str,
) -> String {
    // An adopted job keeps the name it was made with.
    let adopted = status.adopted_id.and(status.job_name.clone());
    adopted
        .or_else(|| spec.job_name.clone())
        .or_else(|| status.job_name.clone())
        .unwrap_or_else(|| ownership::cloud_name(namespace, name, uid, MAX_DERIVED_NAME))
}

/// What the DataSource says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceState {
    pub ready: bool,
    pub source_id: Option<i64>,
    /// Why it is not ready (its Ready message), or that it does not exist.
    pub message: String,
}

/// An async task as `GetMmsAsyncTask` shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AsyncTaskView {
    pub id: i64,
    pub status: String,
    pub running: bool,
    pub object_id: Option<i64>,
    pub error: Option<String>,
}

impl AsyncTaskView {
    pub fn failed(&self) -> bool {
        let s = self.status.to_ascii_uppercase();
        s.contains("FAIL") || s.contains("ERROR")
    }

    pub fn done(&self) -> bool {
        !self.running && !self.failed() && self.status.eq_ignore_ascii_case("DONE")
    }
}

/// A job as `GetMmsJob` shows it, with its tasks summarised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobView {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub stopped: bool,
    pub task_num: i64,
    pub task_done: i64,
    /// Task counts per state (ListMmsTasks totals).
    pub task_counts: BTreeMap<String, i64>,
    pub failed_tasks: Vec<FailedTask>,
    /// Tasks in flight (at most [`MAX_FAILED_TASKS`]).
    pub running_tasks: Vec<RunningTask>,
    /// Verification mismatches found in task logs.
    pub mismatches: Vec<String>,
}

/// What MMS showed this time.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// The DataSource is not usable; nothing was read from MMS.
    SourceNotReady,
    /// No job recorded and none with our name exists.
    NoJob,
    /// The create call's async task.
    Creating(AsyncTaskView),
    /// A job with our name and our ownership marker exists although status holds no id (a
    /// lost create answer, or another operator instance created it).
    Adoptable(i64),
    /// A job with our name exists but was not created for this resource: `owner` is the UID
    /// its marker names (None: unmarked, e.g. made in the console).
    NameTaken {
        id: i64,
        owner: Option<String>,
    },
    Job(JobView),
    /// The recorded job id does not exist any more.
    Gone(i64),
    /// The created job showed up (by name) in a job list.
    Created(i64),
}

/// The action a reconcile takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    Create {
        source_id: i64,
        request: Box<CreateMmsJobRequest>,
    },
    Stop {
        job_id: i64,
    },
    Start {
        job_id: i64,
    },
    Retry {
        job_id: i64,
    },
    /// One failed task of a table in `spec.retryTables`.
    RetryTask {
        task_id: i64,
    },
}

impl Act {
    /// The MMS action the act sends.
    pub fn action(&self) -> &'static str {
        match self {
            Act::Create { .. } => "CreateMmsJob",
            Act::Stop { .. } => "StopMmsJob",
            Act::Start { .. } => "StartMmsJob",
            Act::Retry { .. } => "RetryMmsJob",
            Act::RetryTask { .. } => "RetryMmsTask",
        }
    }
}

pub type Decision = crate::controllers::decision::Decision<MmsJobStatus, Act>;

/// Whether the spec asks for something the last observation has not answered yet: a new
/// generation, a suspend or resume, a retry. The reconcile then decides at once on what it has.
pub fn request_pending(spec: &MmsJobSpec, status: &MmsJobStatus, generation: Option<i64>) -> bool {
    status.observed_generation != generation
        || spec.suspend != status.stopped.unwrap_or(false)
        || (spec.retry_requested_at.is_some()
            && spec.retry_requested_at != status.last_retry_requested_at)
        || spec.retry_tables.as_ref().is_some_and(|r| {
            status
                .table_retry
                .as_ref()
                .is_none_or(|t| t.requested_at != r.requested_at || !t.finished)
        })
}

/// How long until MMS must be read again (zero: now; `Duration::MAX`: never, the job is
/// settled); `scale` is the operator's poll scale.
pub fn until_poll(
    spec: &MmsJobSpec,
    status: &MmsJobStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
    scale: f64,
) -> Duration {
    if request_pending(spec, status, generation) {
        return Duration::ZERO;
    }
    if settled(status.phase) {
        return Duration::MAX;
    }
    remaining(
        status.last_polled_at.as_ref(),
        interval_for(status.phase),
        now,
        scale,
    )
}

/// Phases in which the job does not change by itself any more: nothing is polled.
pub fn settled(phase: Option<MmsJobPhase>) -> bool {
    matches!(
        phase,
        Some(MmsJobPhase::Succeeded | MmsJobPhase::Failed | MmsJobPhase::Invalid)
    )
}

/// The nominal poll interval of a phase.
pub fn interval_for(phase: Option<MmsJobPhase>) -> Duration {
    match phase {
        Some(MmsJobPhase::Creating | MmsJobPhase::Pending) | None => POLL_CREATING,
        Some(MmsJobPhase::Running) => POLL_RUNNING,
        Some(MmsJobPhase::Suspended) => POLL_SUSPENDED,
        Some(MmsJobPhase::WaitingForDataSource) => POLL_WAITING,
        _ => POLL_SETTLED,
    }
}

impl JobView {
    /// The job as the status shows it (what the last observation said).
    pub fn from_status(status: &MmsJobStatus) -> Option<Self> {
        Some(Self {
            id: status.job_id?,
            name: status.job_name.clone().unwrap_or_default(),
            status: status.job_status.clone()?,
            stopped: status.stopped.unwrap_or(false),
            task_num: status.task_num.unwrap_or(0),
            task_done: status.task_done.unwrap_or(0),
            task_counts: status.task_counts.clone(),
            failed_tasks: status.failed_tasks.clone(),
            running_tasks: status.running_tasks.clone(),
            mismatches: status
                .verification
                .as_ref()
                .map(|v| v.mismatches.clone())
                .unwrap_or_default(),
        })
    }
}

/// The first status of an object the operator has not observed in MMS yet (or whose call is
/// queued): phase `Pending`, `Ready=False` with `reason` and `message`; written without a cloud
/// call. An object that has a phase already keeps it and its other fields.
pub fn pending(
    prev: &MmsJobStatus,
    generation: Option<i64>,
    job_name: &str,
    source: &SourceState,
    reason: &str,
    message: String,
    now: jiff::Timestamp,
) -> MmsJobStatus {
    let mut status = prev.clone();
    // Said once: a message that counted down each time would rewrite status on every requeue.
    let said = conditions::find(&prev.conditions, READY).is_some_and(|c| c.reason == reason)
        && prev.observed_generation == generation;
    if !said
        && matches!(
            prev.phase,
            None | Some(MmsJobPhase::WaitingForDataSource | MmsJobPhase::Pending)
        )
    {
        status.observed_generation = generation;
        status.job_name = Some(job_name.to_string());
        status.source_id = source.source_id.or(prev.source_id);
        status.phase = Some(MmsJobPhase::Pending);
        status.conditions = conditions::merge(
            &prev.conditions,
            &[Desired::false_(READY, reason, message)],
            generation,
            now,
        );
    }
    status
}

/// Derives the next status and action from what MMS showed at `now`.
pub fn decide(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    generation: Option<i64>,
    job: JobIdentity<'_>,
    source: &SourceState,
    observed: &Observed,
    now: jiff::Timestamp,
) -> Decision {
    derive(spec, prev, generation, job, source, observed, now)
        .keeping_stamp(prev, |s| &mut s.last_polled_at)
        .checked("MmsJob")
}

/// What the informer last learnt about an MmsJob.
pub type Observation = crate::controllers::informer::Observation<Observed>;

/// [`decide`] on an informer's observation. The status stamps are the observation's (its
/// arrival, its next poll); they change nothing by themselves (a read that learnt nothing
/// writes nothing).
pub fn decide_observed(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    generation: Option<i64>,
    job: JobIdentity<'_>,
    source: &SourceState,
    observation: &Observation,
    now: jiff::Timestamp,
) -> Decision {
    let observed = &observation.observed;
    let mut decision = derive(spec, prev, generation, job, source, observed, now);
    let status = &mut decision.status;
    if status.last_polled_at.is_some() {
        status.last_polled_at = Some(Time(observation.at));
    }
    status.next_poll_at = (!settled(status.phase)).then_some(Time(observation.next_poll_at));
    keep_stamps_unless_changed(
        prev,
        status,
        &[|s| &mut s.last_polled_at, |s| &mut s.next_poll_at],
    );
    decision.checked("MmsJob")
}

fn derive(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    generation: Option<i64>,
    job: JobIdentity<'_>,
    source: &SourceState,
    observed: &Observed,
    now: jiff::Timestamp,
) -> Decision {
    let job_name = job.name;
    let mut status = MmsJobStatus {
        observed_generation: generation,
        job_name: Some(job_name.to_string()),
        source_id: source.source_id.or(prev.source_id),
        async_task_id: prev.async_task_id,
        job_id: prev.job_id,
        stopped_by_operator: prev.stopped_by_operator,
        last_retry_requested_at: prev.last_retry_requested_at.clone(),
        create_requested_at: prev.create_requested_at.clone(),
        last_handled_reconcile_at: prev.last_handled_reconcile_at.clone(),
        adopted_id: prev.adopted_id,
        table_retry: prev.table_retry.clone(),
        job_requested_at: prev.job_requested_at.clone(),
        rounds: prev.rounds.clone(),
        freshness_seconds: prev.freshness_seconds,
        last_polled_at: Some(Time(now)),
        ..MmsJobStatus::default()
    };
    let verified_disabled = || {
        Desired::unknown(
            VERIFIED,
            "VerificationDisabled",
            "spec.enableVerification is false",
        )
    };
    let verified_pending = |msg: &str| {
        if spec.enable_verification {
            Desired::unknown(VERIFIED, "Pending", msg.to_string())
        } else {
            verified_disabled()
        }
    };
    let finish = Finish {
        prev,
        generation,
        now,
        observe_only: spec.management_policy == ManagementPolicy::ObserveOnly,
    };

    match observed {
        Observed::SourceNotReady => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::WaitingForDataSource,
                ready: Desired::false_(
                    READY,
                    "DataSourceNotReady",
                    format!(
                        "waiting for DataSource {}: {}",
                        spec.data_source_ref.name, source.message
                    ),
                ),
                conditions: vec![verified_pending("the job has not run yet")],
                act: None,
                requeue: Some(POLL_WAITING),
            },
        ),
        Observed::NoJob => no_job(spec, status, source, job, &finish, verified_pending),
        Observed::Adoptable(id) => {
            status.job_id = Some(*id);
            status.async_task_id = None;
            // Read the adopted job right away.
            status.last_polled_at = None;
            finish.decision(
                status,
                Outcome {
                    phase: MmsJobPhase::Running,
                    ready: Desired::false_(
                        READY,
                        "Adopted",
                        format!("adopted existing MMS job {id} named {job_name:?}"),
                    ),
                    conditions: vec![verified_pending("reading the adopted job")],
                    act: None,
                    requeue: Some(Duration::ZERO),
                },
            )
        }
        Observed::NameTaken { id, owner } => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Failed,
                ready: Desired::false_(
                    READY,
                    "JobNameTaken",
                    format!(
                        "an MMS job named {job_name:?} (id {id}) already exists and was not created for this MmsJob ({}): it is neither adopted nor deleted. Set spec.jobName to a name of its own, or remove that job in the MaxCompute console",
                        match owner {
                            Some(uid) => format!("it belongs to the resource with UID {uid}"),
                            None => "it carries no ownership marker".to_string(),
                        }
                    ),
                ),
                conditions: vec![verified_pending("no job of this MmsJob exists")],
                act: None,
                requeue: Some(POLL_SETTLED),
            },
        ),
        Observed::Created(id) => created(status, *id, &finish, verified_pending),
        Observed::Creating(
            task @ AsyncTaskView {
                object_id: Some(id),
                ..
            },
        ) if task.done() => created(status, *id, &finish, verified_pending),
        Observed::Creating(task) if task.failed() || task.done() => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Failed,
                ready: Desired::false_(
                    READY,
                    "CreateFailed",
                    format!(
                        "MMS could not create the job (async task {} {}): {}; fix the spec (a new generation creates again)",
                        task.id,
                        task.status,
                        task.error.as_deref().unwrap_or("no job id returned")
                    ),
                ),
                conditions: vec![verified_pending("the job was not created")],
                act: None,
                requeue: Some(POLL_SETTLED),
            },
        ),
        Observed::Creating(task) => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Creating,
                ready: Desired::false_(
                    READY,
                    "Creating",
                    format!(
                        "waiting for async task {} ({}) to create the job",
                        task.id, task.status
                    ),
                ),
                conditions: vec![verified_pending("the job is being created")],
                act: None,
                requeue: Some(POLL_CREATING),
            },
        ),
        Observed::Gone(id) => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Failed,
                ready: Desired::false_(
                    READY,
                    "JobGone",
                    format!(
                        "MMS job {id} no longer exists (deleted outside the operator); delete and re-create this MmsJob to migrate again"
                    ),
                ),
                conditions: vec![Desired::unknown(VERIFIED, "JobGone", "the job no longer exists")],
                act: None,
                requeue: Some(POLL_SETTLED),
            },
        ),
        Observed::Job(job) => decide_running(spec, prev, status, job, now, &finish),
    }
}

/// No job under this name: create it, unless a create may still be in flight.
fn no_job(
    spec: &MmsJobSpec,
    mut status: MmsJobStatus,
    source: &SourceState,
    job: JobIdentity<'_>,
    finish: &Finish<'_>,
    verified_pending: impl Fn(&str) -> Desired,
) -> Decision {
    let (prev, now, job_name) = (finish.prev, finish.now, job.name);
    let source_id = source
        .source_id
        .expect("NoJob is only observed for a ready source");
    let recent_attempt = prev
        .create_requested_at
        .as_ref()
        .is_some_and(|t| elapsed(t.0, now) < ADOPT_GRACE);
    if recent_attempt && prev.async_task_id.is_none() {
        // A create was sent but its answer never got recorded: give the job time to
        // appear under our name rather than risk a second one.
        return finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Creating,
                ready: Desired::false_(
                    READY,
                    "Creating",
                    format!(
                        "a create request for MMS job {job_name:?} may be in flight; looking for it by name"
                    ),
                ),
                conditions: vec![verified_pending("the job is being created")],
                act: None,
                requeue: Some(POLL_CREATING),
            },
        );
    }
    status.create_requested_at = Some(Time(now));
    status.async_task_id = None;
    finish.decision(
        status,
        Outcome {
            phase: MmsJobPhase::Creating,
            ready: Desired::false_(READY, "Creating", format!("creating MMS job {job_name:?}")),
            conditions: vec![verified_pending("the job is being created")],
            act: Some(Act::Create {
                source_id,
                request: Box::new(job_request(spec, job)),
            }),
            requeue: Some(POLL_CREATING),
        },
    )
}

/// The job exists (its async task finished, or a list showed it): record it and read it next.
fn created(
    mut status: MmsJobStatus,
    id: i64,
    finish: &Finish<'_>,
    verified_pending: impl Fn(&str) -> Desired,
) -> Decision {
    status.job_id = Some(id);
    // Read the new job right away.
    status.last_polled_at = None;
    finish.decision(
        status,
        Outcome {
            phase: MmsJobPhase::Running,
            ready: Desired::false_(
                READY,
                "Created",
                format!("MMS job {id} created; it starts by itself"),
            ),
            conditions: vec![verified_pending("the job just started")],
            act: None,
            requeue: Some(Duration::ZERO),
        },
    )
}

type Outcome = decision::Outcome<MmsJobPhase, Act>;

/// `spec.retryTables`: the next failed task of a listed table not retried for this request yet
/// (recorded in `status.tableRetry`), or `None` once there is none left (the request is then
/// finished, with a message when it retried nothing).
fn retry_tables(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    status: &mut MmsJobStatus,
    job: &JobView,
) -> Option<i64> {
    let Some(request) = &spec.retry_tables else {
        status.table_retry = prev.table_retry.clone();
        return None;
    };
    let mut progress = prev
        .table_retry
        .clone()
        .filter(|t| t.requested_at == request.requested_at)
        .unwrap_or_else(|| TableRetryStatus {
            requested_at: request.requested_at.clone(),
            ..TableRetryStatus::default()
        });
    if progress.finished {
        status.table_retry = Some(progress);
        return None;
    }
    let listed = |table: &str| {
        let short = table.rsplit('.').next().unwrap_or(table);
        request.tables.iter().any(|t| t == table || t == short)
    };
    let next = job
        .failed_tasks
        .iter()
        .find(|f| listed(&f.table) && !progress.retried.iter().any(|r| r.id == f.id));
    match next {
        Some(task) if !job.stopped => {
            progress.retried.push(RetriedTask {
                id: task.id,
                table: task.table.clone(),
            });
            status.table_retry = Some(progress);
            Some(task.id)
        }
        _ => {
            progress.finished = true;
            if progress.retried.is_empty() {
                progress.message = Some(if job.stopped {
                    "the job is stopped: nothing retried; resume it and ask again".to_string()
                } else {
                    format!(
                        "no failed task of {} among the {} failed task(s) read (at most {MAX_FAILED_TASKS}): nothing retried",
                        request.tables.join(", "),
                        job.failed_tasks.len()
                    )
                });
            }
            status.table_retry = Some(progress);
            None
        }
    }
}

/// Turns a branch's outcome into the decision, over the previous status's conditions.
struct Finish<'a> {
    prev: &'a MmsJobStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
    /// Decided calls are not sent; Ready says which one and why.
    observe_only: bool,
}

impl Finish<'_> {
    fn decision(&self, mut status: MmsJobStatus, mut outcome: Outcome) -> Decision {
        if self.observe_only
            && let Some(act) = outcome.act.take()
        {
            // Nothing was sent: nothing is recorded as done.
            status.stopped_by_operator = self.prev.stopped_by_operator;
            status.last_retry_requested_at = self.prev.last_retry_requested_at.clone();
            status.table_retry = self.prev.table_retry.clone();
            outcome.ready = Desired::false_(
                READY,
                "ObserveOnly",
                format!(
                    "ObserveOnly: the operator does not send {} ({}); make the change in the MaxCompute console, or set managementPolicy Manage",
                    act.action(),
                    outcome.ready.message
                ),
            );
        }
        outcome.into_decision(status, &self.prev.conditions, self.generation, self.now)
    }
}

fn decide_running(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    mut status: MmsJobStatus,
    job: &JobView,
    now: jiff::Timestamp,
    finish: &Finish<'_>,
) -> Decision {
    status.job_id = Some(job.id);
    status.async_task_id = None;
    status.job_requested_at = prev
        .job_requested_at
        .clone()
        .or_else(|| prev.create_requested_at.clone());
    status.create_requested_at = None;
    status.job_status = Some(job.status.clone());
    status.stopped = Some(job.stopped);
    status.task_num = Some(job.task_num);
    status.task_done = Some(job.task_done);
    status.progress = Some(progress(job.task_done, job.task_num));
    status.task_counts = job.task_counts.clone();
    status.failed_tasks = job
        .failed_tasks
        .iter()
        .take(MAX_FAILED_TASKS)
        .cloned()
        .collect();
    status.running_tasks = job
        .running_tasks
        .iter()
        .take(MAX_FAILED_TASKS)
        .cloned()
        .collect();
    let (verified, verification) = verification(spec, job, now, prev.verification.as_ref());
    status.verification = verification;

    // Lifecycle requests from spec, in order of precedence.
    if spec.suspend && !job.stopped {
        status.stopped_by_operator = true;
        return finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Suspended,
                ready: Desired::false_(
                    READY,
                    "Suspending",
                    "spec.suspend is true: stopping the MMS job",
                ),
                conditions: vec![verified],
                act: Some(Act::Stop { job_id: job.id }),
                requeue: Some(POLL_CREATING),
            },
        );
    }
    if !spec.suspend && job.stopped {
        if prev.stopped_by_operator {
            status.stopped_by_operator = false;
            return finish.decision(
                status,
                Outcome {
                    phase: MmsJobPhase::Running,
                    ready: Desired::false_(
                        READY,
                        "Resuming",
                        "spec.suspend is false: starting the stopped MMS job",
                    ),
                    conditions: vec![verified],
                    act: Some(Act::Start { job_id: job.id }),
                    requeue: Some(POLL_CREATING),
                },
            );
        }
        return finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Suspended,
                ready: Desired::false_(
                    READY,
                    "StoppedOutsideOperator",
                    "the MMS job was stopped outside the operator; resume it in the console, or set spec.suspend to true and back to false to let the operator resume it",
                ),
                conditions: vec![verified],
                act: None,
                requeue: Some(POLL_SUSPENDED),
            },
        );
    }
    if let Some(requested) = &spec.retry_requested_at
        && prev.last_retry_requested_at.as_ref() != Some(requested)
    {
        status.last_retry_requested_at = Some(requested.clone());
        let failed: i64 = FAILED_STATES
            .iter()
            .map(|s| job.task_counts.get(*s).copied().unwrap_or(0))
            .sum();
        if failed > 0 && !job.stopped {
            return finish.decision(
                status,
                Outcome {
                    phase: MmsJobPhase::Running,
                    ready: Desired::false_(
                        READY,
                        "Retrying",
                        format!("retrying {failed} failed task(s) (spec.retryRequestedAt)"),
                    ),
                    conditions: vec![verified],
                    act: Some(Act::Retry { job_id: job.id }),
                    requeue: Some(POLL_CREATING),
                },
            );
        }
    }

    if let Some(task) = retry_tables(spec, prev, &mut status, job) {
        let table = status
            .table_retry
            .as_ref()
            .and_then(|t| t.retried.last())
            .map(|r| r.table.clone())
            .unwrap_or_default();
        return finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Running,
                ready: Desired::false_(
                    READY,
                    "RetryingTables",
                    format!("retrying failed task {task} of {table} (spec.retryTables)"),
                ),
                conditions: vec![verified],
                act: Some(Act::RetryTask { task_id: task }),
                requeue: Some(POLL_CREATING),
            },
        );
    }

    if job.stopped {
        return finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Suspended,
                ready: Desired::false_(READY, "Suspended", "the MMS job is stopped (spec.suspend)"),
                conditions: vec![verified],
                act: None,
                requeue: Some(POLL_SUSPENDED),
            },
        );
    }
    match job.status.to_ascii_uppercase().as_str() {
        "DONE" => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Succeeded,
                ready: Desired::true_(
                    READY,
                    "Succeeded",
                    format!("all {} task(s) done", job.task_num),
                ),
                conditions: vec![verified],
                act: None,
                requeue: Some(POLL_SETTLED),
            },
        ),
        "FAILED" => {
            let names = job
                .failed_tasks
                .iter()
                .take(5)
                .map(|t| format!("{} ({})", t.table, t.status))
                .collect::<Vec<_>>()
                .join(", ");
            finish.decision(
                status,
                Outcome {
                    phase: MmsJobPhase::Failed,
                    ready: Desired::false_(
                        READY,
                        "TasksFailed",
                        format!(
                            "{} of {} task(s) failed{}{names}; fix the cause and set spec.retryRequestedAt to retry them",
                            job.failed_tasks.len().max(1),
                            job.task_num,
                            if names.is_empty() { "" } else { ": " }
                        ),
                    ),
                    conditions: vec![verified],
                    act: None,
                    requeue: Some(POLL_SETTLED),
                },
            )
        }
        _ => finish.decision(
            status,
            Outcome {
                phase: MmsJobPhase::Running,
                ready: Desired::false_(
                    READY,
                    "Running",
                    format!("{}/{} task(s) done", job.task_done, job.task_num),
                ),
                conditions: vec![verified],
                act: None,
                requeue: Some(POLL_RUNNING),
            },
        ),
    }
}

/// `done/total (pct%)`.
pub fn progress(done: i64, total: i64) -> String {
    let pct = if total > 0 {
        (done as f64 * 100.0 / total as f64).floor() as i64
    } else {
        0
    };
    format!("{done}/{total} ({pct}%)")
}

/// The Verified condition and the verification summary, from task states and logs.
pub fn verification(
    spec: &MmsJobSpec,
    job: &JobView,
    now: jiff::Timestamp,
    prev: Option<&VerificationStatus>,
) -> (Desired, Option<VerificationStatus>) {
    if !spec.enable_verification {
        return (
            Desired::unknown(
                VERIFIED,
                "VerificationDisabled",
                "spec.enableVerification is false",
            ),
            None,
        );
    }
    let count = |s: &str| job.task_counts.get(s).copied().unwrap_or(0);
    // A task reaches DONE only after VERIFICATION_DONE when verification is on.
    let passed = count("DONE");
    let failed = count("VERIFICATION_FAILED");
    let pending = (job.task_num - passed - failed).max(0);
    let state = if failed > 0 {
        VerificationState::Failed
    } else if job.task_num > 0 && pending == 0 {
        VerificationState::Passed
    } else {
        VerificationState::Pending
    };
    let mut summary = VerificationStatus {
        state,
        tasks_passed: passed,
        tasks_failed: failed,
        tasks_pending: pending,
        mismatches: job
            .mismatches
            .iter()
            .take(MAX_FAILED_TASKS)
            .cloned()
            .collect(),
        // Read once when the job finished (see `mms_job::evidence`); carried over.
        row_counts: prev.map(|p| p.row_counts.clone()).unwrap_or_default(),
        row_counts_read: prev.and_then(|p| p.row_counts_read),
        checked_at: Some(Time(now)),
    };
    // Keep the old timestamp when nothing changed, so status is not rewritten for it.
    if let Some(prev) = prev {
        let mut same = summary.clone();
        same.checked_at = prev.checked_at.clone();
        if &same == prev {
            summary = same;
        }
    }
    let condition = match state {
        VerificationState::Failed => Desired::false_(
            VERIFIED,
            "RowCountMismatch",
            format!(
                "{failed} task(s) failed verification{}; fix the data and retry with spec.retryRequestedAt",
                summary
                    .mismatches
                    .first()
                    .map(|m| format!(" (e.g. {m})"))
                    .unwrap_or_default()
            ),
        ),
        VerificationState::Passed => Desired::true_(
            VERIFIED,
            "RowCountsMatch",
            format!("row counts of source and target match for all {passed} task(s)"),
        ),
        VerificationState::Pending => Desired::unknown(
            VERIFIED,
            "Pending",
            format!("{passed} of {} task(s) verified", job.task_num),
        ),
    };
    (condition, Some(summary))
}

/// The source and destination row counts a verification log states (`src: N, dst: M`, or
/// MMA's `dsc`): the first line that has both. None when no line does: never guessed.
pub fn row_counts_in_log(lines: &[String]) -> Option<(i64, i64)> {
    lines.iter().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        let number_after = |key: &str| -> Option<i64> {
            let rest = &lower[lower.find(key)? + key.len()..];
            let digits: String = rest
                .trim_start_matches([':', ' ', '='])
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            digits.parse().ok()
        };
        let src = number_after("src")?;
        let dst = number_after("dst").or_else(|| number_after("dsc"))?;
        Some((src, dst))
    })
}

/// Picks verification mismatches out of task log messages (`src: N, dst: M` with N ≠ M, or
/// lines marked `not equal`).
pub fn mismatches_in_log(table: &str, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            lower.contains("not equal") || lower.contains("mismatch") || counts_differ(&lower)
        })
        .map(|line| format!("{table}: {}", line.trim()))
        .collect()
}

fn counts_differ(line: &str) -> bool {
    let numbers: Vec<i64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    (line.contains("src") && (line.contains("dst") || line.contains("dsc")))
        && numbers.len() >= 2
        && numbers[numbers.len() - 2] != numbers[numbers.len() - 1]
}

#[cfg(test)]
mod tests;
