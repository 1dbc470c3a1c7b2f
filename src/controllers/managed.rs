//! What the reconcilers have in common: reading the object's status, writing it back with
//! server-side apply only when it changed, events on phase changes, and the `Synced` condition
//! that tells whether the last reconcile reached the cloud and the API.

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::context::Context;
use super::error::{Error, Result};
use crate::api::common::{MANAGER, annotations};
use crate::api::conditions::{self, Desired, Status};
use crate::api::{Cutover, CutoverStatus, DataSource, DataSourceStatus};
use crate::api::{DtsMigration, DtsMigrationStatus, MmsJob, MmsJobStatus};

/// Field manager for the `Synced` condition, kept apart from the main status manager so either
/// can be applied without dropping the other's fields.
pub const SYNC_MANAGER: &str = "aliyun-migration-operator-sync";
/// Condition type: whether the last reconcile reached the cloud and the Kubernetes API.
pub const SYNCED: &str = "Synced";

/// A kind this operator reconciles.
pub trait Managed:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + Sync + 'static
{
    type Status: Serialize + PartialEq + Clone + Default + Debug + Send + Sync;
    const KIND: &'static str;
    fn status_ref(&self) -> Option<&Self::Status>;
    fn phase_of(status: &Self::Status) -> Option<String>;
    fn conditions_of(status: &Self::Status) -> &[Condition];
    fn conditions_mut(status: &mut Self::Status) -> &mut Vec<Condition>;
    fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>);
}

macro_rules! managed {
    ($kind:ty, $status:ty, $name:literal) => {
        impl Managed for $kind {
            type Status = $status;
            const KIND: &'static str = $name;
            fn status_ref(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn phase_of(status: &Self::Status) -> Option<String> {
                status.phase.map(|p| format!("{p:?}"))
            }
            fn conditions_of(status: &Self::Status) -> &[Condition] {
                &status.conditions
            }
            fn conditions_mut(status: &mut Self::Status) -> &mut Vec<Condition> {
                &mut status.conditions
            }
            fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>) {
                status.observed_generation = generation;
            }
        }
    };
}

managed!(DataSource, DataSourceStatus, "DataSource");
managed!(MmsJob, MmsJobStatus, "MmsJob");
managed!(DtsMigration, DtsMigrationStatus, "DtsMigration");
managed!(Cutover, CutoverStatus, "Cutover");

/// The namespaced API of the object's kind.
pub fn api_for<K>(ctx: &Context, obj: &K) -> Api<K>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default())
}

/// Writes `status` (server-side apply, our field manager) when it differs from what the object
/// carries; emits an event when the phase changed. Returns whether anything was written.
pub async fn report<K>(ctx: &Context, obj: &K, status: &K::Status) -> Result<bool>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    if let Some(phase) = K::phase_of(status) {
        ctx.metrics.set_phase(K::KIND, &ns, &name, &phase);
    }
    let previous = obj.status_ref();
    if previous.is_some_and(|p| p == status) {
        return Ok(false);
    }
    // Conditions owned by the sync manager are applied separately; leave them out here.
    let mut value = serde_json::to_value(status).map_err(|e| Error::InvalidSpec(e.to_string()))?;
    if let Some(list) = value.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        list.retain(|c| c["type"] != SYNCED);
    }
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": value,
    });
    let written = api_for(ctx, obj)
        .patch_status(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await?;
    ctx.wrote(&written);
    let old_phase = previous.and_then(K::phase_of);
    let new_phase = K::phase_of(status);
    if new_phase.is_some() && old_phase != new_phase {
        let ready = conditions::find(K::conditions_of(status), conditions::READY);
        let note = format!(
            "{} -> {}{}",
            old_phase.as_deref().unwrap_or("(new)"),
            new_phase.as_deref().unwrap_or_default(),
            ready
                .filter(|c| !c.message.is_empty())
                .map(|c| format!(": {}", c.message))
                .unwrap_or_default()
        );
        let warning =
            ready.is_some_and(|c| c.status == "False" && is_failure_phase(new_phase.as_deref()));
        publish(
            ctx,
            obj,
            if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            // The reason names the new phase: events with the same reason are folded into one
            // series (kube's recorder), which would hide every later phase change.
            new_phase.as_deref().unwrap_or("PhaseChanged"),
            &note,
        )
        .await;
    }
    Ok(true)
}

fn is_failure_phase(phase: Option<&str>) -> bool {
    matches!(
        phase,
        Some(
            "Failed"
                | "Invalid"
                | "NotFound"
                | "Ambiguous"
                | "Error"
                | "PrecheckFailed"
                | "Retrying"
                | "Aborted"
                | "RolledBack"
        )
    )
}

/// Sets the `Synced` condition (its own field manager) when it changed.
pub async fn set_synced<K>(ctx: &Context, obj: &K, outcome: Result<(), &Error>)
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let desired = match outcome {
        Ok(()) => Desired::true_(
            SYNCED,
            "Synced",
            "the last reconcile reached the cloud and the Kubernetes API",
        ),
        Err(e) => Desired::new(
            SYNCED,
            Status::False,
            e.reason(),
            format!(
                "{e}{}",
                if e.is_terminal() {
                    ""
                } else {
                    " (retrying with backoff)"
                }
            ),
        ),
    };
    let previous = obj
        .status_ref()
        .map(|s| K::conditions_of(s).to_vec())
        .unwrap_or_default();
    let current = conditions::find(&previous, SYNCED);
    if current.is_some_and(|c| {
        c.status == desired.status.as_str()
            && c.reason == desired.reason
            && c.message == desired.message
    }) {
        return;
    }
    let merged = conditions::merge(
        &previous,
        &[desired],
        obj.meta().generation,
        jiff::Timestamp::now(),
    );
    let synced: Vec<&Condition> = merged.iter().filter(|c| c.type_ == SYNCED).collect();
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": {"conditions": synced},
    });
    let name = obj.name_any();
    match api_for(ctx, obj)
        .patch_status(
            &name,
            &PatchParams::apply(SYNC_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await
    {
        Ok(written) => ctx.wrote(&written),
        Err(e) => {
            tracing::warn!(kind = K::KIND, %name, error = %e, "could not record the Synced condition")
        }
    }
}

/// Publishes an event about `obj`; failures are logged, never fatal to the reconcile.
pub async fn publish<K: Managed>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    publish_action(ctx, obj, type_, reason, "Reconcile", note).await;
}

/// Like [`publish`], for one `action` of several of the same reason (e.g. each step of a
/// switch): the recorder folds events by reason and action, not by note, so each action gets
/// its own event instead of one "(x2)" line.
pub async fn publish_action<K: Managed>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    action: &str,
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(conditions::truncate(note, 1000)),
        // events.k8s.io caps `action` at 128 characters.
        action: conditions::truncate(action, 128),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(kind = K::KIND, name = %obj.name_any(), error = %e, "could not publish event");
    }
}

/// Writes one `Ready` condition (and what `set_phase` changes) over the current status.
/// `observe` records that this generation was evaluated.
async fn report_ready<K>(
    ctx: &Context,
    obj: &K,
    ready: Desired,
    observe: bool,
    set_phase: impl FnOnce(&mut K::Status),
) -> Result<()>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let prev = obj.status_ref().cloned().unwrap_or_default();
    let generation = obj.meta().generation;
    let mut status = prev.clone();
    set_phase(&mut status);
    if observe {
        K::set_observed_generation(&mut status, generation);
    }
    *K::conditions_mut(&mut status) = conditions::merge(
        K::conditions_of(&prev),
        &[ready],
        generation,
        jiff::Timestamp::now(),
    );
    report(ctx, obj, &status).await.map(|_| ())
}

/// Reports that reconciliation is paused by annotation and waits for a change.
pub async fn paused<K>(
    ctx: &Context,
    obj: &K,
    set_phase: impl FnOnce(&mut K::Status),
) -> Result<Action>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let ready = Desired::unknown(
        conditions::READY,
        "Paused",
        "reconciliation is paused by the migration.aliyun-operator.dev/paused annotation",
    );
    report_ready(ctx, obj, ready, false, set_phase).await?;
    Ok(Action::await_change())
}

/// Reports an error the spec or a Secret must fix as `Ready=False` and returns it (the error
/// policy then retries slowly).
pub async fn rejected<K>(
    ctx: &Context,
    obj: &K,
    error: Error,
    set_phase: impl FnOnce(&mut K::Status),
) -> Result<Action>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let ready = Desired::false_(conditions::READY, error.reason(), error.to_string());
    report_ready(ctx, obj, ready, true, set_phase).await?;
    Err(error)
}

/// Evaluates the kind's CEL rules (older apiservers do not): an invalid spec is an error.
pub fn validate<K: Managed + kube::CustomResourceExt>(obj: &K) -> Result<()> {
    crate::api::validation::check_typed(obj)
        .map_err(|errors| Error::InvalidSpec(format!("the spec is invalid: {}", errors.join("; "))))
}

/// Whether the paused annotation is set to "true".
pub fn is_paused<K: Resource>(obj: &K) -> bool {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotations::PAUSED))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The reconcile-requested-at annotation, if any.
pub fn reconcile_requested_at<K: Resource>(obj: &K) -> Option<String> {
    annotation(obj, annotations::RECONCILE_REQUESTED_AT)
}

/// A non-empty annotation value.
pub fn annotation<K: Resource>(obj: &K, key: &str) -> Option<String> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .filter(|v| !v.is_empty())
        .cloned()
}
