//! DataSource and MmsJob end to end: the real local API server, the simulator and the operator
//! (as its ServiceAccount, RBAC applied) as processes; `kubectl` as the client.

use std::time::Duration;

use aliyun_migration_operator::sim::scenario::MmsPhase;
use serde_json::json;

use crate::support::*;

const T: Duration = Duration::from_secs(120);

/// The MMS job name a resource uses (derived from namespace, name and UID).
fn cloud_job_name(ns: &Namespace, name: &str) -> String {
    status_str(ns, &format!("mmsjob/{name}"), "jobName", T)
}

fn sim_jobs_named(sim: &Sim, name: &str) -> Vec<serde_json::Value> {
    let jobs = block_on(sim.admin.mms_jobs()).expect("admin: mms jobs");
    jobs.iter()
        .map(|j| serde_json::to_value(j).unwrap())
        .filter(|j| j["name"] == name)
        .collect()
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn data_source_and_table_job_become_ready_and_verified() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-ready");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);

    apply_data_source(&ns, "hive", json!({"name": "hive-prod"}));
    apply_mms_job(&ns, "history", json!({"tables": ["orders", "customers"]}));
    // The job waits for its DataSource, then runs; `kubectl wait` is how users follow it.
    ns.kubectl.wait_condition("datasource/hive", "Ready", 120);
    let ds = ns.kubectl.get_json("datasource/hive").unwrap();
    assert_eq!(at(&ds, "status.phase"), "Ready");
    assert!(at(&ds, "status.sourceId").as_i64().is_some());
    assert!(
        at(&ds, "status.databases")
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "sales"))
    );
    assert_eq!(condition(&ds, "Scanned").unwrap()["status"], "True");

    ns.kubectl.wait_condition("mmsjob/history", "Ready", 180);
    let job = ns.kubectl.get_json("mmsjob/history").unwrap();
    assert_eq!(at(&job, "status.phase"), "Succeeded");
    assert!(has_condition(&job, "Verified", "True"), "{}", job["status"]);
    assert_eq!(
        at(&job, "status.taskCounts.DONE"),
        at(&job, "status.taskNum")
    );
    assert_eq!(at(&job, "status.verification.state"), "Passed");
    // The counts come from MMS's verification logs, read once when the job finished.
    let wait = wait_obj(&ns.kubectl, "mmsjob/history", "row counts", T, |o| {
        at(o, "status.verification.rowCountsRead").is_i64()
    });
    let counts = at(&wait, "status.verification.rowCounts")
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        counts.len() as i64,
        at(&wait, "status.taskNum").as_i64().unwrap(),
        "{counts:?}"
    );
    assert!(
        counts
            .iter()
            .all(|c| c["sourceRows"] == c["destinationRows"] && c["sourceRows"].as_i64() > Some(0)),
        "{counts:?}"
    );
    let sim_job = sim_jobs_named(&sim, &cloud_job_name(&ns, "history"));
    assert_eq!(sim_job.len(), 1);
    // A table list makes a table-level job: tasks for exactly those tables.
    let mut tables: Vec<String> = sim_job[0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["table"]
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    tables.sort();
    tables.dedup();
    assert_eq!(tables, ["customers", "orders"]);

    // Events record the phase changes.
    let events = ns
        .kubectl
        .ok(&["get", "events.events.k8s.io", "-o", "yaml"]);
    assert!(
        events.contains("reason: Succeeded") && events.contains("Running -> Succeeded"),
        "{events}"
    );
    assert_no_leak(
        &ns,
        &[
            SIM_ACCESS_KEY_SECRET,
            SIM_ACCESS_KEY_ID,
            "hive-Sim-Passw0rd",
        ],
        &[&op.proc],
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn ambiguous_names_are_reported_and_a_pinned_id_resolves() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-ambig");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);

    ns.kubectl.apply(
        &object(
            "DataSource",
            "bq",
            json!({"region": "cn-hangzhou", "name": "bq-analytics"}),
        )
        .to_string(),
    );
    let ds = wait_obj(&ns.kubectl, "datasource/bq", "Ambiguous", T, |o| {
        at(o, "status.phase") == "Ambiguous"
    });
    let ready = condition(&ds, "Ready").unwrap();
    assert_eq!(ready["reason"], "Ambiguous");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.matches("bq-analytics (id ").count() >= 2,
        "{message}"
    );
    assert!(at(&ds, "status.sourceId").is_null(), "nothing is guessed");

    // Pin one of the candidates.
    let id: String = message
        .split("(id ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .to_string();
    ns.kubectl.ok(&[
        "patch",
        "datasource/bq",
        "--type=merge",
        "-p",
        &json!({"spec": {"sourceId": id.parse::<i64>().expect("a numeric id")}}).to_string(),
    ]);
    ns.kubectl.wait_condition("datasource/bq", "Resolved", 60);
    let ds = ns.kubectl.get_json("datasource/bq").unwrap();
    assert_eq!(at(&ds, "status.sourceId").to_string(), id);

    ns.kubectl.apply(
        &object(
            "DataSource",
            "nope",
            json!({"region": "cn-hangzhou", "name": "no-such-source"}),
        )
        .to_string(),
    );
    let ds = wait_obj(&ns.kubectl, "datasource/nope", "NotFound", T, |o| {
        at(o, "status.phase") == "NotFound"
    });
    assert!(
        condition(&ds, "Ready").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("console")
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_failing_table_is_shown_and_recovers_after_a_retry_request() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-retry");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    block_on(
        sim.admin
            .fail_mms_table("hive-prod", "sales", "customers", MmsPhase::Data, Some(1)),
    )
    .unwrap();
    ready_hive_source(&ns);
    apply_mms_job(&ns, "history", json!({"tables": ["orders", "customers"]}));

    let job = wait_obj(
        &ns.kubectl,
        "mmsjob/history",
        "Failed",
        Duration::from_secs(180),
        |o| at(o, "status.phase") == "Failed",
    );
    let failed = at(&job, "status.failedTasks")
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(failed.len(), 1, "{}", job["status"]);
    assert_eq!(failed[0]["table"], "sales.customers");
    assert_eq!(failed[0]["status"], "DATA_FAILED");
    assert!(
        !failed[0]["lastLog"].as_array().unwrap().is_empty(),
        "latest log lines are shown"
    );
    assert!(
        condition(&job, "Ready").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("retryRequestedAt")
    );

    ns.kubectl.ok(&[
        "patch",
        "mmsjob/history",
        "--type=merge",
        "-p",
        &json!({"spec": {"retryRequestedAt": "2026-11-22T10:00:00Z"}}).to_string(),
    ]);
    ns.kubectl.wait_condition("mmsjob/history", "Ready", 180);
    let job = ns.kubectl.get_json("mmsjob/history").unwrap();
    assert_eq!(
        at(&job, "status.lastRetryRequestedAt"),
        "2026-11-22T10:00:00Z"
    );
    assert!(at(&job, "status.failedTasks").is_null());
    assert_eq!(block_on(sim.admin.succeeded("RetryMmsJob")).unwrap(), 1);
    assert_no_leak(&ns, &[SIM_ACCESS_KEY_SECRET], &[&op.proc]);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_failed_table_is_retried_alone() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-retry-table");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    // Two tables fail; only one is asked to be retried. Its second attempt succeeds.
    for table in ["customers", "orders"] {
        block_on(
            sim.admin
                .fail_mms_table("hive-prod", "sales", table, MmsPhase::Data, Some(1)),
        )
        .unwrap();
    }
    ready_hive_source(&ns);
    apply_mms_job(
        &ns,
        "history",
        json!({"tables": ["orders", "customers"], "eta": "2026-12-31 00:00:00"}),
    );
    wait_obj(
        &ns.kubectl,
        "mmsjob/history",
        "both tables failed",
        Duration::from_secs(180),
        |o| {
            at(o, "status.phase") == "Failed"
                && at(o, "status.failedTasks")
                    .as_array()
                    .is_some_and(|f| f.len() == 2)
        },
    );
    ns.kubectl.ok(&[
        "patch",
        "mmsjob/history",
        "--type=merge",
        "-p",
        &json!({"spec": {"retryTables": {"requestedAt": "r1", "tables": ["customers"]}}})
            .to_string(),
    ]);
    let job = wait_obj(
        &ns.kubectl,
        "mmsjob/history",
        "customers retried, orders still failed",
        Duration::from_secs(180),
        |o| {
            at(o, "status.tableRetry.finished") == true
                && at(o, "status.phase") == "Failed"
                && at(o, "status.failedTasks")
                    .as_array()
                    .is_some_and(|f| f.len() == 1 && f[0]["table"] == "sales.orders")
        },
    );
    let retried = at(&job, "status.tableRetry.retried")
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(retried.len(), 1, "{}", job["status"]);
    assert_eq!(retried[0]["table"], "sales.customers");
    assert_eq!(block_on(sim.admin.succeeded("RetryMmsTask")).unwrap(), 1);
    assert_eq!(
        block_on(sim.admin.requests_for("RetryMmsJob"))
            .unwrap()
            .len(),
        0,
        "the whole job was not retried"
    );
    let sim_job = sim_jobs_named(&sim, &cloud_job_name(&ns, "history"));
    let customers = sim_job[0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"].as_str().unwrap().ends_with("customers"))
        .unwrap()
        .clone();
    assert_eq!(customers["status"], "DONE", "{customers}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn suspend_stops_and_resume_starts_the_job() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-suspend");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    // A whole-database job runs long enough to be suspended.
    apply_mms_job(&ns, "whole", json!({}));
    wait_obj(&ns.kubectl, "mmsjob/whole", "running", T, |o| {
        at(o, "status.phase") == "Running"
    });
    ns.kubectl.ok(&[
        "patch",
        "mmsjob/whole",
        "--type=merge",
        "-p",
        &json!({"spec": {"suspend": true}}).to_string(),
    ]);
    let job = wait_obj(&ns.kubectl, "mmsjob/whole", "Suspended", T, |o| {
        at(o, "status.phase") == "Suspended" && at(o, "status.stopped") == true
    });
    assert_eq!(at(&job, "status.stoppedByOperator"), true);
    let name = cloud_job_name(&ns, "whole");
    assert_eq!(sim_jobs_named(&sim, &name)[0]["stopped"], true);

    ns.kubectl.ok(&[
        "patch",
        "mmsjob/whole",
        "--type=merge",
        "-p",
        &json!({"spec": {"suspend": false}}).to_string(),
    ]);
    ns.kubectl.wait_condition("mmsjob/whole", "Ready", 240);
    assert_eq!(block_on(sim.admin.succeeded("StopMmsJob")).unwrap(), 1);
    assert_eq!(block_on(sim.admin.succeeded("StartMmsJob")).unwrap(), 1);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn deletion_policies_delete_or_retain_the_mms_job() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-delete");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    apply_gone_and_kept_mms_jobs(&ns);
    for name in ["gone", "kept"] {
        wait_obj(&ns.kubectl, &format!("mmsjob/{name}"), "job id", T, |o| {
            at(o, "status.jobId").is_i64()
        });
        let job = ns.kubectl.get_json(&format!("mmsjob/{name}")).unwrap();
        assert!(job["metadata"]["finalizers"].as_array().is_some_and(|f| {
            f.iter()
                .any(|x| x == "migration.aliyun-operator.dev/cleanup")
        }));
    }
    let (gone, kept) = (cloud_job_name(&ns, "gone"), cloud_job_name(&ns, "kept"));
    ns.kubectl
        .ok(&["delete", "mmsjob/gone", "mmsjob/kept", "--timeout=60s"]);
    assert!(
        sim_jobs_named(&sim, &gone).is_empty(),
        "Delete removes the MMS job"
    );
    assert_eq!(sim_jobs_named(&sim, &kept).len(), 1, "Retain leaves it");
    assert_eq!(block_on(sim.admin.succeeded("DeleteMmsJob")).unwrap(), 1);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_kill_right_after_create_never_makes_a_second_job() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-kill");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let mut op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    // Slow the answer so the operator is killed while its create is in flight.
    block_on(sim.admin.slow_next("CreateMmsJob", 1, 2000)).unwrap();
    apply_mms_job(&ns, "history", json!({"tables": ["orders"]}));
    kill_while_in_flight(&mut op, &sim, "CreateMmsJob");
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ns.kubectl.wait_condition("mmsjob/history", "Ready", 180);
    assert_eq!(
        sim_jobs_named(&sim, &cloud_job_name(&ns, "history")).len(),
        1,
        "exactly one MMS job"
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_lost_create_answer_never_makes_a_second_job() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-lost");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    // CreateMmsJob takes no idempotency token: MMS commits, the answer never arrives.
    block_on(sim.admin.lose_response_next("CreateMmsJob", 1)).unwrap();
    apply_mms_job(&ns, "history", json!({"tables": ["orders"]}));
    ns.kubectl.wait_condition("mmsjob/history", "Ready", 180);
    assert_eq!(
        sim_jobs_named(&sim, &cloud_job_name(&ns, "history")).len(),
        1,
        "exactly one MMS job"
    );
    let creates = block_on(sim.admin.requests_for("CreateMmsJob")).unwrap();
    assert_eq!(creates.len(), 1, "created once: {creates:#?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn an_existing_job_is_adopted_observe_only_and_never_changed() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "mms-adopt");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ready_hive_source(&ns);
    // "The console": a job made by another MmsJob, which then goes and leaves it (Retain).
    apply_mms_job(&ns, "console", json!({"tables": ["orders", "customers"]}));
    ns.kubectl.wait_condition("mmsjob/console", "Ready", 180);
    let id = status_i64(&ns, "mmsjob/console", "jobId", T);
    let console_name = cloud_job_name(&ns, "console");
    ns.kubectl
        .ok(&["delete", "mmsjob/console", "--timeout=60s"]);
    block_on(sim.admin.clear_requests()).unwrap();

    let adopting = |name: &str, spec_extra: serde_json::Value| {
        let spec = with_members(
            json!({"dataSourceRef": {"name": "hive"}, "srcDbName": "sales",
                   "managementPolicy": "ObserveOnly", "deletionPolicy": "Delete"}),
            spec_extra,
        );
        json!({"apiVersion": API_VERSION, "kind": "MmsJob",
               "metadata": {"name": name,
                            "annotations": {"migration.aliyun-operator.dev/adopt-id": id.to_string()}},
               "spec": spec})
        .to_string()
    };
    // A job that migrates something else than the spec says is refused, naming the difference.
    ns.kubectl
        .apply(&adopting("narrower", json!({"tables": ["orders"]})));
    let refused = wait_obj(
        &ns.kubectl,
        "mmsjob/narrower",
        "the scope difference refused",
        T,
        |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "InvalidSpec"),
    );
    let why = condition(&refused, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains(&format!(
            "MMS job {id} does not migrate what this spec describes"
        )) && why
            .contains(r#"tables is {"orders"} in the spec, {"customers", "orders"} in the job"#),
        "{why}"
    );
    assert!(at(&refused, "status.adoptedId").is_null());

    // The same scope is followed: its outcome and verification, as evidence for a Cutover.
    ns.kubectl.apply(&adopting(
        "observer",
        json!({"tables": ["customers", "orders"]}),
    ));
    ns.kubectl.wait_condition("mmsjob/observer", "Ready", 120);
    let m = ns.kubectl.get_json("mmsjob/observer").unwrap();
    assert_eq!(at(&m, "status.adoptedId"), id);
    assert_eq!(at(&m, "status.jobId"), id);
    assert_eq!(at(&m, "status.jobName"), console_name.as_str());
    assert_eq!(at(&m, "status.phase"), "Succeeded");
    assert!(has_condition(&m, "Verified", "True"), "{}", m["status"]);
    // Deleting it (deletionPolicy Delete) leaves the job alone.
    ns.kubectl.ok(&[
        "delete",
        "mmsjob/observer",
        "mmsjob/narrower",
        "--timeout=60s",
    ]);
    assert_eq!(
        sim_jobs_named(&sim, &console_name).len(),
        1,
        "the job is still there"
    );

    // The scope was read; nothing was changed.
    assert_only_reads(&sim, "GetMmsJob");
}
