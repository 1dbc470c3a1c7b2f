//! DtsMigration decisions: a pure function of (spec, previous status, what DTS showed, now).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::aliyun::dts::MonitorRuleType;
use crate::api::common::ManagementPolicy;
use crate::api::conditions::{self, Desired, READY, Status};
use crate::api::dts_migration::{
    ApiGeneration, DtsMigrationPhase as Phase, DtsMigrationSpec, DtsMigrationStatus, MigrationType,
    PrecheckItem, PrecheckSkipped, PrecheckStatus, RetryStatus, SchemaChangesStatus, StageStatus,
    Stages, TableCheck,
};
use crate::controllers::decision;
use crate::controllers::poll::{elapsed, remaining};

mod lag;
mod privileges;
mod schema_changes;
mod verification;

pub use lag::{STALE, format_lag, stale};
use lag::{lag_condition, record_lag};
pub use privileges::PRIVILEGES_SUFFICIENT;
pub use schema_changes::SCHEMA_CHANGES_APPLIED;
use verification::verification;

pub const PRECHECK_PASSED: &str = "PrecheckPassed";
pub const REPLICATING: &str = "Replicating";
pub const LAG_WITHIN_THRESHOLD: &str = "LagWithinThreshold";

/// Lag samples kept in status for gates that need a window.
pub const MAX_LAG_SAMPLES: usize = 30;
/// DTS may not resume an incremental task paused longer than this (SuspendMigrationJob doc).
pub const MAX_SUSPEND: Duration = Duration::from_secs(6 * 3600);
/// Warn this long before the limit.
pub const SUSPEND_WARNING_AT: Duration = Duration::from_secs(5 * 3600);

pub const POLL_FAST: Duration = Duration::from_secs(5);
pub const POLL_INITIAL_LOAD: Duration = Duration::from_secs(15);
/// Incremental replication is polled steadily so lag samples stay fresh for Cutover gates.
pub const POLL_REPLICATING: Duration = Duration::from_secs(10);
pub const POLL_WAITING_FOR_USER: Duration = Duration::from_secs(60);
pub const POLL_SETTLED: Duration = Duration::from_secs(600);
/// How long after a `ConfigureDtsJob` for a new task whose outcome is unknown the operator
/// keeps looking for that task before configuring again: twice the client's attempt timeout
/// (a creating call is never retried by the client, so it is in flight at most that long).
pub const CREATE_GRACE: Duration = Duration::from_secs(60);

/// One stage as DTS reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageView {
    pub status: String,
    pub percent: Option<i64>,
    pub progress: Option<String>,
    pub error: Option<String>,
}

/// The task as DTS reports it, normalised across both API generations.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskView {
    pub status: String,
    /// The instance the task runs on; None while a configured task is not bought yet.
    pub instance_id: Option<String>,
    pub precheck: Option<PrecheckStatus>,
    pub schema: Option<StageView>,
    pub full: Option<StageView>,
    pub incremental: Option<StageView>,
    /// Seconds, whatever unit DTS used.
    pub lag_seconds: Option<f64>,
    pub checkpoint: Option<i64>,
    pub retry: Option<RetryStatus>,
    pub error: Option<String>,
    /// When DTS's answer arrived (operator clock): lag samples carry this time.
    pub observed_at: jiff::Timestamp,
    /// The full data check (`FullDataCheckStatus`), when DTS reports one.
    pub full_check: Option<CheckView>,
    /// The incremental data check (`IncDataCheckStatus`), when DTS reports one.
    pub incremental_check: Option<CheckView>,
    /// The DDL statements the incremental stage met, when read (not on every answer).
    pub schema_changes: Option<SchemaChangesStatus>,
}

impl Default for TaskView {
    fn default() -> Self {
        Self {
            status: String::new(),
            instance_id: None,
            precheck: None,
            schema: None,
            full: None,
            incremental: None,
            lag_seconds: None,
            checkpoint: None,
            retry: None,
            error: None,
            observed_at: jiff::Timestamp::UNIX_EPOCH,
            full_check: None,
            incremental_check: None,
            schema_changes: None,
        }
    }
}

/// One data check as DTS reported it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckView {
    pub status: String,
    pub percent: Option<i64>,
    pub can_switch: Option<bool>,
    pub error: Option<String>,
    /// Every table's result; None when they were not read this time.
    pub tables: Option<Vec<TableCheck>>,
}

/// What DTS showed this time.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// No task recorded yet.
    NoTask,
    Task(Box<TaskView>),
    /// The recorded instance or task does not exist any more.
    Gone,
    /// No id recorded, but a configure was sent and DTS holds a task under our name that was
    /// never bought: the answer to that configure was lost.
    Adoptable(String),
}

/// The action a reconcile takes.
///
/// The DtsJob generation configures first and buys second (`CreateDtsInstance` with the
/// `JobId`): CreateDtsInstance takes no idempotency token, but a task id recorded before the
/// purchase lets a restart see whether the purchase happened. The legacy generation buys first
/// with a `ClientToken` derived from the object UID, then configures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// Buy the instance (and, for the DtsJob generation, start the configured task on it).
    CreateInstance,
    /// Configure (or, before the task started, reconfigure) the task from spec.
    Configure,
    /// Start a configured task, re-run a failed precheck, or resume a paused task.
    Start,
    /// Read the task's alert rules and set those that differ from `rules` (recorded as
    /// `generation`'s once DTS answered).
    SyncMonitorRules {
        rules: Vec<AlertRule>,
        generation: i64,
    },
    /// Skip these precheck warnings (SkipPreCheck) and run the precheck again (StartDtsJob);
    /// recorded in `status.precheckSkipped` once both were answered (both are safe to repeat).
    SkipPrecheck(PrecheckSkipped),
    Suspend,
    Stop,
}

/// One DTS alert rule as the spec wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRule {
    pub kind: MonitorRuleType,
    pub enabled: bool,
    /// Seconds of lag, for `Delay`.
    pub delay_seconds: Option<u64>,
    pub phones: Vec<String>,
}

pub type Decision = crate::controllers::decision::Decision<DtsMigrationStatus, Act>;

/// How long until DTS must be read again (zero: now); `scale` is the operator's poll scale.
pub fn until_poll(
    spec: &DtsMigrationSpec,
    status: &DtsMigrationStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
    scale: f64,
) -> Duration {
    if super::polling::request_pending(spec, status, generation) {
        return Duration::ZERO;
    }
    remaining(
        status.last_polled_at.as_ref(),
        interval_for(status.phase),
        now,
        scale,
    )
}

pub fn interval_for(phase: Option<Phase>) -> Duration {
    match phase {
        None | Some(Phase::Pending | Phase::Creating | Phase::Configuring | Phase::Prechecking) => {
            POLL_FAST
        }
        Some(Phase::MigratingSchema | Phase::MigratingFull) => POLL_INITIAL_LOAD,
        Some(Phase::Replicating) => POLL_REPLICATING,
        Some(Phase::Suspended | Phase::PrecheckFailed | Phase::Retrying | Phase::Failed) => {
            POLL_WAITING_FOR_USER
        }
        Some(
            Phase::Completed | Phase::Stopped | Phase::Invalid | Phase::Deleting | Phase::Paused,
        ) => POLL_SETTLED,
    }
}

fn has(spec: &DtsMigrationSpec, t: MigrationType) -> bool {
    spec.migration_types.contains(&t)
}

/// Derives the next status and action.
pub fn decide(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    generation: Option<i64>,
    observed: &Observed,
    now: jiff::Timestamp,
) -> Decision {
    derive(spec, prev, generation, observed, now)
        .keeping_stamp(prev, |s| &mut s.last_polled_at)
        .checked("DtsMigration")
}

fn derive(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    generation: Option<i64>,
    observed: &Observed,
    now: jiff::Timestamp,
) -> Decision {
    let mut status = DtsMigrationStatus {
        observed_generation: generation,
        dts_instance_id: prev.dts_instance_id.clone(),
        dts_job_id: prev.dts_job_id.clone(),
        dts_job_name: prev.dts_job_name.clone(),
        create_requested_at: prev.create_requested_at.clone(),
        purchase_requested_at: prev.purchase_requested_at.clone(),
        configured_generation: prev.configured_generation,
        started_at: prev.started_at.clone(),
        suspended_at: prev.suspended_at.clone(),
        lag_samples: prev.lag_samples.clone(),
        lag_seconds: prev.lag_seconds,
        lag_observed_at: prev.lag_observed_at.clone(),
        lag: prev.lag.clone(),
        last_precheck_requested_at: prev.last_precheck_requested_at.clone(),
        precheck_generation: prev.precheck_generation,
        precheck_skipped: prev.precheck_skipped.clone(),
        adopted_id: prev.adopted_id.clone(),
        monitor_rules_generation: prev.monitor_rules_generation,
        last_handled_reconcile_at: prev.last_handled_reconcile_at.clone(),
        // The answer's arrival, not the reconcile's start: lag samples are stamped with it.
        last_polled_at: Some(Time(match observed {
            Observed::Task(task) if task.observed_at > jiff::Timestamp::UNIX_EPOCH => {
                task.observed_at
            }
            _ => now,
        })),
        warnings: super::endpoints::overridden_reserve(spec),
        ..DtsMigrationStatus::default()
    };
    let mut out = outcome();
    match observed {
        Observed::NoTask
            if spec.api_generation == ApiGeneration::DtsJob && create_in_flight(prev, now) =>
        {
            // A configure was sent (intent recorded) and its task is not found yet: it may
            // still be on its way. Configuring again now could make a second task. (The legacy
            // generation buys first, with a ClientToken: repeating that is safe.)
            out.phase = Phase::Configuring;
            out.ready = Desired::false_(
                READY,
                "Configuring",
                "a configure request may still be in flight; looking for its task (by name and ownership marker) before configuring again",
            );
        }
        Observed::NoTask if spec.api_generation == ApiGeneration::DtsJob => {
            out.phase = Phase::Configuring;
            out.ready = Desired::false_(
                READY,
                "Configuring",
                "configuring the DTS task (it is bought once configured)",
            );
            out.act = Some(Act::Configure);
            status.configured_generation = generation;
            status.precheck_generation = generation;
            status.create_requested_at = Some(Time(now));
        }
        Observed::NoTask => {
            status.create_requested_at = Some(Time(now));
            out.phase = Phase::Creating;
            out.ready = Desired::false_(
                READY,
                "Creating",
                format!(
                    "buying a {} DTS migration instance",
                    spec.instance_class.as_str()
                ),
            );
            out.act = Some(Act::CreateInstance);
        }
        Observed::Adoptable(id) => {
            status.dts_job_id = Some(id.clone());
            out.phase = Phase::Configuring;
            out.ready = Desired::false_(
                READY,
                "Adopted",
                format!(
                    "adopted DTS task {id}: it was configured under this name but the answer was lost"
                ),
            );
            if prev.configured_generation != generation {
                // The spec changed since that configure: bring the adopted task up to date.
                out.act = Some(Act::Configure);
                status.configured_generation = generation;
                status.precheck_generation = generation;
            }
        }
        Observed::Gone => {
            out.phase = Phase::Failed;
            out.ready = Desired::false_(
                READY,
                "InstanceGone",
                format!(
                    "DTS {} no longer exists (released outside the operator, or never there: check the adopt-id annotation); delete and re-create this DtsMigration to migrate again",
                    match (&prev.dts_instance_id, &prev.dts_job_id) {
                        (Some(instance), _) => format!("instance {instance}"),
                        (None, Some(job)) => format!("task {job}"),
                        (None, None) => "task".to_string(),
                    }
                ),
            );
        }
        Observed::Task(task) => {
            decide_task(spec, prev, &mut status, &mut out, task, generation, now)
        }
    }
    if spec.management_policy == ManagementPolicy::ObserveOnly {
        observe_only(spec, prev, &mut status, &mut out);
    }
    status.phase = Some(out.phase);
    let replicating = out.phase == Phase::Replicating;
    let lag_condition = lag_condition(spec, &status, replicating, now);
    if lag_condition.reason == lag::LAG_STALE {
        out.ready = lag::stale_ready(&lag_condition);
        status.lag = Some(lag::STALE.to_string());
    } else if replicating && out.ready.status == Status::True {
        // Ready means the migration does what its spec asks: replicating with the lag the spec
        // accepts, measured. A lagging task, or one without a lag sample yet, is not Ready.
        out.ready = lag::replicating_ready(&lag_condition);
    }
    if !out.sets(PRECHECK_PASSED) {
        out.set(
            carried(&prev.conditions, PRECHECK_PASSED).unwrap_or_else(|| {
                Desired::unknown(PRECHECK_PASSED, "NotRun", "the precheck has not run yet")
            }),
        );
    }
    out.set(if replicating {
        Desired::true_(
            REPLICATING,
            "Replicating",
            "incremental changes are being applied to the destination",
        )
    } else {
        Desired::false_(
            REPLICATING,
            format!("{:?}", out.phase),
            "incremental replication is not running",
        )
    });
    out.set(lag_condition);
    out.set(privileges::privileges_condition(
        spec,
        &status,
        &prev.conditions,
    ));
    if let Some(c) = schema_changes::schema_changes_condition(status.schema_changes.as_ref()) {
        out.set(c);
    }
    out.requeue = Some(match out.act {
        Some(_) => POLL_FAST,
        None => interval_for(status.phase),
    });
    out.into_decision(status, &prev.conditions, generation, now)
}

/// What the adopt-id annotation makes of the previous status: the task to follow, recorded as
/// if this resource had made it. `Err`: why it cannot be adopted (the spec or the annotation
/// must change).
/// What DTS would refuse or ignore in the objects, as one terminal message; `None`: nothing.
pub fn object_problems(spec: &DtsMigrationSpec) -> Option<String> {
    let rules = crate::api::dts_objects::ObjectRules {
        legacy: spec.api_generation == ApiGeneration::MigrationJob,
        maxcompute: spec.destination.instance_type
            == crate::api::dts_migration::EndpointType::MaxCompute,
    };
    let problems = crate::api::dts_objects::problems(&spec.objects, rules);
    (!problems.is_empty()).then(|| format!("spec.objects: {}", problems.join("; ")))
}

pub fn adopt(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    adopt_id: Option<&str>,
) -> Result<DtsMigrationStatus, String> {
    let Some(id) = adopt_id else {
        if spec.management_policy == ManagementPolicy::ObserveOnly && prev.adopted_id.is_none() {
            return Err(format!(
                "managementPolicy ObserveOnly follows an existing task: name it with the annotation {}",
                crate::api::common::annotations::ADOPT_ID
            ));
        }
        return Ok(prev.clone());
    };
    match (
        &prev.adopted_id,
        &prev.dts_job_id,
        &prev.create_requested_at,
    ) {
        (Some(adopted), _, _) if adopted == id => Ok(prev.clone()),
        (Some(adopted), _, _) => Err(format!(
            "the adopt-id annotation changed from {adopted} to {id}: a resource follows one task for good; put it back, or create another DtsMigration for {id}"
        )),
        (None, Some(_), _) | (None, None, Some(_)) => Err(format!(
            "this DtsMigration already made its own DTS task; the adopt-id annotation ({id}) applies only to a new DtsMigration"
        )),
        (None, None, None) => {
            let mut status = prev.clone();
            status.adopted_id = Some(id.to_string());
            status.dts_job_id = Some(id.to_string());
            if spec.api_generation == ApiGeneration::MigrationJob {
                // The legacy generation knows a task by its instance id.
                status.dts_instance_id = Some(id.to_string());
            }
            Ok(status)
        }
    }
}

/// An adopted task the operator only reads: whatever the decision would send is not sent, the
/// intents it would record are not recorded, and `Ready` says what a person would have to do.
fn observe_only(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    status: &mut DtsMigrationStatus,
    out: &mut Outcome,
) {
    let Some(act) = out.act.take() else { return };
    status.create_requested_at = prev.create_requested_at.clone();
    status.purchase_requested_at = prev.purchase_requested_at.clone();
    status.configured_generation = prev.configured_generation;
    status.precheck_generation = prev.precheck_generation;
    status.last_precheck_requested_at = prev.last_precheck_requested_at.clone();
    status.suspended_at = prev.suspended_at.clone();
    let legacy = spec.api_generation == ApiGeneration::MigrationJob;
    out.ready = Desired::new(
        READY,
        out.ready.status,
        out.ready.reason.clone(),
        format!(
            "{} (ObserveOnly: the operator does not send {}; do it in the DTS console if it is wanted)",
            out.ready.message,
            action(&act, legacy)
        ),
    );
}

/// The DTS action an act sends.
pub fn action(act: &Act, legacy: bool) -> &'static str {
    match (act, legacy) {
        (Act::CreateInstance, false) => "CreateDtsInstance",
        (Act::CreateInstance, true) => "CreateMigrationJob",
        (Act::Configure, false) => "ConfigureDtsJob",
        (Act::Configure, true) => "ConfigureMigrationJob",
        (Act::Start, false) => "StartDtsJob",
        (Act::Start, true) => "StartMigrationJob",
        (Act::Suspend, false) => "SuspendDtsJob",
        (Act::Suspend, true) => "SuspendMigrationJob",
        (Act::Stop, false) => "StopDtsJob",
        (Act::Stop, true) => "StopMigrationJob",
        (Act::SkipPrecheck(_), _) => "SkipPreCheck",
        (Act::SyncMonitorRules { .. }, _) => "CreateJobMonitorRule",
    }
}

/// Whether a creating call sent shortly before `now` may still be in flight: its intent is
/// recorded, no id came back, and the grace period has not passed.
pub fn create_in_flight(prev: &DtsMigrationStatus, now: jiff::Timestamp) -> bool {
    prev.dts_job_id.is_none()
        && prev.dts_instance_id.is_none()
        && prev
            .create_requested_at
            .as_ref()
            .is_some_and(|t| elapsed(t.0, now) < CREATE_GRACE)
}

/// The previous condition of `type_`, as it was (nothing was learnt about it this time).
fn carried(
    prev: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &'static str,
) -> Option<Desired> {
    conditions::find(prev, type_).map(|c| {
        let status = match c.status.as_str() {
            "True" => Status::True,
            "False" => Status::False,
            _ => Status::Unknown,
        };
        Desired::new(type_, status, c.reason.clone(), c.message.clone())
    })
}

type Outcome = decision::Outcome<Phase, Act>;

fn outcome() -> Outcome {
    Outcome {
        phase: Phase::Creating,
        ready: Desired::unknown(READY, "Unknown", ""),
        conditions: Vec::new(),
        act: None,
        requeue: None,
    }
}

fn decide_task(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    status: &mut DtsMigrationStatus,
    out: &mut Outcome,
    task: &TaskView,
    generation: Option<i64>,
    now: jiff::Timestamp,
) {
    status.dts_status = Some(task.status.clone());
    status.checkpoint = task.checkpoint;
    status.error_message = task.error.clone();
    status.retry = task.retry.clone().filter(|r| r.retrying);
    status.stages = stages(task);
    status.precheck = task.precheck.clone().map(|mut p| {
        p.items
            .retain(|i| !i.result.eq_ignore_ascii_case("success"));
        p
    });
    status.verification = verification(spec, task, now, prev.verification.as_ref());
    // Read every few minutes, not with every answer: the last read stands until the next.
    status.schema_changes = task
        .schema_changes
        .clone()
        .or_else(|| prev.schema_changes.clone());
    let dts = task.status.to_ascii_lowercase();
    if task.instance_id.is_some() {
        status.dts_instance_id = task.instance_id.clone();
    }

    // Configured first (DtsJob generation), not bought yet: buy it and start it.
    if spec.api_generation == ApiGeneration::DtsJob
        && task.instance_id.is_none()
        && status.dts_instance_id.is_none()
    {
        out.phase = Phase::Creating;
        out.ready = Desired::false_(
            READY,
            "Creating",
            format!(
                "buying a {} DTS migration instance for the configured task",
                spec.instance_class.as_str()
            ),
        );
        out.act = Some(Act::CreateInstance);
        status.purchase_requested_at = Some(Time(now));
        if status.configured_generation.is_none() {
            status.configured_generation = generation;
        }
        return;
    }
    // Configuration: first time, or a spec edit while the task has not started yet.
    if dts == "notconfigured"
        || (spec.api_generation == ApiGeneration::MigrationJob
            && status.configured_generation.is_none())
    {
        out.phase = Phase::Configuring;
        out.ready = Desired::false_(READY, "Configuring", "configuring the DTS task");
        out.act = Some(Act::Configure);
        status.configured_generation = generation;
        status.precheck_generation = generation;
        return;
    }
    if status.configured_generation.is_none() {
        // Configured by an earlier run whose answer was not recorded: adopt it.
        status.configured_generation = generation;
    }
    let not_started = status.started_at.is_none();
    if not_started
        && status.configured_generation != generation
        && matches!(dts.as_str(), "precheckfailed" | "notstarted")
    {
        out.phase = Phase::Configuring;
        out.ready = Desired::false_(
            READY,
            "Reconfiguring",
            "the spec changed before the task started: reconfiguring it",
        );
        out.act = Some(Act::Configure);
        status.configured_generation = generation;
        status.precheck_generation = generation;
        return;
    }

    if matches!(
        dts.as_str(),
        "precheckpass" | "migrating" | "synchronizing" | "suspending" | "retrying" | "finished"
    ) && status.started_at.is_none()
    {
        status.started_at = Some(Time(now));
    }

    match dts.as_str() {
        "notstarted" => {
            out.phase = Phase::Prechecking;
            out.ready = Desired::false_(
                READY,
                "Starting",
                "the task is configured but not started: starting it",
            );
            out.act = Some(Act::Start);
        }
        "prechecking" => {
            out.phase = Phase::Prechecking;
            let percent = task.precheck.as_ref().and_then(|p| p.percent).unwrap_or(0);
            out.ready = Desired::false_(
                READY,
                "Prechecking",
                format!("DTS precheck running ({percent}%)"),
            );
            out.set(Desired::unknown(
                PRECHECK_PASSED,
                "Prechecking",
                "the precheck is running",
            ));
        }
        "precheckfailed" => decide_precheck_failed(spec, prev, status, out),
        "precheckpass" => {
            out.phase = Phase::Prechecking;
            out.ready = Desired::false_(
                READY,
                "PrecheckPassed",
                "precheck passed; migration is starting",
            );
            out.set(precheck_passed(status));
        }
        "migrating" | "synchronizing" | "initializing" => decide_migrating(spec, status, out, task),
        "suspending" | "paused" => decide_suspended(spec, prev, status, out, now),
        "retrying" => {
            out.phase = Phase::Retrying;
            out.set(precheck_passed(status));
            out.ready = Desired::false_(READY, "Retrying", retry_message(task));
        }
        "migrationfailed" | "failed" | "initializefailed" => {
            out.phase = Phase::Failed;
            out.set(precheck_passed(status));
            out.ready = Desired::false_(
                READY,
                "MigrationFailed",
                format!(
                    "the DTS task failed: {}; fix the cause, then start it again in the DTS console or re-create this DtsMigration",
                    task.error.as_deref().unwrap_or("no reason given")
                ),
            );
        }
        "finished" => {
            out.set(precheck_passed(status));
            if has(spec, MigrationType::Incremental) || spec.stop {
                out.phase = Phase::Stopped;
                out.ready = Desired::true_(
                    READY,
                    "Stopped",
                    "the task was stopped and is finished for good (it cannot resume)",
                );
            } else {
                out.phase = Phase::Completed;
                out.ready = Desired::true_(
                    READY,
                    "Completed",
                    "schema and full data migration finished",
                );
            }
        }
        other => {
            // Transient administrative states (Upgrade, Downgrade, Locked, Modifying).
            out.phase = prev.phase.unwrap_or(Phase::Prechecking);
            out.ready = Desired::false_(READY, "Busy", format!("the DTS task is {other}"));
        }
    }

    // Stop wins over everything but an already finished task.
    if spec.stop && dts != "finished" {
        out.act = Some(Act::Stop);
        out.ready = Desired::false_(
            READY,
            "Stopping",
            "spec.stop is true: stopping the task for good",
        );
    }
    let rules_generation = generation.unwrap_or_default();
    if out.act.is_none()
        && status.started_at.is_some()
        && dts != "finished"
        && status.monitor_rules_generation != Some(rules_generation)
        && (alerts_wanted(spec) || status.monitor_rules_generation.is_some())
    {
        out.act = Some(Act::SyncMonitorRules {
            rules: alert_rules(spec),
            generation: rules_generation,
        });
    }
}

/// Whether the spec asks for any DTS alert.
fn alerts_wanted(spec: &DtsMigrationSpec) -> bool {
    spec.lag_monitor_rule.is_some()
        || spec
            .monitor_rules
            .as_ref()
            .is_some_and(|r| r.delay_seconds.is_some() || r.on_error)
}

/// The `delay` and `error` rules as the spec wants them (a rule it does not ask for: off).
pub fn alert_rules(spec: &DtsMigrationSpec) -> Vec<AlertRule> {
    let (delay, on_error, phones) = match (&spec.monitor_rules, &spec.lag_monitor_rule) {
        (Some(r), _) => (r.delay_seconds, r.on_error, r.phones.clone()),
        (None, Some(old)) => (Some(old.delay_seconds), false, old.phones.clone()),
        (None, None) => (None, false, Vec::new()),
    };
    vec![
        AlertRule {
            kind: MonitorRuleType::Delay,
            enabled: delay.is_some(),
            delay_seconds: delay.map(|d| d.max(1) as u64),
            phones: phones.clone(),
        },
        AlertRule {
            kind: MonitorRuleType::Error,
            enabled: on_error,
            delay_seconds: None,
            phones,
        },
    ]
}

fn precheck_passed(status: &DtsMigrationStatus) -> Desired {
    let warnings = status.precheck.as_ref().map(|p| p.items.len()).unwrap_or(0);
    Desired::true_(
        PRECHECK_PASSED,
        "Passed",
        if warnings > 0 {
            format!("precheck passed with {warnings} warning(s); see status.precheck.items")
        } else {
            "precheck passed".to_string()
        },
    )
}

fn decide_precheck_failed(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    status: &mut DtsMigrationStatus,
    out: &mut Outcome,
) {
    out.phase = Phase::PrecheckFailed;
    let items = status
        .precheck
        .as_ref()
        .map(|p| p.items.clone())
        .unwrap_or_default();
    let failed: Vec<&PrecheckItem> = items
        .iter()
        .filter(|i| i.result.eq_ignore_ascii_case("failed"))
        .collect();
    let warnings: Vec<&PrecheckItem> = items
        .iter()
        .filter(|i| i.result.eq_ignore_ascii_case("warning"))
        .collect();
    let message = if failed.is_empty() && !warnings.is_empty() {
        match skip_warnings(spec, status, &warnings) {
            Ok(act) => {
                out.act = Some(act);
                out.ready = Desired::false_(
                    READY,
                    "PrecheckWarningsSkipped",
                    format!(
                        "skipping precheck warning(s) {} (spec.precheck.skip), then running the precheck again",
                        names(&warnings)
                    ),
                );
                out.set(Desired::false_(
                    PRECHECK_PASSED,
                    "PrecheckWarningsSkipped",
                    "the precheck runs again without the skipped warnings",
                ));
                return;
            }
            Err(message) => message,
        }
    } else {
        let mut message = format!(
            "{} precheck item(s) failed: {}. Fix the cause, then set spec.precheckRequestedAt (or edit the spec) to run the precheck again",
            failed.len(),
            described(&failed)
        );
        if !warnings.is_empty() {
            message.push_str(&format!("; warnings: {}", described(&warnings)));
        }
        message
    };
    out.ready = Desired::false_(READY, "PrecheckFailed", message.clone());
    out.set(Desired::false_(PRECHECK_PASSED, "PrecheckFailed", message));
    if let Some(requested) = &spec.precheck_requested_at
        && prev.last_precheck_requested_at.as_ref() != Some(requested)
    {
        status.last_precheck_requested_at = Some(requested.clone());
        out.act = Some(Act::Start);
        out.ready = Desired::false_(
            READY,
            "PrecheckRequested",
            "running the precheck again (spec.precheckRequestedAt)",
        );
    }
}

/// A precheck that only warns: skip the warnings the spec accepts and run the precheck again,
/// once per spec generation. Any warning the spec does not list, or one that DTS still reports
/// after the skip and the re-run, is the person's to decide (`Err`: what to do), never a loop.
fn skip_warnings(
    spec: &DtsMigrationSpec,
    status: &DtsMigrationStatus,
    warnings: &[&PrecheckItem],
) -> Result<Act, String> {
    let accepted: &[String] = spec.precheck.as_ref().map_or(&[], |p| &p.skip);
    let unskippable: Vec<&PrecheckItem> = warnings
        .iter()
        .copied()
        .filter(|w| w.can_skip == Some(false))
        .collect();
    if !unskippable.is_empty() {
        return Err(format!(
            "precheck warning(s) that DTS does not let be skipped block the task: {}. Fix the cause, then set spec.precheckRequestedAt",
            described(&unskippable)
        ));
    }
    let unlisted: Vec<&PrecheckItem> = warnings
        .iter()
        .copied()
        .filter(|w| !accepted.contains(&w.name))
        .collect();
    if !unlisted.is_empty() {
        return Err(format!(
            "precheck warning(s) block the task: {}. Accept them by adding {} to spec.precheck.skip, or fix the cause and set spec.precheckRequestedAt",
            described(&unlisted),
            names(&unlisted)
        ));
    }
    let generation = status.observed_generation.unwrap_or_default();
    let items: Vec<String> = warnings.iter().map(|w| w.name.clone()).collect();
    match &status.precheck_skipped {
        Some(done)
            if done.generation == generation && items.iter().all(|w| done.items.contains(w)) =>
        {
            Err(format!(
                "DTS still reports the skipped warning(s) {} after the precheck ran again; check the task in the DTS console",
                names(warnings)
            ))
        }
        _ => Ok(Act::SkipPrecheck(PrecheckSkipped { items, generation })),
    }
}

fn names(items: &[&PrecheckItem]) -> String {
    items
        .iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn described(items: &[&PrecheckItem]) -> String {
    items
        .iter()
        .map(|i| {
            if i.repair.is_empty() {
                format!("{}: {}", i.name, i.reason)
            } else {
                format!("{}: {} (fix: {})", i.name, i.reason, i.repair)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn decide_migrating(
    spec: &DtsMigrationSpec,
    status: &mut DtsMigrationStatus,
    out: &mut Outcome,
    task: &TaskView,
) {
    out.set(precheck_passed(status));
    status.suspended_at = None;
    let migrating = |s: &Option<StageView>| {
        s.as_ref().is_some_and(|v| {
            matches!(
                v.status.to_ascii_lowercase().as_str(),
                "migrating" | "checking"
            )
        })
    };
    let incremental_running = task.incremental.as_ref().is_some_and(|v| {
        matches!(
            v.status.to_ascii_lowercase().as_str(),
            "migrating" | "catched" | "synchronizing"
        )
    });
    if has(spec, MigrationType::Incremental)
        && incremental_running
        && !migrating(&task.full)
        && !migrating(&task.schema)
    {
        out.phase = Phase::Replicating;
        record_lag(status, task);
        out.ready = Desired::true_(
            READY,
            "Replicating",
            format!(
                "replicating; lag {}",
                status.lag.as_deref().unwrap_or("unknown")
            ),
        );
    } else if migrating(&task.schema) {
        out.phase = Phase::MigratingSchema;
        out.ready = Desired::false_(
            READY,
            "MigratingSchema",
            stage_message("schema migration", task.schema.as_ref()),
        );
    } else {
        out.phase = Phase::MigratingFull;
        out.ready = Desired::false_(
            READY,
            "MigratingFull",
            stage_message("full data migration", task.full.as_ref()),
        );
    }
    if spec.suspend {
        out.act = Some(Act::Suspend);
        out.ready = Desired::false_(
            READY,
            "Suspending",
            "spec.suspend is true: pausing the task",
        );
    }
}

fn decide_suspended(
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    status: &mut DtsMigrationStatus,
    out: &mut Outcome,
    now: jiff::Timestamp,
) {
    out.phase = Phase::Suspended;
    out.set(precheck_passed(status));
    let ours = prev.suspended_at.is_some();
    if !spec.suspend && ours {
        status.suspended_at = None;
        out.act = Some(Act::Start);
        out.ready = Desired::false_(
            READY,
            "Resuming",
            "spec.suspend is false: resuming the task",
        );
        return;
    }
    if !ours && spec.suspend {
        // Paused by someone else while we also want it paused: adopt the pause.
        status.suspended_at = Some(Time(now));
    }
    let since = status.suspended_at.as_ref().map(|t| t.0);
    if has(spec, MigrationType::Incremental)
        && let Some(since) = since
    {
        let paused = elapsed(since, now);
        if paused >= SUSPEND_WARNING_AT {
            status.warnings.push(format!(
                "the incremental task has been paused for {}h{:02}m; DTS may not resume an incremental task paused for more than 6 hours",
                paused.as_secs() / 3600,
                (paused.as_secs() % 3600) / 60
            ));
        } else {
            status.warnings.push(
                "incremental task paused: DTS may not resume it after 6 hours, and a paused pay-as-you-go task is still billed".to_string(),
            );
        }
    }
    out.ready = if ours || spec.suspend {
        Desired::false_(READY, "Suspended", "paused by spec.suspend")
    } else {
        Desired::false_(
            READY,
            "SuspendedOutsideOperator",
            "the task was paused outside the operator; resume it in the DTS console, or set spec.suspend to true and back to false",
        )
    };
}

fn retry_message(task: &TaskView) -> String {
    let retry = task.retry.as_ref();
    format!(
        "DTS is retrying after an error{}: {} — a task left retrying can resume later and overwrite the destination; stop it before any cutover",
        retry
            .map(|r| format!(
                " (attempt {}, {}s of {}s)",
                r.count, r.elapsed_seconds, r.max_seconds
            ))
            .unwrap_or_default(),
        retry
            .and_then(|r| r.error.clone())
            .or_else(|| task.error.clone())
            .unwrap_or_else(|| "no reason given".to_string())
    )
}

fn stage_message(what: &str, stage: Option<&StageView>) -> String {
    match stage {
        Some(s) => format!("{what} {}% ({})", s.percent.unwrap_or(0), s.status),
        None => format!("{what} running"),
    }
}

fn stages(task: &TaskView) -> Option<Stages> {
    let conv = |s: &Option<StageView>| {
        s.as_ref().map(|v| StageStatus {
            status: v.status.clone(),
            percent: v.percent,
            progress: v.progress.clone(),
            error: v.error.clone(),
        })
    };
    let stages = Stages {
        schema: conv(&task.schema),
        full: conv(&task.full),
        incremental: conv(&task.incremental),
    };
    (stages != Stages::default()).then_some(stages)
}

#[cfg(test)]
mod tests;
