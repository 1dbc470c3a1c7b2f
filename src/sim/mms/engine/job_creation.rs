//! CreateMmsJob: the request is checked at once, the job and its tasks appear when the
//! `TASK_CREATE` async task comes due.

use std::collections::BTreeMap;

use serde_json::json;

use super::planning::Unit;
use super::{AsyncKind, AsyncStatus, AsyncTask, AsyncWork, Job, JobRequest, Mms, Task};
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::Db;
use crate::sim::mms::task::{JobStatus, Plan, TaskStatus};
use crate::sim::scenario::MmsPhase;
use crate::sim::wire::ApiError;

/// What every task of a new job shares.
struct TaskTemplate<'a> {
    job_id: i64,
    source_id: i64,
    db: Db,
    dst_db_name: String,
    dst_schema_name: Option<String>,
    engine: &'static str,
    /// The job's `enable*` flags; a task without data to copy drops data and verification.
    steps: Plan,
    table_mapping: Option<&'a BTreeMap<String, String>>,
}

impl Mms {
    /// CreateMmsJob: validates the request and starts the `TASK_CREATE` async task.
    pub fn create_job(
        &mut self,
        source_id: i64,
        request: JobRequest,
        now: SimMillis,
    ) -> Result<i64, ApiError> {
        self.source_started(source_id)?;
        let name = request
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::missing("name"))?;
        if request
            .src_db_name
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            return Err(ApiError::missing("srcDbName"));
        }
        if self.job_name_taken(source_id, name) {
            return Err(ApiError::new(
                400,
                "JobNameDuplicated",
                format!(
                    "A migration job named '{name}' already exists in data source {source_id}."
                ),
            ));
        }
        let id = self.alloc_async();
        self.async_tasks.insert(
            id,
            AsyncTask {
                id,
                source_id,
                kind: AsyncKind::TaskCreate,
                status: AsyncStatus::Doing,
                object_id: None,
                result: None,
                error_msg: None,
                create_time: now,
                end_time: None,
                due: now + self.timings.job_create.ms(),
                work: AsyncWork::CreateJob(Box::new(request)),
            },
        );
        Ok(id)
    }

    /// Names are taken by existing jobs and by creations still in flight.
    fn job_name_taken(&self, source_id: i64, name: &str) -> bool {
        self.jobs
            .values()
            .any(|j| j.source_id == source_id && j.name == name)
            || self.async_tasks.values().any(|a| {
                a.source_id == source_id
                    && a.status == AsyncStatus::Doing
                    && matches!(&a.work, AsyncWork::CreateJob(r) if r.name.as_deref() == Some(name))
            })
    }

    pub(super) fn finish_job_creation(
        &mut self,
        source_id: i64,
        request: &JobRequest,
        at: SimMillis,
    ) -> Result<(Option<i64>, String), String> {
        let db_name = request.src_db_name.clone().unwrap_or_default();
        if let Some(rule) = self.take_failure(source_id, Some(&db_name), None, MmsPhase::Create) {
            return Err(rule
                .message
                .unwrap_or_else(|| "failed to create the migration plan: internal error".into()));
        }
        let plan = self.plan_job(source_id, request)?;
        let job_id = self.next_job;
        self.next_job += 1;
        let (schema, data, verify) = request.plan_flags();
        let db = self.catalog.dbs[&plan.db_id].clone();
        let source = self.sources[&source_id].clone();
        let template = TaskTemplate {
            job_id,
            source_id,
            dst_db_name: request
                .dst_db_name
                .clone()
                .unwrap_or_else(|| db.dst_project_name.clone()),
            dst_schema_name: request.dst_schema_name.clone().or(db.dst_name.clone()),
            db,
            engine: source.task_type(),
            steps: Plan {
                schema,
                data,
                verify,
            },
            table_mapping: request.table_mapping.as_ref(),
        };
        self.jobs.insert(
            job_id,
            Job {
                id: job_id,
                source_id,
                db_id: template.db.id,
                name: request.name.clone().unwrap_or_default(),
                src_db_name: template.db.name.clone(),
                dst_db_name: template.dst_db_name.clone(),
                dst_schema_name: template.dst_schema_name.clone(),
                kind: plan.kind,
                status: JobStatus::Init,
                stopped: false,
                create_time: at,
                request: request.clone(),
                timer_id: request.timer_id,
            },
        );
        let task_count = plan.units.len();
        for unit in plan.units {
            self.add_task(&template, unit, at);
        }
        self.refresh_job(job_id);
        self.schedule(source_id, at);
        Ok((
            Some(job_id),
            json!({"jobId": job_id, "taskNum": task_count}).to_string(),
        ))
    }

    fn add_task(&mut self, template: &TaskTemplate<'_>, unit: Unit, at: SimMillis) {
        let db = &template.db;
        let table = self.catalog.tables[&unit.table_id].clone();
        let (rows, bytes) = if table.has_partitions() {
            unit.partition_ids
                .iter()
                .filter_map(|p| self.catalog.partitions.get(p))
                .fold((0, 0), |(r, b), p| (r + p.num_rows, b + p.size))
        } else {
            (table.num_rows, table.size)
        };
        let task_id = self.next_task;
        self.next_task += 1;
        let has_data = !table.has_partitions() || !unit.partition_ids.is_empty();
        let dst_table = template
            .table_mapping
            .and_then(|m| m.get(&table.name).cloned())
            .unwrap_or_else(|| table.dst_name.clone());
        let task = Task {
            id: task_id,
            job_id: template.job_id,
            source_id: template.source_id,
            db_id: db.id,
            table_id: table.id,
            src_db_name: db.name.clone(),
            src_table_name: table.name.clone(),
            dst_db_name: template.dst_db_name.clone(),
            dst_schema_name: template
                .dst_schema_name
                .clone()
                .or(table.dst_schema_name.clone()),
            dst_table_name: dst_table,
            engine: template.engine,
            status: TaskStatus::Init,
            stopped: false,
            queued: true,
            retried_times: 0,
            create_time: at,
            start_time: None,
            end_time: None,
            partition_ids: unit.partition_ids,
            plan: Plan {
                schema: template.steps.schema,
                data: template.steps.data && has_data,
                verify: template.steps.verify && has_data,
            },
            step_due: None,
            rows,
            bytes,
        };
        let msg = if table.has_partitions() {
            format!(
                "task created for {} partition(s) of {}.{}",
                task.partition_ids.len(),
                db.name,
                table.name
            )
        } else {
            format!("task created for table {}.{}", db.name, table.name)
        };
        self.tasks.insert(task_id, task);
        self.log(task_id, "create task", &msg, at);
    }
}
