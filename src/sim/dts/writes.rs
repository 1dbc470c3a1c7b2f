//! The source's committed transactions, as far as a test needs them: each write has a commit
//! time, and a DTS job has replicated exactly the writes committed at or before its checkpoint
//! (`now − lag`). StopDtsJob freezes the checkpoint, so writes after it are never copied: a
//! cutover that stops replication before the source is drained loses them, and
//! [`Writes::lost`] counts them.

use serde::{Deserialize, Serialize};

use crate::sim::clock::SimMillis;

/// Commit times (simulated ms, ascending) of the writes made to a job's source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    commits: Vec<SimMillis>,
}

/// What the admin API shows of a job's writes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WritesView {
    /// Transactions committed on the source.
    pub committed: usize,
    /// Of those, how many the destination has (commit time ≤ checkpoint).
    pub replicated: usize,
    /// Committed but never to be replicated: the task was stopped before they were copied.
    pub lost: usize,
    /// Commit time of the newest write (simulated Unix ms).
    #[serde(default)]
    pub last_commit_millis: Option<SimMillis>,
    /// The job's checkpoint (simulated Unix ms): every write up to it is replicated.
    #[serde(default)]
    pub checkpoint_millis: Option<SimMillis>,
    /// Whether the checkpoint is frozen (the task was stopped).
    pub stopped: bool,
}

impl Writes {
    /// Commits `count` transactions at `now`.
    pub fn commit(&mut self, count: usize, now: SimMillis) {
        let at = self.commits.last().map_or(now, |last| now.max(*last));
        self.commits.extend(std::iter::repeat_n(at, count));
    }

    /// Writes committed at or before `checkpoint`.
    pub fn replicated(&self, checkpoint: Option<SimMillis>) -> usize {
        checkpoint.map_or(0, |c| self.commits.partition_point(|t| *t <= c))
    }

    /// The view for a checkpoint; `stopped` when it can no longer move.
    pub fn view(&self, checkpoint: Option<SimMillis>, stopped: bool) -> WritesView {
        let replicated = self.replicated(checkpoint);
        WritesView {
            committed: self.commits.len(),
            replicated,
            lost: if stopped {
                self.commits.len() - replicated
            } else {
                0
            },
            last_commit_millis: self.commits.last().copied(),
            checkpoint_millis: checkpoint,
            stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_up_to_the_checkpoint_are_replicated_and_the_rest_lost_once_stopped() {
        let mut w = Writes::default();
        w.commit(2, 1_000);
        w.commit(3, 2_000);
        assert_eq!(w.replicated(None), 0);
        assert_eq!(w.replicated(Some(999)), 0);
        assert_eq!(w.replicated(Some(1_000)), 2);
        assert_eq!(w.replicated(Some(5_000)), 5);
        let running = w.view(Some(1_500), false);
        assert_eq!(
            (running.committed, running.replicated, running.lost),
            (5, 2, 0)
        );
        let stopped = w.view(Some(1_500), true);
        assert_eq!(stopped.lost, 3);
        assert_eq!(stopped.last_commit_millis, Some(2_000));
    }

    #[test]
    fn commit_times_never_go_back() {
        let mut w = Writes::default();
        w.commit(1, 2_000);
        w.commit(1, 1_000);
        assert_eq!(w.view(Some(1_999), false).replicated, 0);
    }
}
