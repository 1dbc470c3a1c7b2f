//! Paged results, and fetching every page of a listing within a bound.

use std::future::Future;

use super::error::Error;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// 1-based page number (as reported by the service, or as requested).
    pub page_num: u32,
    /// Page size (as reported, or as requested).
    pub page_size: u32,
    /// Items matching the filter over all pages.
    pub total: u64,
}

/// Every item of a listing, as far as the bound allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected<T> {
    /// The items fetched.
    pub items: Vec<T>,
    /// What the service reported as the total for the filter.
    pub total: u64,
    /// Whether the bound stopped the listing before all `total` items were fetched.
    pub truncated: bool,
}

/// Page size used by the fetch-all helpers.
pub const FETCH_ALL_PAGE_SIZE: u32 = 50;

/// Fetches pages 1, 2, ... until `total` items are in, a page comes back empty or short, or
/// `limit` items are collected (then `truncated` is set). `fetch(page_num, page_size)`.
pub(crate) async fn fetch_all<T, F, Fut>(limit: usize, mut fetch: F) -> Result<Collected<T>, Error>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut items = Vec::new();
    let mut total = 0u64;
    let mut page_num = 1u32;
    // Constant across pages: page N of size S starts at item (N-1)*S.
    let page_size = FETCH_ALL_PAGE_SIZE.min(limit.max(1) as u32);
    loop {
        let page = fetch(page_num, page_size).await?;
        total = page.total.max(total);
        let got = page.items.len();
        items.extend(page.items);
        if items.len() >= limit {
            items.truncate(limit);
            let truncated = (items.len() as u64) < total;
            return Ok(Collected {
                items,
                total,
                truncated,
            });
        }
        if got == 0 || got < page_size as usize || items.len() as u64 >= total {
            return Ok(Collected {
                total: total.max(items.len() as u64),
                items,
                truncated: false,
            });
        }
        page_num += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(n: usize) -> impl FnMut(u32, u32) -> std::future::Ready<Result<Page<usize>, Error>> {
        move |page_num, page_size| {
            let start = (page_num as usize - 1) * page_size as usize;
            let items: Vec<usize> = (start..n.min(start + page_size as usize)).collect();
            std::future::ready(Ok(Page {
                items,
                page_num,
                page_size,
                total: n as u64,
            }))
        }
    }

    #[tokio::test]
    async fn collects_all_pages() {
        let all = fetch_all(1000, source(123)).await.unwrap();
        assert_eq!(all.items, (0..123).collect::<Vec<_>>());
        assert_eq!((all.total, all.truncated), (123, false));
    }

    #[tokio::test]
    async fn stops_at_the_limit() {
        let some = fetch_all(60, source(123)).await.unwrap();
        assert_eq!(some.items.len(), 60);
        assert_eq!((some.total, some.truncated), (123, true));
        let none = fetch_all(10, source(0)).await.unwrap();
        assert!(none.items.is_empty() && !none.truncated);
    }
}
