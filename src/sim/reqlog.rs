//! The request log: one record per request received (never a secret: the AccessKeyId only),
//! kept in a bounded ring for tests to assert on.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One request as the simulator saw and answered it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// Increasing sequence number.
    pub seq: u64,
    /// Real time received (RFC 3339).
    pub time: String,
    /// Simulated time when handled (RFC 3339).
    pub sim_time: String,
    pub method: String,
    pub path: String,
    /// `MMS`, `DTS`, `STS`, or absent when the request could not be classified.
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    /// HTTP status sent (0 when the connection was dropped).
    pub status: u16,
    /// Error code (also DTS business errors answered with HTTP 200).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    pub duration_ms: u64,
    /// Injected fault, if any.
    #[serde(default)]
    pub fault: Option<String>,
    /// E.g. `idempotent replay` for a repeated ClientToken.
    #[serde(default)]
    pub note: Option<String>,
}

impl RequestRecord {
    /// Whether the call succeeded (HTTP 2xx without an error code).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status) && self.code.is_none()
    }
}

/// Bounded log of requests.
#[derive(Debug)]
pub struct RequestLog {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<RequestRecord>,
}

impl RequestLog {
    /// A log keeping the last `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            next_seq: 1,
            entries: VecDeque::new(),
        }
    }

    /// Appends a record, assigning its sequence number.
    pub fn push(&mut self, mut record: RequestRecord) {
        record.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(record);
    }

    /// Records after `since` (sequence number), oldest first.
    pub fn since(&self, since: u64) -> Vec<RequestRecord> {
        self.entries
            .iter()
            .filter(|r| r.seq > since)
            .cloned()
            .collect()
    }

    /// Forgets everything (sequence numbers keep increasing).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
