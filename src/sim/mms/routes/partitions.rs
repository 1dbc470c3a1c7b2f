//! Scanned partitions: list with filters, and get.

use serde_json::Value;

use super::call::{Call, source_exists};
use super::listing::{SortableRow, page, sort_dotted, status_list, time_param};
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::Partition;
use crate::sim::mms::engine::Mms;
use crate::sim::mms::views;
use crate::sim::wire::{ApiError, Params};

/// ListMmsPartitions.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let filter = PartitionFilter::parse(query)?;
    let mut rows: Vec<SortableRow> = mms
        .catalog
        .partitions
        .values()
        .filter(|p| p.source_id == id && filter.admits(mms, p))
        .map(|p| {
            (
                views::partition(mms, p),
                p.num_rows,
                p.size,
                p.last_ddl_time,
            )
        })
        .collect();
    sort_dotted(&mut rows, query)?;
    page(rows.into_iter().map(|r| r.0).collect(), query, false)
}

/// The filters of ListMmsPartitions; the text ones are read from the query as they are applied.
struct PartitionFilter<'q> {
    query: &'q Params,
    statuses: Vec<String>,
    db_id: Option<i64>,
    table_id: Option<i64>,
    updated: Option<bool>,
    ddl_start: Option<SimMillis>,
    ddl_end: Option<SimMillis>,
}

impl<'q> PartitionFilter<'q> {
    fn parse(query: &'q Params) -> Result<Self, ApiError> {
        Ok(Self {
            query,
            statuses: status_list(query.get("status"))?,
            db_id: query.int("dbId")?,
            table_id: query.int("tableId")?,
            updated: query.bool("updated")?,
            ddl_start: time_param(query, "lastDdlTimeStart")?,
            ddl_end: time_param(query, "lastDdlTimeEnd")?,
        })
    }

    fn admits(&self, mms: &Mms, p: &Partition) -> bool {
        let q = self.query;
        self.db_id.is_none_or(|d| d == p.db_id)
            && self.table_id.is_none_or(|t| t == p.table_id)
            && q.get("dbName")
                .is_none_or(|n| mms.catalog.dbs.get(&p.db_id).is_some_and(|d| d.name == n))
            && q.get("tableName").is_none_or(|n| {
                mms.catalog
                    .tables
                    .get(&p.table_id)
                    .is_some_and(|t| t.name == n)
            })
            && q.get("value").is_none_or(|v| p.value.contains(v))
            && self.updated.is_none_or(|u| u == p.updated)
            && (self.statuses.is_empty() || self.statuses.contains(&p.status.as_str().to_string()))
            && self.ddl_start.is_none_or(|s| p.last_ddl_time >= s)
            && self.ddl_end.is_none_or(|e| p.last_ddl_time <= e)
    }
}

/// GetMmsPartition.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let pid = call.object_id("partitionId")?;
    let p = mms
        .catalog
        .partitions
        .get(&pid)
        .filter(|p| p.source_id == id)
        .ok_or_else(|| ApiError::not_found("PartitionNotFound", format!("Partition {pid}")))?;
    Ok(views::partition(mms, p))
}
