//! Cutover controller: gate, freeze, drain, stop replication, switch, verify, unfreeze, watch;
//! roll back on request or on failure. fetch (migrations, targets, permissions) → decide (pure,
//! `decide`) → report → act → record the outcome (pure, `decide::record`) → report.

mod act;
pub mod decide;
pub mod gates;
mod observe;
pub mod patch;
mod permissions;
pub mod targets;
pub mod window;

use std::sync::Arc;

use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::decision;
use super::error::Result;
use super::managed::{annotation, report};
use super::prelude::{Phases, Prelude, Request, prelude};
use super::runner;
use crate::api::common::annotations;
use crate::api::cutover::{Approval, Cutover, CutoverPhase, CutoverStatus, MigrationKind};
use crate::api::dataworks_migration::DataWorksMigration;
use crate::api::dts_migration::DtsMigration;
use crate::api::mms_job::MmsJob;
use decide::{Inputs, Requests};

/// Runs the Cutover controller until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let controller = runner::controller::<Cutover>(&ctx);
    let by_dts = controller.store();
    let by_mms = controller.store();
    let by_dw = controller.store();
    // Gates are re-evaluated as soon as a migration's status (lag, verification) changes: any
    // change moves its resourceVersion, which is all the metadata watch needs to see.
    let dts: Api<PartialObjectMeta<DtsMigration>> = ctx.api();
    let mms: Api<PartialObjectMeta<MmsJob>> = ctx.api();
    let dw: Api<PartialObjectMeta<DataWorksMigration>> = ctx.api();
    let controller = controller
        .watches_stream(runner::metadata_changes(dts), move |m| {
            referencing(
                &by_dts.state(),
                MigrationKind::DtsMigration,
                m.namespace(),
                &m.name_any(),
            )
        })
        .watches_stream(runner::metadata_changes(mms), move |m| {
            referencing(
                &by_mms.state(),
                MigrationKind::MmsJob,
                m.namespace(),
                &m.name_any(),
            )
        })
        .watches_stream(runner::metadata_changes(dw), move |m| {
            referencing(
                &by_dw.state(),
                MigrationKind::DataWorksMigration,
                m.namespace(),
                &m.name_any(),
            )
        });
    runner::drive(controller, ctx, shutdown, reconcile).await;
}

/// How long one request for fresh lag samples holds (renewed by every reconcile that needs them).
const FRESH_LAG_WINDOW: std::time::Duration = std::time::Duration::from_secs(120);

/// Phases that read lag: the gates before the switch, the final check before the freeze
/// (Freezing) and the drain that waits until replication caught up (Draining).
fn needs_fresh_lag(phase: Option<CutoverPhase>) -> bool {
    matches!(
        phase,
        None | Some(
            CutoverPhase::Pending
                | CutoverPhase::Gating
                | CutoverPhase::AwaitingApproval
                | CutoverPhase::WaitingForWindow
                | CutoverPhase::DryRun
                | CutoverPhase::Freezing
                | CutoverPhase::Draining
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
            let plan = decide::plan_for(&c.spec, &c.status.clone().unwrap_or_default());
            c.namespace() == ns
                && plan
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

/// A Cutover's phase says nothing of an invalid spec: the one it was in stays, with Ready=False.
const PHASES: Phases<CutoverStatus> = Phases {
    paused: pause_by_annotation,
    invalid: |_| {},
};

async fn reconcile(cutover: Arc<Cutover>, ctx: Arc<Context>) -> Result<Action> {
    let generation = cutover.meta().generation;
    let now = jiff::Timestamp::now();
    let ns = cutover.namespace().unwrap_or_default();
    let name = cutover.name_any();
    let prev = resume_after_annotation(cutover.status.clone().unwrap_or_default());
    let last_handled = prev.last_handled_reconcile_at.as_deref();
    let Request { handled, .. } =
        match prelude(&ctx, cutover.as_ref(), last_handled, &PHASES, || {}).await? {
            Prelude::Stop(action) => return Ok(action),
            Prelude::Go(request) => request,
        };

    // Fetch, for the plan in force (frozen in status once switching started).
    let plan = decide::plan_for(&cutover.spec, &prev);
    if needs_fresh_lag(prev.phase) {
        // Its lag gates (and the drain) need fresh samples: those tasks are read first and
        // never stretched.
        for m in &plan.migrations {
            if m.kind == MigrationKind::DtsMigration {
                ctx.dts_informer
                    .want_fresh(&(ns.clone(), m.name.clone()), ctx.poll(FRESH_LAG_WINDOW));
            }
        }
    }
    let rollback_name = rollback_secret_name(&cutover);
    let seen = observe::observe(&ctx, &ns, &plan, &rollback_name).await?;
    let requests = requests(&cutover, &prev, now);

    // Decide.
    let decision = decide::decide(&Inputs {
        spec: &cutover.spec,
        prev: &prev,
        generation,
        requests: &requests,
        migrations: &seen.migrations,
        freeze: &seen.freeze,
        targets: &seen.targets,
        rollback_secret: &rollback_name,
        now,
    });
    let mut status = decision.status;
    status.last_handled_reconcile_at = handled;

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

    // Act, then record what the answer proved.
    if let Some(act) = &decision.act {
        let done = act::run(&ctx, &cutover, &plan, &seen, act).await;
        if let Some(recorded) = done.outcome {
            // Compared with what the first report wrote, so no phase change is announced twice.
            let written = Cutover {
                status: Some(status.clone()),
                ..(*cutover).clone()
            };
            decide::record(
                &mut status,
                act,
                done.label.as_deref(),
                &recorded,
                jiff::Timestamp::now(),
            );
            report(&ctx, &written, &status).await?;
        }
        if let Some(e) = done.retry {
            return Err(e);
        }
    }
    Ok(decision::action(&ctx, decision.requeue))
}

/// Shows `Paused` while the annotation holds the cutover and remembers the phase it stopped.
/// A cutover already `Paused` (a failed gate or step) keeps its own reason to wait.
fn pause_by_annotation(status: &mut CutoverStatus) {
    if status.phase != Some(CutoverPhase::Paused) {
        status.paused_from = Some(status.phase.unwrap_or(CutoverPhase::Pending));
        status.phase = Some(CutoverPhase::Paused);
    }
}

/// The status as it was before the annotation paused it.
fn resume_after_annotation(mut status: CutoverStatus) -> CutoverStatus {
    if let Some(phase) = status.paused_from.take() {
        status.phase = Some(phase);
    }
    status
}

/// Approve, abort, roll back and resume requests from spec fields and annotations.
fn requests(cutover: &Cutover, prev: &CutoverStatus, now: jiff::Timestamp) -> Requests {
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

#[cfg(test)]
mod pause_tests {
    use super::*;

    #[test]
    fn a_pause_by_annotation_shows_paused_and_resumes_where_it_stopped() {
        for before in [
            None,
            Some(CutoverPhase::Gating),
            Some(CutoverPhase::Draining),
        ] {
            let mut status = CutoverStatus {
                phase: before,
                ..Default::default()
            };
            pause_by_annotation(&mut status);
            assert_eq!(status.phase, Some(CutoverPhase::Paused));
            pause_by_annotation(&mut status);
            let resumed = resume_after_annotation(status);
            assert_eq!(resumed.phase, Some(before.unwrap_or(CutoverPhase::Pending)));
            assert_eq!(resumed.paused_from, None);
        }
    }

    #[test]
    fn a_cutover_paused_by_a_failure_stays_paused_after_the_annotation() {
        let mut status = CutoverStatus {
            phase: Some(CutoverPhase::Paused),
            ..Default::default()
        };
        pause_by_annotation(&mut status);
        assert_eq!(status.paused_from, None);
        assert_eq!(
            resume_after_annotation(status).phase,
            Some(CutoverPhase::Paused)
        );
    }
}
