//! Verification evidence: the row counts MMS's verification logs state, read once per job when
//! it finished, for at most [`MAX_TASKS_READ`] tasks.

use crate::aliyun::mms::ListTasksRequest;
use crate::aliyun::{MmsClient, Pacing, Priority};
use crate::api::mms_job::{MmsJobPhase, MmsJobSpec, MmsJobStatus, RowCounts};
use crate::controllers::informer::mms::plan::log_lines;

use super::decide::row_counts_in_log;

/// Tasks whose logs are read for their counts (one ListMmsTaskLogs each).
pub const MAX_TASKS_READ: usize = 20;

/// Whether the finished job's counts are still to be read.
pub fn due(spec: &MmsJobSpec, status: &MmsJobStatus) -> bool {
    spec.enable_verification
        && status.job_id.is_some()
        && matches!(
            status.phase,
            Some(MmsJobPhase::Succeeded | MmsJobPhase::Failed)
        )
        && status
            .verification
            .as_ref()
            .is_some_and(|v| v.row_counts_read.is_none())
}

/// Reads the counts into `status.verification`. A read that fails leaves them unread (the next
/// reconcile tries again); a log without counts leaves its task out.
pub async fn read(mms: &MmsClient, source_id: i64, status: &mut MmsJobStatus) {
    let Some(job_id) = status.job_id else {
        return;
    };
    // A one-time read of a finished job: it waits its turn in the budget instead of ending the
    // reconcile on a queued call (the job is settled: nothing would wake it again).
    let mms = &mms.clone().with_pacing(Pacing::Wait(Priority::Poll));
    let filter = ListTasksRequest {
        job_id: Some(job_id),
        ..ListTasksRequest::default()
    };
    let tasks = match mms.list_all_tasks(source_id, &filter, MAX_TASKS_READ).await {
        Ok(t) => t.items,
        Err(e) => {
            tracing::debug!(job = job_id, error = %e, "verification counts not read");
            return;
        }
    };
    let mut counts = Vec::new();
    for task in tasks.iter().take(MAX_TASKS_READ) {
        let logs = match mms.list_task_logs(source_id, task.id).await {
            Ok(logs) => logs,
            Err(e) => {
                tracing::debug!(task = task.id, error = %e, "verification counts not read");
                return;
            }
        };
        if let Some((source_rows, destination_rows)) = row_counts_in_log(&log_lines(&logs)) {
            counts.push(RowCounts {
                task_id: task.id,
                table: format!("{}.{}", task.src_db_name, task.src_table_name),
                source_rows,
                destination_rows,
            });
        }
    }
    if let Some(v) = status.verification.as_mut() {
        v.row_counts = counts;
        v.row_counts_read = Some(tasks.len().min(MAX_TASKS_READ) as i64);
    }
}
