//! Actionable logs: a cloud call that failed once and then succeeded (a throttled attempt
//! answered with HTTP 403, an expected not-found) leaves no error text in the operator's log,
//! not even at debug level; what did fail is logged once, with what to do.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn calls_that_then_succeed_leave_no_error_text_in_the_log() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "logs");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "Logs-DB-Passw0rd");
    // The tests' usual level: debug for the operator.
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    let message = "Request was denied due to user flow control (quota exceeded)";
    for action in ["DescribeDtsJobs", "CreateDtsInstance", "ListMmsDataSources"] {
        let mut fault = aliyun_migration_operator::sim::faults::OneShotFault {
            id: 0,
            action: action.into(),
            kind: aliyun_migration_operator::sim::scenario::FaultKind::Error,
            remaining: 2,
            code: Some("Throttling.User".into()),
            http_status: Some(403),
            message: Some(message.into()),
            delay_ms: None,
            access_key_id: None,
            duration_ms: None,
            until_millis: None,
        };
        block_on(sim.admin.arm_fault(&fault)).unwrap();
        // Three failed attempts of four: the fourth succeeds.
        fault.code = Some("ServiceUnavailable".into());
        fault.http_status = Some(503);
        fault.remaining = 1;
        block_on(sim.admin.arm_fault(&fault)).unwrap();
    }
    ready_hive_source(&ns);
    apply_dts_migration(&ns, "orders", json!({"objects": [{"name": "shop"}]}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    let failed_attempts = block_on(sim.admin.requests(0))
        .unwrap()
        .iter()
        .filter(|r| r.status == 403 || r.status == 503)
        .count();
    assert!(failed_attempts >= 9, "{failed_attempts} failed attempts");
    std::thread::sleep(Duration::from_secs(2));
    let log = op.proc.log_text();
    let noisy: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("403") && l.contains("HTTP") || l.contains(message))
        .collect();
    assert!(
        noisy.is_empty(),
        "{} log lines carry the error text of calls that then succeeded:\n{}",
        noisy.len(),
        noisy[..noisy.len().min(5)].join("\n")
    );
    assert!(
        log.contains("call succeeded after retries"),
        "the retries are still visible"
    );
}
