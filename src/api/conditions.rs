//! `metav1.Condition` helpers shared by every kind.
//!
//! Conditions are computed as a pure function of the previous list, the desired state of each
//! condition, the generation acted on and `now`. `lastTransitionTime` moves only when `status`
//! flips, so rewriting the same facts never produces a diff (and never a status write).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Summary condition present on every kind; `kubectl wait --for=condition=Ready` keys on it.
pub const READY: &str = "Ready";

/// The three values a condition status may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }

    pub fn from_bool(value: bool) -> Self {
        if value { Status::True } else { Status::False }
    }
}

/// What a controller wants one condition to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: Status,
    pub reason: String,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: Status,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn true_(
        type_: &'static str,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(type_, Status::True, reason, message)
    }

    pub fn false_(
        type_: &'static str,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(type_, Status::False, reason, message)
    }

    pub fn unknown(
        type_: &'static str,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(type_, Status::Unknown, reason, message)
    }
}

/// Merges `desired` into `previous`: keeps conditions of other types, keeps the old transition
/// time when the status did not change, and orders the result by type for stable output.
pub fn merge(
    previous: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = previous
        .iter()
        .filter(|c| !desired.iter().any(|d| d.type_ == c.type_))
        .cloned()
        .collect();
    for d in desired {
        let old = previous.iter().find(|c| c.type_ == d.type_);
        let last_transition_time = match old {
            Some(c) if c.status == d.status.as_str() => c.last_transition_time.clone(),
            _ => Time(now),
        };
        out.push(Condition {
            type_: d.type_.to_string(),
            status: d.status.as_str().to_string(),
            reason: d.reason.clone(),
            // Never empty: some apiservers (seen on 1.20) turn an applied "" into null and
            // then reject the required field.
            message: if d.message.is_empty() {
                d.reason.clone()
            } else {
                truncate(&d.message, MAX_MESSAGE)
            },
            observed_generation: generation,
            last_transition_time,
        });
    }
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

/// The apiserver caps condition messages at 32768 bytes; stay well below to keep objects small.
pub const MAX_MESSAGE: usize = 4096;

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Finds a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition exists, is `True`, and was computed for `generation` (when given).
pub fn is_true(conditions: &[Condition], type_: &str, generation: Option<i64>) -> bool {
    find(conditions, type_).is_some_and(|c| {
        c.status == "True"
            && match (generation, c.observed_generation) {
                (Some(g), Some(o)) => o >= g,
                _ => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn new_condition_gets_now_as_transition_time() {
        let out = merge(
            &[],
            &[Desired::true_(READY, "Ok", "fine")],
            Some(3),
            at(100),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, "True");
        assert_eq!(out[0].observed_generation, Some(3));
        assert_eq!(out[0].last_transition_time, Time(at(100)));
    }

    #[test]
    fn same_status_keeps_transition_time_even_if_reason_changes() {
        let first = merge(&[], &[Desired::false_(READY, "A", "a")], Some(1), at(100));
        let second = merge(
            &first,
            &[Desired::false_(READY, "B", "b")],
            Some(2),
            at(200),
        );
        assert_eq!(second[0].last_transition_time, Time(at(100)));
        assert_eq!(second[0].reason, "B");
        assert_eq!(second[0].observed_generation, Some(2));
    }

    #[test]
    fn flipped_status_moves_transition_time() {
        let first = merge(&[], &[Desired::false_(READY, "A", "a")], Some(1), at(100));
        let second = merge(&first, &[Desired::true_(READY, "A", "a")], Some(1), at(200));
        assert_eq!(second[0].last_transition_time, Time(at(200)));
    }

    #[test]
    fn unrelated_conditions_are_kept_and_output_is_sorted() {
        let first = merge(&[], &[Desired::true_("Verified", "Ok", "")], Some(1), at(1));
        let second = merge(&first, &[Desired::true_(READY, "Ok", "")], Some(1), at(2));
        let types: Vec<_> = second.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "Verified"]);
    }

    #[test]
    fn identical_input_is_a_fixed_point() {
        let d = [
            Desired::true_(READY, "Ok", "m"),
            Desired::false_("X", "No", "n"),
        ];
        let first = merge(&[], &d, Some(1), at(1));
        let second = merge(&first, &d, Some(1), at(999));
        assert_eq!(first, second);
    }

    #[test]
    fn long_messages_are_truncated_on_char_boundary() {
        let text = "é".repeat(MAX_MESSAGE);
        let out = truncate(&text, MAX_MESSAGE);
        assert!(out.len() <= MAX_MESSAGE);
        assert!(out.ends_with("..."));
    }

    #[test]
    fn is_true_respects_generation() {
        let c = merge(&[], &[Desired::true_(READY, "Ok", "")], Some(1), at(1));
        assert!(is_true(&c, READY, Some(1)));
        assert!(!is_true(&c, READY, Some(2)));
        assert!(!is_true(&c, "Other", None));
    }
}
