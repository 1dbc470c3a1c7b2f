//! Act: the one action a decision asks for, its outcome, and an event per step (each step has
//! its own event action, so `kubectl describe` shows every one instead of "(x2)").

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::decide::{Act, List, Outcome, Purpose};
use super::observe::Seen;
use super::patch;
use super::targets::{self, SetError};
use crate::api::common::annotations;
use crate::api::cutover::{Cutover, CutoverPlan};
use crate::api::dts_migration::DtsMigration;
use crate::controllers::context::Context;
use crate::controllers::credentials;
use crate::controllers::error::Error;
use crate::controllers::managed::publish_action;

/// What an action came to.
pub struct Done {
    /// To be recorded in status; None for actions whose effect shows on the next read.
    pub outcome: Option<Outcome>,
    /// The target the action addressed.
    pub label: Option<String>,
    /// A transient error: the reconcile returns it, and the runner retries with backoff.
    pub retry: Option<Error>,
}

pub async fn run(
    ctx: &Context,
    cutover: &Cutover,
    plan: &CutoverPlan,
    seen: &Seen,
    act: &Act,
) -> Done {
    let ns = cutover.namespace().unwrap_or_default();
    match act {
        Act::Sample { migrations } => {
            for m in migrations {
                if let Err(e) = nudge(ctx, &ns, m).await {
                    tracing::debug!(migration = %m, error = %e, "could not ask for a fresh lag sample");
                }
            }
            Done {
                outcome: None,
                label: None,
                retry: None,
            }
        }
        Act::FinalRound { migration, value } => {
            let api: Api<crate::api::mms_job::MmsJob> = Api::namespaced(ctx.client.clone(), &ns);
            let ask =
                json!({"metadata": {"annotations": {annotations::ROUND_REQUESTED_AT: value}}});
            let retry = match api
                .patch(migration, &PatchParams::default(), &Patch::Merge(ask))
                .await
            {
                Ok(_) => {
                    publish_action(
                        ctx,
                        cutover,
                        EventType::Normal,
                        "FinalRoundRequested",
                        "RequestRound",
                        &format!(
                            "asked MmsJob {migration} for a final round after the freeze ({value})"
                        ),
                    )
                    .await;
                    None
                }
                Err(e) => Some(Error::from(e)),
            };
            Done {
                outcome: None,
                label: None,
                retry,
            }
        }
        Act::StopReplication { migration, step } => {
            let result = stop_replication(ctx, &ns, migration, &cutover.name_any()).await;
            let observed_only = matches!(result, Ok(Stopped::NotMine));
            let (outcome, retry) = match result {
                Ok(_) => (Outcome::Done, None),
                Err(e) if e.is_terminal() => (Outcome::Failed(e.to_string()), None),
                Err(e) => (Outcome::Retry(e.to_string()), Some(e)),
            };
            event(
                ctx,
                cutover,
                step,
                &outcome,
                if observed_only {
                    "ReplicationLeftRunning"
                } else {
                    "ReplicationStopped"
                },
                &if observed_only {
                    format!(
                        "DtsMigration {migration} is ObserveOnly: its replication was NOT stopped (the operator never changes an observed task); stop it in the DTS console before the old database takes writes again"
                    )
                } else {
                    format!("StopDtsJob sent for DtsMigration {migration}")
                },
            )
            .await;
            Done {
                outcome: Some(outcome),
                label: None,
                retry,
            }
        }
        Act::Keep {
            list,
            index,
            key,
            value,
            step,
        } => {
            let (target, label) = target(plan, seen, *list, *index);
            let bytes = targets::kept_bytes(target, value);
            let owner = cutover.controller_owner_ref(&()).map(|mut o| {
                o.controller = Some(false);
                o
            });
            let result = match owner {
                Some(owner) => {
                    targets::keep(
                        &ctx.client,
                        &ns,
                        &super::rollback_secret_name(cutover),
                        &owner,
                        key,
                        &bytes,
                    )
                    .await
                }
                None => Err(SetError::Rejected("the Cutover has no uid".into())),
            };
            let (outcome, retry) = outcome_of(result, &[value]);
            if !matches!(outcome, Outcome::Done) {
                event(ctx, cutover, step, &outcome, "", "").await;
            }
            Done {
                outcome: Some(outcome),
                label: Some(label),
                retry,
            }
        }
        Act::Set {
            list,
            index,
            value,
            purpose,
        } => {
            let (target, label) = target(plan, seen, *list, *index);
            let result = match patch::build(target, value.as_deref()) {
                Ok(built) => targets::send(&ctx.client, &ns, &built).await,
                Err(why) => Err(SetError::Rejected(why)),
            };
            let mut secrets: Vec<&str> = value.iter().map(String::as_str).collect();
            let current = match *list {
                List::Freeze => &seen.freeze[*index],
                List::Switch => &seen.targets[*index],
            };
            if current.sensitive {
                if let super::decide::Read::Value(v) = &current.current {
                    secrets.push(v);
                }
            } else {
                secrets.clear();
            }
            let (outcome, retry) = outcome_of(result, &secrets);
            let (action, reason, note) = describe(purpose, &label);
            event(ctx, cutover, &action, &outcome, reason, &note).await;
            Done {
                outcome: Some(outcome),
                label: Some(label),
                retry,
            }
        }
    }
}

fn target<'p>(
    plan: &'p CutoverPlan,
    seen: &Seen,
    list: List,
    index: usize,
) -> (&'p crate::api::cutover::SwitchTarget, String) {
    let (targets, obs) = match list {
        List::Freeze => (&plan.freeze, &seen.freeze),
        List::Switch => (&plan.switch, &seen.targets),
    };
    (&targets[index], obs[index].target.clone())
}

/// The event action, reason and note of a set.
fn describe(purpose: &Purpose, label: &str) -> (String, &'static str, String) {
    match purpose {
        Purpose::Step(step) => {
            let reason = if step.starts_with("freeze/") {
                "Frozen"
            } else if step.starts_with("unfreeze/") {
                "Unfrozen"
            } else {
                "Switched"
            };
            (
                step.clone(),
                reason,
                format!("{label} set; the server's answer reads back as set"),
            )
        }
        Purpose::Refreeze => (
            format!("rollback/refreeze/{label}"),
            "Refrozen",
            format!("{label} frozen again for the rollback"),
        ),
        Purpose::Restore => (
            format!("rollback/restore/{label}"),
            "Restored",
            format!("{label} restored to its saved value"),
        ),
        Purpose::Unfreeze => (
            format!("rollback/unfreeze/{label}"),
            "Unfrozen",
            format!("{label} restored to its value before the freeze"),
        ),
    }
}

/// Turns a set's result into an outcome; values that may be credentials never reach a message.
fn outcome_of(result: Result<(), SetError>, secrets: &[&str]) -> (Outcome, Option<Error>) {
    match result {
        Ok(()) => (Outcome::Done, None),
        Err(SetError::Rejected(why)) => (Outcome::Failed(targets::scrub(&why, secrets)), None),
        Err(SetError::Transient(e)) => (
            Outcome::Retry(targets::scrub(&e.to_string(), secrets)),
            Some(e),
        ),
    }
}

async fn event(
    ctx: &Context,
    cutover: &Cutover,
    action: &str,
    outcome: &Outcome,
    reason: &str,
    note: &str,
) {
    match outcome {
        Outcome::Done if !reason.is_empty() => {
            publish_action(ctx, cutover, EventType::Normal, reason, action, note).await;
        }
        Outcome::Failed(why) => {
            publish_action(
                ctx,
                cutover,
                EventType::Warning,
                "StepFailed",
                action,
                &format!("{action}: {why}"),
            )
            .await;
        }
        _ => {}
    }
}

/// Asks a DtsMigration's controller to read DTS now.
async fn nudge(ctx: &Context, ns: &str, migration: &str) -> Result<(), Error> {
    let api: Api<DtsMigration> = Api::namespaced(ctx.client.clone(), ns);
    let nudge = json!({"metadata": {"annotations": {annotations::RECONCILE_REQUESTED_AT: jiff::Timestamp::now().to_string()}}});
    api.patch(migration, &PatchParams::default(), &Patch::Merge(nudge))
        .await?;
    Ok(())
}

/// What became of a stop-replication step.
enum Stopped {
    /// StopDtsJob was answered (or the task had finished already).
    Sent,
    /// The DtsMigration only observes its task: nothing was sent.
    NotMine,
}

/// StopDtsJob for one DtsMigration, with that resource's own region and credentials; then
/// nudges its controller to read the result at once. An ObserveOnly DtsMigration's task is
/// never changed.
async fn stop_replication(
    ctx: &Context,
    ns: &str,
    migration: &str,
    cutover: &str,
) -> Result<Stopped, Error> {
    let api: Api<DtsMigration> = Api::namespaced(ctx.client.clone(), ns);
    let m = api
        .get_opt(migration)
        .await?
        .ok_or_else(|| Error::InvalidSpec(format!("DtsMigration {ns}/{migration} not found")))?;
    if m.spec.management_policy == crate::api::common::ManagementPolicy::ObserveOnly {
        return Ok(Stopped::NotMine);
    }
    let status = m.status.clone().unwrap_or_default();
    let creds = credentials::resolve(&ctx.client, ns, m.spec.credentials.as_ref()).await?;
    // First in the account's budget, before any poll or other mutation; never waited for in
    // the worker (no token: the reconcile requeues for its turn).
    let dts =
        ctx.cloud
            .dts(m.spec.region.clone(), creds)
            .with_pacing(crate::aliyun::Pacing::Requeue {
                ticket: format!("Cutover/{ns}/{cutover}").into(),
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
    nudge(ctx, ns, migration).await?;
    Ok(Stopped::Sent)
}
