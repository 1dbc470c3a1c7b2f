//! Act: sends the call `requests::build` made, records what DTS answered in the status, and
//! publishes one event.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::EventType;

use super::decide::Act;
use super::endpoints::{self, Accounts};
use super::requests::{self, Call};
use super::{Context, delete_unbought};
use crate::aliyun::DtsClient;
use crate::aliyun::dts::{DtsJobRef, JobMonitorRule, MonitorRuleType};
use crate::api::dts_migration::{ApiGeneration, DtsMigration, DtsMigrationStatus};
use crate::controllers::error::Result;
use crate::controllers::managed::publish;

/// Builds the call `act` stands for and sends it; the endpoints' accounts are read first when
/// the call needs them (a configure).
pub(super) async fn act(
    ctx: &Context,
    dts: &DtsClient,
    m: &DtsMigration,
    status: &mut DtsMigrationStatus,
    act: &Act,
    now: jiff::Timestamp,
) -> Result<()> {
    let accounts = if requests::needs_accounts(act) {
        endpoints::read_accounts(&ctx.client, m).await?
    } else {
        Accounts::default()
    };
    let call = requests::build(m, status, act, &accounts);
    send(ctx, dts, m, status, call, now).await
}

async fn send(
    ctx: &Context,
    dts: &DtsClient,
    m: &DtsMigration,
    status: &mut DtsMigrationStatus,
    call: Call,
    now: jiff::Timestamp,
) -> Result<()> {
    let (reason, note) = match call {
        Call::LegacyPurchase(request) => {
            let id = dts.create_migration_job(&request).await?;
            status.dts_instance_id = Some(id.clone());
            status.dts_job_id = Some(id.clone());
            ("InstanceCreated", format!("bought migration instance {id}"))
        }
        Call::Purchase(request) => {
            let bought = dts.create_dts_instance(&request).await?;
            status.dts_instance_id = Some(bought.instance_id.clone());
            match (&status.dts_job_id, &bought.job_id) {
                (None, Some(job)) => status.dts_job_id = Some(job.clone()),
                (Some(ours), Some(job)) if ours != job => {
                    // The token answered with the instance bought earlier for this resource
                    // (its task was configured twice): follow that task, drop the unbought one.
                    let leftover = ours.clone();
                    status.dts_job_id = Some(job.clone());
                    delete_unbought(ctx, dts, m, &[leftover]).await;
                }
                _ => {}
            }
            (
                "InstanceCreated",
                format!(
                    "bought DTS instance {} for task {}",
                    bought.instance_id,
                    status.dts_job_id.as_deref().unwrap_or("?")
                ),
            )
        }
        Call::LegacyConfigure(request) => {
            dts.configure_migration_job(&request).await?;
            ("Configured", "DTS task configured from the spec".into())
        }
        Call::Configure(request) => {
            let configured = dts.configure_dts_job(&request).await?;
            status.dts_job_id = Some(configured.dts_job_id.clone());
            if configured.dts_instance_id.is_some() {
                status.dts_instance_id = configured.dts_instance_id.clone();
            }
            ("Configured", "DTS task configured from the spec".into())
        }
        Call::Task(op) => {
            task_op(dts, m.spec.api_generation, status, op).await?;
            let note = match op {
                TaskOp::Start => "StartDtsJob sent (start, precheck again, or resume)",
                TaskOp::Suspend => {
                    status.suspended_at = Some(Time(now));
                    "SuspendDtsJob sent (spec.suspend)"
                }
                TaskOp::Stop => "StopDtsJob sent (spec.stop): the task finishes for good",
                TaskOp::Release => "the DTS instance was released",
            };
            (op.reason(), note.into())
        }
        Call::SkipPrecheck { job, skipped } => {
            dts.skip_pre_check(&job, &skipped.items).await?;
            task_op(dts, m.spec.api_generation, status, TaskOp::Start).await?;
            let note = format!(
                "skipped precheck warning(s) {} (spec.precheck.skip) and started the precheck again",
                skipped.items.join(", ")
            );
            status.precheck_skipped = Some(skipped);
            ("PrecheckWarningsSkipped", note)
        }
        Call::MonitorRules {
            job,
            rules,
            generation,
        } => {
            let held = dts.describe_job_monitor_rule(&job).await?;
            let mut changed = Vec::new();
            for wanted in rules {
                let current = held.iter().find(|h| h.rule_type == wanted.rule_type);
                if !needs_setting(&wanted, current) {
                    continue;
                }
                dts.create_job_monitor_rule(&wanted).await?;
                changed.push(format!(
                    "{} {}",
                    wanted.rule_type.as_str(),
                    if wanted.enabled { "on" } else { "off" }
                ));
            }
            status.monitor_rules_generation = Some(generation);
            if changed.is_empty() {
                return Ok(());
            }
            (
                "MonitorRulesSet",
                format!("DTS alert rules set: {}", changed.join(", ")),
            )
        }
    };
    publish(ctx, m, EventType::Normal, reason, &note).await;
    Ok(())
}

/// Whether DTS must be told `wanted`: it differs from the rule DTS holds, or DTS holds none
/// and the rule is on (a rule that is off and absent needs no call).
fn needs_setting(wanted: &JobMonitorRule, held: Option<&JobMonitorRule>) -> bool {
    match held {
        None => wanted.enabled,
        Some(held) if !wanted.enabled => held.enabled,
        Some(held) => {
            !held.enabled
                || held.phone != wanted.phone
                || (wanted.rule_type == MonitorRuleType::Delay
                    && held.delay_rule_time != wanted.delay_rule_time)
        }
    }
}

/// Task operations both API generations offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOp {
    Start,
    Suspend,
    Stop,
    /// Release the instance (DeleteDtsJob / DeleteMigrationJob).
    Release,
}

impl TaskOp {
    /// The event reason once sent.
    fn reason(self) -> &'static str {
        match self {
            Self::Start => "Started",
            Self::Suspend => "Suspended",
            Self::Stop => "Stopped",
            Self::Release => "Released",
        }
    }
}

/// Sends `op` for the task recorded in `status`, in the resource's API generation.
pub async fn task_op(
    dts: &DtsClient,
    generation: ApiGeneration,
    status: &DtsMigrationStatus,
    op: TaskOp,
) -> std::result::Result<(), crate::aliyun::Error> {
    if generation == ApiGeneration::MigrationJob {
        let id = status.dts_instance_id.as_deref().unwrap_or_default();
        match op {
            TaskOp::Start => dts.start_migration_job(id).await.map(drop),
            TaskOp::Suspend => dts.suspend_migration_job(id, None).await.map(drop),
            TaskOp::Stop => dts.stop_migration_job(id, None).await.map(drop),
            TaskOp::Release => dts.delete_migration_job(id).await.map(drop),
        }
    } else {
        let job = DtsJobRef {
            dts_job_id: status.dts_job_id.clone(),
            dts_instance_id: status.dts_instance_id.clone(),
            synchronization_direction: None,
        };
        match op {
            TaskOp::Start => dts.start_dts_job(&job).await.map(drop),
            TaskOp::Suspend => dts.suspend_dts_job(&job).await.map(drop),
            TaskOp::Stop => dts.stop_dts_job(&job).await.map(drop),
            TaskOp::Release => dts.delete_dts_job(&job).await.map(drop),
        }
    }
}
