//! The drain of a scheduled MmsJob: one final round that started after `frozenAt`, so it
//! copies every write made before the freeze, must succeed (and verify) before the switch.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{Act, Machine, elapsed};
use crate::api::cutover::{CutoverPhase as Phase, DrainRecord, StepState};
use crate::api::mms_schedule::MmsRound;
use crate::controllers::cutover::gates::MmsObs;

impl Machine<'_, '_> {
    /// Asks the MmsJob for a round after the freeze (a ObserveOnly one waits for its schedule),
    /// then waits for a round whose measured start is at or after `frozenAt` to succeed. A
    /// failed final round, or none within `drain.timeoutSeconds`, undoes the freeze: nothing
    /// was switched.
    pub(super) fn drain_mms(&mut self, name: &str, job: &MmsObs) -> Option<Phase> {
        let Some(frozen_at) = self.status.frozen_at.as_ref().map(|t| t.0) else {
            return self.fail_step(
                name,
                "no frozenAt recorded: the freeze did not finish".into(),
            );
        };
        if job.schedule.is_none() {
            self.end_step(
                name,
                StepState::Skipped,
                format!("MmsJob {} has no schedule: its data was complete and verified before the freeze", job.name),
            );
            return None;
        }
        let now = self.now();
        self.start_step(
            name,
            format!(
                "waiting for a round of {} started after frozenAt {frozen_at}",
                job.name
            ),
        );
        if let Some(wait) = self.still_settling(frozen_at) {
            return wait;
        }
        let rounds = job.rounds.clone().unwrap_or_default();
        let after_freeze =
            |r: &&MmsRound| r.started_after.as_ref().is_some_and(|t| t.0 >= frozen_at);
        let finals: Vec<&MmsRound> = rounds.recent.iter().filter(after_freeze).collect();
        if let Some(r) = finals
            .iter()
            .filter(|r| r.succeeded())
            .min_by_key(|r| r.job_id)
        {
            let started = r.started_after.clone().unwrap_or(Time(frozen_at));
            let record = DrainRecord {
                migration: job.name.clone(),
                checkpoint: started.clone(),
                lag_seconds: None,
                sample_at: r.finished_by.clone().unwrap_or(Time(now)),
                round_job_id: Some(r.job_id),
            };
            let verification = r
                .verification
                .map(|v| format!(", verification {v}"))
                .unwrap_or_default();
            self.status.drained.retain(|d| d.migration != job.name);
            self.status.drained.push(record);
            self.end_step(
                name,
                StepState::Succeeded,
                format!(
                    "final round job {} started after {} (>= frozenAt {frozen_at}) and succeeded{verification}",
                    r.job_id, started.0
                ),
            );
            return None;
        }
        if let Some(r) = finals.iter().find(|r| r.finished()) {
            let why = format!(
                "the final round of {} (job {}) ended {}{}: the freeze is undone and nothing was switched; fix the round's failure (spec.retryTables does not apply to rounds: the next round migrates what is not DONE) and resume",
                job.name,
                r.job_id,
                r.status,
                r.failure
                    .as_ref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default()
            );
            self.end_step(name, StepState::Failed, why.clone());
            return Some(self.start_rollback(why, Phase::Aborted));
        }
        let freeze_started = self.freeze_started(now);
        let timeout = Duration::from_secs(self.plan.drain.timeout_seconds.max(1) as u64);
        let value = frozen_at.to_string();
        let request = rounds.request.as_ref().filter(|r| r.requested_at == value);
        let seen = match (finals.first(), request) {
            (Some(r), _) => format!("round job {} is {}", r.job_id, r.status),
            (None, Some(req)) if req.message.is_some() => {
                format!("no round yet: {}", req.message.clone().unwrap_or_default())
            }
            (None, Some(_)) => "round requested; not seen yet".to_string(),
            (None, None) if job.observe_only => {
                "ObserveOnly: waiting for the next scheduled round".to_string()
            }
            (None, None) => "requesting a round".to_string(),
        };
        if elapsed(freeze_started, now) > timeout {
            let why = format!(
                "drain of {} did not finish within drain.timeoutSeconds {} ({seen}; needed a round started after frozenAt {frozen_at} that succeeds); the freeze is undone and nothing was switched",
                job.name,
                timeout.as_secs()
            );
            self.end_step(name, StepState::Failed, why.clone());
            return Some(self.start_rollback(why, Phase::Aborted));
        }
        if request.is_none() && !job.observe_only && self.act.is_none() {
            self.act = Some(Act::FinalRound {
                migration: job.name.clone(),
                value,
            });
        }
        self.waiting(
            Phase::Draining,
            "Draining",
            format!("draining {}: {seen}", job.name),
        )
    }
}
