use super::*;
use crate::api::common::LocalObjectRef;
use crate::api::conditions;
use crate::api::mms_schedule::ScheduleType;

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

const JOB: JobIdentity<'static> = JobIdentity {
    name: "ns-job",
    owner_uid: "uid-1",
};

fn schedule() -> MmsSchedule {
    MmsSchedule {
        schedule_type: ScheduleType::Hourly,
        value: "05".into(),
        freshness_threshold_seconds: Some(3_600),
    }
}

fn spec() -> MmsJobSpec {
    MmsJobSpec {
        data_source_ref: LocalObjectRef {
            name: "hive".into(),
        },
        src_db_name: "sales".into(),
        tables: vec!["orders".into()],
        enable_schema_migration: true,
        enable_data_migration: true,
        enable_verification: true,
        schedule: Some(schedule()),
        ..Default::default()
    }
}

/// The first job succeeded; it was asked for at t=0.
fn succeeded() -> MmsJobStatus {
    MmsJobStatus {
        phase: Some(MmsJobPhase::Succeeded),
        job_id: Some(10),
        job_name: Some("ns-job".into()),
        job_status: Some("DONE".into()),
        create_requested_at: Some(Time(at(0))),
        ..Default::default()
    }
}

fn timer(stopped: bool) -> TimerObs {
    TimerObs::Found(TimerView {
        id: 5,
        stopped,
        schedule_type: "Hourly".into(),
        value: "5".into(),
    })
}

fn round(id: i64, status: &str) -> RoundView {
    RoundView {
        job_id: id,
        name: format!("ns-job_{id}"),
        status: status.into(),
        verification: Some(match status {
            "DONE" => VerificationState::Passed,
            "FAILED" => VerificationState::Failed,
            _ => VerificationState::Pending,
        }),
        failure: (status == "FAILED").then(|| "VERIFICATION_FAILED: 1".to_string()),
    }
}

fn observed(
    timer: TimerObs,
    rounds: Option<Vec<RoundView>>,
    listed: i64,
    previous: Option<i64>,
) -> RoundsObserved {
    RoundsObserved {
        timer,
        total: rounds.as_ref().map(|r| r.len() as i64),
        rounds,
        listed_at: at(listed),
        previous_listing: previous.map(at),
    }
}

fn run(
    spec: &MmsJobSpec,
    prev: &MmsJobStatus,
    obs: &RoundsObserved,
    request: Option<&str>,
    now: i64,
) -> RoundsDecision {
    decide(&Inputs {
        spec,
        schedule: spec.schedule.as_ref().unwrap(),
        prev,
        generation: Some(1),
        identity: JOB,
        observed: obs,
        round_request: request,
        now: at(now),
    })
}

/// The status right after the first reconcile past the first job (t=100): the timer asked for.
fn timer_asked(s: &MmsJobSpec) -> MmsJobStatus {
    run(
        s,
        &succeeded(),
        &observed(TimerObs::None, None, 100, None),
        None,
        100,
    )
    .status
}

fn fresh(status: &MmsJobStatus) -> (String, String) {
    let c = conditions::find(&status.conditions, FRESH).expect("FreshWithinThreshold");
    (c.status.clone(), c.reason.clone())
}

#[test]
fn the_first_job_done_creates_a_timer_with_its_scope_and_schedule() {
    let d = run(
        &spec(),
        &succeeded(),
        &observed(TimerObs::None, None, 100, None),
        None,
        100,
    );
    let Some(RoundsAct::CreateTimer(req)) = &d.act else {
        panic!("{:?}", d.act)
    };
    assert_eq!(
        (req.schedule_type.as_str(), req.value.as_str()),
        ("Hourly", "05")
    );
    assert_eq!(req.tables, vec!["orders".to_string()]);
    assert_eq!(req.name, "ns-job");
    assert!(req.others.as_ref().unwrap().to_string().contains("uid-1"));
    let rounds = d.status.rounds.as_ref().unwrap();
    assert_eq!(rounds.timer_requested_at, Some(Time(at(100))));
    assert_eq!(d.status.phase, Some(MmsJobPhase::Scheduled));
    // The first job counts as the first round: it started after it was asked for.
    assert_eq!(d.status.freshness_seconds, Some(100));
    assert_eq!(fresh(&d.status).0, "True");
}

#[test]
fn a_timer_asked_for_but_not_visible_is_not_created_twice_within_the_grace() {
    let first = run(
        &spec(),
        &succeeded(),
        &observed(TimerObs::None, None, 100, None),
        None,
        100,
    );
    let again = run(
        &spec(),
        &first.status,
        &observed(TimerObs::None, None, 110, None),
        None,
        110,
    );
    assert_eq!(again.act, None);
    let later = run(
        &spec(),
        &first.status,
        &observed(TimerObs::None, None, 400, None),
        None,
        400,
    );
    assert!(matches!(later.act, Some(RoundsAct::CreateTimer(_))));
}

#[test]
fn rounds_get_measured_start_bounds_and_freshness_rises_and_falls() {
    let s = spec();
    let created = timer_asked(&s);
    // First listing: no rounds yet.
    let d = run(
        &s,
        &created,
        &observed(timer(false), Some(vec![]), 200, None),
        None,
        200,
    );
    assert_eq!(d.status.freshness_seconds, Some(200));
    // A round appears (absent at t=200): it started after 200.
    let d = run(
        &s,
        &d.status,
        &observed(timer(false), Some(vec![round(11, "DOING")]), 300, Some(200)),
        None,
        300,
    );
    let r = &d.status.rounds.as_ref().unwrap().recent[0];
    assert_eq!(r.started_after, Some(Time(at(200))));
    assert_eq!(
        d.status.freshness_seconds,
        Some(300),
        "still the first job's age"
    );
    // It succeeds: the data is now at most 150 s old.
    let d = run(
        &s,
        &d.status,
        &observed(timer(false), Some(vec![round(11, "DONE")]), 350, Some(300)),
        None,
        350,
    );
    let rounds = d.status.rounds.as_ref().unwrap();
    assert_eq!(rounds.last_successful.as_ref().unwrap().job_id, 11);
    assert_eq!(rounds.recent[0].finished_by, Some(Time(at(350))));
    assert_eq!(d.status.freshness_seconds, Some(150));
    assert_eq!(
        d.status
            .conditions
            .iter()
            .find(|c| c.type_ == READY)
            .unwrap()
            .reason,
        "RoundsScheduled"
    );
    // A later round that fails does not make the data fresher; Ready says so.
    let d = run(
        &s,
        &d.status,
        &observed(
            timer(false),
            Some(vec![round(12, "FAILED"), round(11, "DONE")]),
            900,
            Some(350),
        ),
        None,
        900,
    );
    assert_eq!(
        d.status
            .rounds
            .as_ref()
            .unwrap()
            .last_successful
            .as_ref()
            .unwrap()
            .job_id,
        11
    );
    assert_eq!(d.status.freshness_seconds, Some(700));
    let ready = conditions::find(&d.status.conditions, READY).unwrap();
    assert_eq!(ready.reason, "RoundFailed");
    assert!(
        ready.message.contains("VERIFICATION_FAILED"),
        "{}",
        ready.message
    );
}

#[test]
fn the_data_turns_stale_past_the_threshold_and_the_next_look_is_then() {
    let s = spec();
    let created = timer_asked(&s);
    let d = run(
        &s,
        &created,
        &observed(timer(false), Some(vec![]), 3_000, None),
        None,
        3_000,
    );
    assert_eq!(fresh(&d.status), ("True".into(), "Fresh".into()));
    assert_eq!(d.requeue, Some(POLL_IDLE), "no round runs: the slow poll");
    let d = run(
        &s,
        &d.status,
        &observed(timer(false), Some(vec![]), 3_590, Some(3_000)),
        None,
        3_590,
    );
    assert_eq!(
        d.requeue,
        Some(Duration::from_secs(11)),
        "woken when it turns stale"
    );
    let d = run(
        &s,
        &d.status,
        &observed(timer(false), Some(vec![]), 3_700, Some(3_590)),
        None,
        3_700,
    );
    assert_eq!(fresh(&d.status), ("False".into(), "Stale".into()));
    assert_eq!(d.status.freshness_seconds, Some(3_700));
}

#[test]
fn an_idle_poll_writes_nothing_though_the_age_moved() {
    let s = spec();
    let created = timer_asked(&s);
    let d1 = run(
        &s,
        &created,
        &observed(timer(false), Some(vec![round(11, "DONE")]), 200, None),
        None,
        200,
    );
    let d2 = run(
        &s,
        &d1.status,
        &observed(timer(false), Some(vec![round(11, "DONE")]), 230, Some(200)),
        None,
        230,
    );
    assert_eq!(d2.status, d1.status);
}

#[test]
fn suspend_pauses_the_timer_and_observe_only_never_does() {
    let mut s = spec();
    s.suspend = true;
    let prev = MmsJobStatus {
        rounds: Some(RoundsStatus {
            timer_id: Some(5),
            ..Default::default()
        }),
        ..succeeded()
    };
    let d = run(
        &s,
        &prev,
        &observed(timer(false), Some(vec![]), 100, None),
        None,
        100,
    );
    assert_eq!(
        d.act,
        Some(RoundsAct::UpdateTimer {
            timer_id: 5,
            request: UpdateMmsTimerRequest {
                stopped: Some(true),
                ..Default::default()
            }
        })
    );
    let d = run(
        &s,
        &prev,
        &observed(timer(true), Some(vec![]), 100, None),
        None,
        100,
    );
    assert_eq!(d.act, None);
    assert_eq!(d.status.phase, Some(MmsJobPhase::Suspended));
    s.management_policy = ManagementPolicy::ObserveOnly;
    let d = run(
        &s,
        &prev,
        &observed(timer(false), Some(vec![]), 100, None),
        Some("t1"),
        100,
    );
    assert_eq!(d.act, None);
    let ready = conditions::find(&d.status.conditions, READY).unwrap();
    assert_eq!(ready.reason, "ObserveOnly");
    let req = d.status.rounds.as_ref().unwrap().request.as_ref().unwrap();
    assert!(req.triggered_at.is_none() && req.message.is_some());
}

#[test]
fn an_observe_only_job_without_a_timer_says_how_to_name_one() {
    let mut s = spec();
    s.management_policy = ManagementPolicy::ObserveOnly;
    let d = run(
        &s,
        &succeeded(),
        &observed(TimerObs::None, None, 100, None),
        None,
        100,
    );
    assert_eq!(d.act, None);
    let ready = conditions::find(&d.status.conditions, READY).unwrap();
    assert!(
        ready.message.contains("adopt-timer-id"),
        "{}",
        ready.message
    );
}

#[test]
fn a_requested_round_is_triggered_once_and_recognised() {
    let s = spec();
    let created = timer_asked(&s);
    let listed = run(
        &s,
        &created,
        &observed(timer(false), Some(vec![round(11, "DONE")]), 200, None),
        None,
        200,
    )
    .status;
    let d = run(
        &s,
        &listed,
        &observed(timer(false), Some(vec![round(11, "DONE")]), 500, Some(200)),
        Some("2026-12-07T18:00:00Z"),
        500,
    );
    assert_eq!(d.act, Some(RoundsAct::Trigger { timer_id: 5 }));
    let req = d.status.rounds.as_ref().unwrap().request.clone().unwrap();
    assert_eq!(req.listed_before, Some(Time(at(500))));
    // The same value again: no second trigger.
    let again = run(
        &s,
        &d.status,
        &observed(timer(false), Some(vec![round(11, "DONE")]), 505, Some(500)),
        Some("2026-12-07T18:00:00Z"),
        505,
    );
    assert_eq!(again.act, None);
    // The round shows: it is the requested one, started after the listing before the trigger.
    let seen = run(
        &s,
        &again.status,
        &observed(
            timer(false),
            Some(vec![round(12, "DOING"), round(11, "DONE")]),
            510,
            Some(500),
        ),
        Some("2026-12-07T18:00:00Z"),
        510,
    );
    let rounds = seen.status.rounds.as_ref().unwrap();
    assert_eq!(rounds.request.as_ref().unwrap().job_id, Some(12));
    assert!(rounds.recent[0].triggered);
    assert_eq!(rounds.recent[0].started_after, Some(Time(at(500))));
}

#[test]
fn rounds_that_existed_before_the_operator_looked_have_no_start() {
    let mut s = spec();
    s.management_policy = ManagementPolicy::ObserveOnly;
    let mut prev = succeeded();
    prev.create_requested_at = None; // an adopted first job
    let d = run(
        &s,
        &prev,
        &observed(timer(false), Some(vec![round(8, "DONE")]), 100, None),
        None,
        100,
    );
    let rounds = d.status.rounds.as_ref().unwrap();
    assert_eq!(rounds.recent[0].started_after, None);
    assert_eq!(
        d.status.freshness_seconds, None,
        "never a number that was not measured"
    );
    assert_eq!(fresh(&d.status), ("Unknown".into(), "StartUnknown".into()));
    // The next round is measured.
    let d = run(
        &s,
        &d.status,
        &observed(
            timer(false),
            Some(vec![round(9, "DONE"), round(8, "DONE")]),
            200,
            Some(100),
        ),
        None,
        200,
    );
    assert_eq!(d.status.freshness_seconds, Some(100));
}

#[test]
fn a_timer_deleted_outside_ends_in_a_defined_state() {
    let prev = MmsJobStatus {
        rounds: Some(RoundsStatus {
            timer_id: Some(5),
            ..Default::default()
        }),
        ..succeeded()
    };
    let d = run(
        &spec(),
        &prev,
        &observed(TimerObs::Gone(5), None, 100, None),
        None,
        100,
    );
    assert_eq!(d.act, None);
    assert_eq!(
        conditions::find(&d.status.conditions, READY)
            .unwrap()
            .reason,
        "TimerGone"
    );
    assert_eq!(d.requeue, Some(POLL_SETTLED));
}

#[test]
fn rounds_begin_when_the_first_job_is_done_and_a_refused_timer_is_looked_at_again() {
    let job = |schedule: Option<MmsSchedule>| {
        crate::api::mms_job::MmsJob::new("j", MmsJobSpec { schedule, ..spec() })
    };
    let running = MmsJobStatus {
        phase: Some(MmsJobPhase::Running),
        job_status: Some("DOING".into()),
        ..Default::default()
    };
    assert!(!super::super::in_rounds(&job(Some(schedule())), &running));
    assert!(super::super::in_rounds(
        &job(Some(schedule())),
        &succeeded()
    ));
    assert!(!super::super::in_rounds(&job(None), &succeeded()));
    // A timer refused (a wrong adopt-timer-id): the next look at the annotation decides again.
    let refused = MmsJobStatus {
        phase: Some(MmsJobPhase::Invalid),
        ..succeeded()
    };
    assert!(super::super::in_rounds(&job(Some(schedule())), &refused));
}

#[test]
fn a_running_or_requested_round_is_polled_fast() {
    let s = spec();
    let created = timer_asked(&s);
    let d = run(
        &s,
        &created,
        &observed(timer(false), Some(vec![round(11, "DOING")]), 200, None),
        None,
        200,
    );
    assert_eq!(d.requeue, Some(POLL_RUNNING));
    let d = run(
        &s,
        &created,
        &observed(timer(false), Some(vec![]), 200, None),
        Some("r1"),
        200,
    );
    assert!(matches!(d.act, Some(RoundsAct::Trigger { .. })));
    assert_eq!(d.requeue, Some(POLL_RUNNING));
}
