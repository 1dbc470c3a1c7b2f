//! The rounds decision: a pure function of the spec, the previous status, what MMS showed of
//! the timer and its jobs, the round-request annotation and the time.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::aliyun::mms::{CreateMmsTimerRequest, UpdateMmsTimerRequest};
use crate::api::common::{ManagementPolicy, VerificationState};
use crate::api::conditions::{Desired, READY};
use crate::api::mms_job::{MmsJobPhase, MmsJobSpec, MmsJobStatus};
use crate::api::mms_schedule::{MmsRound, MmsSchedule, RoundRequestStatus, RoundsStatus};
use crate::controllers::decision::{Decision, Outcome};
use crate::controllers::mms_job::decide::{
    JobIdentity, POLL_RUNNING, POLL_SETTLED, POLL_SUSPENDED, VERIFIED, job_request,
};

/// The condition that says whether the data is fresh enough.
pub const FRESH: &str = "FreshWithinThreshold";
/// Rounds kept in status.
pub const RECENT_ROUNDS: usize = 10;
/// The poll while no round runs: a round that starts is seen within it (its start bound is
/// then at most this much early, which only makes the reported age larger).
pub const POLL_IDLE: Duration = Duration::from_secs(120);
/// How long a sent CreateMmsTimer may stay invisible before it is sent again.
pub const TIMER_GRACE: Duration = Duration::from_secs(120);

/// The timer as MMS showed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerView {
    pub id: i64,
    pub stopped: bool,
    pub schedule_type: String,
    pub value: String,
}

/// What the fetch learnt of the timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerObs {
    /// No timer known: none was asked for, or the one asked for is not visible yet.
    None,
    Found(TimerView),
    /// The recorded timer is gone (deleted outside the operator).
    Gone(i64),
}

/// One timer job as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundView {
    pub job_id: i64,
    pub name: String,
    pub status: String,
    pub verification: Option<VerificationState>,
    pub failure: Option<String>,
}

/// What the fetch observed this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundsObserved {
    pub timer: TimerObs,
    /// The timer's jobs, newest first, when they were listed (completely).
    pub rounds: Option<Vec<RoundView>>,
    /// Jobs of the timer, as the list counted them.
    pub total: Option<i64>,
    /// When the listing started.
    pub listed_at: jiff::Timestamp,
    /// The previous complete listing this process made and reported (a round missing from it
    /// started after it); None after a restart: `status.rounds.listedAt` stands in.
    pub previous_listing: Option<jiff::Timestamp>,
}

/// The one call a rounds reconcile makes.
#[derive(Clone, Debug, PartialEq)]
pub enum RoundsAct {
    CreateTimer(Box<CreateMmsTimerRequest>),
    UpdateTimer {
        timer_id: i64,
        request: UpdateMmsTimerRequest,
    },
    Trigger {
        timer_id: i64,
    },
}

impl RoundsAct {
    pub fn action(&self) -> &'static str {
        match self {
            Self::CreateTimer(_) => "CreateMmsTimer",
            Self::UpdateTimer { .. } => "UpdateMmsTimer",
            Self::Trigger { .. } => "TriggerMmsTimer",
        }
    }
}

pub type RoundsDecision = Decision<MmsJobStatus, RoundsAct>;

/// Everything the decision reads.
pub struct Inputs<'a> {
    pub spec: &'a MmsJobSpec,
    pub schedule: &'a MmsSchedule,
    pub prev: &'a MmsJobStatus,
    pub generation: Option<i64>,
    pub identity: JobIdentity<'a>,
    pub observed: &'a RoundsObserved,
    /// The `round-requested-at` annotation.
    pub round_request: Option<&'a str>,
    pub now: jiff::Timestamp,
}

/// The CreateMmsTimer request: the job's own scope and marker, on the spec's schedule.
pub fn timer_request(
    spec: &MmsJobSpec,
    schedule: &MmsSchedule,
    job: JobIdentity<'_>,
) -> CreateMmsTimerRequest {
    let j = job_request(spec, job);
    CreateMmsTimerRequest {
        name: j.name,
        src_db_name: j.src_db_name,
        schedule_type: schedule.schedule_type.wire().to_string(),
        value: schedule.value.clone(),
        tables: j.tables,
        partitions: j.partitions,
        partition_filters: j.partition_filters,
        table_black_list: j.table_black_list,
        table_white_list: j.table_white_list,
        table_mapping: j.table_mapping,
        column_mapping: j.column_mapping,
        enable_schema_migration: j.enable_schema_migration,
        enable_data_migration: j.enable_data_migration,
        enable_verification: j.enable_verification,
        others: j.others,
    }
}

/// Whether MMS's `value` says the same as the spec's (`5` and `05` are one minute).
fn same_value(a: &str, b: &str) -> bool {
    match (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// The change the timer needs to match the spec, if any.
fn timer_update(
    spec: &MmsJobSpec,
    schedule: &MmsSchedule,
    t: &TimerView,
) -> Option<UpdateMmsTimerRequest> {
    let mut req = UpdateMmsTimerRequest::default();
    if t.stopped != spec.suspend {
        req.stopped = Some(spec.suspend);
    }
    let kind = schedule.schedule_type.wire();
    if !t.schedule_type.eq_ignore_ascii_case(kind) || !same_value(&t.value, &schedule.value) {
        req.schedule_type = Some(kind.to_string());
        req.value = Some(schedule.value.clone());
    }
    (req != UpdateMmsTimerRequest::default()).then_some(req)
}

pub fn decide(i: &Inputs<'_>) -> RoundsDecision {
    let mut status = i.prev.clone();
    status.observed_generation = i.generation;
    let mut rounds = i.prev.rounds.clone().unwrap_or_default();
    let observe_only = i.spec.management_policy == ManagementPolicy::ObserveOnly;
    let mut act = None;

    let timer = match &i.observed.timer {
        TimerObs::Found(t) => {
            rounds.timer_id = Some(t.id);
            rounds.timer_stopped = Some(t.stopped);
            rounds.timer_schedule = Some(format!("{} {}", t.schedule_type, t.value));
            Some(t)
        }
        TimerObs::Gone(id) => {
            status.rounds = Some(rounds);
            return finish(
                i,
                status,
                Outcome {
                    phase: MmsJobPhase::Scheduled,
                    ready: Desired::false_(
                        READY,
                        "TimerGone",
                        format!(
                            "MMS timer {id} no longer exists (deleted outside the operator): no rounds run; recreate the MmsJob, or name another timer with the annotation migration.aliyun-operator.dev/adopt-timer-id"
                        ),
                    ),
                    conditions: Vec::new(),
                    act: None,
                    requeue: Some(POLL_SETTLED),
                },
            );
        }
        TimerObs::None => None,
    };

    let Some(timer) = timer else {
        let waiting = rounds
            .timer_requested_at
            .as_ref()
            .is_some_and(|t| crate::controllers::poll::elapsed(t.0, i.now) < TIMER_GRACE);
        let (ready, requeue) = if observe_only {
            (
                Desired::false_(
                    READY,
                    "NoTimer",
                    "ObserveOnly never creates an MMS timer: name the timer to follow with the annotation migration.aliyun-operator.dev/adopt-timer-id, or set managementPolicy Manage",
                ),
                POLL_SETTLED,
            )
        } else if waiting {
            (
                Desired::false_(
                    READY,
                    "CreatingTimer",
                    "CreateMmsTimer sent; waiting for the timer to show",
                ),
                POLL_RUNNING,
            )
        } else {
            rounds.timer_requested_at = Some(Time(i.now));
            act = Some(RoundsAct::CreateTimer(Box::new(timer_request(
                i.spec, i.schedule, i.identity,
            ))));
            (
                Desired::false_(
                    READY,
                    "CreatingTimer",
                    "the first job succeeded: creating the MMS timer for the rounds",
                ),
                POLL_RUNNING,
            )
        };
        status.rounds = Some(rounds);
        let fresh = freshness(i, &mut status);
        return finish(
            i,
            status,
            Outcome {
                phase: MmsJobPhase::Scheduled,
                ready,
                conditions: vec![fresh],
                act,
                requeue: Some(requeue),
            },
        );
    };

    merge_rounds(i, &mut rounds);
    let update = timer_update(i.spec, i.schedule, timer);
    let mut drift = None;
    if let Some(update) = update {
        if observe_only {
            drift = Some(format!(
                "the timer differs from the spec (MMS: {} {}, stopped {}); ObserveOnly does not change it",
                timer.schedule_type, timer.value, timer.stopped
            ));
        } else {
            act = Some(RoundsAct::UpdateTimer {
                timer_id: timer.id,
                request: update,
            });
        }
    }
    if let Some(requested) = i.round_request.filter(|r| !r.is_empty())
        && rounds
            .request
            .as_ref()
            .is_none_or(|r| r.requested_at != requested)
    {
        if observe_only {
            rounds.request = Some(RoundRequestStatus {
                requested_at: requested.to_string(),
                message: Some(
                    "ObserveOnly: no round was triggered; the next scheduled round serves".into(),
                ),
                ..RoundRequestStatus::default()
            });
        } else if act.is_none() {
            rounds.request = Some(RoundRequestStatus {
                requested_at: requested.to_string(),
                triggered_at: Some(Time(i.now)),
                listed_before: i
                    .observed
                    .rounds
                    .is_some()
                    .then_some(Time(i.observed.listed_at)),
                ..RoundRequestStatus::default()
            });
            act = Some(RoundsAct::Trigger { timer_id: timer.id });
        }
    }
    if i.observed.rounds.is_some() {
        rounds.listed_at = Some(Time(i.observed.listed_at));
    }
    status.rounds = Some(rounds);
    let fresh = freshness(i, &mut status);
    let rounds = status.rounds.as_ref().expect("set above");
    let summary = format!(
        "timer {} runs {}; {} round(s){}",
        timer.id,
        rounds.timer_schedule.clone().unwrap_or_default(),
        rounds.total.unwrap_or(rounds.recent.len() as i64),
        rounds
            .last_successful
            .as_ref()
            .map(|r| format!(", last successful: job {}", r.job_id))
            .unwrap_or_default()
    );
    let newest_finished = rounds.recent.iter().find(|r| r.finished());
    let (phase, ready, requeue) = if timer.stopped && i.spec.suspend {
        (
            MmsJobPhase::Suspended,
            Desired::false_(
                READY,
                "Suspended",
                format!("the MMS timer is paused (spec.suspend); {summary}"),
            ),
            POLL_SUSPENDED,
        )
    } else if let Some(failed) = newest_finished.filter(|r| !r.succeeded()) {
        (
            MmsJobPhase::Scheduled,
            Desired::false_(
                READY,
                "RoundFailed",
                format!(
                    "round job {} ended {}{}: the next round migrates what is not DONE; {summary}",
                    failed.job_id,
                    failed.status,
                    failed
                        .failure
                        .as_ref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                ),
            ),
            POLL_RUNNING,
        )
    } else if let Some(drift) = drift {
        (
            MmsJobPhase::Scheduled,
            Desired::false_(READY, "ObserveOnly", format!("{drift}; {summary}")),
            POLL_RUNNING,
        )
    } else {
        (
            MmsJobPhase::Scheduled,
            Desired::true_(READY, "RoundsScheduled", summary),
            POLL_RUNNING,
        )
    };
    // Nothing running and no round asked for: a slower poll.
    let waiting_for_round = rounds.recent.iter().any(|r| !r.finished())
        || rounds
            .request
            .as_ref()
            .is_some_and(|r| r.triggered_at.is_some() && r.job_id.is_none());
    let requeue = if requeue == POLL_RUNNING && !waiting_for_round {
        POLL_IDLE
    } else {
        requeue
    };
    let requeue = next_look(i, &status, requeue);
    finish(
        i,
        status,
        Outcome {
            phase,
            ready,
            conditions: vec![fresh],
            act,
            requeue: Some(requeue),
        },
    )
}

/// Merges the listed rounds into the recent ones: new rounds get the bound of their start,
/// known ones their news; the newest succeeded one becomes `lastSuccessful`.
fn merge_rounds(i: &Inputs<'_>, rounds: &mut RoundsStatus) {
    let Some(listed) = &i.observed.rounds else {
        return;
    };
    rounds.total = i.observed.total.or(rounds.total);
    let newest_known = rounds.recent.iter().map(|r| r.job_id).max().unwrap_or(0);
    // A round absent from the previous complete listing started after it; before any listing,
    // after the timer was asked for. A round older than every known one is not new: it was
    // there before the operator looked, and when it started is unknown.
    let bound = i
        .observed
        .previous_listing
        .map(Time)
        .or_else(|| rounds.listed_at.clone())
        .or_else(|| rounds.timer_requested_at.clone());
    let triggered_pending = rounds
        .request
        .as_ref()
        .is_some_and(|r| r.triggered_at.is_some() && r.job_id.is_none());
    let mut recent = Vec::new();
    let mut first_new: Option<i64> = None;
    for view in listed.iter().take(RECENT_ROUNDS) {
        let known = rounds.recent.iter().find(|r| r.job_id == view.job_id);
        let is_new = known.is_none() && view.job_id > newest_known;
        let mut round = known.cloned().unwrap_or_else(|| MmsRound {
            job_id: view.job_id,
            name: view.name.clone(),
            started_after: if is_new { bound.clone() } else { None },
            seen_at: Time(i.now),
            finished_by: None,
            status: String::new(),
            verification: None,
            failure: None,
            triggered: false,
        });
        if is_new {
            first_new = Some(first_new.map_or(view.job_id, |f| f.min(view.job_id)));
        }
        round.status = view.status.clone();
        round.verification = view.verification;
        round.failure = view.failure.clone();
        if round.finished() && round.finished_by.is_none() {
            round.finished_by = Some(Time(i.now));
        }
        recent.push(round);
    }
    // The triggered round: the first one that appeared after the trigger.
    if triggered_pending && let Some(id) = first_new {
        if let Some(r) = recent.iter_mut().find(|r| r.job_id == id) {
            r.triggered = true;
        }
        if let Some(req) = rounds.request.as_mut() {
            req.job_id = Some(id);
        }
    }
    rounds.recent = recent;
    let newest_success = rounds
        .recent
        .iter()
        .filter(|r| r.succeeded())
        .max_by_key(|r| r.job_id)
        .cloned();
    if let Some(s) = newest_success
        && rounds
            .last_successful
            .as_ref()
            .is_none_or(|l| l.job_id <= s.job_id)
    {
        rounds.last_successful = Some(s);
    }
}

/// The first full job as a round: it started after its CreateMmsJob was sent.
fn first_job_round(prev: &MmsJobStatus) -> Option<MmsRound> {
    (prev.job_status.as_deref() == Some("DONE")).then(|| MmsRound {
        job_id: prev.job_id.unwrap_or_default(),
        name: prev.job_name.clone().unwrap_or_default(),
        started_after: prev
            .job_requested_at
            .clone()
            .or_else(|| prev.create_requested_at.clone()),
        seen_at: prev
            .last_polled_at
            .clone()
            .unwrap_or(Time(jiff::Timestamp::UNIX_EPOCH)),
        finished_by: None,
        status: "DONE".into(),
        verification: prev.verification.as_ref().map(|v| v.state),
        failure: None,
        triggered: false,
    })
}

/// Sets `freshnessSeconds` and says whether it is within the threshold.
fn freshness(i: &Inputs<'_>, status: &mut MmsJobStatus) -> Desired {
    let rounds = status.rounds.get_or_insert_with(RoundsStatus::default);
    if rounds.last_successful.is_none() {
        rounds.last_successful = first_job_round(i.prev);
    }
    let threshold = i.schedule.threshold_seconds();
    let Some(last) = rounds.last_successful.clone() else {
        status.freshness_seconds = None;
        return Desired::unknown(FRESH, "NoSuccessfulRound", "no round has succeeded yet");
    };
    let Some(started) = last.started_after.as_ref().map(|t| t.0) else {
        status.freshness_seconds = None;
        return Desired::unknown(
            FRESH,
            "StartUnknown",
            format!(
                "job {} succeeded, but when it started is not known (it existed before the operator looked); the next round gives a measured start",
                last.job_id
            ),
        );
    };
    let age = i.now.duration_since(started).as_secs().max(0);
    status.freshness_seconds = Some(age);
    // No live age in the message: it would change the condition (and the status) every poll.
    let text = format!(
        "the last successful round, job {}, started after {started}; threshold {threshold}s (status.freshnessSeconds has the age)",
        last.job_id
    );
    if age <= threshold {
        Desired::true_(FRESH, "Fresh", text)
    } else {
        Desired::false_(FRESH, "Stale", format!("older than the threshold: {text}"))
    }
}

/// When to look again: the poll, or sooner when the data turns stale before it.
fn next_look(i: &Inputs<'_>, status: &MmsJobStatus, poll: Duration) -> Duration {
    let Some(age) = status.freshness_seconds else {
        return poll;
    };
    let left = i.schedule.threshold_seconds() - age;
    if left > 0 {
        poll.min(Duration::from_secs(left as u64 + 1))
    } else {
        poll
    }
}

fn finish(
    i: &Inputs<'_>,
    status: MmsJobStatus,
    mut outcome: Outcome<MmsJobPhase, RoundsAct>,
) -> RoundsDecision {
    // The first job's verification still describes the migrated data under a new generation
    // (a paused schedule, a new threshold): carried forward, so a Cutover does not read it as
    // stale.
    if let Some(v) = crate::api::conditions::find(&i.prev.conditions, VERIFIED) {
        let state = match v.status.as_str() {
            "True" => crate::api::conditions::Status::True,
            "False" => crate::api::conditions::Status::False,
            _ => crate::api::conditions::Status::Unknown,
        };
        outcome.set(Desired::new(
            VERIFIED,
            state,
            v.reason.clone(),
            v.message.clone(),
        ));
    }
    let mut decision = outcome.into_decision(status, &i.prev.conditions, i.generation, i.now);
    // The age moves every second: it is written only with other news (or when the condition
    // flips), so an idle schedule costs no status writes. Readers compute the age from
    // `rounds.lastSuccessful.startedAfter`.
    let same_otherwise = {
        let mut a = decision.status.clone();
        let mut b = i.prev.clone();
        for s in [&mut a, &mut b] {
            s.freshness_seconds = None;
            if let Some(r) = s.rounds.as_mut() {
                r.listed_at = None;
            }
        }
        a == b
    };
    if same_otherwise {
        decision.status.freshness_seconds = i.prev.freshness_seconds;
        if let (Some(r), Some(p)) = (decision.status.rounds.as_mut(), i.prev.rounds.as_ref()) {
            r.listed_at = p.listed_at.clone();
        }
    }
    decision.checked("MmsJob")
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
