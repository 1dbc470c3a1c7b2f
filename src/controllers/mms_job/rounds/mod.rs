//! Scheduled rounds of an MmsJob (spec.schedule), once its first job succeeded:
//! fetch (the timer, its jobs) → decide (pure, `decide.rs`) → act (create, pause, resume,
//! reschedule, trigger) → report.

pub mod decide;

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::decide::JobIdentity;
use crate::aliyun::MmsClient;
use crate::aliyun::mms::{JobStatus, ListJobsRequest, MmsJob as CloudJob, MmsTimer, TaskStatus};
use crate::api::common::VerificationState;
use crate::api::common::annotations::{ADOPT_TIMER_ID, ROUND_REQUESTED_AT};
use crate::api::mms_job::{MmsJob, MmsJobPhase, MmsJobStatus};
use crate::api::mms_schedule::MmsSchedule;
use crate::controllers::context::Context;
use crate::controllers::decision;
use crate::controllers::error::{Error, Result};
use crate::controllers::managed::{Intent, annotation, publish, rejected, report, report_intent};
use crate::controllers::ownership::{self, Owner};
use decide::{Inputs, RECENT_ROUNDS, RoundView, RoundsAct, RoundsObserved, TimerObs, TimerView};

/// Rounds listed per timer (newest first; older ones only count).
const ROUNDS_LISTED: usize = 1_000;

/// What this process remembers of an MmsJob's rounds between reconciles, by uid.
#[derive(Clone, Debug, Default)]
struct Memo {
    /// The last complete listing whose result reached status. Kept in memory because writing
    /// the time of every listing would write status every poll; after a restart
    /// `status.rounds.listedAt` (older, so a safe bound) stands in.
    listed_at: Option<jiff::Timestamp>,
    /// The timer as last read, and how many polls reused it since.
    timer: Option<TimerView>,
    timer_reused: u32,
}

static MEMOS: LazyLock<Mutex<HashMap<String, Memo>>> = LazyLock::new(Mutex::default);

/// The timer is read (GetMmsTimer) at least every this many polls; the polls between read only
/// its jobs. A pause, a new schedule or a deletion made outside shows within that many polls.
const TIMER_READ_EVERY: u32 = 5;

/// Whether the MmsJob is past its first job and in the rounds of its schedule. Decided on what
/// MMS said of the first job, not on the phase: a timer refused (Invalid) is looked at again
/// when its annotation changes.
pub fn in_rounds(job: &MmsJob, status: &MmsJobStatus) -> bool {
    job.spec.schedule.is_some()
        && (status
            .rounds
            .as_ref()
            .is_some_and(|r| r.timer_id.is_some() || r.timer_requested_at.is_some())
            || (status.job_status.as_deref() == Some("DONE")
                && !matches!(
                    status.phase,
                    Some(MmsJobPhase::Suspended | MmsJobPhase::Running)
                )))
}

/// One rounds reconcile.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    ctx: &Context,
    job: &MmsJob,
    schedule: &MmsSchedule,
    mut prev: MmsJobStatus,
    mms: &MmsClient,
    source_id: i64,
    identity: JobIdentity<'_>,
    handled: Option<String>,
) -> Result<Action> {
    let uid = job.uid().unwrap_or_default();
    let memo = MEMOS
        .lock()
        .expect("memos")
        .get(&uid)
        .cloned()
        .unwrap_or_default();
    let request = annotation(job, ROUND_REQUESTED_AT);
    let reused = memo.timer.clone().filter(|t| {
        let rounds = prev.rounds.as_ref();
        let asked = request.as_deref().is_some_and(|r| {
            !r.is_empty()
                && rounds
                    .and_then(|x| x.request.as_ref())
                    .is_none_or(|q| q.requested_at != r)
        });
        rounds.and_then(|r| r.timer_id) == Some(t.id)
            && prev.observed_generation == job.metadata.generation
            && !asked
            && memo.timer_reused + 1 < TIMER_READ_EVERY
    });
    let timer = match &reused {
        Some(t) => TimerObs::Found(t.clone()),
        None => match fetch_timer(mms, source_id, job, &prev, identity).await? {
            Ok(timer) => timer,
            Err(why) => {
                return rejected(ctx, job, Error::InvalidSpec(why), |s| {
                    s.phase = Some(MmsJobPhase::Invalid)
                })
                .await;
            }
        },
    };
    let listed_at = jiff::Timestamp::now();
    let (rounds, total) = match &timer {
        TimerObs::Found(t) => {
            let (rounds, total) = list_rounds(mms, source_id, job, &prev, t.id).await?;
            (Some(rounds), Some(total))
        }
        _ => (None, None),
    };
    let observed = RoundsObserved {
        timer,
        rounds,
        total,
        listed_at,
        previous_listing: memo.listed_at,
    };
    prev.last_handled_reconcile_at = handled.clone();
    let now = jiff::Timestamp::now();
    let d = decide::decide(&Inputs {
        spec: &job.spec,
        schedule,
        prev: &prev,
        generation: job.metadata.generation,
        identity,
        observed: &observed,
        round_request: request.as_deref(),
        now,
    });
    let mut status = d.status;
    if let Some(act) = &d.act
        && let Some(early) = act_on(ctx, job, &prev, mms, source_id, act, &mut status).await?
    {
        return Ok(early);
    }
    report(ctx, job, &status).await?;
    let next = Memo {
        listed_at: observed
            .rounds
            .is_some()
            .then_some(observed.listed_at)
            .or(memo.listed_at),
        // After a change to the timer, the next poll reads it again.
        timer: match (&observed.timer, &d.act) {
            (TimerObs::Found(t), None) => Some(t.clone()),
            _ => None,
        },
        timer_reused: if reused.is_some() {
            memo.timer_reused + 1
        } else {
            0
        },
    };
    MEMOS.lock().expect("memos").insert(uid, next);
    export_freshness(ctx, job, &status, now);
    Ok(decision::action(ctx, d.requeue))
}

fn export_freshness(ctx: &Context, job: &MmsJob, status: &MmsJobStatus, now: jiff::Timestamp) {
    let start = status
        .rounds
        .as_ref()
        .and_then(|r| r.last_successful.as_ref())
        .and_then(|r| r.started_after.as_ref())
        .map(|t| t.0);
    let value = start.map(|s| {
        (
            now.duration_since(s).as_secs_f64().max(0.0),
            s.as_millisecond() as f64 / 1000.0,
        )
    });
    ctx.metrics
        .set_freshness(&job.namespace().unwrap_or_default(), &job.name_any(), value);
}

/// Forgets what this process remembers of an MmsJob's rounds (it is deleted).
pub fn forget(uid: &str) {
    MEMOS.lock().expect("memos").remove(uid);
}

fn view(t: &MmsTimer) -> TimerView {
    TimerView {
        id: t.id,
        stopped: t.stopped,
        schedule_type: t.schedule_type.clone(),
        value: t.value.clone(),
    }
}

/// The timer: the recorded one, the one the adopt-timer-id annotation names (after checking
/// its scope), or ours found by name after a CreateMmsTimer whose answer was lost.
/// `Ok(Err(why))`: terminal, the spec or annotations must change.
async fn fetch_timer(
    mms: &MmsClient,
    source_id: i64,
    job: &MmsJob,
    prev: &MmsJobStatus,
    identity: JobIdentity<'_>,
) -> Result<std::result::Result<TimerObs, String>> {
    let rounds = prev.rounds.clone().unwrap_or_default();
    if let Some(id) = rounds.timer_id {
        return Ok(Ok(match mms.get_timer(source_id, id).await {
            Ok(t) => TimerObs::Found(view(&t)),
            Err(e) if e.is_not_found() => TimerObs::Gone(id),
            Err(e) => return Err(e.into()),
        }));
    }
    if let Some(text) = annotation(job, ADOPT_TIMER_ID) {
        let Ok(id) = text.trim().parse::<i64>() else {
            return Ok(Err(format!(
                "the {ADOPT_TIMER_ID} annotation {text:?} is not an MMS timer id (an integer)"
            )));
        };
        let timer = match mms.get_timer(source_id, id).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return Ok(Err(format!(
                    "the {ADOPT_TIMER_ID} annotation names MMS timer {id}, which data source {source_id} does not have; name an existing timer"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        return Ok(match timer_scope_difference(job, &timer) {
            Some(why) => Err(format!(
                "MMS timer {id} does not migrate what this MmsJob describes: {why}; adopt a timer with the same scope, or change the spec"
            )),
            None => Ok(TimerObs::Found(view(&timer))),
        });
    }
    if rounds.timer_requested_at.is_none() {
        return Ok(Ok(TimerObs::None));
    }
    // CreateMmsTimer was sent but its answer never recorded: look for it by name.
    Ok(match find_by_name(mms, source_id, identity).await? {
        None => Ok(TimerObs::None),
        Some((timer, Owner::Us)) => Ok(TimerObs::Found(view(&timer))),
        Some((timer, _)) => Err(format!(
            "an MMS timer named {:?} (id {}) exists and is not this MmsJob's; set spec.jobName to another name, or adopt it with the annotation {ADOPT_TIMER_ID}",
            identity.name, timer.id
        )),
    })
}

/// The timer with exactly the job's name (the filter may match substrings), and whose it is by
/// its ownership marker (read from the timer itself when the list leaves its config out).
pub async fn find_by_name(
    mms: &MmsClient,
    source_id: i64,
    identity: JobIdentity<'_>,
) -> Result<Option<(MmsTimer, Owner)>> {
    let page = mms
        .list_timers(source_id, Some(identity.name), 1, 100)
        .await?;
    let Some(found) = page.items.into_iter().find(|t| t.name == identity.name) else {
        return Ok(None);
    };
    let full = match found.config {
        Some(_) => found,
        None => mms.get_timer(source_id, found.id).await?,
    };
    let holder = full.config.as_ref().and_then(|c| c.others.as_ref());
    let owner = ownership::owner(holder, identity.owner_uid);
    Ok(Some((full, owner)))
}

/// How an adopted timer's scope differs from the spec, if it does (what MMS shows of it).
fn timer_scope_difference(job: &MmsJob, timer: &MmsTimer) -> Option<String> {
    let spec = &job.spec;
    if !timer.src_db_name.is_empty() && timer.src_db_name != spec.src_db_name {
        return Some(format!(
            "srcDbName is {:?} in MMS, {:?} in the spec",
            timer.src_db_name, spec.src_db_name
        ));
    }
    let config = timer.config.as_ref()?;
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    for (field, cloud, ours) in [
        ("tables", &config.tables, &spec.tables),
        (
            "tableWhiteList",
            &config.table_white_list,
            &spec.table_white_list,
        ),
        (
            "tableBlackList",
            &config.table_black_list,
            &spec.table_black_list,
        ),
    ] {
        if sorted(cloud) != sorted(ours) {
            return Some(format!("{field} is {cloud:?} in MMS, {ours:?} in the spec"));
        }
    }
    None
}

/// The timer's jobs, newest first, as round views; a finished round already in status is not
/// read again (the list is the only call for it).
async fn list_rounds(
    mms: &MmsClient,
    source_id: i64,
    job: &MmsJob,
    prev: &MmsJobStatus,
    timer_id: i64,
) -> Result<(Vec<RoundView>, i64)> {
    let filter = ListJobsRequest {
        timer_id: Some(timer_id),
        ..ListJobsRequest::default()
    };
    let listed = mms.list_all_jobs(source_id, &filter, ROUNDS_LISTED).await?;
    let mut jobs = listed.items;
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    let known = prev
        .rounds
        .as_ref()
        .map(|r| r.recent.clone())
        .unwrap_or_default();
    let verifies = job.spec.enable_verification;
    let mut views = Vec::new();
    for j in jobs.iter().take(RECENT_ROUNDS) {
        views.push(round_view(mms, source_id, j, &known, verifies).await?);
    }
    Ok((views, listed.total as i64))
}

async fn round_view(
    mms: &MmsClient,
    source_id: i64,
    j: &CloudJob,
    known: &[crate::api::mms_schedule::MmsRound],
    verifies: bool,
) -> Result<RoundView> {
    let status = j
        .status
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "INIT".into());
    let mut view = RoundView {
        job_id: j.id,
        name: j.name.clone(),
        status: status.clone(),
        verification: verifies.then_some(VerificationState::Pending),
        failure: None,
    };
    match j.status {
        Some(JobStatus::Done) => {
            // A task reaches DONE only after its verification passed (when the job verifies).
            view.verification = verifies.then_some(VerificationState::Passed);
        }
        Some(JobStatus::Failed) => {
            if let Some(k) = known
                .iter()
                .find(|k| k.job_id == j.id && k.status == "FAILED")
            {
                view.verification = k.verification;
                view.failure = k.failure.clone();
            } else {
                let tasks = mms.job_tasks(source_id, j.id).await?;
                let failed: Vec<String> = tasks
                    .counts
                    .iter()
                    .filter(|(s, _)| s.is_failed())
                    .map(|(s, n)| format!("{}: {n}", s.as_str()))
                    .collect();
                if verifies
                    && tasks
                        .counts
                        .get(&TaskStatus::VerificationFailed)
                        .is_some_and(|n| *n > 0)
                {
                    view.verification = Some(VerificationState::Failed);
                }
                view.failure = (!failed.is_empty()).then(|| failed.join(", "));
            }
        }
        _ => {}
    }
    Ok(view)
}

/// Sends the decided call. `Some(action)`: the reconcile ends there.
async fn act_on(
    ctx: &Context,
    job: &MmsJob,
    prev: &MmsJobStatus,
    mms: &MmsClient,
    source_id: i64,
    act: &RoundsAct,
    status: &mut MmsJobStatus,
) -> Result<Option<Action>> {
    match act {
        RoundsAct::CreateTimer(request) => {
            // Recorded before it is sent: a restart looks for the timer by name first.
            if report_intent(ctx, job, status).await? == Intent::Conflict {
                return Ok(Some(Action::requeue(std::time::Duration::from_secs(1))));
            }
            match mms.create_timer(source_id, request).await {
                Ok(id) => {
                    status.rounds.get_or_insert_default().timer_id = Some(id);
                    publish(
                        ctx,
                        job,
                        EventType::Normal,
                        "TimerCreated",
                        &format!(
                            "CreateMmsTimer: timer {id} runs rounds {} {}",
                            request.schedule_type, request.value
                        ),
                    )
                    .await;
                }
                Err(e) if e.request_not_sent() => {
                    if let Some(r) = status.rounds.as_mut() {
                        r.timer_requested_at = prev
                            .rounds
                            .as_ref()
                            .and_then(|p| p.timer_requested_at.clone());
                    }
                    report(ctx, job, status).await?;
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        RoundsAct::UpdateTimer { timer_id, request } => {
            mms.update_timer(source_id, *timer_id, request).await?;
            let what = match request.stopped {
                Some(true) => "paused (spec.suspend)".to_string(),
                Some(false) => "resumed".to_string(),
                None => format!(
                    "rescheduled to {} {}",
                    request.schedule_type.clone().unwrap_or_default(),
                    request.value.clone().unwrap_or_default()
                ),
            };
            publish(
                ctx,
                job,
                EventType::Normal,
                "TimerUpdated",
                &format!("UpdateMmsTimer: timer {timer_id} {what}"),
            )
            .await;
        }
        RoundsAct::Trigger { timer_id } => {
            // Recorded before it is sent: TriggerMmsTimer is not idempotent, and a restart must
            // not start a second round for the same request.
            if report_intent(ctx, job, status).await? == Intent::Conflict {
                return Ok(Some(Action::requeue(std::time::Duration::from_secs(1))));
            }
            match mms.trigger_timer(source_id, *timer_id).await {
                Ok(_) => {
                    publish(
                        ctx,
                        job,
                        EventType::Normal,
                        "RoundTriggered",
                        &format!("TriggerMmsTimer: timer {timer_id} runs a round now"),
                    )
                    .await;
                }
                Err(e) => {
                    // Not retried: whether a round started is unknown only when the answer was
                    // lost; the request says so, and a new annotation value asks again.
                    if let Some(req) = status.rounds.as_mut().and_then(|r| r.request.as_mut()) {
                        if e.request_not_sent() {
                            req.triggered_at = None;
                        }
                        req.message = Some(format!("TriggerMmsTimer failed: {e}"));
                    }
                    publish(
                        ctx,
                        job,
                        EventType::Warning,
                        "RoundTriggerFailed",
                        &format!("TriggerMmsTimer for timer {timer_id} failed: {e}"),
                    )
                    .await;
                }
            }
        }
    }
    Ok(None)
}
