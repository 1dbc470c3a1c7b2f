//! Scanned tables: list with their many filters, get, and update one or many.

use serde_json::{Map, Value, json};

use super::call::{Call, obj_status, source_exists, str_field, str_list};
use super::listing::{SortableRow, like, page, sort_dotted, status_list, time_param};
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::{ObjStatus, Table};
use crate::sim::mms::engine::Mms;
use crate::sim::mms::views;
use crate::sim::wire::{ApiError, Params};

/// ListMmsTables.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let filter = TableFilter::parse(query)?;
    let only_name = query.bool("onlyName")?.unwrap_or(false);
    let mut rows: Vec<SortableRow> = mms
        .catalog
        .tables
        .values()
        .filter(|t| t.source_id == id && filter.admits(mms, t))
        .map(|t| {
            let (r, s) = mms.catalog.table_totals(t);
            let v = if only_name {
                json!({"id": t.id, "name": t.name, "dbId": t.db_id})
            } else {
                views::table(mms, t)
            };
            (v, r, s, t.last_ddl_time)
        })
        .collect();
    sort_dotted(&mut rows, query)?;
    page(rows.into_iter().map(|r| r.0).collect(), query, false)
}

/// The filters of ListMmsTables; the text ones are read from the query as they are applied.
struct TableFilter<'q> {
    query: &'q Params,
    statuses: Vec<String>,
    db_id: Option<i64>,
    has_partitions: Option<bool>,
    ddl_start: Option<SimMillis>,
    ddl_end: Option<SimMillis>,
}

impl<'q> TableFilter<'q> {
    fn parse(query: &'q Params) -> Result<Self, ApiError> {
        Ok(Self {
            query,
            statuses: status_list(query.get("status"))?,
            db_id: query.int("dbId")?,
            has_partitions: query.bool("hasPartitions")?,
            ddl_start: time_param(query, "lastDdlTimeStart")?,
            ddl_end: time_param(query, "lastDdlTimeEnd")?,
        })
    }

    fn admits(&self, mms: &Mms, t: &Table) -> bool {
        let q = self.query;
        self.db_id.is_none_or(|d| d == t.db_id)
            && q.get("dbName")
                .is_none_or(|n| mms.catalog.dbs.get(&t.db_id).is_some_and(|d| d.name == n))
            && like(q.get("name"), &t.name)
            && q.get("type")
                .is_none_or(|k| k.eq_ignore_ascii_case(&t.kind))
            && self.has_partitions.is_none_or(|h| h == t.has_partitions())
            && q.get("dstProjectName")
                .is_none_or(|p| p == t.dst_project_name)
            && q.get("dstSchemaName")
                .is_none_or(|p| Some(p) == t.dst_schema_name.as_deref())
            && q.get("dstName").is_none_or(|p| p == t.dst_name)
            && (self.statuses.is_empty() || self.statuses.contains(&t.status.as_str().to_string()))
            && self.ddl_start.is_none_or(|s| t.last_ddl_time >= s)
            && self.ddl_end.is_none_or(|e| t.last_ddl_time <= e)
    }
}

/// GetMmsTable.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let table_id = call.object_id("tableId")?;
    let t = mms
        .catalog
        .tables
        .get(&table_id)
        .filter(|t| t.source_id == id)
        .ok_or_else(|| ApiError::not_found("TableNotFound", format!("Table {table_id}")))?;
    Ok(views::table(mms, t))
}

/// UpdateMmsTable: a new status applies to the table's partitions too.
pub fn update(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let table_id = call.object_id("tableId")?;
    let b = call.json_body()?;
    let status = obj_status(&b)?;
    let t = mms
        .catalog
        .tables
        .get_mut(&table_id)
        .filter(|t| t.source_id == id)
        .ok_or_else(|| ApiError::not_found("TableNotFound", format!("Table {table_id}")))?;
    apply_table_update(t, &b, status)?;
    if let Some(s) = status {
        set_partitions_status(mms, table_id, s);
    }
    mms.catalog.refresh_source(id);
    Ok(json!(table_id))
}

/// UpdateMmsTables: the tables named in `tableNames` or given by id in `tables`, optionally
/// only those of `dbName`.
pub fn update_many(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let b = call.json_body()?;
    let status = obj_status(&b)?;
    let db_name = str_field(&b, "dbName")?;
    let names = str_list(&b, "tableNames")?;
    let ids: Vec<i64> = b
        .get("tables")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let db_id = db_name
        .map(|n| {
            mms.catalog
                .dbs
                .values()
                .find(|d| d.source_id == id && d.name == n)
                .map(|d| d.id)
                .ok_or_else(|| ApiError::invalid_because("dbName", "database not found"))
        })
        .transpose()?;
    let targets: Vec<i64> = mms
        .catalog
        .tables
        .values()
        .filter(|t| t.source_id == id && db_id.is_none_or(|d| d == t.db_id))
        .filter(|t| names.contains(&t.name) || ids.contains(&t.id))
        .map(|t| t.id)
        .collect();
    for tid in &targets {
        let t = mms.catalog.tables.get_mut(tid).expect("listed");
        apply_table_update(t, &b, status)?;
        if let Some(s) = status {
            set_partitions_status(mms, *tid, s);
        }
    }
    mms.catalog.refresh_source(id);
    Ok(json!(targets.len()))
}

fn apply_table_update(
    t: &mut Table,
    b: &Map<String, Value>,
    status: Option<ObjStatus>,
) -> Result<(), ApiError> {
    if let Some(p) = str_field(b, "dstProjectName")? {
        t.dst_project_name = p;
    }
    if let Some(s) = str_field(b, "dstSchemaName")? {
        t.dst_schema_name = Some(s);
    }
    if let Some(n) = str_field(b, "dstName")? {
        t.dst_name = n;
    }
    if let Some(s) = status {
        t.status = s;
    }
    Ok(())
}

fn set_partitions_status(mms: &mut Mms, table_id: i64, status: ObjStatus) {
    for p in mms
        .catalog
        .partitions
        .values_mut()
        .filter(|p| p.table_id == table_id)
    {
        p.status = status;
    }
}
