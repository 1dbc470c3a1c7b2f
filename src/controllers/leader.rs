//! Leader election: stand as a candidate for the Lease, run the controllers only while the Lease
//! is ours and confirmed, stop them at once when it is not, and stand again.
//!
//! kube-lease-manager renews the Lease and says when another replica holds it, but while the
//! API server cannot be reached it keeps saying "leader" even after the Lease has expired and a
//! replica on the other side of the partition took it. The watchdog here closes that window (the
//! role of client-go's renew deadline): it reads the Lease back and steps down before the last
//! confirmed renewal runs out.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::Api;
use tokio::sync::watch;

use super::context::Context;
use super::{RunArgs, run_controllers, stopped};
use crate::server::Health;

/// Step down this long before the confirmed lease runs out: the other replicas' clocks may be
/// this much ahead of ours.
const CLOCK_MARGIN: Duration = Duration::from_secs(1);

/// Until when `lease` is held by `identity`, as the Lease object itself says.
pub fn held_until(lease: &Lease, identity: &str) -> Option<SystemTime> {
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref() != Some(identity) {
        return None;
    }
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    let secs = u64::try_from(spec.lease_duration_seconds?).ok()?;
    let renewed = SystemTime::from(renewed.0);
    Some(renewed + Duration::from_secs(secs))
}

/// How long a leader may keep working before it must have confirmed the lease again; zero means
/// step down now.
pub fn time_left(held_until: SystemTime, now: SystemTime) -> Duration {
    held_until
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .saturating_sub(CLOCK_MARGIN)
}

/// Why a leader stopped leading.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// SIGTERM/SIGINT, or the controllers ended by themselves.
    Stop,
    /// The lease can no longer be trusted to be ours.
    Lost(String),
}

/// Waits for the Lease, runs the controllers while holding it, and hands it back on shutdown.
pub async fn run_as_candidate(
    args: &RunArgs,
    client: Client,
    ctx: Arc<Context>,
    identity: &str,
    health: Arc<Health>,
    stop_rx: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let namespace = args
        .lease_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "default".to_string());
    let duration = args.lease_duration_seconds.max(2);
    let grace = (duration / 3).max(1);
    let manager = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &args.lease_name)
        .with_namespace(&namespace)
        .with_identity(identity)
        .with_duration(duration)
        .with_grace(grace)
        .build()
        .await
        .context("creating the leader-election lease manager")?;
    let leases: Api<Lease> = Api::namespaced(client, &namespace);
    let lease = LeaseReader {
        api: &leases,
        name: &args.lease_name,
        identity,
        period: Duration::from_secs(grace),
    };
    let (mut leader_rx, lease_task) = manager.watch().await;
    // A follower is healthy and ready: it takes over when the leader goes.
    health.set_ready(true);
    tracing::info!(lease = %args.lease_name, %namespace, %identity, "waiting for leadership");
    loop {
        let confirmed = tokio::select! {
            held = lease.confirmed(&mut leader_rx) => held,
            _ = stopped(stop_rx.clone()) => None,
        };
        let Some(until) = confirmed else { break };
        tracing::info!(%identity, "became leader");
        ctx.metrics.set_leader(identity, true);
        let (ctl_stop_tx, ctl_stop_rx) = watch::channel(false);
        let drain = Duration::from_secs(args.shutdown_grace_seconds);
        let mut controllers = tokio::spawn(run_controllers(ctx.clone(), ctl_stop_rx, drain));
        let ended = tokio::select! {
            _ = leader_rx.wait_for(|leader| !*leader) => Ended::Lost("another replica holds the lease".into()),
            reason = lease.watchdog(until) => Ended::Lost(reason),
            _ = stopped(stop_rx.clone()) => Ended::Stop,
            _ = &mut controllers => Ended::Stop,
        };
        ctx.metrics.set_leader(identity, false);
        match ended {
            Ended::Stop => {
                let _ = ctl_stop_tx.send(true);
                let _ = controllers.await;
                break;
            }
            Ended::Lost(reason) => {
                // No drain: the new leader may already be acting on the same objects.
                controllers.abort();
                let _ = controllers.await;
                tracing::error!(%identity, %reason, "lost leadership: stopped the controllers at once; standing again");
            }
        }
    }
    // Dropping the receiver ends the lease task, which returns the manager to release with.
    drop(leader_rx);
    match lease_task.await {
        Ok(Ok(manager)) => {
            if let Err(e) = manager.release().await {
                tracing::warn!(error = %e, "could not release the lease");
            } else {
                tracing::info!("released the lease");
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "lease manager failed"),
        Err(e) => tracing::warn!(error = %e, "lease task panicked"),
    }
    Ok(())
}

/// The Lease as this replica reads it back.
struct LeaseReader<'a> {
    api: &'a Api<Lease>,
    name: &'a str,
    identity: &'a str,
    /// How often a leader reads the Lease back (the manager's renew grace).
    period: Duration,
}

impl LeaseReader<'_> {
    /// Until when the Lease object says it is ours, read within `limit`.
    async fn read(&self, limit: Duration) -> Result<Option<SystemTime>, String> {
        match tokio::time::timeout(
            limit.max(Duration::from_millis(200)),
            self.api.get(self.name),
        )
        .await
        {
            Ok(Ok(lease)) => Ok(held_until(&lease, self.identity)),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {limit:?}")),
        }
    }

    /// Resolves when the manager says the Lease is ours and the Lease object confirms it with
    /// time to spare; `None` when the manager has ended.
    async fn confirmed(&self, leader_rx: &mut watch::Receiver<bool>) -> Option<SystemTime> {
        loop {
            if leader_rx.wait_for(|leader| *leader).await.is_err() {
                return None;
            }
            match self.read(self.period).await {
                Ok(Some(until)) if !time_left(until, SystemTime::now()).is_zero() => {
                    return Some(until);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the lease back yet"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Resolves, with the reason, once the Lease can no longer be confirmed as ours before the
    /// last confirmed renewal (`until`) runs out.
    async fn watchdog(&self, mut until: SystemTime) -> String {
        loop {
            let left = time_left(until, SystemTime::now());
            if left.is_zero() {
                return "the lease could not be confirmed before it expired (API server unreachable?)".into();
            }
            tokio::time::sleep(left.min(self.period)).await;
            match self.read(time_left(until, SystemTime::now())).await {
                Ok(Some(renewed)) => until = until.max(renewed),
                Ok(None) => return "the lease names another holder".into(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the lease back; will step down if this lasts")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn lease(holder: Option<&str>, renewed_secs_ago: u64, duration: i32) -> (Lease, SystemTime) {
        let now = SystemTime::now();
        let renewed = now - Duration::from_secs(renewed_secs_ago);
        let lease = Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                renew_time: Some(MicroTime(jiff::Timestamp::try_from(renewed).unwrap())),
                lease_duration_seconds: Some(duration),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        };
        (lease, now)
    }

    #[test]
    fn the_holder_holds_until_renewal_plus_duration() {
        let (l, now) = lease(Some("me"), 4, 15);
        let until = held_until(&l, "me").expect("ours");
        let left = until.duration_since(now).unwrap();
        assert!(
            left > Duration::from_millis(10_900) && left <= Duration::from_secs(11),
            "{left:?}"
        );
        assert!(held_until(&l, "other").is_none());
    }

    #[test]
    fn no_holder_or_no_duration_is_not_ours() {
        let (l, _) = lease(None, 0, 15);
        assert!(held_until(&l, "me").is_none());
        let mut l = lease(Some("me"), 0, 15).0;
        l.spec.as_mut().unwrap().lease_duration_seconds = None;
        assert!(held_until(&l, "me").is_none());
        assert!(held_until(&Lease::default(), "me").is_none());
    }

    #[test]
    fn a_leader_steps_down_a_margin_before_its_lease_runs_out() {
        let now = SystemTime::now();
        assert_eq!(
            time_left(now + Duration::from_secs(6), now),
            Duration::from_secs(5)
        );
        assert_eq!(time_left(now + CLOCK_MARGIN, now), Duration::ZERO);
        assert_eq!(time_left(now - Duration::from_secs(3), now), Duration::ZERO);
    }

    #[test]
    fn an_expired_lease_of_ours_is_not_confirmed() {
        let (l, now) = lease(Some("me"), 20, 15);
        assert!(time_left(held_until(&l, "me").unwrap(), now).is_zero());
    }
}
