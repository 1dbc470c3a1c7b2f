//! Timers (scheduled migrations) and their run logs.

use serde_json::{Value, json};

use super::call::{Call, source_exists, str_field, str_list};
use super::listing::{like, page};
use crate::sim::mms::engine::Mms;
use crate::sim::mms::views;
use crate::sim::wire::{ApiError, parse_bool};

/// CreateMmsTimer: a job request plus `scheduleType` and `value`.
pub fn create(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let request = call.job_request()?;
    let b = call.json_body()?;
    let schedule =
        str_field(&b, "scheduleType")?.ok_or_else(|| ApiError::missing("scheduleType"))?;
    let value = str_field(&b, "value")?.ok_or_else(|| ApiError::missing("value"))?;
    let timer_id = mms.create_timer(id, request, &schedule, &value, call.now)?;
    Ok(json!({"timerId": timer_id}))
}

/// ListMmsTimers.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let stopped = query.bool("stopped")?;
    let items = mms
        .timers
        .values()
        .filter(|t| t.source_id == id)
        .filter(|t| like(query.get("name"), &t.name))
        .filter(|t| query.get("srcDbName").is_none_or(|n| n == t.src_db_name))
        .filter(|t| {
            query.get("srcTableName").is_none_or(|n| {
                t.request
                    .tables
                    .as_ref()
                    .is_none_or(|ts| ts.iter().any(|x| x == n))
            })
        })
        .filter(|t| stopped.is_none_or(|s| s == t.stopped))
        .map(|t| views::timer(t, false))
        .collect();
    page(items, query, false)
}

/// GetMmsTimer.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let t = mms.timer(call.source_id()?, call.object_id("timerId")?)?;
    Ok(views::timer(t, true))
}

/// UpdateMmsTimer: only the members present change.
pub fn update(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let timer_id = call.object_id("timerId")?;
    let b = call.json_body()?;
    let stopped = match b.get("stopped") {
        Some(Value::Bool(v)) => Some(*v),
        Some(Value::String(s)) => Some(parse_bool(s).ok_or_else(|| ApiError::invalid("stopped"))?),
        Some(Value::Null) | None => None,
        Some(_) => return Err(ApiError::invalid("stopped")),
    };
    let black = b
        .contains_key("tableBlackList")
        .then(|| str_list(&b, "tableBlackList"))
        .transpose()?;
    let white = b
        .contains_key("tableWhiteList")
        .then(|| str_list(&b, "tableWhiteList"))
        .transpose()?;
    mms.update_timer(
        call.source_id()?,
        timer_id,
        str_field(&b, "scheduleType")?.as_deref(),
        str_field(&b, "value")?.as_deref(),
        stopped,
        black,
        white,
        call.now,
    )?;
    Ok(json!(timer_id))
}

/// DeleteMmsTimer.
pub fn delete(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let timer_id = call.object_id("timerId")?;
    mms.delete_timer(call.source_id()?, timer_id)?;
    Ok(json!(timer_id))
}

/// TriggerMmsTimer.
pub fn trigger(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let timer_id = call.object_id("timerId")?;
    mms.trigger_timer(call.source_id()?, timer_id, call.now)?;
    Ok(json!(timer_id))
}

/// ListMmsTimerLogs: newest first.
pub fn list_logs(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let timer_id = call.object_id("timerId")?;
    mms.timer(id, timer_id)?;
    let mut items: Vec<Value> = mms
        .timer_logs
        .iter()
        .filter(|l| l.timer_id == timer_id)
        .map(|l| views::timer_log(mms, l))
        .collect();
    items.reverse();
    page(items, call.query, false)
}
