//! Scanned databases: list, get, and update their target and migration status.

use serde_json::{Map, Value, json};

use super::call::{Call, obj_status, source_exists, str_field};
use super::listing::{apply_sorters, like, page};
use crate::sim::mms::engine::Mms;
use crate::sim::mms::views;
use crate::sim::wire::ApiError;

/// ListMmsDbs.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let status = query.get("status").map(|s| s.to_ascii_uppercase());
    let mut items: Vec<Value> = mms
        .catalog
        .dbs
        .values()
        .filter(|d| d.source_id == id && like(query.get("name"), &d.name))
        .filter(|d| status.as_deref().is_none_or(|s| s == d.status.as_str()))
        .map(|d| views::db(mms, d, true))
        .collect();
    if let Some(sorter) = query.get("sorter") {
        let map: Map<String, Value> = serde_json::from_str(sorter)
            .map_err(|_| ApiError::invalid_because("sorter", "expected a JSON object"))?;
        apply_sorters(
            &mut items,
            map.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("asc"))),
        )?;
    }
    page(items, query, false)
}

/// GetMmsDb.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let db_id = call.object_id("dbId")?;
    let d = mms
        .catalog
        .dbs
        .get(&db_id)
        .filter(|d| d.source_id == id)
        .ok_or_else(|| ApiError::not_found("DbNotFound", format!("Database {db_id}")))?;
    Ok(views::db(mms, d, false))
}

/// UpdateMmsDb: a new status applies to every table and partition of the database.
pub fn update(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let db_id = call.object_id("dbId")?;
    let b = call.json_body()?;
    let status = obj_status(&b)?;
    let d = mms
        .catalog
        .dbs
        .get_mut(&db_id)
        .filter(|d| d.source_id == id)
        .ok_or_else(|| ApiError::not_found("DbNotFound", format!("Database {db_id}")))?;
    if let Some(p) = str_field(&b, "dstProjectName")? {
        d.dst_project_name = p;
    }
    if let Some(n) = str_field(&b, "dstName")? {
        d.dst_name = Some(n);
    }
    if let Some(s) = status {
        d.status = s;
        for t in mms.catalog.tables.values_mut().filter(|t| t.db_id == db_id) {
            t.status = s;
        }
        for p in mms
            .catalog
            .partitions
            .values_mut()
            .filter(|p| p.db_id == db_id)
        {
            p.status = s;
        }
    }
    Ok(json!(db_id))
}
