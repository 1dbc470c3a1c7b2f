//! What DTS showed, turned into the decision's view: stages, lag (stamped when the answer
//! arrived) and the data checks with their per-table results.

use crate::aliyun::DtsClient;
use crate::aliyun::dts::{CheckType, DtsJobStatus, StageState, StageStatus};
use crate::api::dts_migration::{
    DtsMigrationSpec, DtsMigrationStatus, PrecheckItem, PrecheckStatus, RetryStatus, TableCheck,
};

use super::decide::{CheckView, StageView, TaskView};

fn stage(s: &Option<StageStatus>) -> Option<StageView> {
    s.as_ref().map(|s| StageView {
        status: s
            .state
            .as_ref()
            .map(|x| x.as_str().to_string())
            .unwrap_or_else(|| "NotStarted".into()),
        percent: s.percent.map(|p| p.round() as i64),
        progress: s.progress.map(|p| p.to_string()),
        error: s.error_message.clone(),
    })
}

/// The task as the decision sees it; `answered` is when DTS's answer arrived.
pub fn task_view(s: &DtsJobStatus, answered: jiff::Timestamp) -> TaskView {
    let precheck = s.precheck.as_ref().map(|p| PrecheckStatus {
        status: p
            .state
            .as_ref()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        percent: p.percent.map(|x| x.round() as i64),
        total_items: p.items.len() as i64,
        items: p
            .items
            .iter()
            .map(|i| PrecheckItem {
                name: i.name.clone(),
                result: i
                    .state
                    .as_ref()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                reason: i
                    .message
                    .clone()
                    .or(i.description.clone())
                    .unwrap_or_default(),
                repair: i.repair_method.clone().unwrap_or_default(),
                can_skip: i.can_skip,
            })
            .collect(),
    });
    TaskView {
        status: s
            .state
            .as_ref()
            .map(|x| x.as_str().to_string())
            .unwrap_or_else(|| "NotConfigured".into()),
        instance_id: s.dts_instance_id.clone().filter(|i| !i.is_empty()),
        precheck,
        schema: stage(&s.structure_initialization),
        full: stage(&s.data_initialization),
        incremental: stage(&s.data_synchronization),
        lag_seconds: s.lag_seconds(),
        checkpoint: s.checkpoint,
        retry: s.retry.as_ref().map(|r| RetryStatus {
            retrying: r.retrying,
            count: r.retry_count.unwrap_or(0),
            elapsed_seconds: r.retry_time_secs.unwrap_or(0),
            max_seconds: r.max_retry_time_secs.unwrap_or(0),
            target: r.target.clone(),
            error: r.error_message.clone(),
        }),
        error: s.any_error_message().map(str::to_string),
        observed_at: answered,
        full_check: s.full_data_check.as_ref().map(check),
        incremental_check: s.inc_data_check.as_ref().map(check),
        schema_changes: None,
    }
}

fn check(c: &StageStatus) -> CheckView {
    CheckView {
        status: c
            .state
            .clone()
            .unwrap_or(StageState::NotStarted)
            .as_str()
            .to_string(),
        percent: c.percent.map(|p| p.round() as i64),
        can_switch: c.can_switch,
        error: c.error_message.clone(),
        tables: None,
    }
}

/// Reads the per-table results of the data checks the spec configures, when DTS has some to
/// give: the full check once it ended (again only when its status changes), the incremental
/// check on every poll while it runs. A read that fails leaves them unread (never "no
/// differences").
pub async fn data_check_tables(
    dts: &DtsClient,
    spec: &DtsMigrationSpec,
    prev: &DtsMigrationStatus,
    task: &mut TaskView,
) {
    let Some(configured) = &spec.data_check else {
        return;
    };
    let Some(job) = prev.dts_job_id.clone() else {
        return;
    };
    let prev_full = prev
        .verification
        .as_ref()
        .and_then(|v| v.full_check.as_ref());
    if configured.full
        && let Some(full) = task.full_check.as_mut()
        && matches!(
            full.status.as_str(),
            "Finished" | "Failed" | "Inconsistency"
        )
        // Read again when the answer changed: a different status, or DTS no longer saying the
        // same about switching (the per-table figures behind it changed).
        && !prev_full.is_some_and(|p| {
            p.status == full.status && p.can_switch == full.can_switch && p.tables_checked.is_some()
        })
    {
        full.tables = read(dts, &job, CheckType::Full).await;
    }
    if configured.incremental
        && let Some(inc) = task.incremental_check.as_mut()
        && inc.status != "NotStarted"
    {
        inc.tables = read(dts, &job, CheckType::Incremental).await;
    }
}

async fn read(dts: &DtsClient, job: &str, check: CheckType) -> Option<Vec<TableCheck>> {
    let name = match check {
        CheckType::Full => "Full",
        CheckType::Incremental => "Incremental",
    };
    match dts.describe_data_check_table_details(job, check).await {
        Ok(rows) => Some(
            rows.iter()
                .map(|r| TableCheck {
                    check: name.to_string(),
                    database: r.source_db.clone(),
                    table: r.source_table.clone(),
                    diff_rows: r.diff_rows,
                    diff_rows_at_least: r.error_code == Some(2),
                    checked_rows: r.checked_rows.filter(|_| check == CheckType::Full),
                    total_rows: r.total_rows.filter(|_| check == CheckType::Full),
                    error: if r.failed() {
                        r.error().or(Some("the table's check failed".into()))
                    } else {
                        None
                    },
                })
                .collect(),
        ),
        Err(e) => {
            tracing::warn!(%job, error = %e, "could not read the data check's per-table results");
            None
        }
    }
}
