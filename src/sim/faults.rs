//! Fault injection: per-action random faults from the scenario (`faults:`) and one-shot faults
//! set through the admin API ("fail the next N calls of X").

use serde::{Deserialize, Serialize};

use super::ids::IdGen;
use super::scenario::{FaultKind, FaultRule};
use super::wire::ApiError;

/// A fault armed through the admin API for the next `remaining` matching calls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OneShotFault {
    /// Assigned by the simulator.
    #[serde(default)]
    pub id: u64,
    /// Action name, or `*` for every cloud call.
    pub action: String,
    pub kind: FaultKind,
    /// How many calls it still affects.
    #[serde(default = "one")]
    pub remaining: u32,
    /// Error code (default `InternalError`, or `Throttling.User` for throttling).
    #[serde(default)]
    pub code: Option<String>,
    /// HTTP status (default 500 for errors, 400 for throttling).
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub message: Option<String>,
    /// Delay of `slow` faults, milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Only calls signed with this AccessKeyId.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// A stretch instead of a count: every matching call fails (or is slowed, dropped...) for
    /// this many real milliseconds from arming; `remaining` is then ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Set by the simulator for a stretch: real time (Unix ms) the stretch ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_millis: Option<i64>,
}

fn one() -> u32 {
    1
}

/// What happens to a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    /// Answer with this error instead of handling the call.
    Fail(ApiError),
    /// Wait this long (real milliseconds), then handle the call.
    Delay(u64),
    /// Close the connection without answering.
    Drop,
    /// Handle the call, then close the connection without answering.
    LoseResponse,
}

impl Injected {
    /// A short label for the request log.
    pub fn label(&self) -> String {
        match self {
            Injected::Fail(e) => format!("error:{}", e.code),
            Injected::Delay(ms) => format!("slow:{ms}ms"),
            Injected::Drop => "drop".into(),
            Injected::LoseResponse => "lose-response".into(),
        }
    }
}

/// Armed faults.
#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    pub one_shots: Vec<OneShotFault>,
    next_id: u64,
}

fn matches(pattern: &str, action: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(action)
}

impl Faults {
    /// Faults from the scenario.
    pub fn new(rules: Vec<FaultRule>) -> Self {
        Self {
            rules,
            one_shots: Vec::new(),
            next_id: 1,
        }
    }

    /// Arms a one-shot fault (or a stretch, see [`OneShotFault::duration_ms`]); returns its id.
    pub fn arm(&mut self, mut fault: OneShotFault) -> u64 {
        fault.id = self.next_id;
        self.next_id += 1;
        fault.remaining = fault.remaining.max(1);
        fault.until_millis = fault
            .duration_ms
            .map(|d| super::clock::wall_millis() + d as i64);
        let id = fault.id;
        self.one_shots.push(fault);
        id
    }

    /// Decides the fault for a call, consuming one-shots first, then rolling the scenario rates.
    pub fn decide(
        &mut self,
        action: &str,
        access_key_id: Option<&str>,
        rng: &mut IdGen,
    ) -> Option<Injected> {
        let now = super::clock::wall_millis();
        self.one_shots
            .retain(|f| f.until_millis.is_none_or(|until| now < until));
        if let Some(idx) = self.one_shots.iter().position(|f| {
            matches(&f.action, action)
                && f.access_key_id
                    .as_deref()
                    .is_none_or(|id| Some(id) == access_key_id)
        }) {
            let f = self.one_shots[idx].clone();
            if f.until_millis.is_none() {
                self.one_shots[idx].remaining -= 1;
                if self.one_shots[idx].remaining == 0 {
                    self.one_shots.remove(idx);
                }
            }
            return Some(build(f.kind, f.code, f.http_status, f.message, f.delay_ms));
        }
        for rule in &self.rules {
            if matches(&rule.action, action) && rng.chance() < rule.rate {
                return Some(build(
                    rule.kind,
                    rule.code.clone(),
                    rule.http_status,
                    rule.message.clone(),
                    rule.delay.map(|d| d.ms().max(0) as u64),
                ));
            }
        }
        None
    }
}

fn build(
    kind: FaultKind,
    code: Option<String>,
    status: Option<u16>,
    message: Option<String>,
    delay_ms: Option<u64>,
) -> Injected {
    match kind {
        FaultKind::Drop => Injected::Drop,
        FaultKind::LoseResponse => Injected::LoseResponse,
        FaultKind::Slow => Injected::Delay(delay_ms.unwrap_or(2_000)),
        FaultKind::Throttle => {
            let mut e = ApiError::throttled(delay_ms.unwrap_or(1_000));
            if let Some(c) = code {
                e.code = c;
            }
            if let Some(s) = status {
                e.status = s;
            }
            Injected::Fail(e)
        }
        FaultKind::Error => {
            let mut e = ApiError::internal();
            let status = status.unwrap_or(500);
            e.status = status;
            if let Some(c) = code {
                e.code = c;
            } else if status == 503 {
                e.code = "ServiceUnavailable".into();
                e.message =
                    "The request has failed due to a temporary failure of the server.".into();
            }
            if let Some(m) = message {
                e.message = m;
            }
            Injected::Fail(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shots_count_down() {
        let mut f = Faults::new(Vec::new());
        f.arm(OneShotFault {
            id: 0,
            action: "DescribeDtsJobDetail".into(),
            kind: FaultKind::Error,
            remaining: 2,
            code: None,
            http_status: Some(503),
            message: None,
            delay_ms: None,
            access_key_id: None,
            duration_ms: None,
            until_millis: None,
        });
        let mut rng = IdGen::new(1);
        assert!(f.decide("DescribeDtsJobs", None, &mut rng).is_none());
        let Some(Injected::Fail(e)) = f.decide("DescribeDtsJobDetail", None, &mut rng) else {
            panic!("expected a failure");
        };
        assert_eq!(e.code, "ServiceUnavailable");
        assert!(f.decide("DescribeDtsJobDetail", None, &mut rng).is_some());
        assert!(f.decide("DescribeDtsJobDetail", None, &mut rng).is_none());
    }

    #[test]
    fn a_stretch_affects_every_call_until_it_ends() {
        let mut f = Faults::new(Vec::new());
        f.arm(OneShotFault {
            id: 0,
            action: "DescribeDtsJobs".into(),
            kind: FaultKind::Error,
            remaining: 1,
            code: None,
            http_status: Some(503),
            message: None,
            delay_ms: None,
            access_key_id: None,
            duration_ms: Some(60_000),
            until_millis: None,
        });
        let mut rng = IdGen::new(1);
        for _ in 0..5 {
            assert!(f.decide("DescribeDtsJobs", None, &mut rng).is_some());
        }
        // Once its end has passed the stretch is gone.
        f.one_shots[0].until_millis = Some(super::super::clock::wall_millis() - 1);
        assert!(f.decide("DescribeDtsJobs", None, &mut rng).is_none());
        assert!(f.one_shots.is_empty());
    }
}
