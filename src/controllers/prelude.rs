//! What every reconcile does before it reads anything: a paused object says Paused, an invalid
//! spec says what to change (neither is retried: only a change of the object wakes it), and a
//! new `reconcile-requested-at` annotation is noticed. One function, so that the five kinds
//! cannot drift apart in how they stop.

use kube::runtime::controller::Action;

use super::error::Result;
use super::managed::{Managed, is_paused, paused, reconcile_requested_at, rejected, validate};

/// How a kind shows the prelude's two stops in its status.
pub struct Phases<S> {
    pub paused: fn(&mut S),
    pub invalid: fn(&mut S),
}

/// The `reconcile-requested-at` annotation against the last value handled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// A value not handled yet: read the cloud now, whatever the poll schedule says.
    pub forced: bool,
    /// What status records as handled after this reconcile.
    pub handled: Option<String>,
}

impl Request {
    pub fn of(annotation: Option<String>, last_handled: Option<&str>) -> Self {
        Self {
            forced: annotation.is_some() && annotation.as_deref() != last_handled,
            handled: annotation.or_else(|| last_handled.map(str::to_string)),
        }
    }
}

/// Where the reconcile goes after the prelude.
pub enum Prelude {
    /// Paused or invalid: the status says so; return this.
    Stop(Action),
    /// Go on.
    Go(Request),
}

/// Pause, then validation, then the reconcile request. `stop` runs before either stop is
/// reported (e.g. to stop following the object's cloud state).
pub async fn prelude<K>(
    ctx: &super::context::Context,
    obj: &K,
    last_handled: Option<&str>,
    phases: &Phases<K::Status>,
    stop: impl FnOnce(),
) -> Result<Prelude>
where
    K: Managed + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    if is_paused(obj) {
        stop();
        return Ok(Prelude::Stop(paused(ctx, obj, phases.paused).await?));
    }
    if let Err(e) = validate(obj) {
        stop();
        return Ok(Prelude::Stop(rejected(ctx, obj, e, phases.invalid).await?));
    }
    Ok(Prelude::Go(Request::of(
        reconcile_requested_at(obj),
        last_handled,
    )))
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn a_request_forces_a_read_once() {
        let new = Request::of(Some("t2".into()), Some("t1"));
        assert!(new.forced);
        assert_eq!(new.handled.as_deref(), Some("t2"));
        let handled = Request::of(Some("t2".into()), Some("t2"));
        assert!(!handled.forced);
        assert_eq!(handled.handled.as_deref(), Some("t2"));
        // The annotation removed: nothing to do, and the last value stays on record.
        let removed = Request::of(None, Some("t2"));
        assert_eq!(
            removed,
            Request {
                forced: false,
                handled: Some("t2".into())
            }
        );
        assert_eq!(Request::of(None, None), Request::default());
    }
}
