//! DtsMigration end to end (PolarDB for MySQL → MaxCompute): the real local API server, the
//! simulator and the operator as processes.

use std::time::Duration;

use aliyun_migration_operator::sim::scenario::CheckResult;
use serde_json::{Value, json};

use crate::support::*;

const T: Duration = Duration::from_secs(120);
const DB_PASSWORD: &str = "Pl4nted-DB-Passw0rd";

fn secrets(ns: &Namespace) {
    dts_secrets(ns, DB_PASSWORD);
}

/// Applies the DtsMigration `name` of two tables of `shop` (plus the members of `extra`).
fn migration(ns: &Namespace, name: &str, extra: Value) {
    apply_dts_migration(
        ns,
        name,
        with_members(
            json!({"instanceClass": "medium",
                   "objects": [{"name": "shop", "tables": [{"name": "orders"}, {"name": "order_items"}]}],
                   "lagAlertSeconds": 5}),
            extra,
        ),
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn polardb_to_maxcompute_reaches_incremental_replication_with_lag() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-repl");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    migration(&ns, "orders", json!({}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 180);
    let m = ns.kubectl.get_json("dtsmigration/orders").unwrap();
    assert_eq!(at(&m, "status.phase"), "Replicating");
    assert!(at(&m, "status.lagSeconds").as_f64().is_some());
    assert!(at(&m, "status.lagObservedAt").is_string());
    assert!(!at(&m, "status.lagSamples").as_array().unwrap().is_empty());
    assert!(
        at(&m, "status.dtsInstanceId")
            .as_str()
            .unwrap()
            .starts_with("dts")
    );
    assert_eq!(condition(&m, "PrecheckPassed").unwrap()["status"], "True");
    assert_eq!(at(&m, "status.stages.full.status"), "Finished");
    ns.kubectl
        .wait_condition("dtsmigration/orders", "LagWithinThreshold", 120);
    // The printer column shows the lag.
    let table = ns.kubectl.ok(&["get", "dtsmigration/orders"]);
    assert!(
        table.contains("Replicating") && table.lines().nth(1).is_some_and(|l| l.contains('s')),
        "{table}"
    );
    // The configure call carried the endpoints the sim saw: MaxCompute as ODPS.
    let job = block_on(sim.admin.dts_job(&dts_job_id(&ns, "orders", T))).unwrap();
    assert_eq!(job.status, "Migrating");
    assert_no_leak(
        &ns,
        &[DB_PASSWORD, SIM_ACCESS_KEY_SECRET, SIM_ACCESS_KEY_ID],
        &[&op.proc],
    );
}

/// The DtsMigration `orders`, bought, with cloud time frozen so that its precheck cannot end
/// before a test plants an outcome (set the scale again to go on); its task id.
fn bought_with_time_frozen(ns: &Namespace, sim: &Sim) -> String {
    block_on(sim.admin.set_scale(0.0)).unwrap();
    migration(ns, "orders", json!({}));
    let id = dts_job_id(ns, "orders", T);
    wait_for("the task is bought", T, || {
        block_on(sim.admin.dts_job(&id))
            .ok()
            .filter(|j| j.dts_instance_id.is_some())
            .map(|_| ())
    });
    id
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_precheck_failure_is_reported_item_by_item_and_recovers() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-precheck");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    let id = bought_with_time_frozen(&ns, &sim);
    block_on(sim.admin.set_precheck_item(
        &id,
        "CHECK_SRC_BINLOG",
        CheckResult::Failed,
        Some("binary logging is off: set loose_polar_log_bin to ON"),
    ))
    .unwrap();
    block_on(sim.admin.set_scale(60.0)).unwrap();
    let m = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "PrecheckFailed",
        T,
        |o| at(o, "status.phase") == "PrecheckFailed",
    );
    let items = at(&m, "status.precheck.items")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let binlog = items
        .iter()
        .find(|i| i["name"] == "CHECK_SRC_BINLOG")
        .expect("the failed item is listed");
    assert_eq!(binlog["result"], "Failed");
    assert!(
        binlog["reason"]
            .as_str()
            .unwrap()
            .contains("loose_polar_log_bin")
    );
    assert!(
        condition(&m, "Ready").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("CHECK_SRC_BINLOG")
    );
    assert_eq!(condition(&m, "PrecheckPassed").unwrap()["status"], "False");

    // The user fixes the cause and asks for another precheck.
    block_on(
        sim.admin
            .set_precheck_item(&id, "CHECK_SRC_BINLOG", CheckResult::Success, None),
    )
    .unwrap();
    ns.kubectl.ok(&[
        "patch",
        "dtsmigration/orders",
        "--type=merge",
        "-p",
        &json!({"spec": {"precheckRequestedAt": "binlog-enabled"}}).to_string(),
    ]);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "PrecheckPassed", 120);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 180);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_precheck_warning_blocks_until_the_spec_accepts_it_then_is_skipped_once() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-warning");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    let id = bought_with_time_frozen(&ns, &sim);
    block_on(sim.admin.set_precheck_warning(
        &id,
        "CHECK_DEST_TABLE_EMPTY",
        "the destination table orders_base is not empty",
    ))
    .unwrap();
    block_on(sim.admin.set_scale(60.0)).unwrap();
    let m = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "blocked by the warning",
        T,
        |o| {
            at(o, "status.phase") == "PrecheckFailed"
                && condition(o, "Ready").is_some_and(|c| {
                    c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("spec.precheck.skip"))
                })
        },
    );
    let message = condition(&m, "Ready").unwrap()["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("CHECK_DEST_TABLE_EMPTY: the destination table orders_base is not empty"),
        "{message}"
    );
    let items = at(&m, "status.precheck.items").as_array().cloned().unwrap();
    let warning = items
        .iter()
        .find(|i| i["name"] == "CHECK_DEST_TABLE_EMPTY")
        .expect("the warning is listed");
    assert_eq!(warning["result"], "Warning");
    assert_eq!(warning["canSkip"], true);
    let skips = || {
        block_on(sim.admin.requests_for("SkipPreCheck"))
            .unwrap()
            .len()
    };
    assert_eq!(
        skips(),
        0,
        "nothing is skipped that the spec does not accept"
    );

    ns.kubectl.ok(&[
        "patch",
        "dtsmigration/orders",
        "--type=merge",
        "-p",
        &json!({"spec": {"precheck": {"skip": ["CHECK_DEST_TABLE_EMPTY"]}}}).to_string(),
    ]);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "PrecheckPassed", 180);
    let m = ns.kubectl.get_json("dtsmigration/orders").unwrap();
    assert_eq!(
        at(&m, "status.precheckSkipped"),
        &json!({"items": ["CHECK_DEST_TABLE_EMPTY"], "generation": 2}),
        "{}",
        at(&m, "status")
    );
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 180);
    assert_eq!(skips(), 1, "skipped once");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_console_task_is_observed_and_never_changed() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-observe");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    // "The console": a task made by another DtsMigration, which then goes and leaves it.
    migration(&ns, "console", json!({}));
    ns.kubectl
        .wait_condition("dtsmigration/console", "Replicating", 180);
    let id = dts_job_id(&ns, "console", T);
    ns.kubectl
        .ok(&["delete", "dtsmigration/console", "--timeout=60s"]);
    block_on(sim.admin.clear_requests()).unwrap();

    let observer = |spec_extra: Value| {
        let spec = json!({
            "region": "cn-hangzhou",
            "source": {"instanceType": "PolarDB", "instanceId": "pc-bp1simdemo0polardb", "database": "shop",
                       "credentialsSecretRef": {"name": "polardb"}},
            "destination": {"instanceType": "MaxCompute", "database": "sales_dw",
                            "credentialsSecretRef": {"name": "maxcompute"}},
            "migrationTypes": ["Schema", "Full", "Incremental"],
            "objects": [{"name": "shop", "tables": [{"name": "orders"}, {"name": "order_items"}]}],
            "managementPolicy": "ObserveOnly",
            "deletionPolicy": "Delete",
            "lagAlertSeconds": 5,
            "lagMonitorRule": {"delaySeconds": 30},
        });
        let spec = with_members(spec, spec_extra);
        json!({
            "apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "DtsMigration",
            "metadata": {"name": "observer",
                         "annotations": {"migration.aliyun-operator.dev/adopt-id": id}},
            "spec": spec,
        })
        .to_string()
    };
    // A spec that names other tables than the task migrates is refused, naming both.
    let narrower = observer(json!({"objects": [{"name": "shop", "tables": [{"name": "orders"}]}]}))
        .replace("\"name\":\"observer\"", "\"name\":\"narrower\"");
    ns.kubectl.apply(&narrower);
    let refused = wait_obj(
        &ns.kubectl,
        "dtsmigration/narrower",
        "the object difference refused",
        T,
        |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "InvalidSpec"),
    );
    let why = condition(&refused, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains(&format!(
            "DTS task {id} does not migrate what spec.objects names"
        )) && why.contains("shop tables (source, destination)"),
        "{why}"
    );
    ns.kubectl
        .ok(&["delete", "dtsmigration/narrower", "--timeout=60s"]);

    ns.kubectl.apply(&observer(json!({})));
    ns.kubectl
        .wait_condition("dtsmigration/observer", "LagWithinThreshold", 120);
    let m = ns.kubectl.get_json("dtsmigration/observer").unwrap();
    assert_eq!(at(&m, "status.adoptedId"), id.as_str());
    assert_eq!(at(&m, "status.phase"), "Replicating");
    assert!(
        at(&m, "status.lagSeconds").is_number(),
        "{}",
        at(&m, "status")
    );

    // A change asked for in the spec is not made, and status says so.
    ns.kubectl.apply(&observer(json!({"suspend": true})));
    wait_obj(
        &ns.kubectl,
        "dtsmigration/observer",
        "the suspend refused",
        T,
        |o| {
            condition(o, "Ready").is_some_and(|c| {
                c["message"].as_str().is_some_and(|m| {
                    m.contains("ObserveOnly: the operator does not send SuspendDtsJob")
                })
            })
        },
    );
    // Deleting it (deletionPolicy Delete) leaves the task alone.
    ns.kubectl
        .ok(&["delete", "dtsmigration/observer", "--timeout=60s"]);

    let requests = block_on(sim.admin.requests(0)).unwrap();
    let reads = requests.len();
    let writes: Vec<String> = requests
        .into_iter()
        .filter_map(|r| r.action)
        .filter(|a| !(a.starts_with("Describe") || a.starts_with("List") || a.starts_with("Get")))
        .collect();
    assert!(reads > 0, "the task was read");
    assert!(writes.is_empty(), "ObserveOnly sent {writes:?}");
    let job = block_on(sim.admin.dts_job(&id)).unwrap();
    assert_eq!(job.phase, "Incremental", "still replicating: {job:?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn alert_rules_follow_the_spec() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-alerts");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    migration(
        &ns,
        "orders",
        json!({"monitorRules": {"delaySeconds": 20, "onError": true, "phones": ["13800000000"]}}),
    );
    let id = dts_job_id(&ns, "orders", T);
    let rules_of = |generation: i64| {
        wait_obj(
            &ns.kubectl,
            "dtsmigration/orders",
            "the alert rules set",
            Duration::from_secs(180),
            |o| at(o, "status.monitorRulesGeneration").as_i64() == Some(generation),
        );
        let mut rules = block_on(sim.admin.dts_job(&id)).unwrap().monitor_rules;
        rules.sort();
        rules
    };
    assert_eq!(
        rules_of(1),
        [
            (
                "delay".to_string(),
                "Y".to_string(),
                20,
                "13800000000".to_string()
            ),
            (
                "error".to_string(),
                "Y".to_string(),
                0,
                "13800000000".to_string()
            ),
        ]
    );
    // The spec changes: the lag threshold moves, the error alert and the phones go.
    ns.kubectl.ok(&[
        "patch",
        "dtsmigration/orders",
        "--type=merge",
        "-p",
        &json!({"spec": {"monitorRules": {"delaySeconds": 40, "onError": false, "phones": null}}})
            .to_string(),
    ]);
    assert_eq!(
        rules_of(2),
        [
            ("delay".to_string(), "Y".to_string(), 40, String::new()),
            ("error".to_string(), "N".to_string(), 0, String::new()),
        ]
    );
    let sets = block_on(sim.admin.requests_for("CreateJobMonitorRule"))
        .unwrap()
        .len();
    assert_eq!(sets, 4, "two rules set, then both changed once");
    // A spec edit that leaves the rules as they are reads them and sends nothing.
    ns.kubectl.ok(&[
        "patch",
        "dtsmigration/orders",
        "--type=merge",
        "-p",
        &json!({"spec": {"lagAlertSeconds": 6}}).to_string(),
    ]);
    rules_of(3);
    assert_eq!(
        block_on(sim.admin.requests_for("CreateJobMonitorRule"))
            .unwrap()
            .len(),
        sets
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn suspend_resume_and_a_lag_spike() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-lag");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    migration(&ns, "orders", json!({}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "LagWithinThreshold", 240);
    let id = dts_job_id(&ns, "orders", T);

    block_on(sim.admin.set_lag(&id, 45.0)).unwrap();
    let m = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "lag above threshold",
        T,
        |o| has_condition(o, "LagWithinThreshold", "False"),
    );
    assert!(
        condition(&m, "LagWithinThreshold").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("45s")
    );
    block_on(sim.admin.clear_lag(&id)).unwrap();
    ns.kubectl
        .wait_condition("dtsmigration/orders", "LagWithinThreshold", 120);

    ns.kubectl.ok(&[
        "patch",
        "dtsmigration/orders",
        "--type=merge",
        "-p",
        &json!({"spec": {"suspend": true}}).to_string(),
    ]);
    let m = wait_obj(&ns.kubectl, "dtsmigration/orders", "Suspended", T, |o| {
        at(o, "status.phase") == "Suspended"
    });
    assert!(
        at(&m, "status.warnings")
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("6 hours"))
    );
    assert_eq!(
        block_on(sim.admin.dts_job(&id)).unwrap().status,
        "Suspending"
    );
    ns.kubectl.ok(&[
        "patch",
        "dtsmigration/orders",
        "--type=merge",
        "-p",
        &json!({"spec": {"suspend": false}}).to_string(),
    ]);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 120);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_kill_during_creation_buys_one_instance() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-kill");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let mut op = Operator::start(cluster, &ns.name, &sim, &[]);
    block_on(sim.admin.slow_next("CreateDtsInstance", 1, 2000)).unwrap();
    migration(&ns, "orders", json!({}));
    kill_while_in_flight(&mut op, &sim, "CreateDtsInstance");
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    let jobs = block_on(sim.admin.dts_jobs()).unwrap();
    let bought: Vec<_> = jobs
        .iter()
        .filter(|j| j.dts_instance_id.is_some())
        .collect();
    assert_eq!(bought.len(), 1, "exactly one DTS instance: {jobs:#?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_lost_configure_answer_configures_one_task() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-lost");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    // ConfigureDtsJob takes no idempotency token: DTS commits, the answer never arrives.
    block_on(sim.admin.lose_response_next("ConfigureDtsJob", 1)).unwrap();
    migration(&ns, "orders", json!({}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    let jobs = block_on(sim.admin.dts_jobs()).unwrap();
    assert_eq!(jobs.len(), 1, "exactly one DTS task: {jobs:#?}");
    assert!(jobs[0].dts_instance_id.is_some(), "and it was bought");
    assert_eq!(dts_job_id(&ns, "orders", T), jobs[0].dts_job_id);
    let configures = block_on(sim.admin.requests_for("ConfigureDtsJob")).unwrap();
    assert_eq!(configures.len(), 1, "configured once: {configures:#?}");
    let events = ns
        .kubectl
        .ok(&["get", "events.events.k8s.io", "-o", "yaml"]);
    assert!(events.contains("reason: Adopted"), "{events}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn deletion_policies_release_or_retain_the_instance() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-delete");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    migration(&ns, "gone", json!({"deletionPolicy": "Delete"}));
    migration(&ns, "kept", json!({"deletionPolicy": "Retain"}));
    let gone = dts_job_id(&ns, "gone", T);
    let kept = dts_job_id(&ns, "kept", T);
    for name in ["gone", "kept"] {
        wait_obj(
            &ns.kubectl,
            &format!("dtsmigration/{name}"),
            "bought",
            T,
            |o| at(o, "status.dtsInstanceId").is_string(),
        );
    }
    ns.kubectl.ok(&[
        "delete",
        "dtsmigration/gone",
        "dtsmigration/kept",
        "--timeout=60s",
    ]);
    assert!(
        block_on(sim.admin.dts_job(&gone)).is_err(),
        "Delete releases the instance"
    );
    assert!(
        block_on(sim.admin.dts_job(&kept)).is_ok(),
        "Retain leaves it"
    );
    assert_eq!(block_on(sim.admin.succeeded("DeleteDtsJob")).unwrap(), 1);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn the_legacy_migration_job_generation_serves_rds_targets() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-legacy");
    let sim = Sim::start(&[]);
    secrets(&ns);
    ns.kubectl.ok(&[
        "create",
        "secret",
        "generic",
        "rds",
        "--from-literal=username=writer",
        "--from-literal=password=legacy-rds-pass",
    ]);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    ns.kubectl.apply(
        &object(
            "DtsMigration",
            "legacy",
            json!({"region": "cn-hangzhou", "apiGeneration": "MigrationJob", "instanceClass": "small",
                   "source": {"instanceType": "PolarDB", "instanceId": "pc-bp1simdemo0polardb", "database": "shop",
                              "credentialsSecretRef": {"name": "polardb"}},
                   "destination": {"instanceType": "RDS", "instanceId": "rm-bp1simtarget", "database": "shop",
                                   "credentialsSecretRef": {"name": "rds"}},
                   "migrationTypes": ["Schema", "Full", "Incremental"],
                   "objects": [{"name": "shop", "tables": [{"name": "orders"}]}]}),
        )
        .to_string(),
    );
    ns.kubectl
        .wait_condition("dtsmigration/legacy", "Replicating", 240);
    let created = block_on(sim.admin.requests_for("CreateMigrationJob")).unwrap();
    assert_eq!(created.iter().filter(|r| r.succeeded()).count(), 1);
    assert_eq!(
        block_on(sim.admin.succeeded("ConfigureMigrationJob")).unwrap(),
        1
    );
    assert!(
        block_on(sim.admin.requests_for("CreateDtsInstance"))
            .unwrap()
            .is_empty()
    );
    assert_no_leak(
        &ns,
        &["legacy-rds-pass", DB_PASSWORD, SIM_ACCESS_KEY_SECRET],
        &[&op.proc],
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn retrying_and_failed_tasks_show_the_cloud_error() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-retry");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    migration(&ns, "orders", json!({}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    let id = dts_job_id(&ns, "orders", T);
    block_on(
        sim.admin
            .fail_dts_job(&id, Some("Communications link failure to the source"), true),
    )
    .unwrap();
    let m = wait_obj(&ns.kubectl, "dtsmigration/orders", "Retrying", T, |o| {
        at(o, "status.phase") == "Retrying"
    });
    let message = condition(&m, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("Communications link failure"), "{message}");
    assert!(message.contains("overwrite the destination"), "{message}");
    block_on(sim.admin.recover_dts_job(&id)).unwrap();
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 120);
    block_on(
        sim.admin
            .fail_dts_job(&id, Some("DTS-077 table shop.orders was dropped"), false),
    )
    .unwrap();
    let m = wait_obj(&ns.kubectl, "dtsmigration/orders", "Failed", T, |o| {
        at(o, "status.phase") == "Failed"
    });
    assert!(
        at(&m, "status.errorMessage")
            .as_str()
            .unwrap_or_default()
            .contains("DTS-077")
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn statement_scope_columns_settings_and_schema_changes() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dts-scope");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    // Refused before any call: the DtsJob API cannot leave columns out, only list them.
    apply_dts_migration(
        &ns,
        "excluding",
        json!({"objects": [{"name": "shop", "tables": [{"name": "orders", "excludeColumns": ["note"]}]}]}),
    );
    let bad = wait_obj(
        &ns.kubectl,
        "dtsmigration/excluding",
        "the spec refused",
        T,
        |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "InvalidSpec"),
    );
    let why = condition(&bad, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains("shop.orders: excludeColumns needs apiGeneration MigrationJob"),
        "{why}"
    );

    migration(
        &ns,
        "orders",
        json!({
            "objects": [{"name": "shop", "tables": [
                {"name": "orders", "columns": [{"name": "id"}, {"name": "note", "targetName": "remark"}],
                 "dmlOperations": ["Insert", "Update"], "ddlOperations": ["AlterTable"]},
                {"name": "order_items"}]}],
            "settings": {"retry": {"connectionMinutes": 60, "otherIssuesMinutes": 5},
                         "throttling": {"incremental": {"rowsPerSecond": 2000}},
                         "objectNameCase": "Lower"},
            "reserve": {"maxRetryTime": "7200"},
        }),
    );
    let id = dts_job_id(&ns, "orders", T);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 180);
    // What the task was configured with, as the simulator received it.
    let job = block_on(sim.admin.dts_job(&id)).unwrap();
    let db_list: Value = serde_json::from_str(job.db_list.as_deref().unwrap()).unwrap();
    let orders = &db_list["shop"]["Table"]["orders"];
    assert_eq!(
        (
            &orders["all"],
            &orders["column"],
            &orders["dml_op"],
            &orders["ddl_op"]
        ),
        (
            &json!(false),
            &json!({"id": {"name": "id"}, "note": {"name": "remark"}}),
            &json!("insert,update"),
            &json!("alter table")
        ),
        "{db_list}"
    );
    let reserve: Value = serde_json::from_str(job.reserve.as_deref().unwrap()).unwrap();
    assert_eq!(
        (
            &reserve["maxRetryTime"],
            &reserve["retry.blind.seconds"],
            &reserve["incDynamicConfig"],
            &reserve["dbListCaseChangeMode"],
            &reserve["targetTableMode"]
        ),
        (
            &json!("3600"),
            &json!("300"),
            &json!({"dts.datamove.source.rps.max": 2000}),
            &json!("dest_lower"),
            &json!("0")
        ),
        "the typed settings win over reserve: {reserve}"
    );
    let m = ns.kubectl.get_json("dtsmigration/orders").unwrap();
    assert!(
        at(&m, "status.warnings")
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w
                .as_str()
                .unwrap()
                .contains("spec.reserve.maxRetryTime is ignored")),
        "{}",
        at(&m, "status.warnings")
    );
    // The scoped DDL is read once the incremental stage runs: nothing met yet.
    let read = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "the first read of schema changes",
        T,
        |o| condition(o, "SchemaChangesApplied").is_some(),
    );
    assert_eq!(
        condition(&read, "SchemaChangesApplied").unwrap()["status"],
        "True"
    );
    assert_eq!(at(&read, "status.schemaChanges.total"), 0);
    // A DROP COLUMN on the source does not replicate into MaxCompute: named with its table at
    // the next read.
    block_on(
        sim.admin
            .run_ddl(&id, "shop.orders", "ALTER TABLE orders DROP COLUMN note"),
    )
    .unwrap();
    let failed = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "the failed DDL reported",
        Duration::from_secs(180),
        |o| {
            condition(o, "SchemaChangesApplied")
                .is_some_and(|c| c["reason"] == "SchemaChangeFailed")
        },
    );
    let message = condition(&failed, "SchemaChangesApplied").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("shop.orders: ALTER TABLE orders DROP COLUMN note"),
        "{message}"
    );
    assert_eq!(at(&failed, "status.schemaChanges.failed"), 1);
    assert_eq!(
        at(&failed, "status.phase"),
        "Replicating",
        "a failed DDL is reported, the task goes on"
    );
    let sent = block_on(sim.admin.requests_for("DescribePreCheckStatus")).unwrap();
    assert!(
        sent.len() <= 4,
        "schema changes are read every poll-scaled 10 minutes, not each poll: {} reads",
        sent.len()
    );
}
