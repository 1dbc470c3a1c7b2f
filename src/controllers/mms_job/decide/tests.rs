use super::*;

/// Due now at production poll intervals.
fn poll_due(
    spec: &MmsJobSpec,
    status: &MmsJobStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    until_poll(spec, status, generation, now, 1.0).is_zero()
}
use crate::api::common::LocalObjectRef;

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn spec() -> MmsJobSpec {
    MmsJobSpec {
        data_source_ref: LocalObjectRef {
            name: "hive".into(),
        },
        src_db_name: "sales".into(),
        enable_schema_migration: true,
        enable_data_migration: true,
        enable_verification: true,
        ..Default::default()
    }
}

fn source() -> SourceState {
    SourceState {
        ready: true,
        source_id: Some(7),
        message: String::new(),
    }
}

fn job(status: &str, counts: &[(&str, i64)]) -> JobView {
    let task_counts: BTreeMap<String, i64> =
        counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let task_num = task_counts.values().sum();
    JobView {
        id: 42,
        name: "ns-job".into(),
        status: status.into(),
        stopped: false,
        task_num,
        task_done: task_counts.get("DONE").copied().unwrap_or(0),
        task_counts,
        failed_tasks: Vec::new(),
        running_tasks: Vec::new(),
        mismatches: Vec::new(),
    }
}

/// The job of every case: its name, and the UID of the resource that owns it.
const JOB: JobIdentity<'static> = JobIdentity {
    name: "ns-job",
    owner_uid: "uid-1",
};

fn run(spec: &MmsJobSpec, prev: &MmsJobStatus, observed: Observed) -> Decision {
    decide(spec, prev, Some(1), JOB, &source(), &observed, at(0))
}

fn with_job(id: i64) -> MmsJobStatus {
    MmsJobStatus {
        job_id: Some(id),
        ..Default::default()
    }
}

fn cond<'a>(
    d: &'a Decision,
    t: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    conditions::find(&d.status.conditions, t).unwrap()
}

// ---------- granularity: whole database, tables, partitions ----------

#[test]
fn whole_database_sends_no_tables() {
    let mut s = spec();
    s.table_black_list = vec!["tmp".into()];
    let r = job_request(
        &s,
        JobIdentity {
            name: "j",
            owner_uid: "uid-1",
        },
    );
    assert_eq!(granularity(&s), Granularity::Database);
    assert!(r.tables.is_empty());
    assert_eq!(r.table_black_list, ["tmp"]);
    assert_eq!((r.src_db_name.as_str(), r.name.as_str()), ("sales", "j"));
    // The request is finished here, ownership marker included: act only sends it.
    assert_eq!(
        r.others,
        Some(serde_json::json!({ crate::controllers::ownership::OWNER_KEY: "uid-1" }))
    );
    assert_eq!(r.enable_verification, Some(true));
}

#[test]
fn table_level_sends_tables_and_no_lists() {
    let mut s = spec();
    s.tables = vec!["orders".into(), "customers".into()];
    let r = job_request(
        &s,
        JobIdentity {
            name: "j",
            owner_uid: "uid-1",
        },
    );
    assert_eq!(granularity(&s), Granularity::Tables);
    assert_eq!(r.tables, ["orders", "customers"]);
    assert!(r.table_white_list.is_empty() && r.partition_filters.is_empty());
}

#[test]
fn partition_filters_send_tables_and_filters() {
    let mut s = spec();
    s.partition_filters = [("events".to_string(), "dt >= '2024-01-01'".to_string())].into();
    let r = job_request(
        &s,
        JobIdentity {
            name: "j",
            owner_uid: "uid-1",
        },
    );
    assert_eq!(granularity(&s), Granularity::Partitions);
    assert_eq!(r.tables, ["events"], "filter tables are named");
    assert_eq!(r.partition_filters["events"], "dt >= '2024-01-01'");
}

#[test]
fn partition_ids_stand_alone() {
    let mut s = spec();
    s.partitions = vec![5, 6];
    let r = job_request(
        &s,
        JobIdentity {
            name: "j",
            owner_uid: "uid-1",
        },
    );
    assert_eq!(r.partitions, [5, 6]);
    assert!(r.tables.is_empty());
}

#[test]
fn the_job_name_is_the_spec_s_then_the_recorded_one_then_a_derived_one() {
    let none = MmsJobStatus::default();
    let derived = job_name(&spec(), &none, "team-a", "orders", "uid-1");
    assert!(derived.starts_with("team-a-orders-"), "{derived}");
    assert_ne!(
        derived,
        job_name(&spec(), &none, "team-a", "orders", "uid-2")
    );
    let recorded = MmsJobStatus {
        job_name: Some("team-a-orders".into()),
        ..Default::default()
    };
    assert_eq!(
        job_name(&spec(), &recorded, "team-a", "orders", "uid-1"),
        "team-a-orders"
    );
    let mut s = spec();
    s.job_name = Some("custom".into());
    assert_eq!(
        job_name(&s, &recorded, "team-a", "orders", "uid-1"),
        "custom"
    );
}

// ---------- creation ----------

#[test]
fn waits_for_the_data_source() {
    let unready = SourceState {
        ready: false,
        source_id: None,
        message: "scanning".into(),
    };
    let d = decide(
        &spec(),
        &MmsJobStatus::default(),
        Some(1),
        JOB,
        &unready,
        &Observed::SourceNotReady,
        at(0),
    );
    assert_eq!(d.status.phase, Some(MmsJobPhase::WaitingForDataSource));
    assert_eq!(cond(&d, READY).reason, "DataSourceNotReady");
    assert!(cond(&d, READY).message.contains("scanning"));
    assert_eq!(d.act, None);
}

#[test]
fn creates_and_records_the_attempt_first() {
    let d = run(&spec(), &MmsJobStatus::default(), Observed::NoJob);
    assert!(matches!(d.act, Some(Act::Create { source_id: 7, .. })));
    assert_eq!(d.status.create_requested_at, Some(Time(at(0))));
    assert_eq!(d.status.phase, Some(MmsJobPhase::Creating));
}

#[test]
fn a_lost_create_answer_is_not_repeated_within_the_grace() {
    let prev = MmsJobStatus {
        create_requested_at: Some(Time(at(-30))),
        ..Default::default()
    };
    let d = run(&spec(), &prev, Observed::NoJob);
    assert_eq!(
        d.act, None,
        "looks for the job by name instead of creating again"
    );
    let prev = MmsJobStatus {
        create_requested_at: Some(Time(at(-600))),
        ..Default::default()
    };
    let d = run(&spec(), &prev, Observed::NoJob);
    assert!(
        matches!(d.act, Some(Act::Create { .. })),
        "after the grace it tries again"
    );
}

#[test]
fn async_task_done_yields_the_job_id() {
    let prev = MmsJobStatus {
        async_task_id: Some(9),
        ..Default::default()
    };
    let task = AsyncTaskView {
        id: 9,
        status: "DONE".into(),
        running: false,
        object_id: Some(42),
        error: None,
    };
    let d = run(&spec(), &prev, Observed::Creating(task));
    assert_eq!(d.status.job_id, Some(42));
    assert_eq!(d.requeue, Some(Duration::ZERO), "read the new job at once");
}

#[test]
fn async_task_failure_is_reported() {
    let task = AsyncTaskView {
        id: 9,
        status: "FAILED".into(),
        running: false,
        object_id: None,
        error: Some("table orders not found".into()),
    };
    let d = run(&spec(), &MmsJobStatus::default(), Observed::Creating(task));
    assert_eq!(d.status.phase, Some(MmsJobPhase::Failed));
    assert!(cond(&d, READY).message.contains("table orders not found"));
}

#[test]
fn a_job_found_by_name_is_adopted() {
    let d = run(&spec(), &MmsJobStatus::default(), Observed::Adoptable(77));
    assert_eq!(d.status.job_id, Some(77));
    assert_eq!(d.act, None);
}

#[test]
fn a_job_of_our_name_that_is_not_ours_is_refused_not_adopted() {
    let d = run(
        &spec(),
        &MmsJobStatus::default(),
        Observed::NameTaken {
            id: 77,
            owner: Some("other-uid".into()),
        },
    );
    assert_eq!(d.status.job_id, None);
    assert_eq!(
        d.act, None,
        "nothing is created under a name another job holds"
    );
    assert_eq!(cond(&d, READY).reason, "JobNameTaken");
    assert!(cond(&d, READY).message.contains("spec.jobName"));
}

#[test]
fn a_vanished_job_is_reported_not_recreated() {
    let d = run(&spec(), &with_job(42), Observed::Gone(42));
    assert_eq!(cond(&d, READY).reason, "JobGone");
    assert_eq!(d.act, None);
}

// ---------- phase and conditions from every task-state mix ----------

#[test]
fn every_task_state_mix_maps_to_a_phase() {
    type Case<'a> = (&'a str, Vec<(&'a str, i64)>, MmsJobPhase, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "INIT",
            vec![("INIT", 3)],
            MmsJobPhase::Running,
            "False",
            "Unknown",
        ),
        (
            "DOING",
            vec![("SCHEMA_DOING", 1), ("INIT", 2)],
            MmsJobPhase::Running,
            "False",
            "Unknown",
        ),
        (
            "DOING",
            vec![("SCHEMA_DONE", 1), ("DATA_DOING", 2)],
            MmsJobPhase::Running,
            "False",
            "Unknown",
        ),
        (
            "DOING",
            vec![("DATA_DONE", 1), ("VERIFICATION_DOING", 1), ("DONE", 1)],
            MmsJobPhase::Running,
            "False",
            "Unknown",
        ),
        (
            "DOING",
            vec![("VERIFICATION_DONE", 1), ("DONE", 2)],
            MmsJobPhase::Running,
            "False",
            "Unknown",
        ),
        (
            "DOING",
            vec![("DATA_FAILED", 1), ("DATA_DOING", 1)],
            MmsJobPhase::Running,
            "False",
            "Unknown",
        ),
        (
            "DOING",
            vec![("VERIFICATION_FAILED", 1), ("DATA_DOING", 1)],
            MmsJobPhase::Running,
            "False",
            "False",
        ),
        (
            "FAILED",
            vec![("SCHEMA_FAILED", 1), ("DONE", 2)],
            MmsJobPhase::Failed,
            "False",
            "Unknown",
        ),
        (
            "FAILED",
            vec![("DATA_FAILED", 2), ("DONE", 1)],
            MmsJobPhase::Failed,
            "False",
            "Unknown",
        ),
        (
            "FAILED",
            vec![("VERIFICATION_FAILED", 1), ("DONE", 2)],
            MmsJobPhase::Failed,
            "False",
            "False",
        ),
        (
            "DONE",
            vec![("DONE", 3)],
            MmsJobPhase::Succeeded,
            "True",
            "True",
        ),
    ];
    for (job_status, counts, phase, ready, verified) in cases {
        let d = run(
            &spec(),
            &with_job(42),
            Observed::Job(job(job_status, &counts)),
        );
        assert_eq!(d.status.phase, Some(phase), "{job_status} {counts:?}");
        assert_eq!(cond(&d, READY).status, ready, "{job_status} {counts:?}");
        assert_eq!(
            cond(&d, VERIFIED).status,
            verified,
            "{job_status} {counts:?}"
        );
        assert_eq!(d.act, None);
        assert_eq!(
            d.status.task_counts.values().sum::<i64>(),
            d.status.task_num.unwrap()
        );
    }
}

#[test]
fn progress_and_counts_are_reported() {
    let d = run(
        &spec(),
        &with_job(42),
        Observed::Job(job("DOING", &[("DONE", 1), ("DATA_DOING", 3)])),
    );
    assert_eq!(d.status.progress.as_deref(), Some("1/4 (25%)"));
    assert_eq!(d.status.task_counts["DATA_DOING"], 3);
    assert_eq!(d.requeue, Some(POLL_RUNNING));
}

#[test]
fn failed_tasks_are_listed_in_the_message_and_capped_in_status() {
    let mut j = job("FAILED", &[("DATA_FAILED", 12), ("DONE", 1)]);
    j.failed_tasks = (0..12)
        .map(|i| FailedTask {
            id: i,
            table: format!("sales.t{i}"),
            status: "DATA_FAILED".into(),
            retried_times: 0,
            last_log: vec!["java.io.IOException: broken pipe".into()],
        })
        .collect();
    let d = run(&spec(), &with_job(42), Observed::Job(j));
    assert_eq!(d.status.failed_tasks.len(), MAX_FAILED_TASKS);
    let msg = &cond(&d, READY).message;
    assert!(
        msg.contains("sales.t0 (DATA_FAILED)") && msg.contains("retryRequestedAt"),
        "{msg}"
    );
}

#[test]
fn verification_disabled_is_unknown_not_false() {
    let mut s = spec();
    s.enable_verification = false;
    let d = run(
        &s,
        &with_job(42),
        Observed::Job(job("DONE", &[("DONE", 3)])),
    );
    assert_eq!(cond(&d, VERIFIED).status, "Unknown");
    assert_eq!(cond(&d, VERIFIED).reason, "VerificationDisabled");
    assert_eq!(d.status.verification, None);
}

#[test]
fn mismatches_come_from_the_logs() {
    let lines = vec![
        "compare sales.orders and mc.orders count".to_string(),
        "src: 1000, dst: 998".to_string(),
        "src: 5, dst: 5".to_string(),
        "p1=1: 10, 9 not equal!".to_string(),
    ];
    let found = mismatches_in_log("sales.orders", &lines);
    assert_eq!(
        found,
        [
            "sales.orders: src: 1000, dst: 998",
            "sales.orders: p1=1: 10, 9 not equal!"
        ]
    );
}

#[test]
fn row_counts_are_read_from_the_log_never_guessed() {
    let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        row_counts_in_log(&lines(&[
            "select count(*) from sales.orders",
            "src: 1000, dst: 998"
        ])),
        Some((1000, 998))
    );
    assert_eq!(row_counts_in_log(&lines(&["SRC: 7, DSC: 7"])), Some((7, 7)));
    assert_eq!(row_counts_in_log(&lines(&["verification done"])), None);
    assert_eq!(row_counts_in_log(&lines(&["src: n/a, dst: 3"])), None);
}

// ---------- suspend, resume, retry ----------

#[test]
fn suspend_stops_a_running_job_and_remembers_who_stopped_it() {
    let mut s = spec();
    s.suspend = true;
    let d = run(
        &s,
        &with_job(42),
        Observed::Job(job("DOING", &[("DATA_DOING", 2)])),
    );
    assert_eq!(d.act, Some(Act::Stop { job_id: 42 }));
    assert!(d.status.stopped_by_operator);
    assert_eq!(d.status.phase, Some(MmsJobPhase::Suspended));
}

#[test]
fn resume_starts_only_a_job_the_operator_stopped() {
    let mut stopped = job("DOING", &[("DATA_DOING", 2)]);
    stopped.stopped = true;
    let ours = MmsJobStatus {
        job_id: Some(42),
        stopped_by_operator: true,
        ..Default::default()
    };
    let d = run(&spec(), &ours, Observed::Job(stopped.clone()));
    assert_eq!(d.act, Some(Act::Start { job_id: 42 }));
    assert!(!d.status.stopped_by_operator);

    let d = run(&spec(), &with_job(42), Observed::Job(stopped));
    assert_eq!(
        d.act, None,
        "a job stopped in the console is not started by us"
    );
    assert_eq!(cond(&d, READY).reason, "StoppedOutsideOperator");
}

#[test]
fn a_suspended_job_stays_stopped_without_repeated_calls() {
    let mut s = spec();
    s.suspend = true;
    let mut stopped = job("DOING", &[("DATA_DOING", 2)]);
    stopped.stopped = true;
    let prev = MmsJobStatus {
        job_id: Some(42),
        stopped_by_operator: true,
        ..Default::default()
    };
    let d = run(&s, &prev, Observed::Job(stopped));
    assert_eq!(d.act, None);
    assert_eq!(d.status.phase, Some(MmsJobPhase::Suspended));
    assert!(d.status.stopped_by_operator);
}

#[test]
fn a_new_retry_request_retries_failed_tasks_once() {
    let mut s = spec();
    s.retry_requested_at = Some("t1".into());
    let failed = job("FAILED", &[("DATA_FAILED", 1), ("DONE", 2)]);
    let d = run(&s, &with_job(42), Observed::Job(failed.clone()));
    assert_eq!(d.act, Some(Act::Retry { job_id: 42 }));
    assert_eq!(d.status.last_retry_requested_at.as_deref(), Some("t1"));
    let d = run(&s, &d.status, Observed::Job(failed));
    assert_eq!(d.act, None, "the same request is handled once");
}

#[test]
fn a_retry_request_without_failures_is_recorded_and_ignored() {
    let mut s = spec();
    s.retry_requested_at = Some("t2".into());
    let d = run(
        &s,
        &with_job(42),
        Observed::Job(job("DOING", &[("DATA_DOING", 1)])),
    );
    assert_eq!(d.act, None);
    assert_eq!(d.status.last_retry_requested_at.as_deref(), Some("t2"));
}

#[test]
fn polling_follows_the_phase() {
    let s = spec();
    let running = run(
        &s,
        &with_job(42),
        Observed::Job(job("DOING", &[("DATA_DOING", 1)])),
    )
    .status;
    assert!(!poll_due(&s, &running, Some(1), at(10)));
    assert!(poll_due(&s, &running, Some(1), at(30)));
    let done = run(
        &s,
        &with_job(42),
        Observed::Job(job("DONE", &[("DONE", 1)])),
    )
    .status;
    assert!(
        !poll_due(&s, &done, Some(1), at(300)),
        "finished jobs are not polled"
    );
    // Issue 20: finished objects cost no call at all, ever (they were re-read every 600 s).
    assert!(!poll_due(&s, &done, Some(1), at(600)));
    assert_eq!(
        until_poll(&s, &done, Some(1), at(86_400), 1.0),
        Duration::MAX
    );
    let mut retry = s.clone();
    retry.retry_requested_at = Some("t1".into());
    assert!(
        poll_due(&retry, &done, Some(1), at(1)),
        "until the spec asks for something"
    );
    let mut suspend = s.clone();
    suspend.suspend = true;
    assert!(
        poll_due(&suspend, &running, Some(1), at(1)),
        "a suspend request acts at once"
    );
}

#[test]
fn an_observation_stamps_status_with_its_arrival_and_next_poll_without_a_write_of_its_own() {
    let s = spec();
    let observed = Observed::Job(job("DOING", &[("DATA_DOING", 2)]));
    let seen = |observed: &Observed, arrived, next| Observation {
        observed: observed.clone(),
        at: at(arrived),
        next_poll_at: at(next),
    };
    let first = decide_observed(
        &s,
        &with_job(42),
        Some(1),
        JOB,
        &source(),
        &seen(&observed, -3, 27),
        at(0),
    );
    assert_eq!(first.status.last_polled_at, Some(Time(at(-3))));
    assert_eq!(first.status.next_poll_at, Some(Time(at(27))));
    // A later read that learnt nothing leaves the status exactly as it was (no write), even
    // though its stamps moved.
    let later = decide_observed(
        &s,
        &first.status,
        Some(1),
        JOB,
        &source(),
        &seen(&observed, 27, 57),
        at(28),
    );
    assert_eq!(later.status, first.status);
    // A finished job has no next poll.
    let done = decide_observed(
        &s,
        &first.status,
        Some(1),
        JOB,
        &source(),
        &seen(&Observed::Job(job("DONE", &[("DONE", 2)])), 57, 87),
        at(58),
    );
    assert_eq!(done.status.next_poll_at, None);
}

#[test]
fn a_job_found_in_a_list_after_create_is_recorded_and_read_next() {
    let created = run(
        &spec(),
        &MmsJobStatus {
            async_task_id: Some(9),
            create_requested_at: Some(Time(at(-5))),
            ..Default::default()
        },
        Observed::Created(42),
    );
    assert_eq!(created.status.job_id, Some(42));
    assert_eq!(created.status.phase, Some(MmsJobPhase::Running));
    assert_eq!(created.act, None);
    assert_eq!(cond(&created, READY).reason, "Created");
}

#[test]
fn the_first_status_needs_no_cloud_read() {
    let first = pending(
        &MmsJobStatus::default(),
        Some(1),
        "ns-job",
        &source(),
        "Pending",
        "waiting for the first read".into(),
        at(0),
    );
    assert_eq!(first.phase, Some(MmsJobPhase::Pending));
    assert_eq!(first.observed_generation, Some(1));
    let ready = conditions::find(&first.conditions, READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Pending")
    );
    // An object that has a phase keeps it (and its generation) until a read answers.
    let running = run(
        &spec(),
        &with_job(42),
        Observed::Job(job("DOING", &[("DATA_DOING", 1)])),
    )
    .status;
    assert_eq!(
        pending(
            &running,
            Some(2),
            "ns-job",
            &source(),
            "Queued",
            "x".into(),
            at(1)
        ),
        running
    );
}

#[test]
fn deciding_twice_on_the_same_facts_changes_nothing() {
    let observed = Observed::Job(job("DOING", &[("DONE", 1), ("DATA_DOING", 1)]));
    let first = run(&spec(), &with_job(42), observed.clone());
    let second = run(&spec(), &first.status, observed);
    assert_eq!(first.status, second.status);
}

#[test]
fn a_decision_is_not_polled_again_at_once_unless_it_asks_to() {
    // A status write wakes the controller; the next reconcile must not poll MMS again (that
    // would loop) unless the decision asked for an immediate read.
    let s = spec();
    let cases = vec![
        (MmsJobStatus::default(), Observed::SourceNotReady),
        (MmsJobStatus::default(), Observed::NoJob),
        (
            MmsJobStatus {
                async_task_id: Some(9),
                create_requested_at: Some(Time(at(0))),
                ..Default::default()
            },
            Observed::Creating(AsyncTaskView {
                id: 9,
                status: "DOING".into(),
                running: true,
                object_id: None,
                error: None,
            }),
        ),
        (
            with_job(42),
            Observed::Job(job("DOING", &[("DATA_DOING", 1)])),
        ),
        (with_job(42), Observed::Job(job("DONE", &[("DONE", 1)]))),
        (
            with_job(42),
            Observed::Job(job("FAILED", &[("DATA_FAILED", 1)])),
        ),
        (with_job(42), Observed::Gone(42)),
    ];
    for (prev, observed) in cases {
        let d = run(&s, &prev, observed.clone());
        let immediate = d.requeue == Some(Duration::ZERO);
        assert_eq!(
            poll_due(&s, &d.status, Some(1), at(0)),
            immediate,
            "{observed:?}"
        );
    }
    let d = run(&s, &MmsJobStatus::default(), Observed::Adoptable(5));
    assert!(
        poll_due(&s, &d.status, Some(1), at(0)),
        "an adopted job is read at once"
    );
}

#[test]
fn an_unchanged_poll_writes_nothing_and_the_next_one_waits_its_interval() {
    let s = spec();
    let first = run(
        &s,
        &with_job(42),
        Observed::Job(job("DOING", &[("DATA_DOING", 2)])),
    );
    let polled = first.status.last_polled_at.clone();
    assert_eq!(polled, Some(Time(at(0))));
    // 30 s later nothing moved: the status (stamp included) is exactly the previous one.
    let later = decide(
        &s,
        &first.status,
        Some(1),
        JOB,
        &source(),
        &Observed::Job(job("DOING", &[("DATA_DOING", 2)])),
        at(30),
    );
    assert_eq!(later.status, first.status);
    // A change moves the stamp.
    let moved = decide(
        &s,
        &first.status,
        Some(1),
        JOB,
        &source(),
        &Observed::Job(job("DOING", &[("DATA_DOING", 1), ("DONE", 1)])),
        at(30),
    );
    assert_eq!(moved.status.last_polled_at, Some(Time(at(30))));
    // Between polls the reconcile waits exactly the rest of the interval (scaled).
    assert_eq!(
        until_poll(&s, &moved.status, Some(1), at(40), 1.0),
        POLL_RUNNING - Duration::from_secs(10)
    );
    assert_eq!(
        until_poll(&s, &moved.status, Some(1), at(31), 0.1),
        Duration::from_secs(2)
    );
}

// ---------- no status field is dropped ----------

#[test]
fn a_decide_keeps_or_computes_every_status_field() {
    // A suspended job with a failed task, a verification mismatch, a handled retry and a handled
    // reconcile request: every field of the status has a value.
    let s = MmsJobSpec {
        suspend: true,
        retry_requested_at: Some("r1".into()),
        ..spec()
    };
    let prev = MmsJobStatus {
        job_id: Some(42),
        source_id: Some(7),
        stopped_by_operator: true,
        last_retry_requested_at: Some("r1".into()),
        last_handled_reconcile_at: Some("t1".into()),
        adopted_id: Some(42),
        table_retry: Some(crate::api::mms_job::TableRetryStatus {
            requested_at: "t0".into(),
            finished: true,
            ..Default::default()
        }),
        job_requested_at: Some(Time(at(-60))),
        // The schedule's part: kept as it was while the first job is followed.
        rounds: Some(crate::api::mms_schedule::RoundsStatus {
            timer_id: Some(5),
            ..Default::default()
        }),
        freshness_seconds: Some(60),
        verification: Some(VerificationStatus {
            row_counts: vec![crate::api::mms_job::RowCounts {
                task_id: 1,
                table: "sales.orders".into(),
                source_rows: 10,
                destination_rows: 10,
            }],
            row_counts_read: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut view = job(
        "DOING",
        &[("DONE", 3), ("DATA_FAILED", 1), ("VERIFICATION_FAILED", 1)],
    );
    view.stopped = true;
    view.failed_tasks = vec![FailedTask {
        id: 5,
        table: "sales.orders".into(),
        status: "DATA_FAILED".into(),
        retried_times: 1,
        last_log: vec!["connection reset".into()],
    }];
    view.mismatches = vec!["sales.items: src 10, dst 9".into()];
    view.running_tasks = vec![crate::api::mms_job::RunningTask {
        id: 6,
        table: "sales.items".into(),
        status: "DATA_DOING".into(),
        start_time: Some("2026-12-07 10:00:00".into()),
    }];
    let seen = Observation {
        observed: Observed::Job(view),
        at: at(-3),
        next_poll_at: at(27),
    };
    let d = decide_observed(&s, &prev, Some(1), JOB, &source(), &seen, at(0));
    // Only a create in flight has these.
    let creating_only = ["asyncTaskId", "createRequestedAt"];
    assert_eq!(
        crate::api::schema_check::dropped_fields("MmsJob", &d.status, &creating_only),
        Vec::<String>::new(),
        "decide dropped these status fields (or this case cannot set them: give them one)"
    );

    // And while a create is in flight, those two are kept.
    let creating = MmsJobStatus {
        async_task_id: Some(9),
        create_requested_at: Some(Time(at(-5))),
        ..Default::default()
    };
    let task = AsyncTaskView {
        id: 9,
        status: "DOING".into(),
        running: true,
        object_id: None,
        error: None,
    };
    let d = run(&spec(), &creating, Observed::Creating(task));
    assert_eq!(d.status.async_task_id, Some(9));
    assert_eq!(d.status.create_requested_at, Some(Time(at(-5))));
}

#[test]
fn observe_only_decides_but_never_sends() {
    let s = MmsJobSpec {
        suspend: true,
        management_policy: crate::api::common::ManagementPolicy::ObserveOnly,
        ..spec()
    };
    let prev = MmsJobStatus {
        job_id: Some(42),
        source_id: Some(7),
        adopted_id: Some(42),
        ..Default::default()
    };
    let seen = Observation {
        observed: Observed::Job(job("DOING", &[("DOING", 2)])),
        at: at(-3),
        next_poll_at: at(27),
    };
    let d = decide_observed(&s, &prev, Some(1), JOB, &source(), &seen, at(0));
    assert!(d.act.is_none(), "{:?}", d.act);
    let ready = d
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == READY)
        .unwrap();
    assert_eq!(ready.reason, "ObserveOnly");
    assert!(
        ready
            .message
            .starts_with("ObserveOnly: the operator does not send StopMmsJob"),
        "{}",
        ready.message
    );
    assert!(
        !d.status.stopped_by_operator,
        "nothing sent, nothing recorded"
    );
    // The same spec under Manage stops the job.
    let manage = MmsJobSpec {
        management_policy: crate::api::common::ManagementPolicy::Manage,
        ..s
    };
    let d = decide_observed(&manage, &prev, Some(1), JOB, &source(), &seen, at(0));
    assert_eq!(d.act.map(|a| a.action()), Some("StopMmsJob"));
}

#[test]
fn retry_tables_retries_each_listed_failed_task_once_then_finishes() {
    use crate::api::mms_job::TableRetry;
    let s = MmsJobSpec {
        retry_tables: Some(TableRetry {
            requested_at: "r1".into(),
            tables: vec!["orders".into(), "sales.items".into()],
        }),
        ..spec()
    };
    let failed = |id: i64, table: &str| FailedTask {
        id,
        table: table.into(),
        status: "DATA_FAILED".into(),
        ..Default::default()
    };
    let mut view = job("FAILED", &[("DONE", 2), ("DATA_FAILED", 3)]);
    view.failed_tasks = vec![
        failed(5, "sales.customers"),
        failed(6, "sales.orders"),
        failed(7, "sales.items"),
    ];
    let seen = |view: &JobView| Observation {
        observed: Observed::Job(view.clone()),
        at: at(-3),
        next_poll_at: at(27),
    };
    let prev = MmsJobStatus {
        job_id: Some(42),
        source_id: Some(7),
        ..Default::default()
    };
    assert!(
        request_pending(&s, &prev, None),
        "a new request is work to do"
    );
    let first = decide_observed(&s, &prev, None, JOB, &source(), &seen(&view), at(0));
    assert!(
        matches!(first.act, Some(Act::RetryTask { task_id: 6 })),
        "{:?}",
        first.act
    );
    // The next read still shows task 6 failed: it is not retried twice for one request.
    let second = decide_observed(&s, &first.status, None, JOB, &source(), &seen(&view), at(1));
    assert!(
        matches!(second.act, Some(Act::RetryTask { task_id: 7 })),
        "{:?}",
        second.act
    );
    let third = decide_observed(
        &s,
        &second.status,
        None,
        JOB,
        &source(),
        &seen(&view),
        at(2),
    );
    assert!(
        third.act.is_none(),
        "customers was not listed: {:?}",
        third.act
    );
    let done = third.status.table_retry.clone().unwrap();
    assert!(done.finished && done.message.is_none());
    assert_eq!(
        done.retried.iter().map(|r| r.id).collect::<Vec<_>>(),
        [6, 7]
    );
    assert!(!request_pending(&s, &third.status, None));
    // A table with no failed task retries nothing, and says so.
    let none = MmsJobSpec {
        retry_tables: Some(TableRetry {
            requested_at: "r2".into(),
            tables: vec!["payments".into()],
        }),
        ..spec()
    };
    let d = decide_observed(
        &none,
        &third.status,
        None,
        JOB,
        &source(),
        &seen(&view),
        at(3),
    );
    assert!(d.act.is_none());
    let t = d.status.table_retry.unwrap();
    assert!(t.finished && t.message.unwrap().contains("no failed task of payments"));
}
