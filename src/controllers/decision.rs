//! What every kind's `decide` returns: the status to report, at most one thing to do, and when
//! to look again. One type, so that the five kinds read alike and a reconcile's ending is
//! computed in one place.

use std::time::Duration;

use kube::runtime::controller::Action;

use super::context::Context;

#[derive(Clone, Debug, PartialEq)]
pub struct Decision<S, A> {
    /// The whole status to report: carried over from the previous one or computed, never
    /// partial (see `api::schema_check`).
    pub status: S,
    /// The one call (or patch) to make, built in full by `decide`.
    pub act: Option<A>,
    /// When to look again if nothing wakes the object earlier; None: only a change of the
    /// object (or news from the informer) does.
    pub requeue: Option<Duration>,
}

/// The controller's answer for a decision's `requeue`, scaled as the operator's polls are.
pub fn action(ctx: &Context, requeue: Option<Duration>) -> Action {
    requeue.map_or_else(Action::await_change, |after| {
        Action::requeue(ctx.poll(after))
    })
}
