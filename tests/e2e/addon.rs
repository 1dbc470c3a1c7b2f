//! Running like a cluster add-on: two replicas with leader election, take-over when the leader
//! dies, graceful shutdown on SIGTERM (lease released), and the metrics and health endpoints.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

fn lease_holder(ns: &Namespace, lease: &str) -> Option<String> {
    ns.kubectl
        .in_namespace("amo-system")
        .get_json(&format!("lease/{lease}"))
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
        .filter(|h| !h.is_empty())
}

fn leader_line(op: &Operator) -> bool {
    op.proc.log_text().contains("became leader")
}

/// A replica standing for the namespace's own Lease (in `amo-system`, 6 s).
fn candidate(cluster: &Cluster, ns: &Namespace, sim: &Sim) -> Operator {
    let lease = lease_name(ns);
    let args = [
        "--leader-elect",
        "--lease-name",
        &lease,
        "--lease-namespace",
        "amo-system",
        "--lease-duration-seconds",
        "6",
    ];
    Operator::start(cluster, &ns.name, sim, &args)
}

fn lease_name(ns: &Namespace) -> String {
    format!("amo-{}", ns.name)
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn two_replicas_elect_one_leader_which_hands_over_on_death_and_on_sigterm() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "addon-le");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let lease = lease_name(&ns);
    let mut a = candidate(cluster, &ns, &sim);
    let mut b = candidate(cluster, &ns, &sim);
    wait_for("a leader", Duration::from_secs(30), || {
        (leader_line(&a) || leader_line(&b)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        leader_line(&a) ^ leader_line(&b),
        "exactly one replica leads"
    );
    let (leader, follower) = if leader_line(&a) {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert_eq!(
        follower.http_get("/readyz").0,
        200,
        "a follower is ready too"
    );
    assert!(leader.http_get("/metrics").1.contains("amo_leader{pod="));
    assert!(lease_holder(&ns, &lease).is_some());

    // Only the leader reconciles.
    ns.kubectl.apply(
        &object(
            "DataSource",
            "hive",
            json!({"region": "cn-hangzhou", "name": "hive-prod"}),
        )
        .to_string(),
    );
    ns.kubectl.wait_condition("datasource/hive", "Ready", 60);
    assert!(
        follower
            .http_get("/metrics")
            .1
            .lines()
            .all(|l| !l.starts_with("amo_reconcile_total")),
        "the follower did not reconcile"
    );

    // The leader dies without a word: the follower takes over within the lease duration.
    let killed = Instant::now();
    leader.kill9();
    wait_for("the follower to take over", Duration::from_secs(20), || {
        leader_line(follower).then_some(())
    });
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(6 + 5), "take-over took {took:?}");
    ns.kubectl.ok(&[
        "annotate",
        "--overwrite",
        "datasource/hive",
        "migration.aliyun-operator.dev/reconcile-requested-at=t1",
    ]);
    wait_obj(
        &ns.kubectl,
        "datasource/hive",
        "the new leader reconciles",
        Duration::from_secs(30),
        |o| at(o, "status.lastHandledReconcileAt") == "t1",
    );

    // SIGTERM: stop taking work, finish, release the lease, exit 0.
    follower.signal(libc::SIGTERM);
    let status = follower
        .wait_exit(Duration::from_secs(15))
        .expect("exits within the grace period");
    assert!(status.success(), "{status:?}");
    let log = follower.proc.log_text();
    assert!(log.contains("released the lease"), "{}", tail(&log, 20));
    wait_for("the lease to be free", Duration::from_secs(10), || {
        lease_holder(&ns, &lease).is_none().then_some(())
    });
}

/// An RFC 3339 time in the Lease's microsecond format, `offset_secs` from now.
fn micro_time(offset_secs: i64) -> String {
    let t = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + offset_secs)
        .expect("a valid time");
    t.strftime("%Y-%m-%dT%H:%M:%S.000000Z").to_string()
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_leader_that_loses_its_lease_stops_at_once_and_stands_again() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "addon-lost");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let lease = lease_name(&ns);
    let op = candidate(cluster, &ns, &sim);
    wait_for("leadership", Duration::from_secs(30), || {
        leader_line(&op).then_some(())
    });
    ns.kubectl.apply(
        &object(
            "DataSource",
            "hive",
            json!({"region": "cn-hangzhou", "name": "hive-prod"}),
        )
        .to_string(),
    );
    ns.kubectl.wait_condition("datasource/hive", "Ready", 60);
    let leases = ns.kubectl.in_namespace("amo-system");
    let take = |holder: &str, renewed: String, secs: u32| {
        leases.ok(&[
            "patch",
            &format!("lease/{lease}"),
            "--type=merge",
            "-p",
            &json!({"spec": {"holderIdentity": holder, "renewTime": renewed,
                             "leaseDurationSeconds": secs}})
            .to_string(),
        ]);
    };

    // Another replica takes the lease (as after a partition): this one stops reconciling at
    // once, and stays up as a candidate rather than idling as a zombie.
    let taken = Instant::now();
    take("intruder", micro_time(0), 3600);
    op.proc
        .wait_for_log("lost leadership", Duration::from_secs(10));
    let took = taken.elapsed();
    assert!(took < Duration::from_secs(6), "stepping down took {took:?}");
    assert!(
        op.http_get("/metrics")
            .1
            .lines()
            .any(|l| l.starts_with("amo_leader{") && l.ends_with(" 0")),
        "the leader gauge drops"
    );
    assert_eq!(op.http_get("/readyz").0, 200, "a candidate stays ready");
    ns.kubectl.ok(&[
        "annotate",
        "--overwrite",
        "datasource/hive",
        "migration.aliyun-operator.dev/reconcile-requested-at=while-not-leader",
    ]);
    std::thread::sleep(Duration::from_secs(4));
    let ds = ns.kubectl.get_json("datasource/hive").expect("datasource");
    assert_ne!(
        at(&ds, "status.lastHandledReconcileAt"),
        "while-not-leader",
        "a replica that lost the lease does not reconcile"
    );

    // The intruder's lease runs out: this replica takes it back and catches up.
    take("intruder", micro_time(-60), 6);
    wait_for("leadership again", Duration::from_secs(30), || {
        (op.proc.log_text().matches("became leader").count() >= 2).then_some(())
    });
    wait_obj(
        &ns.kubectl,
        "datasource/hive",
        "the returning leader reconciles",
        Duration::from_secs(30),
        |o| at(o, "status.lastHandledReconcileAt") == "while-not-leader",
    );
    assert_eq!(
        lease_holder(&ns, &lease)
            .as_deref()
            .map(|h| h != "intruder"),
        Some(true)
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn metrics_and_health_are_served_during_a_run() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "addon-metrics");
    let sim = Sim::start(&[]);
    dts_secrets(&ns, "metrics-db-pass");
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    assert_eq!(op.http_get("/healthz").0, 200);
    assert_eq!(op.http_get("/readyz").0, 200);
    apply_dts_migration(&ns, "orders", json!({"objects": [{"name": "shop"}]}));
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 240);
    std::thread::sleep(Duration::from_secs(2));
    let (code, text) = op.http_get("/metrics");
    assert_eq!(code, 200);
    for needle in [
        r#"amo_reconcile_total{kind="DtsMigration",outcome="ok"}"#,
        r#"amo_reconcile_duration_seconds_bucket"#,
        r#"amo_cloud_calls_total{product="dts",action="DescribeDtsJobs",outcome="ok"}"#,
        r#"amo_cloud_call_duration_seconds_bucket"#,
        &format!(
            r#"amo_resource_phase{{kind="DtsMigration",namespace="{}",name="orders",phase="Replicating"}} 1"#,
            ns.name
        ),
        &format!(
            r#"amo_dts_lag_seconds{{namespace="{}",name="orders"}}"#,
            ns.name
        ),
        &format!(
            r#"amo_resource_progress_ratio{{kind="DtsMigration",namespace="{}",name="orders"}} 1"#,
            ns.name
        ),
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    assert!(!text.contains("metrics-db-pass") && !text.contains(SIM_ACCESS_KEY_SECRET));

    let (_, plain_type, plain) = op.http_get_accept("/metrics", Some("text/plain"));
    assert!(
        plain_type.starts_with("text/plain; version=0.0.4"),
        "{plain_type}"
    );
    assert!(!plain.contains("# EOF"), "{plain}");
    assert!(
        plain.contains("# TYPE amo_reconcile_total counter"),
        "0.0.4 names counters by their samples:\n{plain}"
    );
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (_, om_type, om) = op.http_get_accept("/metrics", Some(prometheus));
    assert!(
        om_type.starts_with("application/openmetrics-text"),
        "{om_type}"
    );
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
}

/// Stand-ins for the Prometheus Operator's CRDs (the real ones are not installable offline):
/// enough for the API server to serve and store ServiceMonitors and PrometheusRules.
const MONITORING_CRDS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor, listKind: ServiceMonitorList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: prometheusrules.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: prometheusrules, singular: prometheusrule, kind: PrometheusRule, listKind: PrometheusRuleList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

const CHART: &str = "charts/aliyun-migration-operator";

fn helm() -> String {
    let out = std::process::Command::new(repo().join("hack/tools.sh"))
        .arg("helm")
        .output()
        .expect("hack/tools.sh helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `helm template RELEASE charts/... -n NS ARGS...`, with helm's state in a temp dir.
fn helm_template(release: &str, ns: &str, args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(helm())
        .current_dir(repo())
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .args(["template", release, CHART, "-n", ns])
        .args(args)
        .output()
        .expect("helm template");
    assert!(
        out.status.success(),
        "helm template {release} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kinds(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .map(str::to_string)
        .collect()
}

/// A kubeconfig for `cluster`'s server that authenticates with `token` only.
fn kubeconfig_with_token(cluster: &Cluster, token: &str, path: &std::path::Path) {
    let admin = Kubectl::admin(cluster);
    let mut config: serde_json::Value =
        serde_json::from_str(&admin.ok(&["config", "view", "--raw", "--minify", "-o", "json"]))
            .expect("kubeconfig JSON");
    config["users"][0]["user"] = json!({ "token": token });
    std::fs::write(path, config.to_string()).expect("write kubeconfig");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn the_chart_applies_server_side_and_its_rbac_alone_runs_an_mms_job() {
    let cluster = cluster();
    let admin = Kubectl::admin(cluster);
    admin.run_with_stdin(
        &["apply", "--server-side", "-f", "-"],
        Some(MONITORING_CRDS),
    );
    for crd in ["servicemonitors", "prometheusrules"] {
        admin.ok(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{crd}.monitoring.coreos.com"),
        ]);
    }
    // The namespaces the ci values name (watched namespace, Cutover targets).
    for name in ["shop", "billing"] {
        let ns = admin.ok(&[
            "create",
            "namespace",
            name,
            "--dry-run=client",
            "-o",
            "json",
        ]);
        admin.run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&ns));
    }
    let monitoring = [
        "--api-versions",
        "monitoring.coreos.com/v1/ServiceMonitor",
        "--api-versions",
        "monitoring.coreos.com/v1/PrometheusRule",
    ];

    // Every values file the chart ships, applied for real, each as its own release.
    let mut files: Vec<_> = std::fs::read_dir(repo().join(CHART).join("ci"))
        .expect("ci values")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut seen = std::collections::BTreeSet::new();
    for file in std::iter::once(None).chain(files.iter().map(Some)) {
        let label = file
            .and_then(|f| f.file_name())
            .map(|n| {
                n.to_string_lossy()
                    .trim_end_matches("-values.yaml")
                    .to_string()
            })
            .unwrap_or_else(|| "default".into());
        // The namespace is also the release name, which prefixes object names of at most 63
        // characters ("<release>-aliyun-migration-operator-metrics"): a short label keeps a
        // release with a long values file name and a 7-digit pid within that.
        let short: String = label.chars().take(10).collect();
        let ns = Namespace::create(cluster, &format!("chart-{short}"));
        let path = file.map(|f| path_str(f));
        let mut args: Vec<&str> = monitoring.to_vec();
        if let Some(p) = &path {
            args.extend(["-f", p]);
        }
        let manifest = helm_template(&ns.name, &ns.name, &args);
        // Every object names its namespace (the release's, or a watched or target one).
        let out = admin.run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&manifest));
        assert!(
            out.status.success(),
            "{label}: the server refused the chart: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen.extend(kinds(&manifest));
    }
    for kind in [
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
        "NetworkPolicy",
        "Deployment",
        "ClusterRole",
        "Role",
    ] {
        assert!(
            seen.contains(kind),
            "no values file rendered a {kind}: {seen:?}"
        );
    }
    // Without the Prometheus Operator's API the chart leaves those objects out (and says so).
    let bare = helm_template(
        "bare",
        "bare",
        &["-f", &format!("{CHART}/ci/monitoring-values.yaml")],
    );
    assert!(
        !kinds(&bare)
            .iter()
            .any(|k| k == "ServiceMonitor" || k == "PrometheusRule"),
        "rendered Prometheus Operator objects for a cluster without them"
    );

    // The operator as the chart's ServiceAccount, with the chart's RBAC and nothing more
    // (namespaced mode, so it reconciles only this test's namespace), through one MmsJob.
    let ns = Namespace::create(cluster, "chart-run");
    let values = tempfile::NamedTempFile::new().expect("values file");
    std::fs::write(
        values.path(),
        format!(
            "watchNamespace: {0}\ncutoverTargets:\n  - namespace: {0}\n    configMaps: [orders-app-db]\n",
            ns.name
        ),
    )
    .expect("write values");
    let manifest = helm_template("amo", &ns.name, &["-f", &path_str(values.path())]);
    let out = admin.run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&manifest));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deployment: serde_json::Value = manifest
        .split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).ok())
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let service_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    let token = ns
        .kubectl
        .ok(&["create", "token", service_account, "--duration=1h"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    kubeconfig_with_token(cluster, token.trim(), &kubeconfig);
    // The Deployment's own arguments, but for the address and the simulator.
    let sim = Sim::start(&[]);
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .filter(|a| !a.starts_with("--metrics-addr") && !a.starts_with("--log-format"))
        .map(str::to_string)
        .collect();
    let mut cmd = std::process::Command::new(BIN);
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("POD_NAME", "amo-e2e-0")
        .env("POD_NAMESPACE", &ns.name)
        .env("RUST_LOG", "info")
        .args(&args)
        .args([
            "--metrics-addr",
            "127.0.0.1:0",
            "--cloud-endpoint",
            &sim.url,
            "--poll-scale",
            "0.1",
        ]);
    let op = Proc::spawn("chart-operator", cmd);
    op.wait_for_log("became leader", Duration::from_secs(60));
    cloud_secret(&ns);
    apply_data_source(&ns, "hive", json!({"name": "hive-prod"}));
    apply_mms_job(&ns, "history", json!({"tables": ["orders"]}));
    let job = wait_obj(
        &ns.kubectl,
        "mmsjob/history",
        "Succeeded and Verified",
        Duration::from_secs(240),
        |o| at(o, "status.phase") == "Succeeded" && has_condition(o, "Verified", "True"),
    );
    assert!(has_condition(&job, "Ready", "True"), "{}", job["status"]);
    let log = op.log_text();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the chart's RBAC was not enough:\n{}",
        tail(&log, 40)
    );
    // Events were recorded under the chart's permissions too.
    let events = ns.kubectl.ok(&["get", "events", "-o", "name"]);
    assert!(!events.trim().is_empty(), "no events recorded");
}
