//! Which tables and partitions a new job migrates, cut into tasks.

use super::{JobRequest, Mms};
use crate::sim::mms::catalog::{Db, ObjStatus, Partition, Table};
use crate::sim::mms::filter::Filter;

pub(super) struct JobPlan {
    pub(super) db_id: i64,
    pub(super) kind: &'static str,
    pub(super) units: Vec<Unit>,
}

/// The work of one task.
pub(super) struct Unit {
    pub(super) table_id: i64,
    pub(super) partition_ids: Vec<i64>,
}

impl Mms {
    pub(super) fn plan_job(&self, source_id: i64, request: &JobRequest) -> Result<JobPlan, String> {
        let db_name = request.src_db_name.as_deref().unwrap_or_default();
        let db = self
            .catalog
            .dbs
            .values()
            .find(|d| d.source_id == source_id && d.name == db_name)
            .ok_or_else(|| {
                format!("database '{db_name}' not found in data source {source_id}; run a metadata scan first")
            })?;
        let partition_ids = request.partitions.clone().unwrap_or_default();
        let (kind, tables) = self.select_tables(db, request, &partition_ids)?;
        let filters = request.partition_filters.clone().unwrap_or_default();
        let increment = request.increment.unwrap_or(false);
        let mut units = Vec::new();
        for table in tables {
            let filter = filters.get(&table.name);
            units.extend(self.table_units(table, &partition_ids, filter, increment)?);
        }
        Ok(JobPlan {
            db_id: db.id,
            kind,
            units,
        })
    }

    /// The job kind and its tables: those of the listed partitions, else the listed tables,
    /// else the whole database less the black list (or only the white list).
    fn select_tables(
        &self,
        db: &Db,
        request: &JobRequest,
        partition_ids: &[i64],
    ) -> Result<(&'static str, Vec<&Table>), String> {
        let db_tables: Vec<&Table> = self
            .catalog
            .tables
            .values()
            .filter(|t| t.db_id == db.id)
            .collect();
        let listed = request.tables.clone().unwrap_or_default();
        if !partition_ids.is_empty() {
            let mut ids: Vec<i64> = Vec::new();
            for pid in partition_ids {
                let p = self
                    .catalog
                    .partitions
                    .get(pid)
                    .filter(|p| p.db_id == db.id)
                    .ok_or_else(|| {
                        format!("partition {pid} not found in database '{}'", db.name)
                    })?;
                if !ids.contains(&p.table_id) {
                    ids.push(p.table_id);
                }
            }
            let tables = db_tables
                .into_iter()
                .filter(|t| ids.contains(&t.id))
                .collect();
            return Ok(("Partitions", tables));
        }
        if !listed.is_empty() {
            let missing: Vec<&str> = listed
                .iter()
                .filter(|n| !db_tables.iter().any(|t| &&t.name == n))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "table(s) not found in database '{}': {}",
                    db.name,
                    missing.join(", ")
                ));
            }
            let tables = db_tables
                .into_iter()
                .filter(|t| listed.contains(&t.name))
                .collect();
            return Ok(("Tables", tables));
        }
        let black = request.table_black_list.clone().unwrap_or_default();
        let white = request.table_white_list.clone().unwrap_or_default();
        let selected = db_tables
            .into_iter()
            .filter(|t| {
                if !black.is_empty() {
                    !black.contains(&t.name)
                } else {
                    white.is_empty() || white.contains(&t.name)
                }
            })
            .collect();
        Ok(("Database", selected))
    }

    /// The tasks of one table: the whole table, or its chosen partitions in groups. Only what
    /// is still [`pending`] is chosen.
    fn table_units(
        &self,
        table: &Table,
        partition_ids: &[i64],
        filter_text: Option<&String>,
        increment: bool,
    ) -> Result<Vec<Unit>, String> {
        let whole = || Unit {
            table_id: table.id,
            partition_ids: Vec::new(),
        };
        if !table.has_partitions() {
            let again = pending(table.status, table.updated);
            return Ok(if again { vec![whole()] } else { Vec::new() });
        }
        let filter = filter_text
            .map(|text| partition_filter(table, text))
            .transpose()?;
        let all: Vec<&Partition> = self.catalog.partitions_of(table.id).collect();
        if all.is_empty() {
            // Only the schema to create, and such a table never reaches DONE. An incremental
            // round has no new data here: it leaves the table to the first task that copies a
            // partition (its schema step creates the table if missing) instead of recreating
            // it every round.
            return Ok(if increment { Vec::new() } else { vec![whole()] });
        }
        let chosen: Vec<i64> = all
            .into_iter()
            .filter(|p| partition_ids.is_empty() || partition_ids.contains(&p.id))
            .filter(|p| filter.as_ref().is_none_or(|f| f.matches(&p.value)))
            .filter(|p| pending(p.status, p.updated))
            .map(|p| p.id)
            .collect();
        Ok(chosen
            .chunks(self.timings.partitions_per_task)
            .map(|chunk| Unit {
                table_id: table.id,
                partition_ids: chunk.to_vec(),
            })
            .collect())
    }
}

/// Whether a non-partitioned table or a partition is still to migrate: not DONE, or DONE but
/// changed at the source since (a scan saw new sizes and set `updated`, cleared again when a
/// task copies it). MMS does not re-migrate objects already migrated whose source data is
/// unchanged, in any job; this is what keeps a timer's incremental rounds to new and changed
/// partitions.
fn pending(status: ObjStatus, updated: bool) -> bool {
    status != ObjStatus::Done || updated
}

/// A job's `partitionFilters` entry for `table`, checked against its partition columns.
fn partition_filter(table: &Table, text: &str) -> Result<Filter, String> {
    let f = Filter::parse(text)
        .map_err(|e| format!("invalid partition filter for {}: {e}", table.name))?;
    for col in f.columns() {
        if !table.partition_columns.iter().any(|c| c.name == col) {
            return Err(format!(
                "invalid partition filter for {}: unknown partition column {col}",
                table.name
            ));
        }
    }
    Ok(f)
}
