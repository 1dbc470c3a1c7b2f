//! Secrets the cloud echoes back (in error messages, business errors, task logs, precheck
//! texts) never reach the operator's logs, the objects' status, or events, in any encoding.

use std::time::Duration;

use aliyun_migration_operator::sim::scenario::MmsPhase;
use serde_json::json;

use crate::support::*;

/// Characters that differ between the raw, URL-encoded, base64 and JSON-escaped forms.
const DB_PASSWORD: &str = "Pl4nted/DB+Pass\"w0rd=";

/// Arms `echoSecrets` faults of every field kind on the calls the controllers make.
fn arm_echoes(sim: &Sim) {
    let arm = |action: &str, count: u32, status: Option<u16>| {
        block_on(sim.admin.echo_secrets_next(action, count, status, None)).unwrap();
    };
    // Errors the client retries (their text reaches debug logs), business errors in HTTP 200,
    // and free text (task logs, async-task and job errors, precheck reasons, task errors).
    arm("ListMmsDataSources", 2, Some(500));
    arm("GetMmsDataSource", 3, None);
    arm("GetMmsJob", 3, Some(200));
    arm("GetMmsAsyncTask", 3, None);
    arm("ListMmsTaskLogs", 30, None);
    arm("DescribeDtsJobs", 2, Some(503));
    arm("DescribeDtsJobs", 2, Some(200));
    arm("DescribeDtsJobs", 60, None);
    arm("DescribePreCheckStatus", 10, None);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn secrets_echoed_by_the_cloud_reach_no_log_status_or_event() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "echo");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, DB_PASSWORD);
    let op = Operator::start_logging(
        cluster,
        &ns.name,
        &sim,
        &["--log-format", "json"],
        "info,aliyun_migration_operator=debug",
    );
    block_on(
        sim.admin
            .fail_mms_table("hive-prod", "sales", "customers", MmsPhase::Data, Some(1)),
    )
    .unwrap();
    // The DTS configure goes first, so the simulator has seen the database password when
    // the echoes start.
    apply_dts_migration(&ns, "orders", json!({"objects": [{"name": "shop"}]}));
    status_str(
        &ns,
        "dtsmigration/orders",
        "dtsJobId",
        Duration::from_secs(120),
    );
    arm_echoes(&sim);
    ready_hive_source(&ns);
    apply_mms_job(&ns, "history", json!({"tables": ["orders", "customers"]}));
    wait_obj(
        &ns.kubectl,
        "mmsjob/history",
        "a failed task with its log",
        Duration::from_secs(240),
        |o| at(o, "status.phase") == "Failed",
    );
    ns.kubectl.ok(&[
        "patch",
        "mmsjob/history",
        "--type=merge",
        "-p",
        &json!({"spec": {"retryRequestedAt": "echo-retry"}}).to_string(),
    ]);

    // A refusal (HTTP 400) quoting the connection string: the Ready message shows the reason.
    block_on(sim.admin.echo_secrets_next(
        "ConfigureDtsJob",
        1,
        Some(400),
        Some("InvalidParameter"),
    ))
    .unwrap();
    apply_dts_migration(&ns, "refused", json!({"objects": [{"name": "shop"}]}));
    let refusal_shown = wait_until(Duration::from_secs(120), || {
        ns.kubectl
            .get_json("dtsmigration/refused")
            .is_some_and(|o| condition(&o, "Ready").is_some_and(|c| c["reason"] == "CloudRejected"))
    });
    ns.kubectl.ok(&[
        "annotate",
        "dtsmigration/refused",
        "migration.aliyun-operator.dev/reconcile-requested-at=after-echo",
    ]);

    ns.kubectl.wait_condition("mmsjob/history", "Ready", 240);
    for name in ["orders", "refused"] {
        ns.kubectl
            .wait_condition(&format!("dtsmigration/{name}"), "Replicating", 240);
    }
    let echoes = block_on(sim.admin.requests(0))
        .unwrap()
        .iter()
        .filter(|r| r.fault.as_deref() == Some("echo-secrets"))
        .count();
    assert!(echoes >= 20, "only {echoes} echoes were served");
    let found = leaks(&ns, &[DB_PASSWORD, SIM_ACCESS_KEY_SECRET], &[&op.proc]);
    eprintln!(
        "figures: {echoes} answers echoed the secrets; {} occurrences in logs, status or events",
        found.len()
    );
    assert!(
        found.is_empty(),
        "{echoes} echoes; secrets reached:\n{}",
        found.join("\n")
    );
    assert!(refusal_shown, "the refusal never showed as Ready=False");
}
