//! The account's call budget end to end: first statuses without cloud calls, reads that never
//! hold a reconcile worker, and finished jobs that cost nothing.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

/// Table-level jobs on different tables (a table already migrated would make an empty job).
const JOBS: [(&str, &str, &str); 5] = [
    ("orders", "sales", "orders"),
    ("customers", "sales", "customers"),
    ("items", "sales", "order_items"),
    ("campaigns", "marketing", "campaigns"),
    ("spend", "marketing", "spend"),
];

/// MMS actions that read jobs (the DataSource's own scans are not counted).
const JOB_READS: [&str; 5] = [
    "ListMmsJobs",
    "GetMmsJob",
    "ListMmsTasks",
    "ListMmsTaskLogs",
    "GetMmsAsyncTask",
];

fn job_reads(sim: &Sim) -> usize {
    block_on(sim.admin.requests(0))
        .unwrap()
        .iter()
        .filter(|r| r.action.as_deref().is_some_and(|a| JOB_READS.contains(&a)))
        .count()
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn first_statuses_come_at_once_and_finished_jobs_cost_no_call() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "budget");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    // One worker and one MMS call per second: a reconcile that waited for a token or for a
    // slow read would hold every other object back.
    let _op = Operator::start(
        cluster,
        &ns.name,
        &sim,
        &[
            "--concurrency",
            "1",
            "--mms-calls-per-second",
            "1",
            "--poll-scale",
            "0.01",
        ],
    );
    ready_hive_source(&ns);
    // The first job list takes 5 s to answer.
    block_on(sim.admin.slow_next("ListMmsJobs", 1, 5000)).unwrap();
    let created = Instant::now();
    for (name, db, table) in JOBS {
        ns.kubectl.apply(
            &object(
                "MmsJob",
                name,
                json!({"dataSourceRef": {"name": "hive"}, "srcDbName": db, "tables": [table]}),
            )
            .to_string(),
        );
    }
    for (name, _, _) in JOBS {
        let job = wait_obj(
            &ns.kubectl,
            &format!("mmsjob/{name}"),
            "a first status",
            Duration::from_secs(5),
            |o| !at(o, "status.phase").is_null(),
        );
        assert_eq!(at(&job, "status.phase"), "Pending", "{}", job["status"]);
        assert_eq!(at(&job, "status.observedGeneration"), 1);
        let ready = condition(&job, "Ready").expect("Ready condition");
        assert_eq!(ready["status"], "False");
    }
    assert!(
        created.elapsed() < Duration::from_secs(5),
        "every first status came while the first read was still in flight ({:?})",
        created.elapsed()
    );

    for (name, _, _) in JOBS {
        ns.kubectl
            .wait_condition(&format!("mmsjob/{name}"), "Ready", 240);
        let job = ns.kubectl.get_json(&format!("mmsjob/{name}")).unwrap();
        assert_eq!(at(&job, "status.phase"), "Succeeded");
        assert!(
            at(&job, "status.nextPollAt").is_null(),
            "a finished job has no next poll"
        );
    }
    // Finished: not one more read of them (before, each was re-read every 600 s, 6 s at this
    // poll scale).
    std::thread::sleep(Duration::from_secs(2));
    let before = job_reads(&sim);
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(job_reads(&sim), before, "finished jobs were read again");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn sigterm_exits_within_two_seconds_with_nothing_in_flight() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "sigterm");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    // Objects that need no cloud call: jobs waiting for a DataSource that does not exist.
    for i in 0..3 {
        ns.kubectl.apply(
            &object(
                "MmsJob",
                &format!("waiting-{i}"),
                json!({"dataSourceRef": {"name": "absent"}, "srcDbName": "sales", "tables": ["orders"]}),
            )
            .to_string(),
        );
    }
    // At once after start-up (caches still listing: before, the controllers then waited out the
    // whole grace period), a little later, and once everything has been reconciled.
    for delay_ms in [0, 150, 3000] {
        let mut op = Operator::start(cluster, &ns.name, &sim, &[]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let signalled = Instant::now();
        op.signal(libc::SIGTERM);
        let status = op
            .wait_exit(Duration::from_secs(10))
            .expect("the operator exits");
        let took = signalled.elapsed();
        assert!(status.success(), "{status:?}");
        assert!(
            took < Duration::from_secs(2),
            "exit took {took:?} after SIGTERM {delay_ms} ms after start-up:\n{}",
            tail(&op.proc.log_text(), 15)
        );
    }
}
