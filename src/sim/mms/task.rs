//! The MMS task state machine and the job status roll-up
//! (`docs/cloud-apis.md#mms-task-state-machine-and-job-status`), as plain functions over enums so
//! that they can be tested without a server.

use serde::{Deserialize, Serialize};

/// Task status, exactly as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Init,
    SchemaDoing,
    SchemaDone,
    SchemaFailed,
    DataDoing,
    DataDone,
    DataFailed,
    VerificationDoing,
    VerificationDone,
    VerificationFailed,
    Done,
}

impl TaskStatus {
    /// Every status, in the documented order.
    pub const ALL: [TaskStatus; 11] = [
        TaskStatus::Init,
        TaskStatus::SchemaDoing,
        TaskStatus::SchemaDone,
        TaskStatus::SchemaFailed,
        TaskStatus::DataDoing,
        TaskStatus::DataDone,
        TaskStatus::DataFailed,
        TaskStatus::VerificationDoing,
        TaskStatus::VerificationDone,
        TaskStatus::VerificationFailed,
        TaskStatus::Done,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Init => "INIT",
            TaskStatus::SchemaDoing => "SCHEMA_DOING",
            TaskStatus::SchemaDone => "SCHEMA_DONE",
            TaskStatus::SchemaFailed => "SCHEMA_FAILED",
            TaskStatus::DataDoing => "DATA_DOING",
            TaskStatus::DataDone => "DATA_DONE",
            TaskStatus::DataFailed => "DATA_FAILED",
            TaskStatus::VerificationDoing => "VERIFICATION_DOING",
            TaskStatus::VerificationDone => "VERIFICATION_DONE",
            TaskStatus::VerificationFailed => "VERIFICATION_FAILED",
            TaskStatus::Done => "DONE",
        }
    }

    /// Parses the wire spelling (any case).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// `*_FAILED`.
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            TaskStatus::SchemaFailed | TaskStatus::DataFailed | TaskStatus::VerificationFailed
        )
    }

    /// `*_DOING`.
    pub fn is_doing(self) -> bool {
        matches!(
            self,
            TaskStatus::SchemaDoing | TaskStatus::DataDoing | TaskStatus::VerificationDoing
        )
    }

    /// In flight for the job roll-up: a doing phase or an intermediate done phase.
    pub fn is_in_flight(self) -> bool {
        self.is_doing()
            || matches!(
                self,
                TaskStatus::SchemaDone | TaskStatus::DataDone | TaskStatus::VerificationDone
            )
    }
}

/// What a task does (from the job's `enable*` flags and whether there is data to copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub schema: bool,
    pub data: bool,
    pub verify: bool,
}

/// The status a task enters when it (re)starts running from `status`: a fresh task begins its
/// first phase, a task stopped mid-phase redoes that phase, a task stopped between phases goes on.
pub fn start_from(status: TaskStatus, plan: Plan) -> TaskStatus {
    match status {
        TaskStatus::Init if plan.schema => TaskStatus::SchemaDoing,
        TaskStatus::Init => after_schema(plan),
        TaskStatus::SchemaDone => after_schema(plan),
        TaskStatus::DataDone => after_data(plan),
        TaskStatus::VerificationDone => TaskStatus::Done,
        other => other,
    }
}

/// The status after a phase step completes without error: `*_DOING` → `*_DONE`, and a `*_DONE`
/// (after the hand-off pause) → the next phase.
pub fn advance(status: TaskStatus, plan: Plan) -> TaskStatus {
    match status {
        TaskStatus::Init => start_from(status, plan),
        TaskStatus::SchemaDoing => TaskStatus::SchemaDone,
        TaskStatus::SchemaDone => after_schema(plan),
        TaskStatus::DataDoing => TaskStatus::DataDone,
        TaskStatus::DataDone => after_data(plan),
        TaskStatus::VerificationDoing => TaskStatus::VerificationDone,
        TaskStatus::VerificationDone => TaskStatus::Done,
        terminal => terminal,
    }
}

fn after_schema(plan: Plan) -> TaskStatus {
    if plan.data {
        TaskStatus::DataDoing
    } else {
        TaskStatus::Done
    }
}

fn after_data(plan: Plan) -> TaskStatus {
    if plan.verify {
        TaskStatus::VerificationDoing
    } else {
        // Without verification DATA_DONE jumps to VERIFICATION_DONE (MMA v3 behaviour).
        TaskStatus::VerificationDone
    }
}

/// The failure status for a task that fails while in `status`: the current phase's `*_FAILED`.
pub fn fail(status: TaskStatus) -> TaskStatus {
    match status {
        TaskStatus::Init | TaskStatus::SchemaDoing => TaskStatus::SchemaFailed,
        TaskStatus::SchemaDone | TaskStatus::DataDoing => TaskStatus::DataFailed,
        TaskStatus::DataDone | TaskStatus::VerificationDoing => TaskStatus::VerificationFailed,
        other => other,
    }
}

/// Where a retried task resumes: schema failures redo the schema, data and verification
/// failures redo the data copy (target overwritten) and then verify. `None` if not failed.
pub fn retry_point(status: TaskStatus) -> Option<TaskStatus> {
    match status {
        TaskStatus::SchemaFailed => Some(TaskStatus::Init),
        TaskStatus::DataFailed | TaskStatus::VerificationFailed => Some(TaskStatus::SchemaDone),
        _ => None,
    }
}

/// Job status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Init,
    Doing,
    Done,
    Failed,
}

impl JobStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Init => "INIT",
            JobStatus::Doing => "DOING",
            JobStatus::Done => "DONE",
            JobStatus::Failed => "FAILED",
        }
    }

    /// Parses the wire spelling (any case).
    pub fn parse(text: &str) -> Option<Self> {
        [
            JobStatus::Init,
            JobStatus::Doing,
            JobStatus::Done,
            JobStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The job roll-up over `(status, stopped)` of its tasks (a stopped task counts as INIT):
/// anything in flight ⇒ DOING; else any failure ⇒ FAILED; else any INIT ⇒ unchanged; else (all
/// DONE, or no task at all) ⇒ DONE.
pub fn aggregate(tasks: &[(TaskStatus, bool)], current: JobStatus) -> JobStatus {
    let effective = |&(s, stopped): &(TaskStatus, bool)| if stopped { TaskStatus::Init } else { s };
    if tasks.iter().map(effective).any(TaskStatus::is_in_flight) {
        JobStatus::Doing
    } else if tasks.iter().map(effective).any(TaskStatus::is_failed) {
        JobStatus::Failed
    } else if tasks.iter().map(effective).any(|s| s == TaskStatus::Init) {
        current
    } else {
        JobStatus::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Plan = Plan {
        schema: true,
        data: true,
        verify: true,
    };

    #[test]
    fn full_plan_walks_every_phase() {
        let mut s = TaskStatus::Init;
        let mut seen = vec![s];
        while s != TaskStatus::Done {
            s = advance(s, FULL);
            seen.push(s);
        }
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn without_verification_data_done_jumps() {
        let plan = Plan {
            verify: false,
            ..FULL
        };
        assert_eq!(
            advance(TaskStatus::DataDone, plan),
            TaskStatus::VerificationDone
        );
    }

    #[test]
    fn failures_map_to_the_phase() {
        assert_eq!(fail(TaskStatus::Init), TaskStatus::SchemaFailed);
        assert_eq!(fail(TaskStatus::DataDoing), TaskStatus::DataFailed);
        assert_eq!(fail(TaskStatus::DataDone), TaskStatus::VerificationFailed);
        assert_eq!(
            retry_point(TaskStatus::VerificationFailed),
            Some(TaskStatus::SchemaDone)
        );
        assert_eq!(
            start_from(TaskStatus::SchemaDone, FULL),
            TaskStatus::DataDoing
        );
    }

    #[test]
    fn roll_up_follows_mma() {
        use TaskStatus::*;
        assert_eq!(
            aggregate(&[(Done, false), (DataDoing, false)], JobStatus::Init),
            JobStatus::Doing
        );
        assert_eq!(
            aggregate(&[(Done, false), (DataFailed, false)], JobStatus::Doing),
            JobStatus::Failed
        );
        assert_eq!(
            aggregate(&[(DataDoing, true), (Done, false)], JobStatus::Doing),
            JobStatus::Doing
        );
        assert_eq!(
            aggregate(&[(Init, false)], JobStatus::Init),
            JobStatus::Init
        );
        assert_eq!(
            aggregate(&[(Done, false)], JobStatus::Doing),
            JobStatus::Done
        );
    }
}
