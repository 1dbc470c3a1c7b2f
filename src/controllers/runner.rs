//! The wrapper every reconcile runs in: metrics, the `Synced` condition, warning events, and the
//! per-object backoff of the error policy.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::utils::{Backoff, ResetTimerBackoff};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use super::context::Context;
use super::error::{Error, Result};
use super::managed::{Managed, publish, report_dropped_fields, set_not_ready, set_synced};
use super::unknown_fields;

fn key<K: Resource>(obj: &K) -> String {
    obj.meta()
        .uid
        .clone()
        .unwrap_or_else(|| format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

/// Runs `inner` for `obj`, recording the outcome.
pub async fn reconcile<K, F, Fut>(obj: Arc<K>, ctx: Arc<Context>, inner: F) -> Result<Action>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    F: FnOnce(Arc<K>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action>>,
{
    if ctx.behind_own_write(obj.as_ref()) {
        // The watch has not delivered our last status write yet; its event wakes us again.
        tracing::debug!(kind = K::KIND, name = %obj.name_any(), "cache behind our own write; waiting for it");
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let _running = ctx.running();
    let started = Instant::now();
    let span = tracing::info_span!(
        "reconcile",
        kind = K::KIND,
        namespace = %obj.namespace().unwrap_or_default(),
        name = %obj.name_any()
    );
    let result = inner(obj.clone(), ctx.clone()).instrument(span).await;
    if obj.meta().deletion_timestamp.is_none() {
        report_dropped_fields(&ctx, obj.as_ref()).await;
    }
    let took = started.elapsed();
    if let Err(Error::Cloud(e)) = &result
        && let Some(wait) = e.queued_wait()
    {
        // A call waits its turn in the account's budget: come back for it, without counting a
        // failure (nothing was sent).
        ctx.metrics.reconciled(K::KIND, "queued", took);
        tracing::debug!(kind = K::KIND, name = %obj.name_any(), %e, "call queued; requeueing");
        return Ok(ctx.requeue_after(wait));
    }
    match &result {
        Ok(action) => {
            ctx.metrics.reconciled(K::KIND, "ok", took);
            ctx.succeeded(&key(obj.as_ref()));
            if obj.meta().deletion_timestamp.is_none() {
                set_synced(&ctx, obj.as_ref(), Ok(())).await;
            }
            tracing::debug!(kind = K::KIND, name = %obj.name_any(), ?action, ?took, "reconciled");
        }
        Err(error) => {
            ctx.metrics.reconciled(K::KIND, "error", took);
            ctx.metrics.reconcile_failed(K::KIND, error.reason());
            tracing::warn!(
                kind = K::KIND,
                name = %obj.name_any(),
                reason = error.reason(),
                request_id = error.request_id().unwrap_or("-"),
                %error,
                "reconcile failed"
            );
            if obj.meta().deletion_timestamp.is_none() {
                set_synced(&ctx, obj.as_ref(), Err(error)).await;
                if error.awaits_change() {
                    set_not_ready(&ctx, obj.as_ref(), error).await;
                }
            }
            publish(
                &ctx,
                obj.as_ref(),
                EventType::Warning,
                error.reason(),
                &error.to_string(),
            )
            .await;
        }
    }
    result
}

/// The controller of kind `K`, with a lean cache (see [`cached`]). Only changes a reconcile
/// must act on trigger one ([`relevant`]): the operator's own status writes do not.
pub fn controller<K>(ctx: &Context) -> Controller<K>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let (reader, writer) = reflector::store();
    let changes = cached(ctx, writer)
        .applied_objects()
        .predicate_filter(relevant::<K>, PredicateConfig::default());
    Controller::for_stream(changes, reader)
        .with_config(ctx.controller_config())
        .trigger_backoff(watch_backoff())
}

/// What a reconcile acts on, hashed: the spec (its generation), the deletion mark, the
/// finalizers (adding ours is what lets a new object's first real reconcile start), and the
/// operator's annotations (pause, reconcile requests, adoption, dropped fields). Status and
/// every other metadata change leave it alone, so a status write never triggers a reconcile.
pub fn relevant<K: Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = obj.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.finalizers.hash(&mut h);
    if let Some(annotations) = &meta.annotations {
        annotations
            .iter()
            .filter(|(k, _)| k.starts_with(crate::api::common::GROUP))
            .for_each(|kv| kv.hash(&mut h));
    }
    Some(h.finish())
}

/// Backoff of watches after an error: quick (0.25 s doubling to 2 s, plus up to as much
/// jitter) so that objects created just after an API server outage are seen within seconds;
/// the client-go default that kube uses (up to 30 s) is meant for fleets of clients, not one
/// operator with a handful of watches.
pub fn watch_backoff() -> impl Backoff + 'static {
    let exponential = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(2))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    ResetTimerBackoff::new(
        watcher::ExponentialBackoff::from(exponential),
        Duration::from_secs(60),
    )
}

/// Watch events of kind `K` written into `writer`'s cache. The cache keeps objects without
/// `managedFields` and without kubectl's last-applied copy of the spec: reconciles never read
/// them, and they are most of an object's size (about 40% of the memory at 2,500 objects).
/// Lists come in pages of 100 so the start-up list does not decode everything in one response.
pub fn cached<K>(
    ctx: &Context,
    writer: reflector::store::Writer<K>,
) -> impl Stream<Item = std::result::Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    watcher(
        ctx.api::<K>(),
        watcher::Config::default().any_semantic().page_size(100),
    )
    .backoff(watch_backoff())
    .modify(|obj: &mut K| {
        obj.managed_fields_mut().clear();
        let annotations = obj.annotations_mut();
        // What the user applied is kept only as the list of fields the server dropped.
        if let Some(applied) = annotations.remove(unknown_fields::LAST_APPLIED) {
            let dropped = unknown_fields::dropped_in_last_applied::<K>(&applied);
            if !dropped.is_empty() {
                annotations.insert(unknown_fields::DROPPED.to_string(), dropped.join(", "));
            }
        }
    })
    .reflect(writer)
}

/// Changes of objects of kind `K` as metadata only: a kind watched to wake another kind's
/// reconcile needs no more than the name, and the whole objects (status, `managedFields`) of
/// thousands of them would be decoded on every start and every change for nothing.
/// (`Api<PartialObjectMeta<K>>` makes kube ask for `PartialObjectMetadata`.)
pub fn metadata_changes<K>(
    api: Api<PartialObjectMeta<K>>,
) -> impl Stream<Item = std::result::Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Eq + std::hash::Hash,
{
    watcher(
        api,
        watcher::Config::default().any_semantic().page_size(100),
    )
    .backoff(watch_backoff())
    .touched_objects()
}

/// Runs `controller` with `inner` as the reconcile until `shutdown`, dropping the metrics of
/// objects that are gone.
pub async fn drive<K, F, Fut>(
    controller: Controller<K>,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    inner: F,
) where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Action>> + Send + 'static,
{
    controller
        .graceful_shutdown_on(shutdown)
        .run(
            move |obj, ctx| reconcile(obj, ctx, inner.clone()),
            error_policy,
            ctx.clone(),
        )
        .for_each(|result| {
            ctx.forget_deleted(result);
            futures::future::ready(())
        })
        .await;
}

/// How often a resource stalled on its credentials reads them again when Secrets are not
/// watched: a fixed key takes effect within this (plus 20 % jitter).
pub const CREDENTIALS_RECHECK: Duration = Duration::from_secs(60);

/// With `--watch-secrets`, also reconciles an object when one of the Secrets `names` lists for
/// it changes. The watch asks for metadata only (`PartialObjectMetadata`), so Secret values of
/// the namespace (Helm release blobs included) never reach the operator through it.
pub fn watch_secrets<K>(
    controller: Controller<K>,
    ctx: &Context,
    names: fn(&K) -> Vec<String>,
) -> Controller<K>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    if !ctx.settings.watch_secrets {
        // Read by name only (RBAC get): see [`CREDENTIALS_RECHECK`].
        return controller;
    }
    let store = controller.store();
    let secrets: Api<PartialObjectMeta<Secret>> = ctx.api();
    controller.watches_stream(metadata_changes(secrets), move |secret| {
        store
            .state()
            .into_iter()
            .filter(|obj| {
                obj.namespace() == secret.namespace() && names(obj).contains(&secret.name_any())
            })
            .map(|obj| ObjectRef::from_obj(obj.as_ref()))
            .collect::<Vec<_>>()
    })
}

/// Requeue after an error: exponential backoff with jitter per object. An error only a change
/// can fix waits for that change (the spec, a Secret it names, or a reconcile request): a bad
/// spec never polls, let alone hot-loops.
pub fn error_policy<K: Managed>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    let failures = ctx.failed(&key(obj.as_ref()));
    let jitter = rand::random_range(0.8..1.2);
    if error.awaits_change() && obj.meta().deletion_timestamp.is_none() {
        if matches!(error, Error::Credentials(_)) && !ctx.settings.watch_secrets {
            // No watch tells us when the Secret is fixed: look again now and then (one GET).
            return Action::requeue(CREDENTIALS_RECHECK.mul_f64(jitter));
        }
        return Action::await_change();
    }
    Action::requeue(backoff_delay(
        failures,
        error.is_terminal(),
        error.is_throttling(),
        jitter,
    ))
}

/// The delay before retry number `failures` (1-based).
pub fn backoff_delay(failures: u32, terminal: bool, throttled: bool, jitter: f64) -> Duration {
    if terminal {
        return Duration::from_secs(300).mul_f64(jitter);
    }
    let exp = failures.saturating_sub(1).min(16);
    let base = Duration::from_secs(1).saturating_mul(1 << exp);
    let floor = if throttled {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(1)
    };
    base.clamp(floor, Duration::from_secs(300)).mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_back_off_exponentially_up_to_five_minutes() {
        let d: Vec<u64> = (1..=12)
            .map(|n| backoff_delay(n, false, false, 1.0).as_secs())
            .collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }

    #[test]
    fn throttling_waits_at_least_ten_seconds() {
        assert_eq!(backoff_delay(1, false, true, 1.0), Duration::from_secs(10));
        assert_eq!(backoff_delay(6, false, true, 1.0), Duration::from_secs(32));
    }

    #[test]
    fn terminal_errors_retry_slowly_regardless_of_count() {
        assert_eq!(backoff_delay(1, true, false, 1.0), Duration::from_secs(300));
        assert_eq!(
            backoff_delay(40, true, false, 1.0),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn jitter_spreads_the_delay() {
        assert_eq!(
            backoff_delay(3, false, false, 0.8),
            Duration::from_millis(3200)
        );
        assert_eq!(
            backoff_delay(3, false, false, 1.2),
            Duration::from_millis(4800)
        );
    }
}
