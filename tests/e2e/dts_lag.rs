//! A DtsMigration's lag is evidence only while it is fresh (issue 14, A2 and A4): each sample
//! carries the time DTS answered, and once no answer came for longer than
//! `lagStaleAfterSeconds` the lag condition turns Unknown (`LagStale`) instead of repeating an
//! old number.

use std::time::Duration;

use serde_json::json;

use crate::support::cutover::*;
use crate::support::*;

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_lag_sample_is_stamped_when_dts_answered() {
    let Stage {
        ns, sim, op: _op, ..
    } = stage("lag-stamp", Sim::start(&[]), json!({}));
    block_on(sim.admin.slow_next("DescribeDtsJobs", 1, 5_000)).unwrap();
    let slow = wait_for("the slowed DescribeDtsJobs", T, || {
        block_on(sim.admin.requests_for("DescribeDtsJobs"))
            .unwrap()
            .into_iter()
            .find(|r| r.fault.as_deref() == Some("slow:5000ms") && r.status > 0)
    });
    let received: jiff::Timestamp = slow.time.parse().unwrap();
    let answered = received
        .checked_add(jiff::SignedDuration::from_millis(slow.duration_ms as i64))
        .unwrap();
    // The first sample of a poll that began after the call was sent is the slowed one.
    let m = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "the sample of the slow answer",
        T,
        |o| {
            at(o, "status.lagSamples").as_array().is_some_and(|s| {
                s.iter().any(|x| {
                    time_of(&x["at"])
                        >= received
                            .checked_sub(jiff::SignedDuration::from_millis(500))
                            .unwrap()
                })
            })
        },
    );
    let sample = at(&m, "status.lagSamples")
        .as_array()
        .unwrap()
        .iter()
        .map(|x| time_of(&x["at"]))
        .find(|t| {
            *t >= received
                .checked_sub(jiff::SignedDuration::from_millis(500))
                .unwrap()
        })
        .unwrap();
    // Times in status have whole seconds: the answer arrived within the second stamped.
    assert!(
        sample
            >= answered
                .checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap(),
        "sample stamped {sample}, but DTS answered at {answered} (request received {received})"
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn lag_turns_unknown_when_dts_cannot_be_read_for_longer_than_the_bound() {
    let Stage {
        ns, sim, op: _op, ..
    } = stage(
        "lag-stale",
        Sim::start(&[]),
        json!({"lagStaleAfterSeconds": 5}),
    );
    ns.kubectl
        .wait_condition("dtsmigration/orders", "LagWithinThreshold", 120);
    for action in ["DescribeDtsJobs", "DescribeDtsJobDetail"] {
        block_on(sim.admin.fail_for(action, 25.0, "ServiceUnavailable", 503)).unwrap();
    }
    let m = wait_obj(
        &ns.kubectl,
        "dtsmigration/orders",
        "LagWithinThreshold Unknown",
        Duration::from_secs(20),
        |o| has_condition(o, "LagWithinThreshold", "Unknown"),
    );
    let lag = condition(&m, "LagWithinThreshold").unwrap();
    assert_eq!(lag["reason"], "LagStale", "{lag}");
    assert_ne!(condition(&m, "Ready").unwrap()["status"], "True");
    // The printed lag no longer shows the old number.
    assert_eq!(at(&m, "status.lag"), "stale", "{}", at(&m, "status"));
    // Once DTS answers again, lag is measured again.
    ns.kubectl
        .wait_condition("dtsmigration/orders", "LagWithinThreshold", 120);
    let m = ns.kubectl.get_json("dtsmigration/orders").unwrap();
    assert_ne!(at(&m, "status.lag"), "stale");
}
