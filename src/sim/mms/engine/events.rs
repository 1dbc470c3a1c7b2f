//! Time stepping: the pending events of every kind, applied in time order.

use super::{AsyncStatus, Mms};
use crate::sim::clock::SimMillis;

// The derived order breaks ties between events due at the same instant, which keeps runs
// reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Source(i64),
    Async(i64),
    Task(i64),
    Timer(i64),
}

impl Mms {
    /// Applies every event due up to `now`.
    pub fn advance(&mut self, now: SimMillis) {
        while let Some((at, event)) = self.next_event() {
            if at > now {
                break;
            }
            self.apply(event, at);
        }
    }

    /// When the next thing happens, if anything is pending.
    pub fn next_event_time(&self) -> Option<SimMillis> {
        self.next_event().map(|(t, _)| t)
    }

    fn next_event(&self) -> Option<(SimMillis, Event)> {
        let sources = self.sources.values().filter_map(|s| {
            s.transition
                .as_ref()
                .map(|(_, t)| (*t, Event::Source(s.id)))
        });
        let asyncs = self
            .async_tasks
            .values()
            .filter(|a| a.status == AsyncStatus::Doing)
            .map(|a| (a.due, Event::Async(a.id)));
        let tasks = self
            .tasks
            .values()
            .filter_map(|t| t.step_due.map(|d| (d, Event::Task(t.id))));
        let timers = self
            .timers
            .values()
            .filter(|t| !t.stopped)
            .filter_map(|t| t.next_fire.map(|f| (f, Event::Timer(t.id))));
        sources.chain(asyncs).chain(tasks).chain(timers).min()
    }

    fn apply(&mut self, event: Event, at: SimMillis) {
        match event {
            Event::Source(id) => {
                if let Some(s) = self.sources.get_mut(&id)
                    && let Some((status, _)) = s.transition.take()
                {
                    s.status = status;
                }
            }
            Event::Async(id) => self.complete_async(id, at),
            Event::Task(id) => {
                self.step_task(id, at);
                if let Some(source_id) = self.tasks.get(&id).map(|t| t.source_id) {
                    self.schedule(source_id, at);
                }
            }
            Event::Timer(id) => self.fire_timer(id, at),
        }
    }
}
