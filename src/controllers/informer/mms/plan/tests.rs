use std::collections::BTreeMap;

use super::*;
use crate::aliyun::mms::JobStatus;

fn task(id: i64, table: &str, status: TaskStatus) -> MmsTask {
    MmsTask {
        id,
        src_db_name: "sales".into(),
        src_table_name: table.into(),
        status: Some(status),
        ..MmsTask::default()
    }
}

fn job() -> MmsJob {
    MmsJob {
        id: 7,
        name: "ns-history".into(),
        status: Some(JobStatus::Doing),
        task_num: 4,
        task_done: 1,
        ..MmsJob::default()
    }
}

#[test]
fn everything_is_listed_when_that_is_no_dearer_than_active_lists_and_lookups() {
    assert_eq!(
        list_plan(None, 0),
        ListPlan::Full,
        "first round learns the size"
    );
    assert_eq!(list_plan(Some(150), 0), ListPlan::Full, "2 pages");
    assert_eq!(list_plan(Some(350), 0), ListPlan::ActiveOnly, "4 pages > 2");
    assert_eq!(
        list_plan(Some(350), 2),
        ListPlan::Full,
        "4 pages = 2 active lists + 2 lookups"
    );
    assert_eq!(list_plan(Some(10_000), 30), ListPlan::ActiveOnly);
    assert_eq!(pages(0), 1);
}

#[test]
fn a_view_counts_tasks_by_state_and_shows_failures_in_pipeline_order() {
    let tasks = JobTasks {
        counts: BTreeMap::from([
            (TaskStatus::Done, 1),
            (TaskStatus::DataFailed, 1),
            (TaskStatus::SchemaFailed, 1),
            (TaskStatus::Init, 1),
        ]),
        failed: vec![
            task(2, "orders", TaskStatus::DataFailed),
            task(3, "items", TaskStatus::SchemaFailed),
        ],
        running: vec![task(4, "customers", TaskStatus::DataDoing)],
        total: 4,
    };
    let logs = HashMap::from([(
        2,
        vec!["a".to_string(), "b".into(), "c".into(), "d: boom".into()],
    )]);
    let view = job_view(&job(), &tasks, &logs);
    assert_eq!(view.status, "DOING");
    assert_eq!(view.task_counts["DATA_FAILED"], 1);
    assert_eq!(view.task_counts.len(), 4);
    let shown: Vec<&str> = view.failed_tasks.iter().map(|f| f.table.as_str()).collect();
    assert_eq!(shown, ["sales.items", "sales.orders"]);
    assert_eq!(view.failed_tasks[1].last_log, ["b", "c", "d: boom"]);
    assert!(view.failed_tasks[0].last_log.is_empty());
    // Tasks in flight are listed beside the failed ones.
    assert_eq!(view.running_tasks.len(), 1);
    assert_eq!(view.running_tasks[0].table, "sales.customers");
    assert_eq!(view.running_tasks[0].status, "DATA_DOING");
}

#[test]
fn verification_mismatches_come_from_the_whole_log() {
    let tasks = JobTasks {
        counts: BTreeMap::from([(TaskStatus::VerificationFailed, 1)]),
        failed: vec![task(5, "orders", TaskStatus::VerificationFailed)],
        running: Vec::new(),
        total: 1,
    };
    let lines = vec![
        "compare source and destination count: src: 10, dst: 9".to_string(),
        "x".into(),
        "y".into(),
        "z".into(),
    ];
    let view = job_view(&job(), &tasks, &HashMap::from([(5, lines)]));
    assert_eq!(view.mismatches.len(), 1, "{:?}", view.mismatches);
    assert_eq!(view.failed_tasks[0].last_log, ["x", "y", "z"]);
    // Its log is read again next time; other failures reuse the lines they have.
    assert_eq!(known_log(Some(&view), &tasks.failed[0]), None);
    let data = job_view(
        &job(),
        &JobTasks {
            failed: vec![task(6, "items", TaskStatus::DataFailed)],
            ..JobTasks::default()
        },
        &HashMap::from([(6, vec!["boom".to_string()])]),
    );
    let same = task(6, "items", TaskStatus::DataFailed);
    assert_eq!(
        known_log(Some(&data), &same),
        Some(vec!["boom".to_string()])
    );
    let retried = MmsTask {
        retried_times: 1,
        ..same
    };
    assert_eq!(known_log(Some(&data), &retried), None);
}

#[test]
fn the_summary_is_what_the_list_shows() {
    let view = job_view(&job(), &JobTasks::default(), &HashMap::new());
    assert_eq!(Summary::of(&job()), Summary::of_view(&view));
    assert!(Summary::of(&job()).running());
    let stopped = MmsJob {
        stopped: true,
        ..job()
    };
    assert!(!Summary::of(&stopped).running());
}

#[test]
fn waiting_and_finished_jobs_tell_their_task_counts_without_a_read() {
    let waiting = MmsJob {
        status: Some(JobStatus::Init),
        task_num: 3,
        task_done: 0,
        ..job()
    };
    let view = implied_view(&waiting).unwrap();
    assert_eq!(view.task_counts, BTreeMap::from([("INIT".to_string(), 3)]));
    let done = MmsJob {
        status: Some(JobStatus::Done),
        task_num: 3,
        task_done: 3,
        ..job()
    };
    let view = implied_view(&done).unwrap();
    assert_eq!(view.task_counts, BTreeMap::from([("DONE".to_string(), 3)]));
    assert!(view.failed_tasks.is_empty());
    // Running, failed, stopped, or figures that do not add up: read the tasks.
    assert_eq!(implied_view(&job()), None);
    let failed = MmsJob {
        status: Some(JobStatus::Failed),
        ..done.clone()
    };
    assert_eq!(implied_view(&failed), None);
    let stopped = MmsJob {
        stopped: true,
        ..waiting.clone()
    };
    assert_eq!(implied_view(&stopped), None);
    let partly = MmsJob {
        task_done: 2,
        ..done
    };
    assert_eq!(implied_view(&partly), None);
}
