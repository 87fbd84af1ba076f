//! Background jobs of the staff pages: an import of a society file or a run of 抽出
//! started from the browser keeps going after the request has answered, and its page
//! (`/staff/jobs/{id}`) shows how far it is (refreshing itself while it runs) and then
//! its summary. Jobs live in memory only: their effects and audit records are the
//! application's, written by `collabo_app::App` as for the CLI; a restart forgets the
//! progress display, never the work done.
//!
//! Deliberately not here: any business rule or store access (the job calls `App`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// 資格（加入者台帳）の取込.
    Members,
    /// レセプトの取込.
    Claims,
    /// 同意・停止の一括登録.
    Consents,
    /// 抽出（対象者の判定）.
    Run,
}

impl JobKind {
    /// Japanese name.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Members => "資格（加入者台帳）の取込",
            JobKind::Claims => "レセプトの取込",
            JobKind::Consents => "同意・停止の一括登録",
            JobKind::Run => "抽出（対象者の判定）",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Still working.
    Running,
    /// Finished: what it did, line by line.
    Done(Vec<String>),
    /// Refused or failed: why, line by line (nothing was stored).
    Failed(Vec<String>),
}

/// One job as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Number.
    pub id: u64,
    /// What it does.
    pub kind: JobKind,
    /// The file it works on (empty for a run).
    pub file: String,
    /// Who started it.
    pub started_by: String,
    /// When (RFC 3339).
    pub started_at: jiff::Timestamp,
    /// Units done (bytes received, members looked at).
    pub done: u64,
    /// Units in all (0 when not known).
    pub total: u64,
    /// What the units are (`人`, `バイト`).
    pub unit: &'static str,
    /// Where it stands.
    pub state: JobState,
}

/// The jobs of this portal process.
#[derive(Default)]
pub struct Jobs {
    inner: Mutex<BTreeMap<u64, Job>>,
}

/// Jobs kept for display (the oldest finished ones are forgotten first).
const KEEP: usize = 50;

impl Jobs {
    /// Registers a running job and returns its number.
    pub fn start(
        &self,
        kind: JobKind,
        file: &str,
        started_by: &str,
        now: jiff::Timestamp,
        unit: &'static str,
    ) -> u64 {
        let mut jobs = self.lock();
        let id = jobs.keys().next_back().map_or(1, |k| k + 1);
        jobs.insert(
            id,
            Job {
                id,
                kind,
                file: file.to_owned(),
                started_by: started_by.to_owned(),
                started_at: now,
                done: 0,
                total: 0,
                unit,
                state: JobState::Running,
            },
        );
        while jobs.len() > KEEP {
            let Some(oldest) = jobs
                .values()
                .find(|j| j.state != JobState::Running)
                .map(|j| j.id)
            else {
                break;
            };
            jobs.remove(&oldest);
        }
        id
    }
    /// Sets a job's progress.
    pub fn progress(&self, id: u64, done: u64, total: u64) {
        if let Some(job) = self.lock().get_mut(&id) {
            job.done = done;
            job.total = total;
        }
    }
    /// Ends a job.
    pub fn finish(&self, id: u64, state: JobState) {
        if let Some(job) = self.lock().get_mut(&id) {
            if let JobState::Done(_) = state {
                job.done = job.total.max(job.done);
            }
            job.state = state;
        }
    }
    /// One job.
    pub fn get(&self, id: u64) -> Option<Job> {
        self.lock().get(&id).cloned()
    }
    /// The jobs, newest first.
    pub fn list(&self) -> Vec<Job> {
        self.lock().values().rev().cloned().collect()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Job>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A shared handle.
pub type SharedJobs = Arc<Jobs>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_reports_progress_and_finishes_with_its_summary() {
        let jobs = Jobs::default();
        let now = jiff::Timestamp::UNIX_EPOCH;
        let a = jobs.start(JobKind::Run, "", "staff1", now, "人");
        let b = jobs.start(JobKind::Claims, "x.UKE", "staff1", now, "バイト");
        assert_eq!((a, b), (1, 2));
        jobs.progress(a, 5, 10);
        assert_eq!(jobs.get(a).map(|j| (j.done, j.total)), Some((5, 10)));
        jobs.finish(a, JobState::Done(vec!["ok".into()]));
        let done = jobs.get(a).unwrap();
        assert_eq!(done.done, 10, "a finished job is full");
        assert_eq!(done.state, JobState::Done(vec!["ok".into()]));
        assert_eq!(jobs.list().first().map(|j| j.id), Some(b), "newest first");
    }

    #[test]
    fn only_finished_jobs_are_forgotten() {
        let jobs = Jobs::default();
        let now = jiff::Timestamp::UNIX_EPOCH;
        let running = jobs.start(JobKind::Run, "", "s", now, "人");
        for _ in 0..KEEP + 5 {
            let id = jobs.start(JobKind::Members, "m.csv", "s", now, "人");
            jobs.finish(id, JobState::Failed(vec![]));
        }
        assert!(jobs.get(running).is_some());
        assert_eq!(jobs.list().len(), KEEP);
    }
}
