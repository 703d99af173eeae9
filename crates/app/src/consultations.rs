//! Consultations: reading them (verified, from a short cache), and their lifecycle: drafts,
//! publishing, importing a new version, extending the deadline, closing early, archiving.
//! The rules of the lifecycle are `yijian_domain::consultation::Schedule`'s; each change is
//! recorded publicly and in the audit log in one transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use yijian_domain::comment::IntakeRules;
use yijian_domain::consultation::{Consultation, Schedule};
use yijian_domain::file::ConsultationFile;
use yijian_domain::staff::{AuditReason, Permission};
use yijian_store::{ConsultationSummary, Draft, ImportOutcome, ScheduleChange, ScheduleEvent, SessionUser};

use crate::{App, Error};

/// A verified consultation with what the intake derives from it, computed once per load
/// rather than once per comment.
pub struct LiveConsultation {
    pub consultation: Consultation,
    pub rules: IntakeRules,
    pub tz: jiff::tz::TimeZone,
}

impl std::ops::Deref for LiveConsultation {
    type Target = Consultation;
    fn deref(&self) -> &Consultation {
        &self.consultation
    }
}

impl LiveConsultation {
    pub fn new(consultation: Consultation) -> Self {
        let rules = IntakeRules {
            positions: consultation.meta.positions.clone(),
            articles: consultation.document.article_numbers(),
            max_opinion_chars: consultation.meta.max_opinion_chars,
        };
        let tz = consultation.meta.tz();
        LiveConsultation { consultation, rules, tz }
    }
}

/// How long the intake may use a consultation it loaded and verified, before loading it again
/// (and so seeing a deadline changed by another process, or a text altered behind its back).
pub const CACHE_TTL: Duration = Duration::from_secs(1);

/// Verified consultations by id, with the instant each was loaded.
#[derive(Default)]
pub struct Cache {
    loaded: Mutex<HashMap<String, (Instant, Arc<LiveConsultation>)>>,
    /// Held by the one request that reloads. Without it, every request in flight when an entry
    /// expires would load and verify the consultation at once: under a crowd, thousands of
    /// signature checks each second, and a spike in every request's latency.
    loading: tokio::sync::Mutex<()>,
}

impl Cache {
    fn fresh_or_stale(&self, id: &str) -> Result<Arc<LiveConsultation>, Option<Arc<LiveConsultation>>> {
        match self.loaded.lock().expect("cache poisoned").get(id) {
            Some((at, c)) if at.elapsed() < CACHE_TTL => Ok(c.clone()),
            Some((_, c)) => Err(Some(c.clone())),
            None => Err(None),
        }
    }
}

impl App {
    /// A verified consultation, from a cache of at most [`CACHE_TTL`] age (or a moment more,
    /// while another request reloads it). `Ok(None)` when there is none; [`Error::Integrity`]
    /// when its stored text was altered.
    pub async fn consultation(&self, id: &str) -> Result<Option<Arc<LiveConsultation>>, Error> {
        let cache = &self.consultations;
        let stale = match cache.fresh_or_stale(id) {
            Ok(fresh) => return Ok(Some(fresh)),
            Err(stale) => stale,
        };
        let _loading = match (cache.loading.try_lock(), stale) {
            (Ok(guard), _) => guard,
            // Someone is reloading it: what was verified a moment ago serves meanwhile.
            (Err(_), Some(stale)) => return Ok(Some(stale)),
            (Err(_), None) => cache.loading.lock().await,
        };
        if let Ok(fresh) = cache.fresh_or_stale(id) {
            return Ok(Some(fresh));
        }
        let loaded = self.store.consultation(id).await;
        let mut map = cache.loaded.lock().expect("cache poisoned");
        match loaded {
            Ok(Some(c)) => {
                let c = Arc::new(LiveConsultation::new(c));
                map.insert(id.to_string(), (Instant::now(), c.clone()));
                Ok(Some(c))
            }
            Ok(None) => {
                map.remove(id);
                Ok(None)
            }
            Err(e) => {
                map.remove(id);
                Err(e.into())
            }
        }
    }

    /// Drops a cached consultation, so that a change made here shows at once.
    pub fn forget(&self, id: &str) {
        self.consultations.loaded.lock().expect("cache poisoned").remove(id);
    }

    /// Whether any consultation was ever published (an empty database gets the demo).
    pub async fn has_consultations(&self) -> Result<bool, Error> {
        Ok(self.store.has_consultations().await?)
    }

    /// Every published consultation, for the public list and the back office.
    pub async fn consultations(&self) -> Result<Vec<ConsultationSummary>, Error> {
        Ok(self.store.list_consultations().await?)
    }

    /// Every published consultation with its number of comments.
    pub async fn consultations_with_counts(&self) -> Result<Vec<(ConsultationSummary, i64)>, Error> {
        let mut out = Vec::new();
        for c in self.store.list_consultations().await? {
            let n = self.store.count_comments(&c.id).await?;
            out.push((c, n));
        }
        Ok(out)
    }

    /// The public record of a consultation's schedule changes, oldest first.
    pub async fn schedule_events(&self, id: &str) -> Result<Vec<ScheduleEvent>, Error> {
        Ok(self.store.schedule_events(id).await?)
    }

    pub async fn is_archived(&self, id: &str) -> Result<bool, Error> {
        Ok(self.store.is_archived(id).await?)
    }

    /// Imports a consultation file from the command line (the operator acts, unaudited as
    /// before: the file is on the server already).
    pub async fn import_consultation(
        &self,
        file: &ConsultationFile,
        demo: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, Error> {
        let outcome = self.store.import_consultation(file, demo, now).await?;
        self.forget(&file.meta.id);
        Ok(outcome)
    }

    /// Imports a file over a published consultation from the back office.
    pub async fn import_by(
        &self,
        user: &SessionUser,
        file: &ConsultationFile,
        now: Timestamp,
    ) -> Result<ImportOutcome, Error> {
        self.require(user, Permission::ManageConsultations)?;
        let outcome = self.store.import_by(&user.name, file, now).await?;
        self.forget(&file.meta.id);
        Ok(outcome)
    }

    pub async fn drafts(&self, user: &SessionUser) -> Result<Vec<Draft>, Error> {
        self.require(user, Permission::ManageConsultations)?;
        Ok(self.store.drafts().await?)
    }

    pub async fn draft(&self, user: &SessionUser, id: &str) -> Result<Option<Draft>, Error> {
        self.require(user, Permission::ManageConsultations)?;
        Ok(self.store.draft(id).await?)
    }

    /// Saves a draft; `source` has been parsed into `file` by the caller.
    pub async fn save_draft(
        &self,
        user: &SessionUser,
        file: &ConsultationFile,
        source: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.require(user, Permission::ManageConsultations)?;
        Ok(self.store.save_draft(&user.name, &file.meta.id, source, now).await?)
    }

    pub async fn delete_draft(&self, user: &SessionUser, id: &str, now: Timestamp) -> Result<bool, Error> {
        self.require(user, Permission::ManageConsultations)?;
        Ok(self.store.delete_draft(&user.name, id, now).await?)
    }

    pub async fn publish_draft(
        &self,
        user: &SessionUser,
        file: &ConsultationFile,
        now: Timestamp,
    ) -> Result<ImportOutcome, Error> {
        self.require(user, Permission::ManageConsultations)?;
        let outcome = self.store.publish_draft(&user.name, file, now).await?;
        self.forget(&file.meta.id);
        Ok(outcome)
    }

    /// Moves the deadline later, with a reason the public page shows.
    pub async fn extend_deadline(
        &self,
        user: &SessionUser,
        id: &str,
        new_closes_at: Timestamp,
        reason: &AuditReason,
        now: Timestamp,
    ) -> Result<Schedule, Error> {
        self.change_schedule(user, id, ScheduleChange::Extended, reason.as_str(), now, |s| s.extend(new_closes_at, now))
            .await
    }

    /// Closes a consultation now, with a reason the public page shows.
    pub async fn close_early(
        &self,
        user: &SessionUser,
        id: &str,
        reason: &AuditReason,
        now: Timestamp,
    ) -> Result<Schedule, Error> {
        self.change_schedule(user, id, ScheduleChange::ClosedEarly, reason.as_str(), now, |s| s.close_early(now)).await
    }

    /// Takes a closed consultation off the public list; its page and report stay online.
    pub async fn archive(&self, user: &SessionUser, id: &str, now: Timestamp) -> Result<Schedule, Error> {
        self.change_schedule(user, id, ScheduleChange::Archived, "", now, |s| s.archive(now)).await
    }

    async fn change_schedule(
        &self,
        user: &SessionUser,
        id: &str,
        change: ScheduleChange,
        reason: &str,
        now: Timestamp,
        rule: impl FnOnce(&Schedule) -> Result<Schedule, yijian_domain::consultation::ScheduleError>,
    ) -> Result<Schedule, Error> {
        self.require(user, Permission::ManageConsultations)?;
        let schedule = self.store.change_schedule(&user.name, id, change, reason, now, rule).await?;
        self.forget(id);
        Ok(schedule)
    }
}
