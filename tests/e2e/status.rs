//! Status that tells the truth (issue: status for Argo CD, kubectl and Prometheus): a paused
//! object observes its generation and says Paused; a Secret only a person can restore stalls
//! every kind alike; Synced follows the generation it describes.

use std::time::Duration;

use serde_json::json;

use crate::support::cutover::{apply_cutover, phase, switch_dsn, wait_phase};
use crate::support::*;

const T: Duration = Duration::from_secs(120);

fn condition_is(o: &serde_json::Value, type_: &str, status: &str, reason: &str) -> bool {
    condition(o, type_).is_some_and(|c| c["status"] == status && c["reason"] == reason)
}

/// The DataSource and the DtsMigration of a namespace without Secrets stall alike; restoring
/// the Secret clears Stalled. Returns how long the restored Secret took to take effect.
fn missing_secret_stalls_then_recovers(watch_secrets: bool) -> Duration {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "status-secret");
    let sim = Sim::start(&[]);
    // No Secret at all: the DataSource's cloud credentials and the DtsMigration's are missing.
    let extra: &[&str] = if watch_secrets {
        &["--watch-secrets"]
    } else {
        &[]
    };
    let _op = Operator::start(cluster, &ns.name, &sim, extra);
    ns.kubectl.apply(
        &json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "DataSource",
                "metadata": {"name": "hive"},
                "spec": {"region": "cn-hangzhou", "expectedType": "Hive", "name": "hive-prod"}})
        .to_string(),
    );
    apply_dts_migration(&ns, "orders", json!({"objects": [{"name": "shop"}]}));
    for resource in ["datasource/hive", "dtsmigration/orders"] {
        let o = wait_obj(&ns.kubectl, resource, "Stalled=True", T, |o| {
            condition_is(o, "Stalled", "True", "CredentialsUnavailable")
        });
        let stalled = condition(&o, "Stalled").unwrap();
        assert!(
            stalled["message"]
                .as_str()
                .is_some_and(|m| m.contains("alibaba-cloud-credentials") || m.contains("Secret")),
            "{resource}: the message names what to restore: {stalled}"
        );
        assert_eq!(
            at(&o, "status.observedGeneration"),
            at(&o, "metadata.generation"),
            "{resource}"
        );
        let ready = condition(&o, "Ready").unwrap();
        let says_when = if watch_secrets {
            "Secret it names changes"
        } else {
            "read again every 60s"
        };
        assert!(
            ready["message"]
                .as_str()
                .is_some_and(|m| m.contains(says_when)),
            "{resource}: Ready says when the credentials are looked at again: {ready}"
        );
    }
    // Restoring the Secret clears Stalled: at once with the watch, within the recheck without.
    let restored = std::time::Instant::now();
    cloud_secret(&ns);
    wait_obj(
        &ns.kubectl,
        "datasource/hive",
        "Stalled gone and Ready",
        Duration::from_secs(150),
        |o| condition(o, "Stalled").is_none() && has_condition(o, "Ready", "True"),
    );
    let took = restored.elapsed();
    eprintln!(
        "figures: watch_secrets={watch_secrets}: a restored Secret took effect in {took:.1?}"
    );
    took
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_missing_credentials_secret_stalls_every_kind_with_the_reason() {
    // The default: Secrets read by name only (RBAC get), stalled credentials checked every 60 s.
    let took = missing_secret_stalls_then_recovers(false);
    assert!(took <= Duration::from_secs(80), "took {took:?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn with_watch_secrets_a_restored_secret_takes_effect_at_once() {
    // The opt-in: list/watch on Secrets, as the chart grants with watchSecrets=true.
    Kubectl::admin(cluster()).apply(
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": "amo-e2e-watch-secrets"},
             "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "amo-e2e-watch-secrets"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": "amo-e2e-watch-secrets"},
             "subjects": [{"kind": "ServiceAccount", "name": "aliyun-migration-operator",
                           "namespace": "amo-system"}]}
        ]})
        .to_string(),
    );
    let took = missing_secret_stalls_then_recovers(true);
    assert!(took <= Duration::from_secs(15), "took {took:?}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn paused_objects_observe_their_generation_and_a_cutover_resumes_where_it_stopped() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "status-paused");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);

    // Created paused: observed, phase Paused, Ready Unknown (Paused).
    ns.kubectl.apply(
        &json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "MmsJob",
                "metadata": {"name": "history",
                             "annotations": {"migration.aliyun-operator.dev/paused": "true"}},
                "spec": {"dataSourceRef": {"name": "hive"}, "srcDbName": "sales"}})
        .to_string(),
    );
    let job = wait_obj(
        &ns.kubectl,
        "mmsjob/history",
        "observed while paused",
        T,
        |o| at(o, "status.observedGeneration") == at(o, "metadata.generation"),
    );
    assert_eq!(at(&job, "status.phase"), "Paused");
    assert!(condition_is(&job, "Ready", "Unknown", "Paused"), "{job}");

    // A Cutover gating on a migration that does not exist yet, then paused by annotation.
    let switch = switch_dsn();
    apply_cutover(&ns, "c", json!({"switch": switch}));
    let gating = wait_phase(&ns, "c", "Gating", T);
    assert_eq!(phase(&gating), "Gating");
    ns.kubectl.ok(&[
        "annotate",
        "cutover/c",
        "migration.aliyun-operator.dev/paused=true",
    ]);
    let paused = wait_phase(&ns, "c", "Paused", T);
    assert_eq!(at(&paused, "status.pausedFrom"), "Gating");
    assert!(
        condition_is(&paused, "Ready", "Unknown", "Paused"),
        "{paused}"
    );
    // An edit while paused is observed all the same.
    apply_cutover(
        &ns,
        "c",
        json!({"switch": switch, "progressDeadlineSeconds": 7200}),
    );
    wait_obj(
        &ns.kubectl,
        "cutover/c",
        "new generation observed",
        T,
        |o| {
            at(o, "metadata.generation").as_i64() == Some(2)
                && at(o, "status.observedGeneration").as_i64() == Some(2)
        },
    );
    ns.kubectl.ok(&[
        "annotate",
        "cutover/c",
        "migration.aliyun-operator.dev/paused-",
    ]);
    let resumed = wait_phase(&ns, "c", "Gating", T);
    assert!(
        at(&resumed, "status.pausedFrom").is_null(),
        "pausedFrom cleared: {resumed}"
    );
    // Synced describes the generation it was written for.
    let synced = wait_obj(&ns.kubectl, "cutover/c", "Synced at generation 2", T, |o| {
        condition(o, "Synced").is_some_and(|c| c["observedGeneration"].as_i64() == Some(2))
    });
    assert!(has_condition(&synced, "Synced", "True"), "{synced}");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn editing_a_data_source_never_makes_a_status_write_the_server_refuses() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "status-schema");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    ns.kubectl.apply(
        &json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "DataSource",
                "metadata": {"name": "hive"},
                "spec": {"region": "cn-hangzhou", "expectedType": "Hive", "name": "hive-prod",
                         "scan": {"onCreate": true}}})
        .to_string(),
    );
    for job in ["a", "b"] {
        ns.kubectl.apply(
            &json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "MmsJob",
                    "metadata": {"name": job},
                    "spec": {"dataSourceRef": {"name": "hive"}, "srcDbName": "sales",
                             "tables": ["orders"]}})
            .to_string(),
        );
    }
    ns.kubectl.wait_condition("datasource/hive", "Ready", 120);
    for job in ["a", "b"] {
        wait_obj(&ns.kubectl, &format!("mmsjob/{job}"), "a job id", T, |o| {
            at(o, "status.jobId").is_i64()
        });
    }
    // The edit that used to make every dependent MmsJob's status write fail with 422.
    ns.kubectl.ok(&[
        "patch",
        "datasource/hive",
        "--type=merge",
        "-p",
        &json!({"spec": {"scan": {"intervalSeconds": 3600}}}).to_string(),
    ]);
    wait_obj(
        &ns.kubectl,
        "datasource/hive",
        "new generation observed",
        T,
        |o| at(o, "status.observedGeneration") == at(o, "metadata.generation"),
    );
    std::thread::sleep(Duration::from_secs(10));
    for job in ["a", "b"] {
        let o = ns.kubectl.get_json(&format!("mmsjob/{job}")).unwrap();
        assert!(
            !condition(&o, "Synced").is_some_and(|c| c["status"] == "False"),
            "{job}: {o}"
        );
    }
    // Only warnings and errors: a bare "422" also turns up in timestamps and request ids.
    let log = op.proc.log_text();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    for refused in ["422", "Unprocessable", "Invalid"] {
        assert!(
            !complaints.iter().any(|l| l.contains(refused)),
            "a status write was refused ({refused}):\n{}",
            complaints.join("\n")
        );
    }
}
