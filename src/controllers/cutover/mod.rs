//! Cutover controller: gate, stop replication, switch, verify; roll back on request.
//! fetch (migrations, targets, permissions) → decide (pure, `decide.rs`) → report → act.

pub mod decide;
pub mod gates;
pub mod targets;
pub mod window;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::context::Context;
use super::credentials;
use super::error::{Error, Result};
use super::managed::{
    annotation, is_paused, paused, publish, reconcile_requested_at, rejected, report, validate,
};
use super::runner;
use crate::api::common::annotations;
use crate::api::conditions::{self, READY};
use crate::api::cutover::{Approval, Cutover, CutoverPhase, MigrationKind};
use crate::api::dts_migration::DtsMigration;
use crate::api::mms_job::MmsJob;
use decide::{Act, Inputs, MigrationObs, Requests};
use gates::{DtsObs, MmsObs};

/// Runs the Cutover controller until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let controller = runner::controller::<Cutover>(&ctx);
    let by_dts = controller.store();
    let by_mms = controller.store();
    // Gates are re-evaluated as soon as a migration's status (lag, verification) changes.
    let dts: Api<DtsMigration> = ctx.api();
    let mms: Api<MmsJob> = ctx.api();
    let controller = controller
        .watches(dts, watcher::Config::default().any_semantic(), move |m| {
            referencing(
                &by_dts.state(),
                MigrationKind::DtsMigration,
                m.namespace(),
                &m.name_any(),
            )
        })
        .watches(mms, watcher::Config::default().any_semantic(), move |m| {
            referencing(
                &by_mms.state(),
                MigrationKind::MmsJob,
                m.namespace(),
                &m.name_any(),
            )
        });
    runner::drive(controller, ctx, shutdown, reconcile).await;
}

/// How long one request for fresh lag samples holds (renewed by every reconcile while gating).
const FRESH_LAG_WINDOW: std::time::Duration = std::time::Duration::from_secs(120);

/// Phases in which the gates (lag among them) are evaluated before the switch.
fn gates_on_lag(phase: Option<CutoverPhase>) -> bool {
    matches!(
        phase,
        None | Some(
            CutoverPhase::Pending
                | CutoverPhase::Gating
                | CutoverPhase::AwaitingApproval
                | CutoverPhase::WaitingForWindow
                | CutoverPhase::DryRun
        )
    )
}

fn referencing(
    cutovers: &[Arc<Cutover>],
    kind: MigrationKind,
    ns: Option<String>,
    name: &str,
) -> Vec<ObjectRef<Cutover>> {
    cutovers
        .iter()
        .filter(|c| {
            c.namespace() == ns
                && c.spec
                    .migrations
                    .iter()
                    .any(|m| m.kind == kind && m.name == name)
        })
        .map(|c| ObjectRef::from_obj(c.as_ref()))
        .collect()
}

/// The Secret (owned by the Cutover) that keeps previous values of sensitive targets.
pub fn rollback_secret_name(cutover: &Cutover) -> String {
    format!("{}-rollback", cutover.name_any())
}

async fn reconcile(cutover: Arc<Cutover>, ctx: Arc<Context>) -> Result<Action> {
    let prev = cutover.status.clone().unwrap_or_default();
    let generation = cutover.meta().generation;
    let now = jiff::Timestamp::now();
    let ns = cutover.namespace().unwrap_or_default();
    let name = cutover.name_any();
    if is_paused(cutover.as_ref()) {
        return paused(&ctx, cutover.as_ref(), |_| {}).await;
    }
    if let Err(e) = validate(cutover.as_ref()) {
        return rejected(&ctx, cutover.as_ref(), e, |_| {}).await;
    }

    // Fetch.
    let migrations = observe_migrations(&ctx, &cutover).await?;
    if gates_on_lag(prev.phase) {
        // Its lag gates need fresh samples: those tasks are read first and never stretched.
        for m in &cutover.spec.migrations {
            if m.kind == MigrationKind::DtsMigration {
                ctx.dts_informer
                    .want_fresh(&(ns.clone(), m.name.clone()), ctx.poll(FRESH_LAG_WINDOW));
            }
        }
    }
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let rollback_name = rollback_secret_name(&cutover);
    let rollback = if prev.saved.iter().any(|s| s.stored_in.is_some()) {
        secrets.get_opt(&rollback_name).await?
    } else {
        None
    };
    let mut observed_targets = Vec::with_capacity(cutover.spec.switch.len());
    for (index, t) in cutover.spec.switch.iter().enumerate() {
        observed_targets.push(
            targets::observe(
                &ctx.client,
                &ns,
                t,
                rollback.as_ref(),
                &decide::rollback_key(index),
            )
            .await?,
        );
    }
    let requests = requests(&cutover, &prev, now);

    // Decide.
    let decision = decide::decide(&Inputs {
        spec: &cutover.spec,
        prev: &prev,
        generation,
        requests: &requests,
        migrations: &migrations,
        targets: &observed_targets,
        rollback_secret: &rollback_name,
        now,
    });
    let mut status = decision.status;
    status.last_handled_reconcile_at =
        reconcile_requested_at(cutover.as_ref()).or(prev.last_handled_reconcile_at.clone());

    // Report first: saved values and running steps are on record before anything changes.
    report(&ctx, cutover.as_ref(), &status).await?;
    ctx.metrics.set_gates(
        &ns,
        &name,
        &status
            .gates
            .iter()
            .map(|g| (g.name.clone(), g.passed))
            .collect::<Vec<_>>(),
    );

    // Act.
    if let Some(act) = &decision.act {
        match act {
            Act::StopReplication { migration } => {
                stop_replication(&ctx, &ns, migration, &cutover).await?
            }
            Act::Switch { index, rollback } => {
                let target = &cutover.spec.switch[*index];
                if let Some((key, previous)) = rollback {
                    let owner = cutover.controller_owner_ref(&()).map(|mut o| {
                        o.controller = Some(false);
                        o
                    });
                    let Some(owner) = owner else {
                        return Err(Error::InvalidSpec("the Cutover has no uid".into()));
                    };
                    targets::store_rollback_value(
                        &ctx.client,
                        &ns,
                        &rollback_name,
                        &owner,
                        key,
                        previous.as_deref(),
                    )
                    .await?;
                }
                let value = observed_targets[*index]
                    .desired
                    .clone()
                    .map_err(Error::Dependency)?;
                targets::set(&ctx.client, &ns, target, Some(&value)).await?;
                publish(
                    &ctx,
                    cutover.as_ref(),
                    EventType::Normal,
                    "Switched",
                    &format!("{} set", targets::label(target)),
                )
                .await;
            }
            Act::Restore { index } => {
                let target = &cutover.spec.switch[*index];
                let label = targets::label(target);
                let saved = status
                    .saved
                    .iter()
                    .find(|s| s.target == label)
                    .cloned()
                    .unwrap_or_default();
                let previous = if !saved.existed {
                    None
                } else if saved.stored_in.is_some() {
                    observed_targets[*index].rollback_previous.clone().flatten()
                } else {
                    saved.value.clone()
                };
                if saved.existed && previous.is_none() {
                    return Err(Error::Dependency(format!(
                        "the saved value of {label} is missing from Secret {rollback_name}; restore it by hand"
                    )));
                }
                targets::set(&ctx.client, &ns, target, previous.as_deref()).await?;
                publish(
                    &ctx,
                    cutover.as_ref(),
                    EventType::Normal,
                    "Restored",
                    &format!("{label} restored to its saved value"),
                )
                .await;
            }
        }
    }
    let requeue = match status.phase {
        Some(CutoverPhase::Switching | CutoverPhase::RollingBack) if decision.act.is_some() => {
            std::time::Duration::ZERO
        }
        _ => decision.requeue,
    };
    Ok(Action::requeue(ctx.poll(requeue)))
}

async fn observe_migrations(ctx: &Context, cutover: &Cutover) -> Result<Vec<MigrationObs>> {
    let ns = cutover.namespace().unwrap_or_default();
    let dts_api: Api<DtsMigration> = Api::namespaced(ctx.client.clone(), &ns);
    let mms_api: Api<MmsJob> = Api::namespaced(ctx.client.clone(), &ns);
    let mut out = Vec::new();
    for m in &cutover.spec.migrations {
        match m.kind {
            MigrationKind::DtsMigration => {
                let found = dts_api.get_opt(&m.name).await?;
                let status = found
                    .as_ref()
                    .and_then(|d| d.status.clone())
                    .unwrap_or_default();
                out.push(MigrationObs::Dts(DtsObs {
                    name: m.name.clone(),
                    exists: found.is_some(),
                    phase: status.phase,
                    message: conditions::find(&status.conditions, READY)
                        .map(|c| c.message.clone())
                        .unwrap_or_default(),
                    lag_samples: status.lag_samples.clone(),
                    data_check: found
                        .as_ref()
                        .is_some_and(|d| d.spec.data_check.as_ref().is_some_and(|c| c.full)),
                    verification: status.verification.clone(),
                }));
            }
            MigrationKind::MmsJob => {
                let found = mms_api.get_opt(&m.name).await?;
                let generation = found.as_ref().and_then(|j| j.meta().generation);
                let status = found
                    .as_ref()
                    .and_then(|j| j.status.clone())
                    .unwrap_or_default();
                let verified = conditions::find(&status.conditions, "Verified")
                    .filter(|c| {
                        c.observed_generation.is_none() || c.observed_generation >= generation
                    })
                    .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()));
                out.push(MigrationObs::Mms(MmsObs {
                    name: m.name.clone(),
                    exists: found.is_some(),
                    phase: status.phase,
                    verification_enabled: found
                        .as_ref()
                        .is_some_and(|j| j.spec.enable_verification),
                    verified,
                }));
            }
        }
    }
    Ok(out)
}

/// Approve, abort, roll back and resume requests from spec fields and annotations.
fn requests(
    cutover: &Cutover,
    prev: &crate::api::cutover::CutoverStatus,
    now: jiff::Timestamp,
) -> Requests {
    let approval = cutover.spec.approval.clone().or_else(|| {
        annotation(cutover, annotations::APPROVED_BY).map(|by| Approval {
            // Keep the first time this approver was seen.
            approved_at: prev
                .approval
                .as_ref()
                .filter(|a| a.approved_by == by)
                .and_then(|a| a.approved_at.clone())
                .or_else(|| Some(now.to_string())),
            approved_by: by,
            comment: Some("via annotation".into()),
        })
    });
    Requests {
        approval,
        abort: cutover.spec.abort || annotation(cutover, annotations::ABORT_REQUESTED_AT).is_some(),
        rollback: cutover.spec.rollback
            || annotation(cutover, annotations::ROLLBACK_REQUESTED_AT).is_some(),
        resume: annotation(cutover, annotations::RESUME_REQUESTED_AT),
    }
}

/// StopDtsJob for one DtsMigration, with that resource's own region and credentials; then
/// nudges its controller to read the result at once.
async fn stop_replication(
    ctx: &Context,
    ns: &str,
    migration: &str,
    cutover: &Cutover,
) -> Result<()> {
    let api: Api<DtsMigration> = Api::namespaced(ctx.client.clone(), ns);
    let m = api
        .get_opt(migration)
        .await?
        .ok_or_else(|| Error::Dependency(format!("DtsMigration {ns}/{migration} not found")))?;
    let status = m.status.clone().unwrap_or_default();
    let creds = credentials::resolve(&ctx.client, ns, m.spec.credentials.as_ref()).await?;
    // First in the account's budget, before any poll or other mutation; never waited for in
    // the worker (no token: the reconcile requeues for its turn).
    let dts =
        ctx.cloud
            .dts(m.spec.region.clone(), creds)
            .with_pacing(crate::aliyun::Pacing::Requeue {
                ticket: format!("Cutover/{ns}/{}", cutover.name_any()).into(),
                priority: crate::aliyun::Priority::Critical,
            });
    let result = crate::controllers::dts_migration::task_op(
        &dts,
        m.spec.api_generation,
        &status,
        crate::controllers::dts_migration::TaskOp::Stop,
    )
    .await;
    match result {
        Ok(()) => {}
        // Already finished or gone: nothing can resume.
        Err(e) if e.is_not_found() || e.is_invalid_state() => {}
        Err(e) => return Err(e.into()),
    }
    let nudge = json!({"metadata": {"annotations": {annotations::RECONCILE_REQUESTED_AT: jiff::Timestamp::now().to_string()}}});
    api.patch(migration, &PatchParams::default(), &Patch::Merge(nudge))
        .await?;
    publish(
        ctx,
        cutover,
        EventType::Normal,
        "ReplicationStopped",
        &format!("StopDtsJob sent for DtsMigration {migration}"),
    )
    .await;
    Ok(())
}
