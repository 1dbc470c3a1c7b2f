//! What every kind's `decide` returns: the status to report, at most one thing to do, and when
//! to look again. One type, so that the five kinds read alike and a reconcile's ending is
//! computed in one place.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::controller::Action;

use super::context::Context;
use super::poll::keep_stamp_unless_changed;
use crate::api::conditions::{self, Desired};
use crate::api::cutover::{CutoverPhase, CutoverStatus};
use crate::api::data_source::{DataSourcePhase, DataSourceStatus};
use crate::api::dataworks_migration::{DataWorksMigrationPhase, DataWorksMigrationStatus};
use crate::api::dts_migration::{DtsMigrationPhase, DtsMigrationStatus};
use crate::api::mms_job::{MmsJobPhase, MmsJobStatus};

#[derive(Clone, Debug, PartialEq)]
pub struct Decision<S, A> {
    /// The whole status to report: carried over from the previous one or computed, never
    /// partial (see `api::schema_check`).
    pub status: S,
    /// The one call (or patch) to make: the finished request where the kind builds it in
    /// decide, else what the act's pure builder turns into one (ARCHITECTURE.md has the table).
    pub act: Option<A>,
    /// When to look again if nothing wakes the object earlier; None: only a change of the
    /// object (or news from the informer) does.
    pub requeue: Option<Duration>,
}

impl<S: Clone + PartialEq + serde::Serialize, A> Decision<S, A> {
    /// A poll stamp that is all that changed since `prev` keeps its previous value, so a poll
    /// that learnt nothing writes nothing (see `poll::keep_stamp_unless_changed`).
    pub fn keeping_stamp(mut self, prev: &S, stamp: fn(&mut S) -> &mut Option<Time>) -> Self {
        keep_stamp_unless_changed(prev, &mut self.status, stamp);
        self
    }

    /// Under test, the status must fit `kind`'s CRD schema (`api::schema_check`); a no-op
    /// otherwise.
    pub fn checked(self, kind: &str) -> Self {
        #[cfg(test)]
        crate::api::schema_check::assert_status_valid(kind, &self.status);
        #[cfg(not(test))]
        let _ = kind;
        self
    }
}

/// The controller's answer for a decision's `requeue`, scaled as the operator's polls are.
pub fn action(ctx: &Context, requeue: Option<Duration>) -> Action {
    requeue.map_or_else(Action::await_change, |after| {
        Action::requeue(ctx.poll(after))
    })
}

/// What one branch of a decide settles on, before it becomes the status. Named fields, so that
/// a condition cannot land in another's place and a new one is seen at every branch.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<P, A> {
    pub phase: P,
    /// The Ready condition.
    pub ready: Desired,
    /// The kind's other conditions this branch sets; those it leaves out keep their value.
    pub conditions: Vec<Desired>,
    pub act: Option<A>,
    pub requeue: Option<Duration>,
}

/// A status with a phase and conditions (every kind's).
pub trait Phased {
    type Phase;
    fn set_phase(&mut self, phase: Self::Phase);
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
}

macro_rules! phased {
    ($($status:ty => $phase:ty),* $(,)?) => {$(
        impl Phased for $status {
            type Phase = $phase;
            fn set_phase(&mut self, phase: $phase) {
                self.phase = Some(phase);
            }
            fn conditions_mut(&mut self) -> &mut Vec<Condition> {
                &mut self.conditions
            }
        }
    )*};
}

phased! {
    MmsJobStatus => MmsJobPhase,
    DataSourceStatus => DataSourcePhase,
    DtsMigrationStatus => DtsMigrationPhase,
    DataWorksMigrationStatus => DataWorksMigrationPhase,
    CutoverStatus => CutoverPhase,
}

impl<P, A> Outcome<P, A> {
    /// Sets condition `d` besides Ready, replacing what this outcome said of it before.
    pub fn set(&mut self, d: Desired) {
        match self.conditions.iter_mut().find(|c| c.type_ == d.type_) {
            Some(c) => *c = d,
            None => self.conditions.push(d),
        }
    }

    /// Whether this outcome says something of condition `type_` (besides Ready).
    pub fn sets(&self, type_: &str) -> bool {
        self.conditions.iter().any(|c| c.type_ == type_)
    }

    /// The decision: `status` in this phase, with Ready and the other conditions merged over
    /// the previous ones (`previous`).
    pub fn into_decision<S: Phased<Phase = P>>(
        self,
        mut status: S,
        previous: &[Condition],
        generation: Option<i64>,
        now: jiff::Timestamp,
    ) -> Decision<S, A> {
        status.set_phase(self.phase);
        let mut desired = vec![self.ready];
        desired.extend(self.conditions);
        *status.conditions_mut() = conditions::merge(previous, &desired, generation, now);
        Decision {
            status,
            act: self.act,
            requeue: self.requeue,
        }
    }
}
