//! Async tasks: the handle MMS returns for slow operations (job creation, metadata scans,
//! data source updates), and what happens when one comes due.

use super::{JobRequest, Mms};
use crate::sim::clock::SimMillis;

/// What kind of work an async task stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncKind {
    /// CreateMmsJob; `objectId` becomes the job id.
    TaskCreate,
    /// CreateMmsFetchMetadataJob; the async task id is the scan id.
    MetadataScan,
    /// UpdateMmsDataSource.
    UpdateDataSource,
}

impl AsyncKind {
    /// The `type` reported by GetMmsAsyncTask.
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncKind::TaskCreate => "TASK_CREATE",
            AsyncKind::MetadataScan => "METADATA_SCAN",
            AsyncKind::UpdateDataSource => "UPDATE_DATASOURCE",
        }
    }
}

/// Async task status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncStatus {
    Doing,
    Done,
    Failed,
}

impl AsyncStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncStatus::Doing => "DOING",
            AsyncStatus::Done => "DONE",
            AsyncStatus::Failed => "FAILED",
        }
    }
}

/// What an async task will do when it completes.
#[derive(Debug, Clone)]
pub enum AsyncWork {
    CreateJob(Box<JobRequest>),
    Scan {
        db: Option<String>,
        tables: Vec<String>,
    },
    Nothing,
}

/// An async task (and, for scans, the scan itself).
#[derive(Debug, Clone)]
pub struct AsyncTask {
    pub id: i64,
    pub source_id: i64,
    pub kind: AsyncKind,
    pub status: AsyncStatus,
    pub object_id: Option<i64>,
    pub result: Option<String>,
    pub error_msg: Option<String>,
    pub create_time: SimMillis,
    pub end_time: Option<SimMillis>,
    pub due: SimMillis,
    pub work: AsyncWork,
}

impl AsyncTask {
    /// Progress 0–100 at `now` (linear over the task's duration).
    pub fn percent(&self, now: SimMillis) -> f64 {
        match self.status {
            AsyncStatus::Doing => {
                let span = (self.due - self.create_time).max(1) as f64;
                (((now - self.create_time) as f64 / span) * 100.0).clamp(0.0, 99.0)
            }
            _ => 100.0,
        }
    }
}

impl Mms {
    pub(super) fn alloc_async(&mut self) -> i64 {
        let id = self.next_async;
        self.next_async += 1;
        id
    }

    pub(super) fn complete_async(&mut self, id: i64, at: SimMillis) {
        let Some(task) = self.async_tasks.get(&id).cloned() else {
            return;
        };
        let outcome: Result<(Option<i64>, String), String> = match &task.work {
            AsyncWork::Scan { db, tables } => {
                self.finish_scan(task.source_id, db.as_deref(), tables, at)
            }
            AsyncWork::CreateJob(request) => self.finish_job_creation(task.source_id, request, at),
            AsyncWork::Nothing => Ok((task.object_id, "{}".into())),
        };
        if let Some(t) = self.async_tasks.get_mut(&id) {
            t.end_time = Some(at);
            match outcome {
                Ok((object, result)) => {
                    t.status = AsyncStatus::Done;
                    t.object_id = object;
                    t.result = Some(result);
                }
                Err(e) => {
                    t.status = AsyncStatus::Failed;
                    t.error_msg = Some(e);
                }
            }
        }
    }
}
