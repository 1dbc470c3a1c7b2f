//! Fetch: what DataWorks shows of the recorded tasks, and, for a create whose answer was not
//! recorded, whether a task of that name exists (and is ours).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::decide::{Identity, Lookup, Observed, TaskRead, TaskView};
use crate::aliyun::DataWorksClient;
use crate::aliyun::dataworks::{MigrationStatus, MigrationType, StepStatus};
use crate::api::conditions::{MAX_MESSAGE, truncate};
use crate::api::dataworks_migration::{
    DataWorksMigrationStatus, MigrationState as State, MigrationStep, MigrationTask, StepState,
};
use crate::controllers::error::Result;

/// Steps kept in status (the CRD's bound).
const MAX_STEPS: usize = 50;

pub async fn observe(
    dw: &DataWorksClient,
    prev: &DataWorksMigrationStatus,
    identity: &Identity,
) -> Result<Observed> {
    Ok(Observed {
        export: read(dw, prev.export.as_ref(), MigrationType::Export).await?,
        import: read(dw, prev.import.as_ref(), MigrationType::Import).await?,
        export_lookup: lookup(dw, prev.export.as_ref(), MigrationType::Export, identity).await?,
        import_lookup: lookup(dw, prev.import.as_ref(), MigrationType::Import, identity).await?,
    })
}

/// A recorded task: its summary and steps, and its message when it did not succeed (only
/// ListMigrations carries it). Could not read → the reconcile's error, never "gone".
async fn read(
    dw: &DataWorksClient,
    task: Option<&MigrationTask>,
    kind: MigrationType,
) -> Result<Option<TaskRead>> {
    let Some((project, id)) = task.and_then(|t| t.id.map(|id| (t.workspace_id, id))) else {
        return Ok(None);
    };
    let summary = match dw.get_migration_summary(project, id).await {
        Ok(s) => s,
        Err(e) if e.is_not_found() => return Ok(Some(TaskRead::Gone)),
        Err(e) => return Err(e.into()),
    };
    let steps = dw.get_migration_process(project, id).await?;
    let (status, unknown_status) = state(summary.status.as_ref());
    let mut message = None;
    if matches!(
        status,
        Some(
            State::ImportError
                | State::ExportError
                | State::Failure
                | State::Revoked
                | State::PartialSuccess
        )
    ) {
        let name = task.map(|t| t.name.as_str()).unwrap_or_default();
        message = dw
            .find_migrations_named(project, kind, name)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .and_then(|m| m.message)
            .map(|m| truncate(&m, MAX_MESSAGE));
    }
    Ok(Some(TaskRead::Seen(TaskView {
        status,
        unknown_status,
        steps: steps
            .into_iter()
            .take(MAX_STEPS)
            .map(|s| MigrationStep {
                name: truncate(&s.task_name, 128),
                status: match s.task_status {
                    Some(StepStatus::Init) => StepState::Init,
                    Some(StepStatus::Running) => StepState::Running,
                    Some(StepStatus::Failure) => StepState::Failure,
                    Some(StepStatus::Success) => StepState::Success,
                    _ => StepState::Unknown,
                },
            })
            .collect(),
        message,
        created_at: summary.gmt_create.and_then(millis),
        modified_at: summary.gmt_modified.and_then(millis),
        create_user: summary.create_user.map(|u| truncate(&u, 64)),
        op_user: summary.op_user.map(|u| truncate(&u, 64)),
    })))
}

fn millis(ms: i64) -> Option<Time> {
    jiff::Timestamp::from_millisecond(ms).ok().map(Time)
}

fn state(s: Option<&MigrationStatus>) -> (Option<State>, Option<String>) {
    let known = match s {
        None => return (None, None),
        Some(MigrationStatus::Init) => State::Init,
        Some(MigrationStatus::Editing) => State::Editing,
        Some(MigrationStatus::Importing) => State::Importing,
        Some(MigrationStatus::ImportError) => State::ImportError,
        Some(MigrationStatus::ImportSuccess) => State::ImportSuccess,
        Some(MigrationStatus::Exporting) => State::Exporting,
        Some(MigrationStatus::ExportError) => State::ExportError,
        Some(MigrationStatus::ExportSuccess) => State::ExportSuccess,
        Some(MigrationStatus::Revoked) => State::Revoked,
        Some(MigrationStatus::PartialSuccess) => State::PartialSuccess,
        Some(MigrationStatus::Running) => State::Running,
        Some(MigrationStatus::Failure) => State::Failure,
        Some(MigrationStatus::Success) => State::Success,
        Some(MigrationStatus::Other(raw)) => {
            return (Some(State::Unknown), Some(truncate(raw, 64)));
        }
    };
    (Some(known), None)
}

/// Only for a create that was sent and whose answer was not recorded.
async fn lookup(
    dw: &DataWorksClient,
    task: Option<&MigrationTask>,
    kind: MigrationType,
    identity: &Identity,
) -> Result<Option<Lookup>> {
    let Some(task) = task.filter(|t| t.id.is_none() && t.create_requested_at.is_some()) else {
        return Ok(None);
    };
    let found = dw
        .find_migrations_named(task.workspace_id, kind, &task.name)
        .await?;
    Ok(Some(match found.first() {
        Some(m) => Lookup::Found {
            id: m.id,
            owned: identity.owns(m.description.as_deref()),
        },
        None => Lookup::Absent,
    }))
}
