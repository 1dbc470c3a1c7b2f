//! What every reconcile gets: the Kubernetes client, the cloud client, the event recorder, the
//! metrics and the operator's settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::Api;
use kube::runtime::controller;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use super::informer::dts::{Dts, DtsInformer};
use super::informer::mms::{Mms, MmsInformer};
use super::managed::Managed;

use crate::aliyun::{Cloud, Product, RateLimits};
use crate::metrics::Metrics;

/// Operator-wide settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Multiplies every poll interval (e.g. 0.1 against a time-scaled simulator).
    pub poll_scale: f64,
    /// The namespace watched, or None for all.
    pub namespace: Option<String>,
    /// Reconciles running at once per kind.
    pub concurrency: u16,
    /// The operator's own namespace: where it keeps the credentials for deleting cloud objects
    /// (see `cleanup_credentials`).
    pub operator_namespace: String,
    /// Calls per second per account and region (the `--*-calls-per-second` flags).
    pub budget: RateLimits,
    /// Watch the Secrets resources name (`--watch-secrets`); else read them by name only.
    pub watch_secrets: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_scale: 1.0,
            namespace: None,
            concurrency: 32,
            operator_namespace: "amo-system".to_string(),
            budget: RateLimits::default(),
            watch_secrets: false,
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub cloud: Cloud,
    pub recorder: super::events::Events,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Batched reads of MMS jobs, per account and region.
    pub mms_informer: MmsInformer,
    /// Batched reads of DTS tasks, per account and region.
    pub dts_informer: DtsInformer,
    failures: Mutex<HashMap<String, u32>>,
    /// Per resource UID: which credentials were last kept for deleting its cloud object.
    captured: Mutex<HashMap<String, u64>>,
    /// resourceVersion of the last status this operator wrote, per object.
    written: Mutex<HashMap<(&'static str, String, String), u64>>,
    /// Reconciles running now, and a wake-up for when none is.
    in_flight: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Context {
    pub fn new(
        client: Client,
        cloud: Cloud,
        metrics: Arc<Metrics>,
        settings: Settings,
        instance: String,
    ) -> Self {
        let reporter = Reporter {
            controller: crate::api::common::MANAGER.to_string(),
            instance: Some(instance),
        };
        let scaled = |d: Duration| {
            d.mul_f64(settings.poll_scale)
                .max(Duration::from_millis(200))
        };
        let mms_informer = MmsInformer::new(
            Mms {
                // A created job normally shows up in the next list; only then is its async task
                // read.
                create_grace: scaled(2 * super::mms_job::decide::POLL_CREATING),
                task_refresh_polls: super::informer::mms::TASK_REFRESH_POLLS,
            },
            metrics.clone(),
            cloud.budget_rate(Product::Mms, "ListMmsJobs"),
        );
        let dts_informer = DtsInformer::new(
            Dts {
                schema_changes_every: scaled(super::informer::dts::SCHEMA_CHANGES_EVERY),
            },
            metrics.clone(),
            cloud.budget_rate(Product::Dts, "DescribeDtsJobs"),
        );
        Self {
            recorder: super::events::Events::new(client.clone(), reporter),
            client,
            cloud,
            metrics,
            settings,
            mms_informer,
            dts_informer,
            failures: Mutex::default(),
            captured: Mutex::default(),
            written: Mutex::default(),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
        }
    }

    /// The API of `K` in the watched namespace (or all namespaces).
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        match &self.settings.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }

    /// Controller settings shared by every kind.
    pub fn controller_config(&self) -> controller::Config {
        controller::Config::default().concurrency(self.settings.concurrency)
    }

    /// Lets the background pollers run (a leadership term starts).
    pub fn start_informers(&self) {
        self.mms_informer.start();
        self.dts_informer.start();
    }

    /// Stops the background pollers and keeps them stopped (shutdown, lost leadership).
    pub fn stop_informers(&self) {
        self.mms_informer.stop();
        self.dts_informer.stop();
    }

    /// Drops the per-object metrics of objects the controller reports as deleted.
    pub fn forget_deleted<K: Managed, E, W>(
        &self,
        result: Result<(ObjectRef<K>, controller::Action), controller::Error<E, W>>,
    ) {
        if let Err(controller::Error::ObjectNotFound(obj)) = result {
            let ns = obj.namespace.as_deref().unwrap_or_default();
            self.metrics.forget(K::KIND, ns, &obj.name);
            self.forget_writes(K::KIND, ns, &obj.name);
        }
    }

    /// The operator's poll scale (1.0 in production; the sandbox polls faster).
    pub fn poll_scale(&self) -> f64 {
        self.settings.poll_scale
    }

    /// Requeue once a poll that is `wait` away is due (a little after, so the next reconcile
    /// does not find it a few milliseconds early and requeue again).
    pub fn requeue_after(&self, wait: Duration) -> controller::Action {
        controller::Action::requeue(wait + Duration::from_millis(100))
    }

    /// A poll interval scaled by the operator setting (never below 200 ms).
    pub fn poll(&self, interval: Duration) -> Duration {
        interval
            .mul_f64(self.settings.poll_scale)
            .max(Duration::from_millis(200))
    }

    /// Counts a reconcile as running until the guard drops.
    pub fn running(&self) -> InFlight<'_> {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlight(self)
    }

    /// Resolves once no reconcile is running (at once when none is).
    pub async fn drained(&self) {
        loop {
            let idle = self.idle.notified();
            if self.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Remembers the resourceVersion our status write produced.
    pub fn wrote<K: Managed>(&self, obj: &K) {
        let (Some(rv), Some(name)) = (resource_version(obj), obj.meta().name.clone()) else {
            return;
        };
        let ns = obj.meta().namespace.clone().unwrap_or_default();
        self.written
            .lock()
            .expect("written lock")
            .insert((K::KIND, ns, name), rv);
    }

    /// Whether the cached `obj` is older than the operator's own last status write: a reconcile
    /// woken by something else (an informer, a watched DataSource) before the watch delivered
    /// that write would decide on a status that is no longer there, and could act twice. The
    /// write's own watch event wakes the object again.
    ///
    /// resourceVersions are etcd revisions, which only grow; anything unparsable counts as
    /// current.
    pub fn behind_own_write<K: Managed>(&self, obj: &K) -> bool {
        let Some(name) = obj.meta().name.clone() else {
            return false;
        };
        let ns = obj.meta().namespace.clone().unwrap_or_default();
        let written = self.written.lock().expect("written lock");
        match (written.get(&(K::KIND, ns, name)), resource_version(obj)) {
            (Some(ours), Some(cached)) => cached < *ours,
            _ => false,
        }
    }

    /// Forgets the writes of a deleted object.
    pub fn forget_writes(&self, kind: &'static str, namespace: &str, name: &str) {
        self.written.lock().expect("written lock").remove(&(
            kind,
            namespace.to_string(),
            name.to_string(),
        ));
    }

    /// Counts a failed reconcile of `key`; returns the consecutive failures so far.
    pub fn failed(&self, key: &str) -> u32 {
        let mut map = self.failures.lock().expect("failure map lock");
        let n = map.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    /// Which credentials were last kept for `uid` (a fingerprint), if any.
    pub fn captured(&self, uid: &str) -> Option<u64> {
        self.captured
            .lock()
            .expect("captured map lock")
            .get(uid)
            .copied()
    }

    /// Records (or, with None, forgets) which credentials are kept for `uid`.
    pub fn set_captured(&self, uid: &str, version: Option<u64>) {
        let mut map = self.captured.lock().expect("captured map lock");
        match version {
            Some(v) => map.insert(uid.to_string(), v),
            None => map.remove(uid),
        };
    }

    /// Forgets the failures of `key` after a successful reconcile.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("failure map lock").remove(key);
    }
}

fn resource_version<K: Resource>(obj: &K) -> Option<u64> {
    obj.meta().resource_version.as_deref()?.parse().ok()
}

/// A running reconcile (see [`Context::running`]).
pub struct InFlight<'a>(&'a Context);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self
            .0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.idle.notify_one();
        }
    }
}
