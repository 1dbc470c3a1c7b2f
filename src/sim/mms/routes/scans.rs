//! Metadata scans and the async tasks behind slow operations.

use serde_json::{Value, json};

use super::call::{Call, str_field, str_list};
use crate::sim::mms::engine::{AsyncKind, Mms};
use crate::sim::mms::views;
use crate::sim::wire::ApiError;

/// CreateMmsFetchMetadataJob.
pub fn start_scan(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let b = call.json_body()?;
    let db = str_field(&b, "dbName")?;
    let tables = str_list(&b, "tableNames")?;
    let scan_id = mms.start_scan(id, db, tables, call.now)?;
    Ok(json!({"scanId": scan_id}))
}

/// GetMmsFetchMetadataJob.
pub fn get_scan(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let scan_id = call.object_id("scanId")?;
    let scan = mms
        .async_tasks
        .get(&scan_id)
        .filter(|a| a.source_id == id && a.kind == AsyncKind::MetadataScan)
        .ok_or_else(|| ApiError::not_found("ScanNotFound", format!("Metadata scan {scan_id}")))?;
    Ok(views::scan(scan, call.now))
}

/// GetMmsAsyncTask.
pub fn get_async_task(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let task_id = call.object_id("asyncTaskId")?;
    let task = mms
        .async_tasks
        .get(&task_id)
        .filter(|a| a.source_id == id)
        .ok_or_else(|| ApiError::not_found("AsyncTaskNotFound", format!("Async task {task_id}")))?;
    Ok(views::async_task(task, call.now))
}
