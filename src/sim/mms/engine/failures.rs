//! Planned failures (scenario or admin API) and what a step reports when it meets one,
//! including the row counts a verification step compares.

use super::{Mms, Task};
use crate::sim::clock::SimMillis;
use crate::sim::mms::task::TaskStatus;
use crate::sim::scenario::{MmsFailureSpec, MmsPhase};

/// A planned failure, resolved to a source id.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRule {
    pub id: u64,
    pub source_id: i64,
    pub db: Option<String>,
    pub table: Option<String>,
    pub phase: MmsPhase,
    /// Attempts left to fail; `None` = always.
    pub remaining: Option<u32>,
    pub message: Option<String>,
    pub mismatch: bool,
}

impl Mms {
    /// Adds a planned failure; returns its id.
    pub fn add_failure(&mut self, spec: &MmsFailureSpec) -> anyhow::Result<u64> {
        let source_id = self
            .resolve_source(&spec.source)
            .ok_or_else(|| anyhow::anyhow!("unknown data source {:?}", spec.source))?;
        let id = self.next_failure;
        self.next_failure += 1;
        self.failures.push(FailureRule {
            id,
            source_id,
            db: spec.db.clone(),
            table: spec.table.clone(),
            phase: spec.phase,
            remaining: spec.times,
            message: spec.message.clone(),
            mismatch: spec.mismatch,
        });
        Ok(id)
    }

    pub(super) fn take_failure(
        &mut self,
        source_id: i64,
        db: Option<&str>,
        table: Option<&str>,
        phase: MmsPhase,
    ) -> Option<FailureRule> {
        let idx = self.failures.iter().position(|f| {
            f.source_id == source_id
                && f.phase == phase
                && f.db.as_deref().is_none_or(|d| Some(d) == db)
                && f.table.as_deref().is_none_or(|t| Some(t) == table)
        })?;
        let rule = self.failures[idx].clone();
        if let Some(n) = &mut self.failures[idx].remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.failures.remove(idx);
            }
        }
        Some(rule)
    }

    /// Why the working step of `task` fails, if a planned failure hits it. A verification
    /// step logs its row counts either way, so a mismatch shows in the task log.
    pub(super) fn step_failure(&mut self, task: &Task, now: SimMillis) -> Option<String> {
        let phase = match task.status {
            TaskStatus::SchemaDoing => MmsPhase::Schema,
            TaskStatus::DataDoing => MmsPhase::Data,
            _ => MmsPhase::Verification,
        };
        let failure = self.take_failure(
            task.source_id,
            Some(&task.src_db_name),
            Some(&task.src_table_name),
            phase,
        );
        if phase == MmsPhase::Verification {
            let mismatch = failure.as_ref().is_some_and(|f| f.mismatch);
            let msg = self.verification_message(task, mismatch);
            self.log(task.id, "compare source and destination count", &msg, now);
            return failure.map(|f| {
                f.message.unwrap_or_else(|| {
                    "verification failed: source and destination row counts differ".into()
                })
            });
        }
        failure.map(|rule| rule.message.unwrap_or_else(|| default_failure(phase, task)))
    }

    fn verification_message(&self, task: &Task, mismatch: bool) -> String {
        let diff = if mismatch {
            (task.rows / 997).max(1)
        } else {
            0
        };
        let mut msg = format!("src: {}, dst: {}", task.rows, task.rows - diff);
        let mut first = true;
        for pid in &task.partition_ids {
            if let Some(p) = self.catalog.partitions.get(pid) {
                let d = if first { diff } else { 0 };
                first = false;
                msg.push_str(&format!(
                    "\n{}: {}, {}",
                    p.value,
                    p.num_rows,
                    p.num_rows - d
                ));
                if d > 0 {
                    msg.push_str(" not equal!");
                }
            }
        }
        msg
    }
}

fn default_failure(phase: MmsPhase, task: &Task) -> String {
    match phase {
        MmsPhase::Schema => format!(
            "ODPS-0130071: Semantic analysis exception - failed to create table {}.{}: column type not supported",
            task.dst_db_name, task.dst_table_name
        ),
        _ => format!(
            "Job aborted due to stage failure: Task 3 in stage 2.0 failed 4 times; reading {}.{}: java.io.IOException: Connection reset by peer",
            task.src_db_name, task.src_table_name
        ),
    }
}
