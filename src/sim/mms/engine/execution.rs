//! Running tasks: slots per data source, one step (schema, data, verification, hand-offs
//! between them) after another, and how a task ends.

use super::{Mms, Task};
use crate::sim::clock::SimMillis;
use crate::sim::mms::catalog::ObjStatus;
use crate::sim::mms::task::{self, TaskStatus};
use crate::sim::scenario::MmsTimings;

impl Mms {
    /// Starts queued tasks of the source while it has free slots, earliest `eta` first (jobs
    /// without one last).
    pub(super) fn schedule(&mut self, source_id: i64, now: SimMillis) {
        let running = self
            .tasks
            .values()
            .filter(|t| t.source_id == source_id && t.running())
            .count();
        let free = self.timings.max_running_tasks.saturating_sub(running);
        if free == 0 {
            return;
        }
        let mut waiting: Vec<(String, i64, i64)> = self
            .tasks
            .values()
            .filter(|t| t.source_id == source_id && t.queued && !t.stopped && !t.running())
            .map(|t| {
                let eta = self
                    .jobs
                    .get(&t.job_id)
                    .and_then(|j| j.request.eta.clone())
                    .unwrap_or_else(|| "~".into());
                (eta, t.job_id, t.id)
            })
            .collect();
        waiting.sort();
        for (_, job_id, task_id) in waiting.into_iter().take(free) {
            self.start_task(task_id, now);
            self.refresh_job(job_id);
        }
    }

    fn start_task(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.queued = false;
        task.end_time = None;
        task.start_time.get_or_insert(now);
        task.status = task::start_from(task.status, task.plan);
        let plan = task.plan;
        if task.status == TaskStatus::Done {
            self.finish_task(id, now);
            return;
        }
        if plan.data {
            self.set_objects(id, None, ObjStatus::Doing);
        }
        self.enter_step(id, now);
    }

    /// Schedules the end of the task's current step and logs its start.
    fn enter_step(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.step_due = Some(now + step_duration(&self.timings, task).max(1));
        if let Some((action, msg)) = step_start_log(task) {
            self.log(id, &action, &msg, now);
        }
    }

    /// Ends the task's current step: a working step succeeds or meets a planned failure, a
    /// hand-off moves on to the next step.
    pub(super) fn step_task(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get(&id).cloned() else {
            return;
        };
        if task.status.is_doing() {
            if let Some(reason) = self.step_failure(&task, now) {
                self.fail_task(id, &reason, now);
                return;
            }
            let next = task::advance(task.status, task.plan);
            self.tasks.get_mut(&id).expect("exists").status = next;
            let msg = match task.status {
                TaskStatus::DataDoing => format!("ok: {} rows copied", task.rows),
                _ => "ok".to_string(),
            };
            self.log(id, phase_name(task.status), &msg, now);
            self.enter_step(id, now);
        } else {
            let next = task::advance(task.status, task.plan);
            self.tasks.get_mut(&id).expect("exists").status = next;
            if next == TaskStatus::Done {
                self.finish_task(id, now);
            } else {
                self.enter_step(id, now);
            }
        }
        self.refresh_job(task.job_id);
    }

    fn fail_task(&mut self, id: i64, reason: &str, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.status = task::fail(task.status);
        task.step_due = None;
        task.end_time = Some(now);
        let (plan, job_id) = (task.plan, task.job_id);
        if plan.data {
            self.set_objects(id, None, ObjStatus::Failed);
        }
        self.log(id, "task failed", reason, now);
        self.refresh_job(job_id);
    }

    fn finish_task(&mut self, id: i64, now: SimMillis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.status = TaskStatus::Done;
        task.step_due = None;
        task.end_time = Some(now);
        let (plan, job_id) = (task.plan, task.job_id);
        if plan.data {
            self.set_objects(id, None, ObjStatus::Done);
            self.clear_updated(id);
        }
        self.log(id, "task done", "ok", now);
        self.refresh_job(job_id);
    }
}

/// How long the task's current step takes: data copies scale with bytes, verification with
/// rows, every other step is a hand-off.
fn step_duration(timings: &MmsTimings, task: &Task) -> i64 {
    match task.status {
        TaskStatus::SchemaDoing => timings.schema.ms(),
        TaskStatus::DataDoing => {
            let mb = task.bytes as f64 / (1024.0 * 1024.0);
            timings.data_base.ms() + (mb / timings.data_mb_per_second.max(0.001) * 1000.0) as i64
        }
        TaskStatus::VerificationDoing => {
            timings.verification_base.ms()
                + (task.rows as f64 / timings.verification_rows_per_second.max(1.0) * 1000.0) as i64
        }
        _ => timings.handoff.ms(),
    }
}

/// The log entry (action, message) of a starting step; hand-offs are not logged.
fn step_start_log(task: &Task) -> Option<(String, String)> {
    match task.status {
        TaskStatus::SchemaDoing => Some((
            format!(
                "create table if not exists {}.{}{}",
                task.dst_db_name,
                task.dst_schema_name
                    .as_deref()
                    .map(|s| format!("{s}."))
                    .unwrap_or_default(),
                task.dst_table_name
            ),
            "running".to_string(),
        )),
        TaskStatus::DataDoing => Some((
            "copy data".to_string(),
            format!(
                "started: {} partition(s), {} rows, {} bytes",
                task.partition_ids.len(),
                task.rows,
                task.bytes
            ),
        )),
        TaskStatus::VerificationDoing => Some((
            format!(
                "select count(*) from {}.{}",
                task.src_db_name, task.src_table_name
            ),
            "running".to_string(),
        )),
        _ => None,
    }
}

fn phase_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::SchemaDoing => "create table",
        TaskStatus::DataDoing => "copy data",
        _ => "verify",
    }
}
