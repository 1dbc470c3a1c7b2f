//! Data sources and their metadata scans.

use serde_json::{Value, json};

use super::{AsyncKind, AsyncStatus, AsyncTask, AsyncWork, Mms};
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::{Catalog, DataSource};
use crate::sim::scenario::{ConfigItemSpec, DataSourceSpec, MmsPhase};
use crate::sim::wire::ApiError;

impl Mms {
    /// Adds a data source of the scenario; a `scanned` one comes with a finished scan.
    pub(super) fn seed_source(
        &mut self,
        ds: &DataSourceSpec,
        region: &str,
        now: SimMillis,
    ) -> anyhow::Result<()> {
        let id = match ds.id {
            Some(id) => id,
            None => {
                let id = self.next_source;
                self.next_source += 1;
                id
            }
        };
        anyhow::ensure!(
            !self.sources.contains_key(&id),
            "duplicate data source id {id}"
        );
        let source = DataSource::from_spec(id, ds, region, now);
        if ds.scanned {
            let scan_id = self.alloc_async();
            self.catalog.absorb_scan(&source, None, &[], now);
            self.async_tasks.insert(
                scan_id,
                AsyncTask {
                    id: scan_id,
                    source_id: id,
                    kind: AsyncKind::MetadataScan,
                    status: AsyncStatus::Done,
                    object_id: Some(id),
                    result: Some(scan_result(&self.catalog, id)),
                    error_msg: None,
                    create_time: now,
                    end_time: Some(now),
                    due: now,
                    work: AsyncWork::Nothing,
                },
            );
            let mut source = source;
            source.scan_id = Some(scan_id);
            source.last_update_time = Some(now);
            self.sources.insert(id, source);
        } else {
            self.sources.insert(id, source);
        }
        Ok(())
    }

    /// Starts a metadata scan; returns the scan (async task) id.
    pub fn start_scan(
        &mut self,
        source_id: i64,
        db: Option<String>,
        tables: Vec<String>,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        let source = self.source_started(source_id)?;
        let table_count: usize = source
            .remote
            .iter()
            .filter(|d| db.as_deref().is_none_or(|f| f == d.name))
            .map(|d| {
                d.tables
                    .iter()
                    .filter(|t| tables.is_empty() || tables.contains(&t.name))
                    .count()
            })
            .sum();
        let duration =
            self.timings.scan_base.ms() + self.timings.scan_per_table.ms() * table_count as i64;
        let id = self.alloc_async();
        self.async_tasks.insert(
            id,
            AsyncTask {
                id,
                source_id,
                kind: AsyncKind::MetadataScan,
                status: AsyncStatus::Doing,
                object_id: Some(source_id),
                result: None,
                error_msg: None,
                create_time: now,
                end_time: None,
                due: now + duration,
                work: AsyncWork::Scan { db, tables },
            },
        );
        if let Some(s) = self.sources.get_mut(&source_id) {
            s.scan_id = Some(id);
        }
        Ok(id)
    }

    pub(super) fn source_started(&self, source_id: i64) -> Result<&DataSource, ApiError> {
        let source = self.sources.get(&source_id).ok_or_else(|| {
            ApiError::not_found("DataSourceNotFound", format!("Data source {source_id}"))
        })?;
        if source.status != "STARTED" {
            return Err(ApiError::new(
                400,
                "InvalidDataSourceStatus",
                format!(
                    "Data source {source_id} is {}; it must be STARTED.",
                    source.status
                ),
            ));
        }
        Ok(source)
    }

    pub(super) fn finish_scan(
        &mut self,
        source_id: i64,
        db: Option<&str>,
        tables: &[String],
        at: SimMillis,
    ) -> Result<(Option<i64>, String), String> {
        if let Some(rule) = self.take_failure(source_id, db, None, MmsPhase::Scan) {
            return Err(rule.message.unwrap_or_else(|| {
                "failed to fetch metadata: connection to the metastore timed out after 60000 ms"
                    .into()
            }));
        }
        let Some(source) = self.sources.get(&source_id).cloned() else {
            return Err("the data source was deleted".into());
        };
        let counts = self.catalog.absorb_scan(&source, db, tables, at);
        if let Some(s) = self.sources.get_mut(&source_id) {
            s.last_update_time = Some(at);
        }
        Ok((
            Some(source_id),
            json!({"databases": counts.databases, "tables": counts.tables, "partitions": counts.partitions})
                .to_string(),
        ))
    }

    /// Creates a data source (CreateMmsDataSource). Its remote catalogue is empty.
    pub fn create_source(
        &mut self,
        name: &str,
        kind: &str,
        networklink: Option<String>,
        config: &serde_json::Map<String, Value>,
        region: &str,
        now: SimMillis,
    ) -> i64 {
        let id = self.next_source;
        self.next_source += 1;
        let spec = DataSourceSpec {
            id: Some(id),
            name: name.to_string(),
            kind: kind.to_string(),
            region: Some(region.to_string()),
            networklink,
            dst_project: config
                .get("mc.default.project")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            dst_projects: Vec::new(),
            scanned: false,
            agent_online: true,
            config: config
                .iter()
                .map(|(k, v)| plain_config_item(k, v))
                .collect(),
            databases: Vec::new(),
        };
        let mut source = DataSource::from_spec(id, &spec, region, now);
        source.status = "STARTING".into();
        source.transition = Some(("STARTED".into(), now + self.timings.source_transition.ms()));
        self.sources.insert(id, source);
        id
    }

    /// UpdateMmsDataSource; returns the async task id.
    pub fn update_source(
        &mut self,
        source_id: i64,
        action: &str,
        name: Option<&str>,
        config: Option<&serde_json::Map<String, Value>>,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        let transition = self.timings.source_transition.ms();
        let source = self.sources.get_mut(&source_id).ok_or_else(|| {
            ApiError::not_found("DataSourceNotFound", format!("Data source {source_id}"))
        })?;
        match action.to_ascii_uppercase().as_str() {
            "UPDATE_CONFIG" => {
                for (k, v) in config.into_iter().flatten() {
                    match source.config.iter_mut().find(|c| &c.key == k) {
                        Some(item) => item.value = v.clone(),
                        None => source.config.push(plain_config_item(k, v)),
                    }
                }
            }
            "START" => {
                source.status = "STARTING".into();
                source.transition = Some(("STARTED".into(), now + transition));
            }
            "STOP" => {
                source.status = "STOPPING".into();
                source.transition = Some(("STOPPED".into(), now + transition));
            }
            "RENAME" => {
                let name = name.ok_or_else(|| ApiError::missing("name"))?;
                source.name = name.to_string();
            }
            _ => {
                return Err(ApiError::invalid_because(
                    "action",
                    "expected UPDATE_CONFIG, START, STOP or RENAME",
                ));
            }
        }
        let id = self.alloc_async();
        self.async_tasks.insert(
            id,
            AsyncTask {
                id,
                source_id,
                kind: AsyncKind::UpdateDataSource,
                status: AsyncStatus::Doing,
                object_id: Some(source_id),
                result: None,
                error_msg: None,
                create_time: now,
                end_time: None,
                due: now + 5_000,
                work: AsyncWork::Nothing,
            },
        );
        Ok(id)
    }

    /// DeleteMmsDataSource: the source, its jobs, tasks, timers and metadata.
    pub fn delete_source(&mut self, source_id: i64) -> Result<(), ApiError> {
        if self.sources.remove(&source_id).is_none() {
            return Err(ApiError::not_found(
                "DataSourceNotFound",
                format!("Data source {source_id}"),
            ));
        }
        self.catalog.remove_source(source_id);
        let task_ids: Vec<i64> = self
            .tasks
            .values()
            .filter(|t| t.source_id == source_id)
            .map(|t| t.id)
            .collect();
        for id in task_ids {
            self.tasks.remove(&id);
            self.logs.remove(&id);
        }
        self.jobs.retain(|_, j| j.source_id != source_id);
        self.timers.retain(|_, t| t.source_id != source_id);
        self.async_tasks.retain(|_, a| a.source_id != source_id);
        self.failures.retain(|f| f.source_id != source_id);
        Ok(())
    }
}

/// A configuration value set through the API, which carries no item metadata.
fn plain_config_item(key: &str, value: &Value) -> ConfigItemSpec {
    ConfigItemSpec {
        key: key.to_string(),
        name: None,
        desc: None,
        group: None,
        kind: "string".into(),
        required: false,
        value: value.clone(),
    }
}

fn scan_result(catalog: &Catalog, source_id: i64) -> String {
    json!({
        "databases": catalog.dbs.values().filter(|d| d.source_id == source_id).count(),
        "tables": catalog.tables.values().filter(|t| t.source_id == source_id).count(),
        "partitions": catalog.partitions.values().filter(|p| p.source_id == source_id).count(),
    })
    .to_string()
}
