//! The source side of a data source (what a metadata scan finds), grown while the simulator
//! runs: tests add partitions to a source table the way new daily data lands in Hive. Only the
//! inventory changes; the catalogue learns of them at the next scan or timer round.

use super::Mms;
use crate::sim::mms::catalog::partition_values;
use crate::sim::scenario::{AddedPartition, ColumnSpec, PartitionsSpec, TableSpec};

/// Why partitions could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryError {
    /// No such source, database or table.
    NotFound(String),
    /// A non-partitioned table, a malformed value, no values or negative rows.
    Invalid(String),
}

/// Partitions to add to one source table.
#[derive(Debug, Clone)]
pub struct NewPartitions<'a> {
    pub db: &'a str,
    pub table: &'a str,
    /// `col=value` per partition column, in the table's order, joined by `/`.
    pub values: &'a [String],
    /// Rows of each; `None`: the table's declared `numRowsEach`.
    pub rows: Option<i64>,
}

impl Mms {
    /// Adds partitions to a table of the source's inventory; returns how many were new (values
    /// the source already has are left as they are). All values are checked before any is
    /// added.
    pub fn add_source_partitions(
        &mut self,
        source_id: i64,
        new: &NewPartitions<'_>,
    ) -> Result<usize, InventoryError> {
        let table = self.source_table_mut(source_id, new.db, new.table)?;
        let rows = checked_rows(table, new).map_err(InventoryError::Invalid)?;
        let mut known: Vec<String> = partition_values(table)
            .into_iter()
            .map(|(v, _, _)| v)
            .collect();
        let spec = table.partitions.get_or_insert_with(PartitionsSpec::default);
        let size = bytes_for(spec, rows);
        let mut added = 0;
        for value in new.values {
            if known.contains(value) {
                continue;
            }
            known.push(value.clone());
            spec.added.push(AddedPartition {
                value: value.clone(),
                num_rows: rows,
                size,
            });
            added += 1;
        }
        Ok(added)
    }

    fn source_table_mut(
        &mut self,
        source_id: i64,
        db: &str,
        table: &str,
    ) -> Result<&mut TableSpec, InventoryError> {
        let source = self
            .sources
            .get_mut(&source_id)
            .ok_or_else(|| InventoryError::NotFound(format!("no MMS data source {source_id}")))?;
        let db_spec = source
            .remote
            .iter_mut()
            .find(|d| d.name == db)
            .ok_or_else(|| {
                InventoryError::NotFound(format!("no database {db} in data source {source_id}"))
            })?;
        db_spec
            .tables
            .iter_mut()
            .find(|t| t.name == table)
            .ok_or_else(|| InventoryError::NotFound(format!("no table {db}.{table}")))
    }
}

/// The rows of each new partition, once the table is known to be partitioned and every value
/// well formed.
fn checked_rows(table: &TableSpec, new: &NewPartitions<'_>) -> Result<i64, String> {
    if table.partition_columns.is_empty() {
        return Err(format!("table {}.{} is not partitioned", new.db, new.table));
    }
    if new.values.is_empty() {
        return Err("values is empty".into());
    }
    for value in new.values {
        check_value(&table.partition_columns, value)?;
    }
    let declared = table.partitions.as_ref().map_or(0, |p| p.num_rows_each);
    let rows = new.rows.unwrap_or(declared);
    if rows < 0 {
        return Err("rows must not be negative".into());
    }
    Ok(rows)
}

/// Checks that `value` names every partition column once, in the table's order, each with a
/// non-empty value: the shape scans produce and partition filters match against.
fn check_value(columns: &[ColumnSpec], value: &str) -> Result<(), String> {
    let expected = || {
        let shape: Vec<String> = columns.iter().map(|c| format!("{}=…", c.name)).collect();
        format!("partition value {value:?}: expected {}", shape.join("/"))
    };
    let parts: Vec<&str> = value.split('/').collect();
    if parts.len() != columns.len() {
        return Err(expected());
    }
    for (part, column) in parts.iter().zip(columns) {
        match part.split_once('=') {
            Some((name, v)) if name == column.name && !v.trim().is_empty() => {}
            _ => return Err(expected()),
        }
    }
    Ok(())
}

/// Bytes of a new partition of `rows` rows: the table's declared bytes per row, so that copy
/// times scale like those of its other partitions.
fn bytes_for(spec: &PartitionsSpec, rows: i64) -> i64 {
    if spec.num_rows_each > 0 {
        let bytes = i128::from(rows) * i128::from(spec.size_each) / i128::from(spec.num_rows_each);
        i64::try_from(bytes).unwrap_or(i64::MAX)
    } else {
        spec.size_each
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<ColumnSpec> {
        names
            .iter()
            .map(|n| ColumnSpec {
                name: n.to_string(),
                kind: "STRING".into(),
                comment: None,
            })
            .collect()
    }

    #[test]
    fn values_name_every_partition_column_in_order() {
        let two = columns(&["ds", "region"]);
        assert!(check_value(&two, "ds=2025-01-03/region=cn").is_ok());
        for bad in [
            "ds=2025-01-03",
            "region=cn/ds=2025-01-03",
            "ds=/region=cn",
            "ds2025-01-03/region=cn",
            "ds=2025-01-03/region=cn/x=1",
            "",
        ] {
            assert!(check_value(&two, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn new_partitions_take_the_tables_bytes_per_row() {
        let spec = PartitionsSpec {
            num_rows_each: 80_000,
            size_each: 41_943_040,
            ..PartitionsSpec::default()
        };
        assert_eq!(bytes_for(&spec, 40_000), 20_971_520);
        assert_eq!(bytes_for(&PartitionsSpec::default(), 1_000), 0);
    }
}
