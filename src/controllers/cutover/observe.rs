//! Fetch: the migrations (from their status), the rollback Secret and every freeze and switch
//! target of the plan in force.

use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::api::Api;

use super::decide::{self, MigrationObs, TargetObs};
use super::gates::{DataWorksObs, DtsObs, MmsObs};
use super::targets::{self, RollbackSecret};
use crate::api::conditions::{self, READY};
use crate::api::cutover::{CutoverPlan, MigrationKind};
use crate::api::dataworks_migration::DataWorksMigration;
use crate::api::dts_migration::DtsMigration;
use crate::api::mms_job::MmsJob;
use crate::controllers::context::Context;
use crate::controllers::error::Result;

/// What a reconcile saw.
pub struct Seen {
    pub migrations: Vec<MigrationObs>,
    pub freeze: Vec<TargetObs>,
    pub targets: Vec<TargetObs>,
}

pub async fn observe(
    ctx: &Context,
    ns: &str,
    plan: &CutoverPlan,
    rollback_name: &str,
) -> Result<Seen> {
    let migrations = observe_migrations(ctx, ns, plan).await?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let rollback = match secrets.get_opt(rollback_name).await {
        Ok(Some(s)) => RollbackSecret::Present(s),
        Ok(None) => RollbackSecret::Absent,
        Err(kube::Error::Api(s)) if s.code == 403 => {
            RollbackSecret::Unknown(format!("{} (403)", s.message))
        }
        Err(e) => return Err(e.into()),
    };
    let mut freeze = Vec::with_capacity(plan.freeze.len());
    for (i, t) in plan.freeze.iter().enumerate() {
        let key = decide::freeze_key(i);
        freeze.push(targets::observe(&ctx.client, ns, t, &rollback, rollback_name, &key).await?);
    }
    let mut targets = Vec::with_capacity(plan.switch.len());
    for (i, t) in plan.switch.iter().enumerate() {
        let key = decide::rollback_key(i);
        targets.push(targets::observe(&ctx.client, ns, t, &rollback, rollback_name, &key).await?);
    }
    Ok(Seen {
        migrations,
        freeze,
        targets,
    })
}

async fn observe_migrations(
    ctx: &Context,
    ns: &str,
    plan: &CutoverPlan,
) -> Result<Vec<MigrationObs>> {
    let dts_api: Api<DtsMigration> = Api::namespaced(ctx.client.clone(), ns);
    let mms_api: Api<MmsJob> = Api::namespaced(ctx.client.clone(), ns);
    let dw_api: Api<DataWorksMigration> = Api::namespaced(ctx.client.clone(), ns);
    let mut out = Vec::new();
    for m in &plan.migrations {
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
                    data_check: found.as_ref().is_some_and(|d| {
                        d.spec
                            .data_check
                            .as_ref()
                            .is_some_and(|c| c.full || c.incremental)
                    }),
                    verification: status.verification.clone(),
                    observe_only: found.as_ref().is_some_and(|d| {
                        d.spec.management_policy
                            == crate::api::common::ManagementPolicy::ObserveOnly
                    }),
                }));
            }
            MigrationKind::DataWorksMigration => {
                let found = dw_api.get_opt(&m.name).await?;
                let generation = found.as_ref().and_then(|w| w.meta().generation);
                let status = found
                    .as_ref()
                    .and_then(|w| w.status.clone())
                    .unwrap_or_default();
                out.push(MigrationObs::DataWorks(DataWorksObs {
                    name: m.name.clone(),
                    exists: found.is_some(),
                    phase: status.phase,
                    message: conditions::find(&status.conditions, READY)
                        .map(|c| c.message.clone())
                        .unwrap_or_default(),
                    accept_partial_success: m.accept_partial_success,
                    current: status.observed_generation.is_some()
                        && status.observed_generation >= generation,
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
                    schedule: found.as_ref().and_then(|j| j.spec.schedule.clone()),
                    rounds: status.rounds.clone(),
                    observe_only: found.as_ref().is_some_and(|j| {
                        j.spec.management_policy
                            == crate::api::common::ManagementPolicy::ObserveOnly
                    }),
                }));
            }
        }
    }
    Ok(out)
}
