//! DTS data verification results per table: DescribeDataCheckTableDetails, with the keys of the
//! official SDK's model (PyPI `alibabacloud_dts20200101`).
//!
//! DescribeDataCheckTableDiffDetails is deliberately not offered: its `Diff` carries the
//! source and destination column values of each differing row (SDK model doc), which may be
//! personal data or credentials and must never reach status, events or logs.

use super::{DtsClient, RpcParams};
use crate::aliyun::error::Error;
use crate::aliyun::lenient::Fields;
use crate::aliyun::transport::Idempotency;

/// Which data check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckType {
    /// `CheckType=1`: the full data check.
    Full,
    /// `CheckType=2`: the incremental data check.
    Incremental,
}

impl CheckType {
    fn wire(self) -> &'static str {
        match self {
            CheckType::Full => "1",
            CheckType::Incremental => "2",
        }
    }
}

/// One table's result (`TableDetails[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableCheckResult {
    pub source_db: String,
    pub source_table: String,
    /// `TotalCount`: rows to verify.
    pub total_rows: Option<i64>,
    /// `FinishCount`: rows verified.
    pub checked_rows: Option<i64>,
    /// `DiffCount`: rows with differences.
    pub diff_rows: i64,
    /// `Status`: `0` completed, `2` initializing, `3` running, `5` failed.
    pub status: Option<String>,
    /// `ErrorCode`: 1 too many tables without primary key, 2 more than 300 differing rows,
    /// 3 table missing, 4 SQL syntax error; 0 or absent: none.
    pub error_code: Option<i64>,
}

impl TableCheckResult {
    /// The meaning of `ErrorCode`, when it is set.
    pub fn error(&self) -> Option<String> {
        match self.error_code? {
            0 => None,
            1 => Some("too many tables without a primary key".into()),
            2 => Some("more than 300 differing rows: DTS stopped counting".into()),
            3 => Some("the table does not exist".into()),
            4 => Some("the verification query has a syntax error".into()),
            other => Some(format!("error code {other}")),
        }
    }

    /// Failed (`Status` 5) or any error code.
    pub fn failed(&self) -> bool {
        self.status.as_deref() == Some("5") || self.error().is_some() && self.error_code != Some(2)
    }
}

/// Page size asked for; with [`MAX_PAGES`] it bounds a read to 1,000 tables.
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: u32 = 10;

impl DtsClient {
    /// DescribeDataCheckTableDetails, every page (at most 1,000 tables): each table's result of
    /// the full or incremental check.
    pub async fn describe_data_check_table_details(
        &self,
        dts_job_id: &str,
        check: CheckType,
    ) -> Result<Vec<TableCheckResult>, Error> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut p = RpcParams::default();
            p.put("DtsJobId", dts_job_id)
                .put("CheckType", check.wire())
                .put("Status", "-1")
                .put("PageNumber", page)
                .put("PageSize", PAGE_SIZE);
            let resp = self
                .call("DescribeDataCheckTableDetails", p, Idempotency::Idempotent)
                .await?;
            let rows = Fields(&resp.body).list(&["TableDetails"]);
            let n = rows.len();
            out.extend(rows.iter().map(|r| {
                let f = Fields(r);
                TableCheckResult {
                    source_db: f.string(&["SourceDbName"]).unwrap_or_default(),
                    source_table: f.string(&["SourceTbName"]).unwrap_or_default(),
                    total_rows: f.int(&["TotalCount"]),
                    checked_rows: f.int(&["FinishCount"]),
                    diff_rows: f.int(&["DiffCount"]).unwrap_or(0).max(0),
                    status: f.string(&["Status"]),
                    error_code: f.int(&["ErrorCode"]),
                }
            }));
            if n < PAGE_SIZE as usize {
                break;
            }
        }
        Ok(out)
    }
}
