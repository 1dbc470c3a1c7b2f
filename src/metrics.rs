//! Prometheus metrics of the operator (`/metrics`).

mod exposition;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub product: String,
    pub action: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub product: String,
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProductLabels {
    pub product: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabels {
    pub product: String,
    pub priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountLabels {
    pub product: String,
    /// Half of the credential fingerprint: tells accounts apart, names none.
    pub account: String,
    pub region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LagLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GateLabels {
    pub namespace: String,
    pub name: String,
    pub gate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PodLabels {
    /// Not `instance`: Prometheus sets that target label on every scraped series, and a
    /// series label of the same name is renamed `exported_instance` or overwritten.
    pub pod: String,
}

/// One lag observation as exported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LagExport {
    pub seconds: f64,
    pub observed_at_unix: f64,
    pub alert_seconds: f64,
}

/// Fills gauges from another part of the process when `/metrics` is read.
pub type Collector = Box<dyn Fn(&Metrics) + Send + Sync>;

/// Every metric family, registered once at start.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<OutcomeLabels, Counter>,
    reconcile_duration: Family<KindLabels, Histogram>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    cloud_calls: Family<CallLabels, Counter>,
    cloud_call_duration: Family<ActionLabels, Histogram>,
    rate_limiter_wait: Family<ProductLabels, Counter<f64, AtomicU64>>,
    calls_queued: Family<PriorityLabels, Counter>,
    budget_waiting: Family<PriorityLabels, Gauge>,
    poll_behind: Family<AccountLabels, Gauge<f64, AtomicU64>>,
    poll_stretch: Family<AccountLabels, Gauge<f64, AtomicU64>>,
    poll_tracked: Family<AccountLabels, Gauge>,
    /// Refreshes gauges that are read from elsewhere (the call budget) just before rendering.
    collectors: Mutex<Vec<Collector>>,
    phase: Family<PhaseLabels, Gauge>,
    progress: Family<ObjectLabels, Gauge<f64, AtomicU64>>,
    dts_lag: Family<LagLabels, Gauge<f64, AtomicU64>>,
    dts_lag_observed: Family<LagLabels, Gauge<f64, AtomicU64>>,
    dts_lag_threshold: Family<LagLabels, Gauge<f64, AtomicU64>>,
    mms_freshness: Family<LagLabels, Gauge<f64, AtomicU64>>,
    mms_data_as_of: Family<LagLabels, Gauge<f64, AtomicU64>>,
    gate: Family<GateLabels, Gauge>,
    leader: Family<PodLabels, Gauge>,
    /// Last phase exported per object, so a phase change removes the old series.
    last_phase: Mutex<HashMap<ObjectLabels, String>>,
    /// Gates exported per cutover, so gates that disappear are removed.
    last_gates: Mutex<HashMap<LagLabels, Vec<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("amo");
        let reconciles = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reconcile",
            "Reconciles by kind and outcome",
            reconciles.clone(),
        );
        let reconcile_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.5, 10))
        });
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration by kind",
            reconcile_duration.clone(),
        );
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Failed reconciles by kind and reason",
            reconcile_errors.clone(),
        );
        let cloud_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "cloud_calls",
            "Alibaba Cloud API calls by product, action and outcome",
            cloud_calls.clone(),
        );
        let cloud_call_duration = Family::<ActionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.5, 10))
        });
        registry.register(
            "cloud_call_duration_seconds",
            "Alibaba Cloud API call latency (all attempts)",
            cloud_call_duration.clone(),
        );
        let rate_limiter_wait = Family::<ProductLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "rate_limiter_wait_seconds",
            "Time spent waiting for the client-side rate limiter",
            rate_limiter_wait.clone(),
        );
        let calls_queued = Family::<PriorityLabels, Counter>::default();
        registry.register(
            "cloud_calls_queued",
            "Calls of reconciles that got no token from the account's budget and were requeued for their turn (not sent)",
            calls_queued.clone(),
        );
        let budget_waiting = Family::<PriorityLabels, Gauge>::default();
        registry.register(
            "cloud_budget_waiting",
            "Callers waiting for a token of the call budget, by product and priority",
            budget_waiting.clone(),
        );
        let poll_behind = Family::<AccountLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "cloud_poll_behind_seconds",
            "How long the most overdue poll of an account and region has been due",
            poll_behind.clone(),
        );
        let poll_stretch = Family::<AccountLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "cloud_poll_stretch_ratio",
            "Factor (1 = nominal) by which poll intervals are stretched to fit the account's budget",
            poll_stretch.clone(),
        );
        let poll_tracked = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "cloud_poll_tracked_objects",
            "Objects the cloud-side informers poll, per account and region (finished ones are not)",
            poll_tracked.clone(),
        );
        let phase = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "resource_phase",
            "1 for the current phase of each resource",
            phase.clone(),
        );
        let progress = Family::<ObjectLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "resource_progress_ratio",
            "Progress of each MmsJob and DtsMigration (0..1)",
            progress.clone(),
        );
        let dts_lag = Family::<LagLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "dts_lag_seconds",
            "Latest DTS replication lag",
            dts_lag.clone(),
        );
        let dts_lag_observed = Family::<LagLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "dts_lag_observed_timestamp_seconds",
            "Unix time at which the newest lag sample arrived; its age is time() minus this",
            dts_lag_observed.clone(),
        );
        let dts_lag_threshold = Family::<LagLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "dts_lag_alert_threshold_seconds",
            "The migration's spec.lagAlertSeconds",
            dts_lag_threshold.clone(),
        );
        let mms_freshness = Family::<LagLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "mms_freshness_seconds",
            "Age of a scheduled MmsJob's data at its last reconcile: now minus the start of its last successful round (an upper bound)",
            mms_freshness.clone(),
        );
        let mms_data_as_of = Family::<LagLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "mms_data_as_of_timestamp_seconds",
            "Unix time after which the last successful round of a scheduled MmsJob started; the live age is time() minus this",
            mms_data_as_of.clone(),
        );
        let gate = Family::<GateLabels, Gauge>::default();
        registry.register(
            "cutover_gate_passed",
            "1 when a cutover gate passes, 0 when it does not",
            gate.clone(),
        );
        let leader = Family::<PodLabels, Gauge>::default();
        registry.register(
            "leader",
            "1 while this replica holds the lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_duration,
            reconcile_errors,
            cloud_calls,
            cloud_call_duration,
            rate_limiter_wait,
            calls_queued,
            budget_waiting,
            poll_behind,
            poll_stretch,
            poll_tracked,
            collectors: Mutex::default(),
            phase,
            progress,
            dts_lag,
            dts_lag_observed,
            dts_lag_threshold,
            mms_freshness,
            mms_data_as_of,
            gate,
            leader,
            last_phase: Mutex::default(),
            last_gates: Mutex::default(),
        }
    }

    /// Runs `collector` before every rendering.
    pub fn add_collector(&self, collector: Collector) {
        self.collectors
            .lock()
            .expect("metrics lock")
            .push(collector);
    }

    /// The text exposition.
    /// OpenMetrics 1.0 text.
    pub fn render(&self) -> String {
        for collect in self.collectors.lock().expect("metrics lock").iter() {
            collect(self);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// The Prometheus text format 0.0.4, for scrapers that do not ask for OpenMetrics.
    pub fn render_text(&self) -> String {
        exposition::openmetrics_to_text(&self.render())
    }

    pub fn reconciled(&self, kind: &str, outcome: &str, took: Duration) {
        self.reconciles
            .get_or_create(&OutcomeLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(took.as_secs_f64());
    }

    pub fn reconcile_failed(&self, kind: &str, reason: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                kind: kind.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn cloud_call(&self, product: &str, action: &str, outcome: &str, latency: Duration) {
        self.cloud_calls
            .get_or_create(&CallLabels {
                product: product.into(),
                action: action.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.cloud_call_duration
            .get_or_create(&ActionLabels {
                product: product.into(),
                action: action.into(),
            })
            .observe(latency.as_secs_f64());
    }

    pub fn rate_limited(&self, product: &str, waited: Duration) {
        self.rate_limiter_wait
            .get_or_create(&ProductLabels {
                product: product.into(),
            })
            .inc_by(waited.as_secs_f64());
    }

    pub fn call_queued(&self, product: &str, priority: &str) {
        self.calls_queued
            .get_or_create(&PriorityLabels {
                product: product.into(),
                priority: priority.into(),
            })
            .inc();
    }

    /// Callers waiting for the budget, by (product, priority); absent pairs read 0.
    pub fn set_budget_waiting<'a>(
        &self,
        waiting: impl IntoIterator<Item = (&'a str, &'a str, usize)>,
    ) {
        self.budget_waiting.clear();
        for (product, priority, n) in waiting {
            self.budget_waiting
                .get_or_create(&PriorityLabels {
                    product: product.into(),
                    priority: priority.into(),
                })
                .set(n as i64);
        }
    }

    /// The state of one account's poller: objects tracked, how far behind, how stretched.
    pub fn set_poll_state(
        &self,
        product: &str,
        account: &str,
        region: &str,
        tracked: usize,
        behind: Duration,
        stretch: f64,
    ) {
        let labels = AccountLabels {
            product: product.into(),
            account: account.into(),
            region: region.into(),
        };
        self.poll_tracked.get_or_create(&labels).set(tracked as i64);
        self.poll_behind
            .get_or_create(&labels)
            .set(behind.as_secs_f64());
        self.poll_stretch.get_or_create(&labels).set(stretch);
    }

    /// Exports the current phase of an object (and drops the series of its previous phase).
    pub fn set_phase(&self, kind: &str, namespace: &str, name: &str, phase: &str) {
        let object = ObjectLabels {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        let mut last = self.last_phase.lock().expect("metrics lock");
        if let Some(old) = last.insert(object.clone(), phase.to_string())
            && old != phase
        {
            self.phase.remove(&phase_labels(&object, &old));
        }
        self.phase
            .get_or_create(&phase_labels(&object, phase))
            .set(1);
    }

    pub fn set_progress(&self, kind: &str, namespace: &str, name: &str, ratio: f64) {
        self.progress
            .get_or_create(&ObjectLabels {
                kind: kind.into(),
                namespace: namespace.into(),
                name: name.into(),
            })
            .set(ratio);
    }

    /// Exports a replicating migration's lag, when it was sampled and its alert threshold;
    /// `None` (not replicating, or no sample yet) removes all three, so no alert fires on a
    /// value from an earlier phase.
    pub fn set_lag(&self, namespace: &str, name: &str, lag: Option<LagExport>) {
        let key = LagLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        match lag {
            Some(lag) => {
                self.dts_lag.get_or_create(&key).set(lag.seconds);
                self.dts_lag_observed
                    .get_or_create(&key)
                    .set(lag.observed_at_unix);
                self.dts_lag_threshold
                    .get_or_create(&key)
                    .set(lag.alert_seconds);
            }
            None => self.forget_lag(&key),
        }
    }

    fn forget_lag(&self, key: &LagLabels) {
        self.dts_lag.remove(key);
        self.dts_lag_observed.remove(key);
        self.dts_lag_threshold.remove(key);
    }

    /// Exports a scheduled MmsJob's freshness: `(age seconds, start of the round as Unix
    /// seconds)`; `None` (no measured round) removes both.
    pub fn set_freshness(&self, namespace: &str, name: &str, freshness: Option<(f64, f64)>) {
        let key = LagLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        match freshness {
            Some((age, as_of)) => {
                self.mms_freshness.get_or_create(&key).set(age);
                self.mms_data_as_of.get_or_create(&key).set(as_of);
            }
            None => {
                self.mms_freshness.remove(&key);
                self.mms_data_as_of.remove(&key);
            }
        }
    }

    /// Exports the gates of one cutover: `(gate name, passed)`.
    pub fn set_gates(&self, namespace: &str, name: &str, gates: &[(String, bool)]) {
        let key = LagLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        let mut last = self.last_gates.lock().expect("metrics lock");
        for old in last.remove(&key).unwrap_or_default() {
            if !gates.iter().any(|(g, _)| *g == old) {
                self.gate.remove(&gate_labels(&key, &old));
            }
        }
        for (gate, passed) in gates {
            self.gate
                .get_or_create(&gate_labels(&key, gate))
                .set(i64::from(*passed));
        }
        last.insert(key, gates.iter().map(|(g, _)| g.clone()).collect());
    }

    /// Removes every per-object series of a deleted object.
    pub fn forget(&self, kind: &str, namespace: &str, name: &str) {
        let object = ObjectLabels {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        if let Some(old) = self
            .last_phase
            .lock()
            .expect("metrics lock")
            .remove(&object)
        {
            self.phase.remove(&phase_labels(&object, &old));
        }
        self.progress.remove(&object);
        let key = LagLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        if kind == "DtsMigration" {
            self.forget_lag(&key);
        }
        if kind == "MmsJob" {
            self.mms_freshness.remove(&key);
            self.mms_data_as_of.remove(&key);
        }
        if kind == "Cutover" {
            for gate in self
                .last_gates
                .lock()
                .expect("metrics lock")
                .remove(&key)
                .unwrap_or_default()
            {
                self.gate.remove(&gate_labels(&key, &gate));
            }
        }
    }

    pub fn set_leader(&self, pod: &str, leader: bool) {
        self.leader
            .get_or_create(&PodLabels { pod: pod.into() })
            .set(i64::from(leader));
    }
}

fn phase_labels(object: &ObjectLabels, phase: &str) -> PhaseLabels {
    PhaseLabels {
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
        phase: phase.to_string(),
    }
}

fn gate_labels(key: &LagLabels, gate: &str) -> GateLabels {
    GateLabels {
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        gate: gate.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metric families the operator registers (`amo_` + each name given to
    /// `registry.register`; empty families are not rendered, so the exposition cannot say).
    fn exported_families() -> std::collections::BTreeSet<String> {
        include_str!("metrics.rs")
            .split("registry.register(")
            .skip(1)
            .filter_map(|call| call.split('"').nth(1))
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
            .map(|name| format!("amo_{name}"))
            .collect()
    }

    /// Every `amo_…` name a rule, dashboard hint or document uses is a series the operator
    /// exports: an alert on a renamed metric never fires and says nothing.
    #[test]
    fn alerts_and_docs_name_only_exported_metrics() {
        let families = exported_families();
        assert!(families.contains("amo_reconcile"), "{families:?}");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in [
            "config/prometheus/prometheus-rule.yaml",
            "charts/aliyun-migration-operator/templates/prometheusrule.yaml",
            "charts/aliyun-migration-operator/templates/service.yaml",
            "charts/aliyun-migration-operator/values.yaml",
            "config/manager/service.yaml",
            "docs/observability.md",
            "docs/install.md",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let mut named = 0;
            for (at, _) in text.match_indices("amo_") {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                // OpenMetrics names a counter's family without `_total`; histograms add
                // `_bucket`, `_sum` and `_count` to theirs.
                let family = ["_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name);
                assert!(
                    families.contains(family) || families.contains(&name),
                    "{file} names {name}, which the operator does not export ({families:?})"
                );
                named += 1;
            }
            assert!(named > 0, "{file} names no metric: drop it from this list");
        }
    }

    #[test]
    fn phase_change_replaces_the_series() {
        let m = Metrics::new();
        m.set_phase("MmsJob", "ns", "a", "Running");
        m.set_phase("MmsJob", "ns", "a", "Succeeded");
        let text = m.render();
        assert!(
            text.contains(
                r#"amo_resource_phase{kind="MmsJob",namespace="ns",name="a",phase="Succeeded"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains(r#"phase="Running""#), "{text}");
        m.forget("MmsJob", "ns", "a");
        assert!(!m.render().contains(r#"name="a""#));
    }

    #[test]
    fn leaving_replication_removes_the_lag_series() {
        let m = Metrics::new();
        let lag = LagExport {
            seconds: 47.0,
            observed_at_unix: 1_700_000_000.0,
            alert_seconds: 5.0,
        };
        m.set_lag("ns", "orders", Some(lag));
        assert!(m.render().contains("amo_dts_lag_seconds{"));
        m.set_lag("ns", "orders", None);
        let text = m.render();
        assert!(!text.contains(r#"name="orders""#), "{text}");
    }

    #[test]
    fn counters_and_histograms_render() {
        let m = Metrics::new();
        m.reconciled("DataSource", "ok", Duration::from_millis(12));
        m.reconcile_failed("DataSource", "CloudThrottled");
        m.cloud_call(
            "Dts",
            "DescribeDtsJobDetail",
            "ok",
            Duration::from_millis(40),
        );
        m.rate_limited("Dts", Duration::from_millis(500));
        m.set_lag(
            "ns",
            "orders",
            Some(LagExport {
                seconds: 3.5,
                observed_at_unix: 1_700_000_000.0,
                alert_seconds: 5.0,
            }),
        );
        m.set_gates(
            "ns",
            "c",
            &[("lag/orders".into(), true), ("backup".into(), false)],
        );
        m.set_gates("ns", "c", &[("lag/orders".into(), true)]);
        m.set_leader("pod-a", true);
        let text = m.render();
        for needle in [
            r#"amo_reconcile_total{kind="DataSource",outcome="ok"} 1"#,
            r#"amo_reconcile_errors_total{kind="DataSource",reason="CloudThrottled"} 1"#,
            r#"amo_cloud_calls_total{product="Dts",action="DescribeDtsJobDetail",outcome="ok"} 1"#,
            "amo_reconcile_duration_seconds_bucket",
            r#"amo_rate_limiter_wait_seconds_total{product="Dts"} 0.5"#,
            r#"amo_dts_lag_seconds{namespace="ns",name="orders"} 3.5"#,
            r#"amo_dts_lag_observed_timestamp_seconds{namespace="ns",name="orders"} 1700000000.0"#,
            r#"amo_dts_lag_alert_threshold_seconds{namespace="ns",name="orders"} 5.0"#,
            r#"amo_cutover_gate_passed{namespace="ns",name="c",gate="lag/orders"} 1"#,
            r#"amo_leader{pod="pod-a"} 1"#,
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(
            !text.contains(r#"gate="backup""#),
            "stale gate kept:\n{text}"
        );
    }
}
