//! Scheduled MmsJobs (issue 18): an MMS timer runs incremental rounds after the first job,
//! freshness follows the rounds, and a Cutover drains a scheduled job with a final round that
//! starts after its freeze.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cutover::*;
use crate::support::*;

/// The table job every test schedules: `order_items` is partitioned by day (30 partitions).
fn hourly(ns: &Namespace, name: &str) {
    apply_mms_job(
        ns,
        name,
        json!({"tables": ["order_items"], "deletionPolicy": "Delete",
               "schedule": {"type": "Hourly", "value": "05", "freshnessThresholdSeconds": 3600}}),
    );
}

fn rounds(o: &Value) -> Vec<Value> {
    at(o, "status.rounds.recent")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn last_successful(o: &Value) -> Option<i64> {
    at(o, "status.rounds.lastSuccessful.jobId").as_i64()
}

/// The operator's freshness gauge of MmsJob `name`.
fn gauge(op: &Operator, ns: &Namespace, name: &str) -> Option<f64> {
    let text = op.http_get("/metrics").1;
    text.lines()
        .filter(|l| l.starts_with("amo_mms_freshness_seconds{"))
        .find(|l| l.contains(&format!("name=\"{name}\"")) && l.contains(&ns.name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The sim's jobs created by the timer of the job named `cloud_name` (`<name>_<stamp>`).
fn round_jobs(sim: &Sim, cloud_name: &str) -> Vec<Value> {
    block_on(sim.admin.mms_jobs())
        .unwrap()
        .iter()
        .map(|j| serde_json::to_value(j).unwrap())
        .filter(|j| {
            j["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{cloud_name}_")))
        })
        .collect()
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_scheduled_job_runs_incremental_rounds_and_freshness_follows_them() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-rounds");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    // Polls at 1/20 of production: 6 s between reads while no round runs.
    let op = Operator::start(cluster, &ns.name, &sim, &["--poll-scale", "0.05"]);
    ready_hive_source(&ns);
    hourly(&ns, "hourly");
    let first = wait_obj(&ns.kubectl, "mmsjob/hourly", "timer created", T, |o| {
        at(o, "status.rounds.timerId").is_i64() && at(o, "status.phase") == "Scheduled"
    });
    let cloud_name = at(&first, "status.jobName").as_str().unwrap().to_string();
    assert!(
        has_condition(&first, "FreshWithinThreshold", "True"),
        "{}",
        first["status"]
    );
    let timers = block_on(sim.admin.requests_for("CreateMmsTimer")).unwrap();
    assert_eq!(timers.len(), 1, "one timer");

    let mut landed = Vec::new();
    for k in 1..=3 {
        // New data at the source, then an hour of simulated time: the timer fires.
        let value = format!("ds=2024-07-0{k}");
        let added = block_on(sim.admin.add_mms_partitions(
            "hive-prod",
            "sales",
            "order_items",
            &[&value],
            None,
        ))
        .unwrap();
        assert_eq!(added, 1);
        // Freshness rises while no round lands (the gauge moves at every reconcile); the data
        // is let age to 30 s so that a landing round shows clearly.
        let f1 = wait_for("a freshness gauge", Duration::from_secs(30), || {
            gauge(&op, &ns, "hourly")
        });
        let f2 = wait_for("freshness to rise", Duration::from_secs(60), || {
            gauge(&op, &ns, "hourly").filter(|f| *f > f1 && *f >= 30.0)
        });
        let before = last_successful(&ns.kubectl.get_json("mmsjob/hourly").unwrap());
        block_on(sim.admin.advance(3600.0)).unwrap();
        let o = wait_obj(
            &ns.kubectl,
            "mmsjob/hourly",
            "a new successful round",
            T,
            |o| {
                last_successful(o).is_some_and(|id| Some(id) != before)
                    && at(o, "status.freshnessSeconds").is_i64()
            },
        );
        let fresh = at(&o, "status.freshnessSeconds").as_i64().unwrap() as f64;
        assert!(
            fresh < f2,
            "freshness falls when round {k} lands: {f2} then {fresh}"
        );
        let newest = &rounds(&o)[0];
        assert!(newest["startedAfter"].is_string(), "{newest}");
        assert_eq!(newest["verification"], "Passed");
        assert!(has_condition(&o, "FreshWithinThreshold", "True"));
        landed.push(last_successful(&o).unwrap());
    }
    let o = ns.kubectl.get_json("mmsjob/hourly").unwrap();
    assert!(rounds(&o).len() >= 3, "{}", o["status"]);
    assert!(at(&o, "status.rounds.total").as_i64().unwrap() >= 3);
    // Incremental: the rounds together copied the three new partitions, each once, and none of
    // the thirty the first job had copied.
    let copied: u64 = round_jobs(&sim, &cloud_name)
        .iter()
        .flat_map(|j| j["tasks"].as_array().cloned().unwrap_or_default())
        .map(|t| t["partitions"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(copied, 3, "only new partitions are copied by rounds");
    // Rounds are read with one list per poll: no GetMmsJob per finished round.
    block_on(sim.admin.clear_requests()).unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let reads = block_on(sim.admin.requests(0)).unwrap();
    let gets: Vec<_> = reads
        .iter()
        .filter(|r| {
            r.action.as_deref() == Some("GetMmsJob") || r.action.as_deref() == Some("ListMmsTasks")
        })
        .collect();
    assert!(
        gets.is_empty(),
        "finished rounds are not read again: {gets:?}"
    );
    assert!(
        reads
            .iter()
            .any(|r| r.action.as_deref() == Some("ListMmsJobs"))
    );

    // suspend pauses the timer; deleting (deletionPolicy Delete) removes it.
    ns.kubectl.ok(&[
        "patch",
        "mmsjob/hourly",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    wait_obj(&ns.kubectl, "mmsjob/hourly", "timer paused", T, |o| {
        at(o, "status.rounds.timerStopped") == true && at(o, "status.phase") == "Suspended"
    });
    ns.kubectl.ok(&["delete", "mmsjob/hourly", "--timeout=60s"]);
    assert_eq!(block_on(sim.admin.succeeded("DeleteMmsTimer")).unwrap(), 1);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_cutover_switches_a_scheduled_job_only_after_a_final_round_after_the_freeze() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-cut");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    hourly(&ns, "hourly");
    wait_obj(&ns.kubectl, "mmsjob/hourly", "scheduled", T, |o| {
        at(o, "status.phase") == "Scheduled" && has_condition(o, "Ready", "True")
    });
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN}));
    config_map(&ns, "app-flags", json!({"READ_ONLY": "false"}));
    block_on(sim.admin.clear_requests()).unwrap();
    apply_cutover(
        &ns,
        "to-mc",
        json!({"migrations": [{"kind": "MmsJob", "name": "hourly"}],
               "gates": {"requireVerification": true},
               "freeze": [{"configMapKey": {"name": "app-flags", "key": "READ_ONLY", "value": "true"}}],
               "drain": {"settleSeconds": 1, "timeoutSeconds": 120},
               "switch": switch_dsn()}),
    );
    let c = wait_phase(&ns, "to-mc", "Completed", T);
    let lag = gate(&c, "lag/hourly").unwrap();
    assert_eq!(lag["passed"], true, "{lag}");
    assert_eq!(lag["evidence"], "Measured");
    let frozen_at = time_of(at(&c, "status.frozenAt"));
    let drained = at(&c, "status.drained")
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["migration"] == "hourly")
        .cloned()
        .unwrap();
    let round_id = drained["roundJobId"].as_i64().unwrap();
    assert!(time_of(&drained["checkpoint"]) >= frozen_at, "{drained}");
    // One TriggerMmsTimer, sent after the freeze; the switch came after the round finished.
    let triggers = block_on(sim.admin.requests_for("TriggerMmsTimer")).unwrap();
    assert_eq!(triggers.len(), 1);
    assert!(time_of(&json!(triggers[0].time)) >= frozen_at);
    let drain = step(&c, "drain/hourly").unwrap();
    let switch = step(&c, "switch/ConfigMap/app-db/DSN").unwrap();
    assert!(time_of(&switch["startedAt"]) >= time_of(&drain["finishedAt"]));
    let job = ns.kubectl.get_json("mmsjob/hourly").unwrap();
    let round = rounds(&job)
        .into_iter()
        .find(|r| r["jobId"] == round_id)
        .unwrap();
    assert_eq!(round["triggered"], true);
    assert_eq!(round["status"], "DONE");
    assert_eq!(round["verification"], "Passed");
    assert_eq!(data_of(&ns, "app-db")["DSN"], TARGET_DSN);
}

fn wait_for<T>(what: &str, timeout: Duration, f: impl Fn() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn an_existing_job_and_timer_are_followed_observe_only_without_a_mutating_call() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-adopt-timer");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    // "The console": a job and its timer, left behind by a resource that is gone (Retain).
    apply_mms_job(
        &ns,
        "console",
        json!({"tables": ["order_items"],
               "schedule": {"type": "Hourly", "value": "05"}}),
    );
    let made = wait_obj(&ns.kubectl, "mmsjob/console", "timer created", T, |o| {
        at(o, "status.rounds.timerId").is_i64()
    });
    let job_id = at(&made, "status.jobId").as_i64().unwrap();
    let timer_id = at(&made, "status.rounds.timerId").as_i64().unwrap();
    ns.kubectl
        .ok(&["delete", "mmsjob/console", "--timeout=60s"]);
    block_on(sim.admin.clear_requests()).unwrap();

    ns.kubectl.apply(
        &json!({"apiVersion": API_VERSION, "kind": "MmsJob",
                "metadata": {"name": "observer", "annotations": {
                    "migration.aliyun-operator.dev/adopt-id": job_id.to_string(),
                    "migration.aliyun-operator.dev/adopt-timer-id": timer_id.to_string()}},
                "spec": {"dataSourceRef": {"name": "hive"}, "srcDbName": "sales",
                         "tables": ["order_items"], "managementPolicy": "ObserveOnly",
                         "deletionPolicy": "Delete",
                         "schedule": {"type": "Hourly", "value": "05"}}})
        .to_string(),
    );
    let o = wait_obj(
        &ns.kubectl,
        "mmsjob/observer",
        "following the timer",
        T,
        |o| at(o, "status.rounds.timerId") == timer_id && at(o, "status.phase") == "Scheduled",
    );
    assert_eq!(at(&o, "status.adoptedId"), job_id);
    // The adopted first job's start is not known: no number is shown for it.
    assert!(
        at(&o, "status.freshnessSeconds").is_null(),
        "{}",
        o["status"]
    );
    assert!(has_condition(&o, "FreshWithinThreshold", "Unknown"));
    // A round after the operator looked has a measured start.
    block_on(sim.admin.advance(3600.0)).unwrap();
    let o = wait_obj(&ns.kubectl, "mmsjob/observer", "a measured round", T, |o| {
        at(o, "status.freshnessSeconds").is_i64()
    });
    assert!(
        has_condition(&o, "FreshWithinThreshold", "True"),
        "{}",
        o["status"]
    );
    // A round asked for is not triggered: ObserveOnly says so.
    ns.kubectl.ok(&[
        "annotate",
        "mmsjob/observer",
        "migration.aliyun-operator.dev/round-requested-at=now",
    ]);
    wait_obj(&ns.kubectl, "mmsjob/observer", "the refusal", T, |o| {
        at(o, "status.rounds.request.message")
            .as_str()
            .is_some_and(|m| m.contains("ObserveOnly"))
    });
    ns.kubectl
        .ok(&["delete", "mmsjob/observer", "--timeout=60s"]);
    // The timer was read; nothing was changed.
    assert_only_reads(&sim, "GetMmsTimer");
}
