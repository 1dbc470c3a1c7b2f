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
use crate::api::{DataWorksMigration, DataWorksMigrationStatus};
use crate::api::{DtsMigration, DtsMigrationStatus, MmsJob, MmsJobStatus};

/// Field manager for the `Synced` condition, kept apart from the main status manager so either
/// can be applied without dropping the other's fields.
pub const SYNC_MANAGER: &str = "aliyun-migration-operator-sync";
/// Condition type: whether the last reconcile reached the cloud and the Kubernetes API.
pub const SYNCED: &str = "Synced";
/// kstatus's "cannot progress until someone acts": a terminal error, or a transient one that
/// has lasted longer than [`STALL_AFTER`]. Argo CD's health checks show it as Degraded.
pub const STALLED: &str = "Stalled";
/// How long reconciles may fail for a transient reason before the object counts as stalled.
pub const STALL_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// A kind this operator reconciles.
pub trait Managed:
    Resource<DynamicType = ()>
    + kube::CustomResourceExt
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
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
managed!(
    DataWorksMigration,
    DataWorksMigrationStatus,
    "DataWorksMigration"
);

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
    write_status(ctx, obj, status, None).await
}

/// Whether an intent was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Recorded,
    /// Someone (another operator, or this one on a stale copy) changed the object since it was
    /// read: the creating call must not be sent; read the object again.
    Conflict,
}

/// Records `status` — which says that a creating call is about to be sent — only if the object
/// is still the version this reconcile read (optimistic concurrency on `resourceVersion`).
/// Two operators without leader election, or a reconcile working on a stale cache, then
/// cannot both send the call: the second one's write conflicts, and it re-reads instead.
pub async fn report_intent<K>(ctx: &Context, obj: &K, status: &K::Status) -> Result<Intent>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    match write_status(ctx, obj, status, obj.resource_version()).await {
        Ok(_) => Ok(Intent::Recorded),
        Err(Error::Kube(kube::Error::Api(s))) if s.code == 409 => {
            tracing::debug!(kind = K::KIND, name = %obj.name_any(), "changed since read; not sending the creating call");
            Ok(Intent::Conflict)
        }
        Err(e) => Err(e),
    }
}

async fn write_status<K>(
    ctx: &Context,
    obj: &K,
    status: &K::Status,
    expected_version: Option<String>,
) -> Result<bool>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    if let Some(phase) = K::phase_of(status) {
        ctx.metrics.set_phase(K::KIND, &ns, &name, &phase);
    }
    let previous = obj.status_ref();
    if expected_version.is_none() && previous.is_some_and(|p| p == status) {
        return Ok(false);
    }
    // Conditions owned by the sync manager are applied separately; leave them out here.
    let mut value = serde_json::to_value(status).map_err(|e| Error::InvalidSpec(e.to_string()))?;
    if let Some(list) = value.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        list.retain(|c| c["type"] != SYNCED && c["type"] != STALLED);
    }
    let mut patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": value,
    });
    if let Some(version) = expected_version {
        // Server-side apply checks a resourceVersion it is given (409 when it moved on).
        patch["metadata"] = json!({"name": name, "resourceVersion": version});
    }
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
            // The reason names the new phase: warnings with the same reason are folded into
            // one series (see `events`), which would hide every later phase change.
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
                | "PartiallySucceeded"
        )
    )
}

/// Field manager of the `Ready` condition the error policy writes (see [`set_not_ready`]).
pub const ERROR_MANAGER: &str = "aliyun-migration-operator-errors";

/// The `Ready` condition for an error that stops polling: its reason, what it says, and what
/// brings the object back.
pub fn not_ready(error: &Error, watch_secrets: bool) -> Desired {
    let then = if matches!(error, Error::Credentials(_)) && !watch_secrets {
        format!(
            "The credentials are read again every {}s",
            super::runner::CREDENTIALS_RECHECK.as_secs()
        )
    } else {
        "Nothing is retried until the spec or a Secret it names changes (or the migration.aliyun-operator.dev/reconcile-requested-at annotation is set)".to_string()
    };
    Desired::false_(
        conditions::READY,
        error.reason(),
        format!("{error}. {then}"),
    )
}

/// Sets `Ready=False` for an error that stops polling, unless the object says so already. Its
/// own field manager owns the condition only until the next full status write, so it never
/// overwrites what a reconcile recorded before failing (an intent, a cloud id).
pub async fn set_not_ready<K>(ctx: &Context, obj: &K, error: &Error)
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let ready = not_ready(error, ctx.settings.watch_secrets);
    apply_condition(ctx, obj, ERROR_MANAGER, ready).await;
}

/// Condition type: spec fields the API server dropped because the schema does not know them.
pub const SPEC_WARNINGS: &str = "SpecWarnings";
/// Field manager of [`SPEC_WARNINGS`].
pub const SPEC_MANAGER: &str = "aliyun-migration-operator-spec";

/// Reports fields the user wrote that the schema does not know (see
/// [`super::unknown_fields`]): `SpecWarnings=True` and a warning event while there are any,
/// `False` once they are gone.
pub async fn report_dropped_fields<K>(ctx: &Context, obj: &K)
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let had = obj
        .status_ref()
        .and_then(|s| conditions::find(K::conditions_of(s), SPEC_WARNINGS))
        .is_some_and(|c| c.status == "True");
    let desired = match annotation(obj, super::unknown_fields::DROPPED) {
        Some(paths) => Desired::true_(
            SPEC_WARNINGS,
            "UnknownFields",
            format!(
                "the API server dropped {paths}: the schema has no such field, so it has no effect; fix the spelling (kubectl explain {}.spec)",
                K::KIND.to_lowercase()
            ),
        ),
        None if had => Desired::false_(
            SPEC_WARNINGS,
            "NoUnknownFields",
            "every spec field is known",
        ),
        None => return,
    };
    let warn = desired.status == Status::True;
    let note = desired.message.clone();
    if apply_condition(ctx, obj, SPEC_MANAGER, desired).await && warn {
        publish(ctx, obj, EventType::Warning, "UnknownFields", &note).await;
    }
}

/// Applies one condition with `manager` when the object's copy differs; returns whether it
/// wrote.
async fn apply_condition<K>(ctx: &Context, obj: &K, manager: &str, desired: Desired) -> bool
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let previous = obj
        .status_ref()
        .map(|s| K::conditions_of(s).to_vec())
        .unwrap_or_default();
    let current = conditions::find(&previous, desired.type_);
    if current.is_some_and(|c| {
        c.status == desired.status.as_str()
            && c.reason == desired.reason
            && c.message == conditions::truncate(&desired.message, conditions::MAX_MESSAGE)
            && c.observed_generation == obj.meta().generation
    }) {
        return false;
    }
    let type_ = desired.type_;
    let merged = conditions::merge(
        &previous,
        &[desired],
        obj.meta().generation,
        jiff::Timestamp::now(),
    );
    let only: Vec<&Condition> = merged.iter().filter(|c| c.type_ == type_).collect();
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": {"conditions": only},
    });
    let name = obj.name_any();
    if let Err(e) = api_for(ctx, obj)
        .patch_status(
            &name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(patch),
        )
        .await
    {
        tracing::warn!(kind = K::KIND, %name, condition = type_, error = %e, "could not record a condition");
        return false;
    }
    true
}

/// Sets the `Synced` condition, and `Stalled` while it applies (their own field manager), when
/// they changed.
pub async fn set_synced<K>(ctx: &Context, obj: &K, outcome: Result<(), &Error>)
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let previous = obj
        .status_ref()
        .map(|s| K::conditions_of(s).to_vec())
        .unwrap_or_default();
    let desired = sync_conditions(&previous, outcome, jiff::Timestamp::now());
    let generation = obj.meta().generation;
    let unchanged = |type_: &str| {
        let want = desired.iter().find(|d| d.type_ == type_);
        match (conditions::find(&previous, type_), want) {
            (None, None) => true,
            (Some(c), Some(d)) => {
                c.status == d.status.as_str()
                    && c.reason == d.reason
                    && c.message == d.message
                    && c.observed_generation == generation
            }
            _ => false,
        }
    };
    if unchanged(SYNCED) && unchanged(STALLED) {
        return;
    }
    let merged = conditions::merge(&previous, &desired, generation, jiff::Timestamp::now());
    // Only what this manager applies now: a Stalled left out is removed by the apply.
    let owned: Vec<&Condition> = merged
        .iter()
        .filter(|c| desired.iter().any(|d| d.type_ == c.type_))
        .collect();
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": {"conditions": owned},
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

/// `Synced` for the outcome of a reconcile, and `Stalled` when a person must act: at once for
/// an error only a change can fix, after [`STALL_AFTER`] of failures for any other.
pub fn sync_conditions(
    previous: &[Condition],
    outcome: Result<(), &Error>,
    now: jiff::Timestamp,
) -> Vec<Desired> {
    let e = match outcome {
        Ok(()) => {
            return vec![Desired::true_(
                SYNCED,
                "Synced",
                "the last reconcile reached the cloud and the Kubernetes API",
            )];
        }
        Err(e) => e,
    };
    let terminal = e.is_terminal();
    let synced = Desired::new(
        SYNCED,
        Status::False,
        e.reason(),
        format!(
            "{e}{}",
            if terminal {
                ""
            } else {
                " (retrying with backoff)"
            }
        ),
    );
    let failing_since = conditions::find(previous, SYNCED)
        .filter(|c| c.status == "False")
        .map(|c| c.last_transition_time.0);
    let long = failing_since.is_some_and(|since| {
        now.duration_since(since)
            .try_into()
            .is_ok_and(|d: std::time::Duration| d >= STALL_AFTER)
    });
    // At once only for what waiting cannot fix (a spec, a Secret, a refusal by the cloud). A
    // Kubernetes 422 is also a lost JSON-patch `test` (the finalizer's), which clears by itself.
    let stalled = if e.awaits_change() {
        Some(Desired::true_(STALLED, e.reason(), e.to_string()))
    } else if long {
        Some(Desired::true_(
            STALLED,
            e.reason(),
            format!(
                "no reconcile has succeeded for more than {} minutes: {e}",
                STALL_AFTER.as_secs() / 60
            ),
        ))
    } else {
        None
    };
    std::iter::once(synced).chain(stalled).collect()
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
/// switch): warnings are folded by reason and action, not by note (see `events`), so each
/// action gets its own event instead of one "(x2)" line.
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
    match ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        Ok(()) => {}
        // A namespace being deleted refuses new events (403): expected, nothing to act on.
        Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("being terminated") => {
            tracing::debug!(kind = K::KIND, name = %obj.name_any(), "no event: the namespace is being deleted");
        }
        Err(e) => {
            tracing::warn!(kind = K::KIND, name = %obj.name_any(), error = %Error::Kube(e), "could not publish event");
        }
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
    // The paused object did read this generation: Argo CD and kstatus wait for
    // observedGeneration, and a pause must not look like an operator that never came.
    report_ready(ctx, obj, ready, true, set_phase).await?;
    Ok(Action::await_change())
}

/// Reports an error the spec or a Secret must fix as `Ready=False` and returns it (the error
/// policy then waits for a change).
pub async fn rejected<K>(
    ctx: &Context,
    obj: &K,
    error: Error,
    set_phase: impl FnOnce(&mut K::Status),
) -> Result<Action>
where
    K: Managed + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    report_ready(
        ctx,
        obj,
        not_ready(&error, ctx.settings.watch_secrets),
        true,
        set_phase,
    )
    .await?;
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

#[cfg(test)]
mod sync_tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn synced_false_since(seconds: i64) -> Vec<Condition> {
        conditions::merge(
            &[],
            &[Desired::false_(SYNCED, "DependencyNotReady", "x")],
            Some(1),
            at(seconds),
        )
        .into_iter()
        .map(|mut c| {
            c.last_transition_time = Time(at(seconds));
            c
        })
        .collect()
    }

    fn stalled(d: &[Desired]) -> Option<&Desired> {
        d.iter().find(|d| d.type_ == STALLED)
    }

    #[test]
    fn an_error_only_a_person_can_fix_stalls_at_once() {
        let e = Error::Credentials("Secret aliyun-credentials not found".into());
        let d = sync_conditions(&[], Err(&e), at(0));
        let s = stalled(&d).expect("stalled");
        assert_eq!(s.status, Status::True);
        assert_eq!(s.reason, "CredentialsUnavailable");
        assert!(s.message.contains("aliyun-credentials"), "{}", s.message);
    }

    #[test]
    fn a_transient_error_stalls_only_after_the_grace_period() {
        let e = Error::Dependency("the cloud answered 503".into());
        assert!(stalled(&sync_conditions(&[], Err(&e), at(0))).is_none());
        let previous = synced_false_since(0);
        let just_before = STALL_AFTER.as_secs() as i64 - 1;
        assert!(stalled(&sync_conditions(&previous, Err(&e), at(just_before))).is_none());
        let d = sync_conditions(&previous, Err(&e), at(just_before + 1));
        assert!(
            stalled(&d).is_some_and(|s| s.message.contains("more than 10 minutes")),
            "{d:?}"
        );
    }

    #[test]
    fn a_kubernetes_refusal_does_not_stall_at_once() {
        // A 422 is also a finalizer's JSON-patch `test` lost to a concurrent write.
        let e = Error::Kube(kube::Error::Api(Box::new(
            kube::core::Status::failure("the server rejected our request", "Invalid")
                .with_code(422),
        )));
        assert!(stalled(&sync_conditions(&[], Err(&e), at(0))).is_none());
    }

    #[test]
    fn success_clears_stalled() {
        let d = sync_conditions(&synced_false_since(0), Ok(()), at(10_000));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].type_, SYNCED);
        assert_eq!(d[0].status, Status::True);
    }
}
