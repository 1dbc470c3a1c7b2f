//! MMS inventory: data sources with the catalogue a scan would find ("remote"), and the
//! databases, tables and partitions the service knows after scanning, with their migration
//! status roll-up (`docs/cloud-apis.md#mms-migration-status-roll-up`).

use std::collections::BTreeMap;

use crate::sim::clock::SimMillis;
use crate::sim::scenario::{ColumnSpec, ConfigItemSpec, DataSourceSpec, DbSpec, TableSpec};

/// Migration status of a db, table or partition (`PART_DONE` only for dbs and tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ObjStatus {
    Init,
    Doing,
    Done,
    Failed,
    PartDone,
}

impl ObjStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjStatus::Init => "INIT",
            ObjStatus::Doing => "DOING",
            ObjStatus::Done => "DONE",
            ObjStatus::Failed => "FAILED",
            ObjStatus::PartDone => "PART_DONE",
        }
    }

    /// Parses the wire spelling (any case).
    pub fn parse(text: &str) -> Option<Self> {
        [
            ObjStatus::Init,
            ObjStatus::Doing,
            ObjStatus::Done,
            ObjStatus::Failed,
            ObjStatus::PartDone,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The MMA roll-up: any DOING ⇒ DOING; any FAILED ⇒ FAILED; any PART_DONE ⇒ PART_DONE; all DONE
/// ⇒ DONE; DONE mixed with INIT ⇒ PART_DONE; else INIT. An empty set stays INIT.
pub fn roll_up(children: impl IntoIterator<Item = ObjStatus>) -> ObjStatus {
    let (mut doing, mut failed, mut part, mut done, mut init) = (false, false, false, 0, 0);
    for s in children {
        match s {
            ObjStatus::Doing => doing = true,
            ObjStatus::Failed => failed = true,
            ObjStatus::PartDone => part = true,
            ObjStatus::Done => done += 1,
            ObjStatus::Init => init += 1,
        }
    }
    if doing {
        ObjStatus::Doing
    } else if failed {
        ObjStatus::Failed
    } else if part || (done > 0 && init > 0) {
        ObjStatus::PartDone
    } else if done > 0 {
        ObjStatus::Done
    } else {
        ObjStatus::Init
    }
}

/// A data source.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub id: i64,
    pub name: String,
    /// Upper case: `HIVE`, `BIGQUERY`, …
    pub kind: String,
    pub region: String,
    pub networklink: String,
    pub dst_project: String,
    pub dst_projects: Vec<String>,
    pub status: String,
    pub err_msg: Option<String>,
    pub agent_online: bool,
    pub create_time: SimMillis,
    pub last_update_time: Option<SimMillis>,
    pub scan_id: Option<i64>,
    pub config: Vec<ConfigItemSpec>,
    /// What a metadata scan finds.
    pub remote: Vec<DbSpec>,
    /// A pending STARTING/STOPPING transition: (final status, when).
    pub transition: Option<(String, SimMillis)>,
}

impl DataSource {
    /// Builds a data source from its scenario entry.
    pub fn from_spec(id: i64, spec: &DataSourceSpec, region: &str, now: SimMillis) -> Self {
        Self {
            id,
            name: spec.name.clone(),
            kind: spec.kind.to_ascii_uppercase(),
            region: spec.region.clone().unwrap_or_else(|| region.to_string()),
            networklink: spec
                .networklink
                .clone()
                .unwrap_or_else(|| format!("vpc-sim{id}:{region}")),
            dst_project: spec.dst_project.clone(),
            dst_projects: if spec.dst_projects.is_empty() {
                vec![spec.dst_project.clone()]
            } else {
                spec.dst_projects.clone()
            },
            status: "STARTED".into(),
            err_msg: None,
            agent_online: spec.agent_online,
            create_time: now,
            last_update_time: None,
            scan_id: None,
            config: spec.config.clone(),
            remote: spec.databases.clone(),
            transition: None,
        }
    }

    /// The task engine type reported on tasks of this source.
    pub fn task_type(&self) -> &'static str {
        match self.kind.as_str() {
            "HIVE" => "HIVE",
            "BIGQUERY" => "BIGQUERY",
            "MAXCOMPUTE" => "COPY_TASK",
            "SNOWFLAKE" => "SNOWFLAKE",
            "REDSHIFT" => "REDSHIFT",
            "DATABRICKS" => "DATABRICKS",
            _ => "MOCK",
        }
    }
}

/// A scanned database.
#[derive(Debug, Clone)]
pub struct Db {
    pub id: i64,
    pub source_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub location: Option<String>,
    pub dst_project_name: String,
    /// Target schema (3-level projects); `None` for 2-level.
    pub dst_name: Option<String>,
    pub status: ObjStatus,
    pub updated: bool,
    pub create_time: SimMillis,
    pub update_time: SimMillis,
}

/// A scanned table.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub name: String,
    pub kind: String,
    pub owner: Option<String>,
    pub comment: Option<String>,
    pub num_rows: i64,
    pub size: i64,
    pub columns: Vec<ColumnSpec>,
    pub partition_columns: Vec<ColumnSpec>,
    pub dst_project_name: String,
    pub dst_schema_name: Option<String>,
    pub dst_name: String,
    pub status: ObjStatus,
    pub updated: bool,
    pub last_ddl_time: SimMillis,
    pub location: Option<String>,
}

impl Table {
    /// Whether the table has partition columns.
    pub fn has_partitions(&self) -> bool {
        !self.partition_columns.is_empty()
    }
}

/// A scanned partition.
#[derive(Debug, Clone)]
pub struct Partition {
    pub id: i64,
    pub source_id: i64,
    pub db_id: i64,
    pub table_id: i64,
    /// `p1=1/p2=abc`.
    pub value: String,
    pub num_rows: i64,
    pub size: i64,
    pub status: ObjStatus,
    pub updated: bool,
    pub last_ddl_time: SimMillis,
}

/// The scanned catalogue of every source.
#[derive(Debug, Default)]
pub struct Catalog {
    pub dbs: BTreeMap<i64, Db>,
    pub tables: BTreeMap<i64, Table>,
    pub partitions: BTreeMap<i64, Partition>,
    next_db: i64,
    next_table: i64,
    next_partition: i64,
}

/// Counts found by a scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanCounts {
    pub databases: usize,
    pub tables: usize,
    pub partitions: usize,
}

impl Catalog {
    /// An empty catalogue with the id ranges the real service shows.
    pub fn new() -> Self {
        Self {
            next_db: 100_001,
            next_table: 200_001,
            next_partition: 3_000_001,
            ..Self::default()
        }
    }

    /// Merges what a scan of `source` found into the catalogue: new objects are added, changed
    /// sizes mark objects `updated`. `db_filter`/`table_filter` restrict the scan.
    pub fn absorb_scan(
        &mut self,
        source: &DataSource,
        db_filter: Option<&str>,
        table_filter: &[String],
        now: SimMillis,
    ) -> ScanCounts {
        let mut counts = ScanCounts::default();
        for db_spec in &source.remote {
            if db_filter.is_some_and(|f| f != db_spec.name) {
                continue;
            }
            counts.databases += 1;
            let db_id = self.upsert_db(source, db_spec, now);
            for t in &db_spec.tables {
                if !table_filter.is_empty() && !table_filter.contains(&t.name) {
                    continue;
                }
                counts.tables += 1;
                let db = &self.dbs[&db_id];
                let (dst_project, dst_schema) = (db.dst_project_name.clone(), db.dst_name.clone());
                let table_id =
                    self.upsert_table(source.id, db_id, t, &dst_project, dst_schema, now);
                for (value, rows, size) in partition_values(t) {
                    counts.partitions += 1;
                    self.upsert_partition(source.id, db_id, table_id, value, rows, size, now);
                }
            }
        }
        self.refresh_source(source.id);
        counts
    }

    fn upsert_db(&mut self, source: &DataSource, spec: &DbSpec, now: SimMillis) -> i64 {
        if let Some(db) = self
            .dbs
            .values_mut()
            .find(|d| d.source_id == source.id && d.name == spec.name)
        {
            db.update_time = now;
            return db.id;
        }
        let id = self.next_db;
        self.next_db += 1;
        self.dbs.insert(
            id,
            Db {
                id,
                source_id: source.id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                owner: spec.owner.clone(),
                location: spec.location.clone(),
                dst_project_name: source.dst_project.clone(),
                dst_name: None,
                status: ObjStatus::Init,
                updated: false,
                create_time: now,
                update_time: now,
            },
        );
        id
    }

    fn upsert_table(
        &mut self,
        source_id: i64,
        db_id: i64,
        spec: &TableSpec,
        dst_project: &str,
        dst_schema: Option<String>,
        now: SimMillis,
    ) -> i64 {
        if let Some(t) = self
            .tables
            .values_mut()
            .find(|t| t.db_id == db_id && t.name == spec.name)
        {
            if t.num_rows != spec.num_rows || t.size != spec.size {
                t.num_rows = spec.num_rows;
                t.size = spec.size;
                t.updated = true;
                t.last_ddl_time = now;
            }
            return t.id;
        }
        let id = self.next_table;
        self.next_table += 1;
        self.tables.insert(
            id,
            Table {
                id,
                source_id,
                db_id,
                name: spec.name.clone(),
                kind: spec.kind.clone().unwrap_or_else(|| "MANAGED_TABLE".into()),
                owner: spec.owner.clone(),
                comment: spec.comment.clone(),
                num_rows: spec.num_rows,
                size: spec.size,
                columns: spec.columns.clone(),
                partition_columns: spec.partition_columns.clone(),
                dst_project_name: dst_project.to_string(),
                dst_schema_name: dst_schema,
                dst_name: spec.name.clone(),
                status: ObjStatus::Init,
                updated: false,
                last_ddl_time: now,
                location: None,
            },
        );
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn upsert_partition(
        &mut self,
        source_id: i64,
        db_id: i64,
        table_id: i64,
        value: String,
        rows: i64,
        size: i64,
        now: SimMillis,
    ) {
        if let Some(p) = self
            .partitions
            .values_mut()
            .find(|p| p.table_id == table_id && p.value == value)
        {
            if p.num_rows != rows || p.size != size {
                p.num_rows = rows;
                p.size = size;
                p.updated = true;
                p.last_ddl_time = now;
            }
            return;
        }
        let id = self.next_partition;
        self.next_partition += 1;
        self.partitions.insert(
            id,
            Partition {
                id,
                source_id,
                db_id,
                table_id,
                value,
                num_rows: rows,
                size,
                status: ObjStatus::Init,
                updated: false,
                last_ddl_time: now,
            },
        );
    }

    /// Partitions of a table, in id order.
    pub fn partitions_of(&self, table_id: i64) -> impl Iterator<Item = &Partition> {
        self.partitions
            .values()
            .filter(move |p| p.table_id == table_id)
    }

    /// Rows and bytes of a table (summed over partitions when partitioned).
    pub fn table_totals(&self, table: &Table) -> (i64, i64) {
        if table.has_partitions() {
            self.partitions_of(table.id)
                .fold((0, 0), |(r, s), p| (r + p.num_rows, s + p.size))
        } else {
            (table.num_rows, table.size)
        }
    }

    /// Recomputes partitioned-table and db statuses of a source from their children.
    pub fn refresh_source(&mut self, source_id: i64) {
        let table_ids: Vec<i64> = self
            .tables
            .values()
            .filter(|t| t.source_id == source_id && t.has_partitions())
            .map(|t| t.id)
            .collect();
        for id in table_ids {
            let parts: Vec<ObjStatus> = self.partitions_of(id).map(|p| p.status).collect();
            if !parts.is_empty()
                && let Some(t) = self.tables.get_mut(&id)
            {
                t.status = roll_up(parts);
            }
        }
        let db_ids: Vec<i64> = self
            .dbs
            .values()
            .filter(|d| d.source_id == source_id)
            .map(|d| d.id)
            .collect();
        for id in db_ids {
            let status = roll_up(
                self.tables
                    .values()
                    .filter(|t| t.db_id == id)
                    .map(|t| t.status),
            );
            if let Some(db) = self.dbs.get_mut(&id) {
                db.status = status;
            }
        }
    }

    /// Removes everything of a source (DeleteMmsDataSource).
    pub fn remove_source(&mut self, source_id: i64) {
        self.dbs.retain(|_, d| d.source_id != source_id);
        self.tables.retain(|_, t| t.source_id != source_id);
        self.partitions.retain(|_, p| p.source_id != source_id);
    }
}

/// The partitions a table spec declares, then those added at run time: (value, rows, bytes).
pub fn partition_values(spec: &TableSpec) -> Vec<(String, i64, i64)> {
    let Some(p) = &spec.partitions else {
        return Vec::new();
    };
    let mut values = p.values.clone();
    if let Some(daily) = &p.daily
        && let Ok(start) = daily.from.parse::<jiff::civil::Date>()
    {
        for day in 0..daily.days {
            let Ok(date) = start.checked_add(jiff::Span::new().days(i64::from(day))) else {
                break;
            };
            let base = format!("{}={date}", daily.column);
            match &daily.then {
                Some(sub) => values.extend(
                    sub.values
                        .iter()
                        .map(|v| format!("{base}/{}={v}", sub.column)),
                ),
                None => values.push(base),
            }
        }
    }
    values
        .into_iter()
        .map(|v| (v, p.num_rows_each, p.size_each))
        .chain(
            p.added
                .iter()
                .map(|a| (a.value.clone(), a.num_rows, a.size)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_up_rules() {
        use ObjStatus::*;
        assert_eq!(roll_up([Done, Doing]), Doing);
        assert_eq!(roll_up([Done, Failed]), Failed);
        assert_eq!(roll_up([Done, Init]), PartDone);
        assert_eq!(roll_up([Done, Done]), Done);
        assert_eq!(roll_up([Init]), Init);
        assert_eq!(roll_up([]), Init);
    }
}
