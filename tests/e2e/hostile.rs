//! The hostile set: bad inputs of every kind, present together. Each one the API server
//! accepts ends with `Ready=False` and a reason and message a user can act on; none of them
//! loops; and the operator's cost while they sit there is measured (reconciles, cloud calls
//! and CPU per minute, at the production poll cadence).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// Ready reasons that describe progress, not what is wrong.
const PROGRESS: &[&str] = &[
    "Configuring",
    "Creating",
    "Starting",
    "Running",
    "Prechecking",
];

fn secret_ref(name: &str) -> Value {
    json!({"secretRef": {"name": name}})
}

fn dts(name: &str, extra: Value) -> Value {
    let mut spec = json!({
        "region": "cn-hangzhou",
        "source": {"instanceType": "PolarDB", "instanceId": "pc-bp1simdemo0polardb",
                   "database": "shop", "credentialsSecretRef": {"name": "polardb"}},
        "destination": {"instanceType": "MaxCompute", "database": "sales_dw",
                        "credentialsSecretRef": {"name": "maxcompute"}},
        "migrationTypes": ["Schema", "Full", "Incremental"],
        "objects": [{"name": "shop"}],
    });
    merge(&mut spec, extra);
    object("DtsMigration", name, spec)
}

/// JSON merge patch semantics: objects merge, `null` removes a member.
fn merge(into: &mut Value, extra: Value) {
    match (into, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(&k);
                } else {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn ds(name: &str, spec: Value) -> Value {
    let mut full = json!({"region": "cn-hangzhou"});
    merge(&mut full, spec);
    object("DataSource", name, full)
}

fn job(name: &str, spec: Value) -> Value {
    let mut full = json!({"dataSourceRef": {"name": "hive"}, "srcDbName": "sales"});
    merge(&mut full, spec);
    object("MmsJob", name, full)
}

/// Bad inputs the API server accepts: the operator must explain each one.
fn accepted() -> Vec<Value> {
    vec![
        ds(
            "ds-wrong-secret",
            json!({"name": "hive-prod", "credentials": secret_ref("wrong-secret")}),
        ),
        ds(
            "ds-unknown-key",
            json!({"name": "hive-prod", "credentials": secret_ref("unknown-key")}),
        ),
        ds(
            "ds-no-secret",
            json!({"name": "hive-prod", "credentials": secret_ref("does-not-exist")}),
        ),
        ds(
            "ds-missing-key",
            json!({"name": "hive-prod", "credentials": secret_ref("half-secret")}),
        ),
        ds("ds-name-not-found", json!({"name": "no-such-source"})),
        ds("ds-ambiguous", json!({"name": "bq-analytics"})),
        ds("ds-id-not-found", json!({"sourceId": 999999})),
        ds(
            "ds-wrong-type",
            json!({"name": "hive-prod", "expectedType": "BigQuery"}),
        ),
        ds(
            "ds-rrsa",
            json!({"name": "hive-prod", "credentials": {"source": "RRSA"}}),
        ),
        ds(
            "ds-environment",
            json!({"name": "hive-prod", "credentials": {"source": "Environment"}}),
        ),
        ds(
            "ds-unknown-role",
            json!({"name": "hive-prod",
            "credentials": {"roleArn": "acs:ram::5000000000000001:role/no-such-role"}}),
        ),
        job(
            "job-no-source",
            json!({"dataSourceRef": {"name": "no-such-datasource"}}),
        ),
        job(
            "job-broken-source",
            json!({"dataSourceRef": {"name": "ds-wrong-secret"}}),
        ),
        job("job-unknown-db", json!({"srcDbName": "no_such_db"})),
        job("job-unknown-table", json!({"tables": ["no_such_table"]})),
        job(
            "job-bad-filter",
            json!({"tables": ["order_items"],
            "partitionFilters": {"order_items": "ds >>> 'x'"}}),
        ),
        dts(
            "dts-wrong-secret",
            json!({"credentials": secret_ref("wrong-secret")}),
        ),
        dts(
            "dts-no-secret",
            json!({"credentials": secret_ref("does-not-exist")}),
        ),
        dts(
            "dts-no-endpoint-secret",
            json!({"source": {"credentialsSecretRef": {"name": "nope"}}}),
        ),
        dts(
            "dts-endpoint-missing-key",
            json!({"source": {"credentialsSecretRef": {"name": "half-secret"}}}),
        ),
        dts(
            "dts-maxcompute-no-account",
            json!({"destination": {"credentialsSecretRef": null}}),
        ),
        dts("dts-rrsa", json!({"credentials": {"source": "RRSA"}})),
        dts(
            "dts-unknown-role",
            json!({"credentials":
            {"roleArn": "acs:ram::5000000000000001:role/no-such-role"}}),
        ),
        dts(
            "dts-wrong-reserve-value",
            json!({"reserve": {"targetTableMode": "9"}}),
        ),
        job("job-wrong-partition-id", json!({"partitions": [987654321]})),
    ]
}

/// Bad inputs the API server refuses (schema and CEL rules).
fn refused() -> Vec<Value> {
    vec![
        ds("ds-no-name", json!({})),
        ds(
            "ds-bad-region",
            json!({"region": "CN_HANGZHOU", "name": "x"}),
        ),
        job(
            "job-tables-and-whitelist",
            json!({"tables": ["a"], "tableWhiteList": ["b"]}),
        ),
        job(
            "job-does-nothing",
            json!({"enableSchemaMigration": false, "enableDataMigration": false}),
        ),
        job(
            "job-verify-without-data",
            json!({"enableDataMigration": false, "enableVerification": true}),
        ),
        job(
            "job-partitions-and-tables",
            json!({"partitions": [1], "tables": ["a"]}),
        ),
        dts(
            "dts-legacy-maxcompute",
            json!({"apiGeneration": "MigrationJob"}),
        ),
        dts("dts-no-objects", json!({"objects": []})),
        dts("dts-bad-type", json!({"migrationTypes": ["Everything"]})),
        dts(
            "dts-huge-target-name",
            json!({"objects": [{"name": "shop",
            "tables": [{"name": "orders", "targetName": "t".repeat(200_000)}]}]}),
        ),
        dts("dts-long-job-name", json!({"jobName": "n".repeat(33)})),
    ]
}

fn metric_sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

fn secrets(ns: &Namespace) {
    dts_secrets(ns, "Hostile-DB-Passw0rd");
    let k = &ns.kubectl;
    k.ok(&[
        "create",
        "secret",
        "generic",
        "wrong-secret",
        &format!("--from-literal=accessKeyId={SIM_ACCESS_KEY_ID}"),
        "--from-literal=accessKeySecret=not-the-right-secret",
    ]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "unknown-key",
        "--from-literal=accessKeyId=LTAI5tNoSuchKey000000",
        "--from-literal=accessKeySecret=whatever-secret-value",
    ]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "half-secret",
        &format!("--from-literal=accessKeyId={SIM_ACCESS_KEY_ID}"),
        "--from-literal=username=someone",
    ]);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn every_bad_input_is_explained_and_none_loops() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "hostile");
    let sim = Sim::start(&[]);
    secrets(&ns);
    let op = Operator::start(cluster, &ns.name, &sim, &["--poll-scale", "1"]);
    ready_hive_source(&ns);

    let (mut refused_count, mut let_through) = (0, Vec::new());
    for obj in refused() {
        let out = ns
            .kubectl
            .run_with_stdin(&["apply", "-f", "-"], Some(&obj.to_string()));
        if out.status.success() {
            let_through.push(obj["metadata"]["name"].to_string());
        } else {
            refused_count += 1;
        }
    }
    let accepted = accepted();
    for obj in &accepted {
        ns.kubectl.apply(&obj.to_string());
    }

    // Every accepted one explains itself within 90 s.
    let deadline = Instant::now() + Duration::from_secs(90);
    let resource = |o: &Value| {
        format!(
            "{}/{}",
            o["kind"].as_str().unwrap().to_lowercase(),
            o["metadata"]["name"].as_str().unwrap()
        )
    };
    let mut unexplained = Vec::new();
    loop {
        unexplained.clear();
        for obj in &accepted {
            let name = resource(obj);
            let live = ns.kubectl.get_json(&name).unwrap_or_default();
            let ready = condition(&live, "Ready");
            let explained = ready.is_some_and(|c| {
                c["status"] == "False"
                    && c["reason"]
                        .as_str()
                        .is_some_and(|r| !r.is_empty() && !PROGRESS.contains(&r))
                    && c["message"].as_str().is_some_and(|m| m.len() > 20)
            });
            if !explained {
                unexplained.push(format!("{name}: {}", ready.cloned().unwrap_or_default()));
            }
        }
        if unexplained.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }

    // Then a quiet minute is measured.
    std::thread::sleep(Duration::from_secs(20));
    let before = op.http_get("/metrics").1;
    let cpu_before = cpu_seconds(op.proc.pid());
    let calls_before = block_on(sim.admin.requests(0)).unwrap().len();
    std::thread::sleep(Duration::from_secs(60));
    let after = op.http_get("/metrics").1;
    let reconciles =
        metric_sum(&after, "amo_reconcile_total") - metric_sum(&before, "amo_reconcile_total");
    let cloud_calls = block_on(sim.admin.requests(0)).unwrap().len() - calls_before;
    let cpu = cpu_seconds(op.proc.pid()) - cpu_before;
    eprintln!(
        "figures: hostile set: {} accepted, {refused_count} refused by the API server; per minute: {reconciles} reconciles, {cloud_calls} cloud calls, {cpu:.2} CPU-s",
        accepted.len()
    );
    for obj in &accepted {
        let live = ns.kubectl.get_json(&resource(obj)).unwrap_or_default();
        if let Some(c) = condition(&live, "Ready") {
            eprintln!("  {}: {} — {}", resource(obj), c["reason"], c["message"]);
        }
    }
    assert!(
        let_through.is_empty(),
        "the API server accepted {let_through:?}"
    );
    assert!(
        unexplained.is_empty(),
        "without an actionable Ready=False:\n{}",
        unexplained.join("\n")
    );
    assert!(reconciles <= 60.0, "{reconciles} reconciles in a minute");
    assert!(cloud_calls <= 30, "{cloud_calls} cloud calls in a minute");
}
