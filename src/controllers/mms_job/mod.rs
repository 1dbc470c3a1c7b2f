//! MmsJob controller: create the job, follow its tasks, suspend, resume, retry, delete.

pub mod decide;
