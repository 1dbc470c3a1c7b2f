//! What every reconcile gets: the Kubernetes client, the cloud client, the event recorder, the
//! metrics and the operator's settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::Api;
use kube::runtime::controller;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use super::managed::Managed;

use crate::aliyun::Cloud;
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_scale: 1.0,
            namespace: None,
            concurrency: 32,
            operator_namespace: "amo-system".to_string(),
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub cloud: Cloud,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    failures: Mutex<HashMap<String, u32>>,
    /// Per resource UID: which credentials were last kept for deleting its cloud object.
    captured: Mutex<HashMap<String, u64>>,
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
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            cloud,
            metrics,
            settings,
            failures: Mutex::default(),
            captured: Mutex::default(),
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

    /// Drops the per-object metrics of objects the controller reports as deleted.
    pub fn forget_deleted<K: Managed, E, W>(
        &self,
        result: Result<(ObjectRef<K>, controller::Action), controller::Error<E, W>>,
    ) {
        if let Err(controller::Error::ObjectNotFound(obj)) = result {
            self.metrics.forget(
                K::KIND,
                obj.namespace.as_deref().unwrap_or_default(),
                &obj.name,
            );
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
