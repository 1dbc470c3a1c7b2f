//! DtsMigration controller: configure, buy, precheck, follow lag, suspend, stop, release.
//! fetch (DTS) → decide (pure, `decide.rs`) → act → report.

mod adoption;
pub mod decide;
mod endpoints;
mod leftover;
pub(crate) mod observe;
pub mod polling;
mod requests;
mod send;

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};

use super::cleanup_credentials;
use super::context::Context;
use super::credentials::{self, Captured};
use super::decision;
use super::error::{Error, Result};
use super::informer::ObjKey;
use super::informer::dts::{DtsTarget, TaskMemo, Track};
use super::managed::{self, Intent, annotation, publish, rejected, report, report_intent};
use super::prelude::{Phases, Prelude, Request, prelude};
use super::runner;
use crate::aliyun::dts::DtsJobRef;
use crate::aliyun::{Admission, DtsClient, Pacing, Priority};
use crate::api::common::annotations::ADOPT_ID;
use crate::api::common::{DeletionPolicy, FINALIZER, ManagementPolicy};
use crate::api::conditions;
use crate::api::dts_migration::{
    ApiGeneration, DtsMigration, DtsMigrationPhase, DtsMigrationSpec, DtsMigrationStatus,
};
use crate::metrics::LagExport;
use decide::{Act, Observed, action};
use requests::uid;
pub use send::{TaskOp, task_op};

/// Runs the DtsMigration controller until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let controller = runner::controller::<DtsMigration>(&ctx);
    let controller = runner::watch_secrets(controller, &ctx, secret_names);
    // The informer asks for a reconcile when what it read of a task is news.
    let controller = controller.reconcile_on(ctx.dts_informer.subscribe());
    runner::drive(controller, ctx, shutdown, reconcile).await;
}

/// Every Secret a DtsMigration reads: API credentials and endpoint accounts.
fn secret_names(m: &DtsMigration) -> Vec<String> {
    let mut names = credentials::secret_names(m.spec.credentials.as_ref());
    for endpoint in [&m.spec.source, &m.spec.destination] {
        if let Some(r) = &endpoint.credentials_secret_ref {
            names.push(r.name.clone());
        }
    }
    names
}

async fn reconcile(m: Arc<DtsMigration>, ctx: Arc<Context>) -> Result<Action> {
    let api: Api<DtsMigration> =
        Api::namespaced(ctx.client.clone(), &m.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, m, |event| async {
        match event {
            Finalizer::Apply(m) => apply(m, ctx.clone()).await,
            Finalizer::Cleanup(m) => cleanup(m, ctx.clone()).await,
        }
    })
    .await
    .map_err(super::finalizer_error)
}

/// The DTS client for a DtsMigration's region and credentials. Its calls never wait for the
/// account's budget: without a token the reconcile requeues for its turn (kept under the
/// object's ticket).
async fn client(ctx: &Context, m: &DtsMigration) -> Result<DtsClient> {
    Ok(client_and_capture(ctx, m).await?.0)
}

/// [`client`], and what it used (kept for deleting the task later).
async fn client_and_capture(
    ctx: &Context,
    m: &DtsMigration,
) -> Result<(DtsClient, Captured, u128)> {
    let ns = m.namespace().unwrap_or_default();
    let (creds, captured) =
        credentials::resolve_captured(&ctx.client, &ns, m.spec.credentials.as_ref()).await?;
    let fingerprint = creds.fingerprint();
    let dts = ctx
        .cloud
        .dts(m.spec.region.clone(), creds)
        .with_pacing(Pacing::Requeue {
            ticket: format!("DtsMigration/{ns}/{}", m.name_any()).into(),
            priority: Priority::Mutation,
        });
    Ok((dts, captured, fingerprint))
}

/// Whether deleting the resource releases its task: `deletionPolicy: Delete`, and never for
/// a task the operator only observes.
fn releases_on_deletion(m: &DtsMigration) -> bool {
    m.spec.deletion_policy == DeletionPolicy::Delete
        && m.spec.management_policy == ManagementPolicy::Manage
}

/// Whether DTS may hold a task or instance of this resource.
fn may_exist(status: &DtsMigrationStatus) -> bool {
    status.dts_job_id.is_some()
        || status.dts_instance_id.is_some()
        || status.create_requested_at.is_some()
}

/// Keeps (or drops) the credentials for releasing the task, by the policy.
async fn keep_for_deletion(
    ctx: &Context,
    m: &DtsMigration,
    status: &DtsMigrationStatus,
    captured: &Captured,
    fingerprint: u128,
) {
    let uid = uid(m);
    if releases_on_deletion(m) && may_exist(status) {
        let owner = cleanup_credentials::Owner {
            kind: "DtsMigration",
            namespace: &m.namespace().unwrap_or_default(),
            name: &m.name_any(),
            uid: &uid,
        };
        cleanup_credentials::remember(ctx, &owner, &m.spec.region, captured, fingerprint).await;
    } else if ctx.captured(&uid).is_some() {
        cleanup_credentials::forget(ctx, &uid).await;
    }
}

/// What the informer reads for this task, from what status recorded; None before any id.
fn target(m: &DtsMigration, status: &DtsMigrationStatus) -> Option<DtsTarget> {
    if status.dts_job_id.is_none() && status.dts_instance_id.is_none() {
        return None;
    }
    Some(if m.spec.api_generation == ApiGeneration::MigrationJob {
        DtsTarget::Legacy(
            status
                .dts_instance_id
                .clone()
                .or(status.dts_job_id.clone())
                .unwrap_or_default(),
        )
    } else {
        DtsTarget::Job {
            job_id: status.dts_job_id.clone(),
            instance_id: status.dts_instance_id.clone(),
            schema_changes: m
                .spec
                .objects
                .iter()
                .any(|d| d.scope.scopes_ddl() || d.tables.iter().any(|t| t.scope.scopes_ddl())),
        }
    })
}

const PHASES: Phases<DtsMigrationStatus> = Phases {
    paused: |s| s.phase = Some(DtsMigrationPhase::Paused),
    invalid: |s| s.phase = Some(DtsMigrationPhase::Invalid),
};

async fn apply(m: Arc<DtsMigration>, ctx: Arc<Context>) -> Result<Action> {
    let prev = m.status.clone().unwrap_or_default();
    let generation = m.meta().generation;
    let now = jiff::Timestamp::now();
    let ns = m.namespace().unwrap_or_default();
    let name = m.name_any();
    let key: ObjKey = (ns.clone(), name.clone());
    let last_handled = prev.last_handled_reconcile_at.as_deref();
    let Request { forced, handled } = match prelude(&ctx, m.as_ref(), last_handled, &PHASES, || {
        ctx.dts_informer.untrack(&key)
    })
    .await?
    {
        Prelude::Stop(action) => return Ok(action),
        Prelude::Go(request) => request,
    };
    if let Some(why) = decide::object_problems(&m.spec) {
        ctx.dts_informer.untrack(&key);
        return rejected(&ctx, m.as_ref(), Error::InvalidSpec(why), PHASES.invalid).await;
    }
    let newly_adopted = prev.adopted_id.is_none();
    let prev = match decide::adopt(&m.spec, &prev, annotation(m.as_ref(), ADOPT_ID).as_deref()) {
        Ok(prev) => prev,
        Err(why) => {
            ctx.dts_informer.untrack(&key);
            return rejected(&ctx, m.as_ref(), Error::InvalidSpec(why), PHASES.invalid).await;
        }
    };
    if polling::settled(prev.phase)
        && !forced
        && !polling::request_pending(&m.spec, &prev, generation)
    {
        // Finished: nothing to read until the spec asks for something.
        ctx.dts_informer.untrack(&key);
        return Ok(Action::await_change());
    }
    let (dts, captured, fingerprint) = match client_and_capture(&ctx, &m).await {
        Ok(c) => c,
        Err(e @ Error::Credentials(_)) => {
            return rejected(&ctx, m.as_ref(), e, |s| {
                s.phase.get_or_insert(DtsMigrationPhase::Creating);
            })
            .await;
        }
        Err(e) => return Err(e),
    };
    if let Some(id) = prev.adopted_id.as_deref().filter(|_| newly_adopted)
        && m.spec.api_generation == ApiGeneration::DtsJob
    {
        // Once, before following it: does the task migrate what the spec names?
        let job = DtsJobRef {
            dts_job_id: Some(id.to_string()),
            ..DtsJobRef::default()
        };
        let why = match dts.describe_dts_job_detail(&job).await {
            Ok(task) => adoption::objects_difference(id, &m.spec.objects, task.objects.as_ref()),
            Err(e) if e.is_not_found() => Some(format!(
                "the {ADOPT_ID} annotation names DTS task {id}, which this account and region do not have; name an existing task"
            )),
            Err(e) => return Err(e.into()),
        };
        if let Some(why) = why {
            ctx.dts_informer.untrack(&key);
            return rejected(&ctx, m.as_ref(), Error::InvalidSpec(why), PHASES.invalid).await;
        }
    }
    let (observed, next_poll_at) =
        match (adoptable(&ctx, &dts, &m, &prev).await?, target(&m, &prev)) {
            (Some(id), _) => (Observed::Adoptable(id), None),
            // Nothing bought or configured yet: nothing to read.
            (None, None) => (Observed::NoTask, None),
            (None, Some(target)) => {
                let observation = ctx.dts_informer.track(
                    &key,
                    Track {
                        client: dts.clone(),
                        target,
                        interval: ctx.poll(decide::interval_for(prev.phase)),
                        memo: TaskMemo::default(),
                        poll_now: forced,
                    },
                );
                let Some(observation) = observation else {
                    // Not read yet: a first status without a cloud call; the informer's read
                    // triggers the next reconcile.
                    let status = polling::pending(
                        &prev,
                        generation,
                        "Pending",
                        "waiting for the first read of the DTS task".into(),
                        now,
                    );
                    report(&ctx, m.as_ref(), &status).await?;
                    return Ok(Action::requeue(ctx.poll(decide::POLL_SETTLED)));
                };
                let spec_changed = prev.observed_generation != generation;
                if !observation.worth_deciding(prev.last_polled_at.as_ref(), spec_changed) {
                    // No news (DTS could not be read, or showed nothing new): the last lag
                    // sample ages all the same.
                    if let Some(stale) = decide::stale(&m.spec, &prev, now) {
                        report(&ctx, m.as_ref(), &stale).await?;
                    }
                    return Ok(Action::requeue(until_stale(&ctx, &m, &prev, now)));
                }
                let mut observed = observation.observed;
                if let Observed::Task(task) = &mut observed {
                    // Per-table data check results exist only in their own call.
                    observe::data_check_tables(&dts, &m.spec, &prev, task).await;
                }
                (observed, Some(observation.next_poll_at))
            }
        };
    let decision = decide::decide(&m.spec, &prev, generation, &observed, now);
    let mut status = decision.status;
    status.last_handled_reconcile_at = handled;
    polling::plan_next_poll(&prev, &mut status, next_poll_at);
    status.dts_job_name = Some(endpoints::job_name(&m));
    // At intent time at the latest: the credentials for releasing what is about to be created.
    keep_for_deletion(&ctx, &m, &status, &captured, fingerprint).await;

    if let Some(act) = &decision.act {
        let legacy = m.spec.api_generation == ApiGeneration::MigrationJob;
        if let Admission::Queued { wait, ahead } = dts.admit(action(act, legacy)) {
            // The call waits its turn in the account's budget; say so without recording it.
            let queued = polling::pending(
                &prev,
                generation,
                "Queued",
                format!(
                    "{} is queued behind {ahead} call(s) of this account's DTS budget; sent in about {}s",
                    action(act, legacy),
                    wait.as_secs_f64().ceil()
                ),
                now,
            );
            report(&ctx, m.as_ref(), &queued).await?;
            return Ok(ctx.requeue_after(wait));
        }
        // Record the intent first (configured generation, ids) so a restart knows what was
        // sent; a call that creates something (a task, an instance) is sent only if that record
        // lands on the version of the object this decision was made on.
        if creates(act, &prev) {
            if report_intent(&ctx, m.as_ref(), &status).await? == Intent::Conflict {
                return Ok(Action::requeue(INTENT_CONFLICT_RETRY));
            }
        } else {
            report(&ctx, m.as_ref(), &status).await?;
        }
        if let Err(e) = send::act(&ctx, &dts, &m, &mut status, act, now).await {
            let unsent = matches!(&e, Error::Cloud(c) if c.request_not_sent());
            if unsent {
                // Nothing reached the cloud: no task or purchase can be in flight.
                status.create_requested_at = prev.create_requested_at.clone();
                status.purchase_requested_at = prev.purchase_requested_at.clone();
            }
            if unsent || e.awaits_change() {
                // Keep the recorded intent; say what must change.
                if e.awaits_change() {
                    status.conditions = conditions::merge(
                        &status.conditions,
                        &[managed::not_ready(&e, ctx.settings.watch_secrets)],
                        generation,
                        now,
                    );
                }
                report(&ctx, m.as_ref(), &status).await?;
            }
            return Err(e);
        }
        // Never act twice on what was seen before this act; read its effect soon.
        ctx.dts_informer.acted(&key);
    }
    report(&ctx, m.as_ref(), &status).await?;
    ctx.metrics
        .set_lag(&ns, &name, lag_export(&m.spec, &status));
    if let Some(p) = progress_ratio(&status) {
        ctx.metrics.set_progress("DtsMigration", &ns, &name, p);
    }
    if polling::settled(status.phase) {
        ctx.dts_informer.untrack(&key);
        return Ok(Action::await_change());
    }
    if decision.act.is_some() {
        // Ids recorded by the act are followed from the next reconcile on; come back soon.
        return Ok(decision::action(&ctx, decision.requeue));
    }
    // The informer's news wakes it; without news (DTS cannot be read) it comes back when the
    // newest lag sample turns stale.
    Ok(Action::requeue(until_stale(&ctx, &m, &status, now)))
}

fn lag_export(spec: &DtsMigrationSpec, status: &DtsMigrationStatus) -> Option<LagExport> {
    if status.phase != Some(DtsMigrationPhase::Replicating) {
        return None;
    }
    Some(LagExport {
        seconds: status.lag_seconds?,
        observed_at_unix: status.lag_observed_at.as_ref()?.0.as_second() as f64,
        alert_seconds: spec.lag_alert_seconds as f64,
    })
}

/// How soon a reconcile whose intent write conflicted reads the object again.
const INTENT_CONFLICT_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `act` creates something in the cloud: a new task (configure without a task id),
/// a purchase, or the legacy instance.
fn creates(act: &Act, prev: &DtsMigrationStatus) -> bool {
    match act {
        Act::CreateInstance => true,
        Act::Configure => prev.dts_job_id.is_none() && prev.dts_instance_id.is_none(),
        _ => false,
    }
}

fn progress_ratio(status: &DtsMigrationStatus) -> Option<f64> {
    match status.phase? {
        DtsMigrationPhase::Replicating
        | DtsMigrationPhase::Completed
        | DtsMigrationPhase::Stopped => Some(1.0),
        DtsMigrationPhase::MigratingFull => status
            .stages
            .as_ref()
            .and_then(|s| s.full.as_ref())
            .and_then(|f| f.percent)
            .map(|p| p as f64 / 100.0),
        _ => None,
    }
}

/// The task a lost ConfigureDtsJob answer left behind, if any (see `leftover`). Other
/// unbought tasks of ours are deleted; bought ones are reported (they cost money, but only the
/// user may decide to stop one).
async fn adoptable(
    ctx: &Context,
    dts: &DtsClient,
    m: &DtsMigration,
    prev: &DtsMigrationStatus,
) -> Result<Option<String>> {
    if !leftover::must_search(m.spec.api_generation, prev) {
        return Ok(None);
    }
    let name = endpoints::job_name(m);
    let Some(found) = leftover::search(dts, &name, &uid(m)).await? else {
        return Ok(None);
    };
    publish(
        ctx,
        m,
        EventType::Normal,
        "Adopted",
        &format!(
            "adopted DTS task {} named {name:?}, configured for this resource before its answer was recorded",
            found.dts_job_id
        ),
    )
    .await;
    delete_unbought(ctx, dts, m, &found.unbought).await;
    if !found.bought.is_empty() {
        publish(
            ctx,
            m,
            EventType::Warning,
            "DuplicateTask",
            &format!(
                "other bought DTS tasks carry this resource's marker: {}; release them in the DTS console if they are not needed",
                found.bought.join(", ")
            ),
        )
        .await;
    }
    Ok(Some(found.dts_job_id))
}

/// Deletes tasks of ours that were configured but never bought (configured twice); a failure
/// is reported, never fatal.
async fn delete_unbought(ctx: &Context, dts: &DtsClient, m: &DtsMigration, ids: &[String]) {
    for id in ids {
        let outcome = dts.delete_dts_job(&DtsJobRef::job(id.clone())).await;
        let (kind, reason, note) = match outcome {
            Ok(_) => (
                EventType::Normal,
                "LeftoverDeleted",
                format!("deleted DTS task {id}: configured for this resource again, never bought"),
            ),
            Err(e) if e.is_not_found() => continue,
            Err(e) => (
                EventType::Warning,
                "LeftoverNotDeleted",
                format!(
                    "DTS task {id} was configured for this resource again and never bought; delete it in the DTS console ({})",
                    e.summary()
                ),
            ),
        };
        publish(ctx, m, kind, reason, &note).await;
    }
}

/// When a reconcile without news looks again: by the time the newest lag sample turns stale
/// (so the status says so even when DTS cannot be read), at the latest after the settled wait.
fn until_stale(
    ctx: &Context,
    m: &DtsMigration,
    prev: &DtsMigrationStatus,
    now: jiff::Timestamp,
) -> std::time::Duration {
    let settled = ctx.poll(decide::POLL_SETTLED);
    let fresh = prev.phase == Some(DtsMigrationPhase::Replicating)
        && prev.lag.as_deref() != Some(decide::STALE);
    match prev.lag_observed_at.as_ref().filter(|_| fresh) {
        Some(at) => {
            let bound =
                std::time::Duration::from_secs(m.spec.lag_stale_after_seconds.max(1) as u64);
            crate::controllers::poll::remaining(Some(at), bound, now, 1.0)
                .max(std::time::Duration::from_secs(1))
                .min(settled)
        }
        None => settled,
    }
}

/// Deletion: `Delete` releases the instance, `Retain` leaves it; the finalizer goes only after.
async fn cleanup(m: Arc<DtsMigration>, ctx: Arc<Context>) -> Result<Action> {
    let mut status = m.status.clone().unwrap_or_default();
    let uid = uid(&m);
    ctx.dts_informer
        .untrack(&(m.namespace().unwrap_or_default(), m.name_any()));
    ctx.metrics.forget(
        "DtsMigration",
        &m.namespace().unwrap_or_default(),
        &m.name_any(),
    );
    if !releases_on_deletion(&m) || !may_exist(&status) {
        cleanup_credentials::forget(&ctx, &uid).await;
        if may_exist(&status) {
            let why = match m.spec.management_policy {
                ManagementPolicy::ObserveOnly => "managementPolicy ObserveOnly",
                ManagementPolicy::Manage => "deletionPolicy Retain",
            };
            publish(
                &ctx,
                m.as_ref(),
                EventType::Normal,
                "Retained",
                &format!("{why}: the DTS instance is left in place"),
            )
            .await;
        }
        return Ok(Action::await_change());
    }
    // The Secret may be gone already (a namespace being deleted): then the credentials kept
    // when the task was created are used.
    let dts = match client(&ctx, &m).await {
        Ok(dts) => Some(dts),
        Err(Error::Credentials(_)) => {
            cleanup_credentials::recall(&ctx, &uid)
                .await?
                .map(|(region, creds)| {
                    ctx.cloud.dts(region, creds).with_pacing(Pacing::Requeue {
                        ticket: format!(
                            "DtsMigration/{}/{}",
                            m.namespace().unwrap_or_default(),
                            m.name_any()
                        )
                        .into(),
                        priority: Priority::Mutation,
                    })
                })
        }
        Err(e) => return Err(e),
    };
    let Some(dts) = dts else {
        let what = format!(
            "DTS task {:?}: neither the credentials Secret nor kept credentials are available",
            status.dts_job_id
        );
        return cleanup_credentials::let_go_or_wait(&ctx, m.as_ref(), &what).await;
    };
    if status.dts_job_id.is_none() && status.dts_instance_id.is_none() {
        // A configure was sent but its answer never recorded: release the task it made.
        let name = endpoints::job_name(&m);
        match leftover::search(&dts, &name, &uid).await? {
            Some(found) => {
                delete_unbought(&ctx, &dts, &m, &found.unbought).await;
                status.dts_job_id = Some(found.dts_job_id);
            }
            None => {
                cleanup_credentials::forget(&ctx, &uid).await;
                return Ok(Action::await_change());
            }
        }
    }
    match task_op(&dts, m.spec.api_generation, &status, TaskOp::Release).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    publish(
        &ctx,
        m.as_ref(),
        EventType::Normal,
        "Released",
        "deletionPolicy Delete: the DTS instance was released",
    )
    .await;
    cleanup_credentials::forget(&ctx, &uid).await;
    Ok(Action::await_change())
}
