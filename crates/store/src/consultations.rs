//! Consultations and their signed, versioned draft texts.

use jiff::Timestamp;
use sqlx::{AnyConnection, Row};
use yijian_domain::consultation::{Consultation, ConsultationMeta, Schedule, ScheduleError, Status, signed_metadata};
use yijian_domain::document::{Document, sha256_hex};
use yijian_domain::file::ConsultationFile;
use yijian_domain::report::AdoptionReport;

use crate::AuditEntry;
use crate::audit::{Audit, WriteTx};
use crate::{Store, StoreError, from_micros, micros};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Created {
        version: u32,
    },
    NewVersion {
        version: u32,
    },
    /// Same text; dates, contact or other settings changed.
    MetadataUpdated {
        version: u32,
    },
    Unchanged {
        version: u32,
    },
}

/// A line of the consultation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationSummary {
    pub id: String,
    pub title: String,
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
    pub time_zone: String,
    pub demo: bool,
    pub version: u32,
    pub archived: bool,
}

impl ConsultationSummary {
    pub fn status(&self, now: Timestamp) -> Status {
        Status::at(self.opens_at, self.closes_at, now)
    }
}

impl Store {
    /// Imports a consultation file in one transaction. A changed text becomes a new signed
    /// version (refused once the consultation has closed); the same text changes nothing.
    pub async fn import_consultation(
        &self,
        file: &ConsultationFile,
        demo: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let outcome = self.import_in(&mut tx, IMPORT_ACTOR, file, demo, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Imports a file; whatever it changed (or a consultation whose metadata was never
    /// signed) gets its metadata signed anew in the same transaction.
    async fn import_in(
        &self,
        tx: &mut WriteTx,
        actor: &str,
        file: &ConsultationFile,
        demo: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        let meta = &file.meta;
        let text = file.document.canonical_text();
        let sha = sha256_hex(&text);
        let meta_json = serde_json::to_string(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let existing = sqlx::query(
            "SELECT c.current_version, c.meta_json, c.opens_at, c.closes_at, v.content_sha256 \
             FROM consultations c JOIN consultation_versions v \
             ON v.consultation_id = c.id AND v.version = c.current_version WHERE c.id = $1",
        )
        .bind(&meta.id)
        .fetch_optional(&mut **tx)
        .await?;
        let outcome = match existing {
            None => {
                sqlx::query(
                    "INSERT INTO consultations (id, title, opens_at, closes_at, demo, current_version, meta_json, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)",
                )
                .bind(&meta.id)
                .bind(&meta.title)
                .bind(micros(meta.opens_at))
                .bind(micros(meta.closes_at))
                .bind(demo as i64)
                .bind(&meta_json)
                .bind(micros(now))
                .bind(micros(now))
                .execute(&mut **tx)
                .await?;
                self.insert_version(tx, &meta.id, 1, &text, &sha, now).await?;
                ImportOutcome::Created { version: 1 }
            }
            Some(row) => {
                let version = row.try_get::<i64, _>(0)? as u32;
                let old_meta: String = row.try_get(1)?;
                let old_closes = from_micros(row.try_get(3)?)?;
                let old_sha: String = row.try_get(4)?;
                if old_sha == sha {
                    if old_meta == meta_json {
                        ImportOutcome::Unchanged { version }
                    } else {
                        self.update_meta(tx, meta, version, now).await?;
                        ImportOutcome::MetadataUpdated { version }
                    }
                } else {
                    if now >= old_closes {
                        return Err(StoreError::ClosedConsultation(meta.id.clone()));
                    }
                    let version = version + 1;
                    self.insert_version(tx, &meta.id, version, &text, &sha, now).await?;
                    self.update_meta(tx, meta, version, now).await?;
                    ImportOutcome::NewVersion { version }
                }
            }
        };
        let unsigned: Option<String> = sqlx::query_scalar("SELECT meta_signature FROM consultations WHERE id = $1")
            .bind(&meta.id)
            .fetch_one(&mut **tx)
            .await?;
        if let (ImportOutcome::Unchanged { version }, None) = (&outcome, &unsigned) {
            // A file imported again over unsigned metadata is the operator vouching for it: the
            // row is rewritten from the file first, so nothing edited by hand gets signed.
            self.update_meta(tx, meta, *version, now).await?;
        }
        if !matches!(outcome, ImportOutcome::Unchanged { .. }) || unsigned.is_none() {
            self.sign_metadata_in(tx, actor, &meta.id, now, "").await?;
        }
        Ok(outcome)
    }

    /// Signs a consultation's metadata as it now stands in the transaction, and records the
    /// signature (its version and the digest of what it covers) in the keyed audit log: that
    /// entry is what loading checks against, so an older signed record put back is refused.
    async fn sign_metadata_in(
        &self,
        tx: &mut WriteTx,
        actor: &str,
        id: &str,
        now: Timestamp,
        note: &str,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "SELECT meta_json, title, opens_at, closes_at, current_version, archived_at FROM consultations WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        let (meta, version, archived_at) = loaded_meta(&row, 0)?;
        let signed = signed_metadata(&meta, version, archived_at);
        sqlx::query("UPDATE consultations SET meta_signature = $1 WHERE id = $2")
            .bind(self.keys.sign(signed.as_bytes()))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let detail = format!("{}{note}", signed_detail(version, &signed));
        self.audit_in(tx, now, Audit::new(actor, SIGNED_ACTION, id, detail)).await?;
        Ok(())
    }

    async fn insert_version(
        &self,
        tx: &mut WriteTx,
        id: &str,
        version: u32,
        text: &str,
        sha: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let signature = self.keys.sign(text.as_bytes());
        sqlx::query(
            "INSERT INTO consultation_versions (consultation_id, version, canonical_text, content_sha256, signature, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(version as i64)
        .bind(text)
        .bind(sha)
        .bind(signature)
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn update_meta(
        &self,
        tx: &mut WriteTx,
        meta: &ConsultationMeta,
        version: u32,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let meta_json = serde_json::to_string(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE consultations SET title = $1, opens_at = $2, closes_at = $3, current_version = $4, meta_json = $5, updated_at = $6 \
             WHERE id = $7",
        )
        .bind(&meta.title)
        .bind(micros(meta.opens_at))
        .bind(micros(meta.closes_at))
        .bind(version as i64)
        .bind(meta_json)
        .bind(micros(now))
        .bind(&meta.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn has_consultations(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consultations").fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// All consultations, newest opening first. One whose metadata fails its signature is left
    /// out (and logged): its title or dates are not to be shown as published.
    pub async fn list_consultations(&self) -> Result<Vec<ConsultationSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT meta_json, title, opens_at, closes_at, current_version, archived_at, id, demo, meta_signature \
             FROM consultations ORDER BY opens_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (meta, version, archived_at) = loaded_meta(&row, 0)?;
            let id: String = row.try_get(6)?;
            let signature: Option<String> = row.try_get(8)?;
            let signed = signed_metadata(&meta, version, archived_at);
            if !signature.is_some_and(|sig| self.keys.verify(signed.as_bytes(), &sig)) {
                tracing::error!(consultation = %id, version, "the consultation's metadata fails its signature; not listing it");
                continue;
            }
            out.push(ConsultationSummary {
                id,
                title: meta.title,
                opens_at: meta.opens_at,
                closes_at: meta.closes_at,
                time_zone: meta.time_zone,
                demo: row.try_get::<i64, _>(7)? != 0,
                version,
                archived: archived_at.is_some(),
            });
        }
        Ok(out)
    }

    /// Loads a consultation and verifies its text against the stored SHA-256 and the Ed25519
    /// signature, and its metadata against its own signature and the latest record of that
    /// signature in the keyed audit log. A mismatch is an [`StoreError::Integrity`] error,
    /// logged, never served.
    pub async fn consultation(&self, id: &str) -> Result<Option<Consultation>, StoreError> {
        // One statement, so the row and the record of its signature are read in one snapshot:
        // a re-signing committed between two reads would otherwise look like a rollback.
        let row = sqlx::query(
            "SELECT c.meta_json, c.title, c.opens_at, c.closes_at, c.current_version, c.archived_at, \
                    c.demo, v.canonical_text, v.content_sha256, v.signature, c.meta_signature, \
                    a.seq, a.at, a.actor, a.action, a.subject, a.detail, a.prev_hash, a.hash \
             FROM consultations c JOIN consultation_versions v \
             ON v.consultation_id = c.id AND v.version = c.current_version \
             LEFT JOIN audit_log a ON a.seq = (SELECT MAX(s.seq) FROM audit_log s \
                 WHERE s.action = 'consultation.signed' AND s.subject = c.id) \
             WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let version = row.try_get::<i64, _>(4)? as u32;
        let text: String = row.try_get(7)?;
        let sha: String = row.try_get(8)?;
        let signature: String = row.try_get(9)?;
        let fail = |reason: &str| {
            let err = StoreError::Integrity { id: id.to_string(), version, reason: reason.to_string() };
            tracing::error!(
                consultation = id,
                version,
                reason,
                "stored consultation failed its integrity check; refusing to serve it"
            );
            err
        };
        if sha256_hex(&text) != sha {
            return Err(fail("the text does not match its SHA-256"));
        }
        if !self.keys.verify(text.as_bytes(), &signature) {
            return Err(fail("the signature does not verify"));
        }
        let document = Document::parse_canonical(&text).map_err(|e| fail(&e.to_string()))?;
        let (meta, _, archived_at) = loaded_meta(&row, 0)?;
        let record = match row.try_get::<Option<i64>, _>(11)? {
            None => None,
            Some(seq) => Some(AuditEntry {
                seq,
                at: from_micros(row.try_get(12)?)?,
                actor: row.try_get(13)?,
                action: row.try_get(14)?,
                subject: row.try_get(15)?,
                detail: row.try_get(16)?,
                prev_hash: row.try_get(17)?,
                hash: row.try_get(18)?,
            }),
        };
        self.check_metadata(&meta, version, archived_at, row.try_get(10)?, record.as_ref()).map_err(fail)?;
        Ok(Some(Consultation {
            meta,
            demo: row.try_get::<i64, _>(6)? != 0,
            version,
            document,
            content_sha256: sha,
            signature,
        }))
    }

    /// Checks the metadata's signature, and that it is the one last signed: the latest
    /// `consultation.signed` entry (its MAC checked under the audit key, which the database
    /// does not hold) must name this version and the digest of exactly these fields. Putting
    /// back an older signed record (an earlier version, a deadline before its extension) is
    /// refused; removing the entries that record the newer one breaks the chain, which
    /// `audit verify` reports.
    fn check_metadata(
        &self,
        meta: &ConsultationMeta,
        version: u32,
        archived_at: Option<Timestamp>,
        signature: Option<String>,
        record: Option<&AuditEntry>,
    ) -> Result<(), &'static str> {
        let signed = signed_metadata(meta, version, archived_at);
        let Some(signature) = signature else {
            return Err("the metadata is not signed (published before metadata was signed, and could not be \
                        signed safely at start-up: check it and import its file again)");
        };
        if !self.keys.verify(signed.as_bytes(), &signature) {
            return Err(
                "the metadata's signature does not verify (title, issuer, dates, mailbox or subject phrase altered)",
            );
        }
        let Some(record) = record else {
            return Err("no record of the metadata's signature in the audit log");
        };
        if !crate::audit::entry_ok(&self.keys, record) {
            return Err("the audit record of the metadata's signature is forged");
        }
        let expected = signed_detail(version, &signed);
        if record.detail != expected && !record.detail.starts_with(&format!("{expected};")) {
            return Err("the metadata is not the last signed (an older version or schedule was put back)");
        }
        Ok(())
    }

    /// At start-up: signs the metadata of consultations published before metadata was signed,
    /// where that is safe. Signing vouches for what is in the database, so it is done only when
    /// nothing suggests the row was edited by hand: no signature was ever recorded for it (a
    /// removed signature is tampering, not age), its text verifies, its version is the newest
    /// stored, the indexed columns agree with the metadata's own copy of them (the server
    /// always writes both), and the deadline is the one the last public schedule change set.
    /// Refusing them all instead would take every live consultation offline at the upgrade;
    /// one that fails a check stays unsigned and refused until an operator imports its file
    /// again. Returns the ids signed and the ids left unsigned.
    pub async fn sign_unsigned_metadata(&self, now: Timestamp) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM consultations WHERE meta_signature IS NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let (mut signed, mut refused) = (vec![], vec![]);
        for id in ids {
            let mut tx = self.begin_write().await?;
            match self.legacy_metadata_problem(&mut tx, &id).await? {
                None => {
                    let note = "; first signature of metadata published before it was signed";
                    self.sign_metadata_in(&mut tx, IMPORT_ACTOR, &id, now, note).await?;
                    tx.commit().await?;
                    tracing::warn!(consultation = %id, "signed the metadata of a consultation published before metadata was signed");
                    signed.push(id);
                }
                Some(problem) => {
                    tracing::error!(
                        consultation = %id,
                        problem,
                        "not signing this consultation's metadata: it is refused until its file is imported again"
                    );
                    refused.push(id);
                }
            }
        }
        Ok((signed, refused))
    }

    async fn legacy_metadata_problem(&self, tx: &mut WriteTx, id: &str) -> Result<Option<&'static str>, StoreError> {
        let recorded: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM audit_log WHERE action = 'consultation.signed' AND subject = $1 LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        if recorded.is_some() {
            return Ok(Some("its signature was removed"));
        }
        let row = sqlx::query(
            "SELECT c.meta_json, c.title, c.opens_at, c.closes_at, c.current_version, c.archived_at, \
                    v.canonical_text, v.content_sha256, v.signature, \
                    (SELECT MAX(version) FROM consultation_versions w WHERE w.consultation_id = c.id), \
                    (SELECT e.new_closes_at FROM consultation_events e WHERE e.consultation_id = c.id \
                     AND e.new_closes_at IS NOT NULL ORDER BY e.id DESC LIMIT 1) \
             FROM consultations c JOIN consultation_versions v \
             ON v.consultation_id = c.id AND v.version = c.current_version WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { return Ok(Some("its current version's text is missing")) };
        let text: String = row.try_get(6)?;
        if sha256_hex(&text) != row.try_get::<String, _>(7)?
            || !self.keys.verify(text.as_bytes(), &row.try_get::<String, _>(8)?)
        {
            return Ok(Some("its text fails its integrity check"));
        }
        if row.try_get::<i64, _>(4)? != row.try_get::<i64, _>(9)? {
            return Ok(Some("its current version is not the newest stored"));
        }
        let json: ConsultationMeta = serde_json::from_str(&row.try_get::<String, _>(0)?)
            .map_err(|e| StoreError::Corrupt(format!("meta_json: {e}")))?;
        let (meta, _, _) = loaded_meta(&row, 0)?;
        // The columns hold whole microseconds; the JSON what the file gave.
        if json.title != meta.title
            || micros(json.opens_at) != micros(meta.opens_at)
            || micros(json.closes_at) != micros(meta.closes_at)
        {
            return Ok(Some("its columns disagree with its metadata"));
        }
        if let Some(last) = row.try_get::<Option<i64>, _>(10)?
            && from_micros(last)? != meta.closes_at
        {
            return Ok(Some("its deadline is not the one its last schedule change set"));
        }
        Ok(None)
    }
}

/// Who the store names in the audit log for a consultation imported without a signed-in user
/// (the command line's import, the demo).
const IMPORT_ACTOR: &str = "yijian";

/// The audit action that records a signature of a consultation's metadata.
const SIGNED_ACTION: &str = "consultation.signed";

/// What the audit entry of a metadata signature says: the version and the digest of the bytes
/// signed.
fn signed_detail(version: u32, signed: &str) -> String {
    format!("version={version}; sha256={}", sha256_hex(signed))
}

/// A consultation's metadata as it is served, from a row whose columns from `at` on are
/// `meta_json, title, opens_at, closes_at, current_version, archived_at`: the indexed columns
/// are what the back office edits (a deadline extended), and win over the JSON's copies.
fn loaded_meta(row: &sqlx::any::AnyRow, at: usize) -> Result<(ConsultationMeta, u32, Option<Timestamp>), StoreError> {
    let mut meta: ConsultationMeta = serde_json::from_str(&row.try_get::<String, _>(at)?)
        .map_err(|e| StoreError::Corrupt(format!("meta_json: {e}")))?;
    meta.title = row.try_get(at + 1)?;
    meta.opens_at = from_micros(row.try_get(at + 2)?)?;
    meta.closes_at = from_micros(row.try_get(at + 3)?)?;
    let version = row.try_get::<i64, _>(at + 4)? as u32;
    let archived_at = row.try_get::<Option<i64>, _>(at + 5)?.map(from_micros).transpose()?;
    Ok((meta, version, archived_at))
}

/// A consultation written in the back office and not yet published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: String,
    /// The whole consultation file.
    pub source: String,
    pub created_by: String,
    pub updated_at: Timestamp,
}

/// A change to a published consultation's schedule, shown on its public page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEvent {
    pub at: Timestamp,
    /// `extended`, `closed_early`, `rescheduled` (by a new file) or `archived`.
    pub kind: String,
    pub old_closes_at: Option<Timestamp>,
    pub new_closes_at: Option<Timestamp>,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("no consultation {0}")]
    NotFound(String),
    #[error("consultation {0} is already published; upload a new version instead")]
    AlreadyPublished(String),
    #[error("the new deadline must be later than the current one")]
    NotLater,
    #[error("consultation {0} is already closed")]
    AlreadyClosed(String),
    #[error("consultation {0} is still open; close it before archiving")]
    StillOpen(String),
    #[error("consultation {0} is archived")]
    Archived(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ManageError {
    fn from(e: sqlx::Error) -> Self {
        ManageError::Store(StoreError::Database(e))
    }
}

impl ManageError {
    fn schedule(e: ScheduleError, id: &str) -> ManageError {
        match e {
            ScheduleError::Archived => ManageError::Archived(id.into()),
            ScheduleError::NotLater => ManageError::NotLater,
            ScheduleError::AlreadyClosed => ManageError::AlreadyClosed(id.into()),
            ScheduleError::StillOpen => ManageError::StillOpen(id.into()),
        }
    }
}

/// A change of schedule as the public page and the audit log record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleChange {
    Extended,
    ClosedEarly,
    Archived,
}

impl ScheduleChange {
    fn kind(self) -> &'static str {
        match self {
            ScheduleChange::Extended => "extended",
            ScheduleChange::ClosedEarly => "closed_early",
            ScheduleChange::Archived => "archived",
        }
    }
}

impl Store {
    /// Saves a draft (created or replaced). The caller has parsed `source`.
    pub async fn save_draft(&self, actor: &str, id: &str, source: &str, now: Timestamp) -> Result<(), ManageError> {
        let mut tx = self.begin_write().await?;
        let published: Option<String> =
            sqlx::query_scalar("SELECT id FROM consultations WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        if published.is_some() {
            return Err(ManageError::AlreadyPublished(id.to_string()));
        }
        sqlx::query(
            "INSERT INTO consultation_drafts (id, source, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (id) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(source)
        .bind(actor)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        let detail = format!("sha256={}", sha256_hex(source));
        self.audit_in(&mut tx, now, Audit::new(actor, "consultation.draft_saved", id, detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn drafts(&self) -> Result<Vec<Draft>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, source, created_by, updated_at FROM consultation_drafts ORDER BY updated_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, source, created_by, at)| Ok(Draft { id, source, created_by, updated_at: from_micros(at)? }))
            .collect()
    }

    pub async fn draft(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        Ok(self.drafts().await?.into_iter().find(|d| d.id == id))
    }

    pub async fn delete_draft(&self, actor: &str, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM consultation_drafts WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if n.rows_affected() == 0 {
            return Ok(false);
        }
        self.audit_in(&mut tx, now, Audit::new(actor, "consultation.draft_deleted", id, "")).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Publishes a draft: its text becomes version 1, signed, and the draft is gone.
    pub async fn publish_draft(
        &self,
        actor: &str,
        file: &ConsultationFile,
        now: Timestamp,
    ) -> Result<ImportOutcome, ManageError> {
        let mut tx = self.begin_write().await?;
        let outcome = self.import_in(&mut tx, actor, file, false, now).await?;
        sqlx::query("DELETE FROM consultation_drafts WHERE id = $1").bind(&file.meta.id).execute(&mut *tx).await?;
        let audit = Audit::new(actor, "consultation.published", &file.meta.id, format!("{outcome:?}"));
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Imports a file over a published consultation from the back office: the text changes only
    /// as a new version, and a changed deadline is recorded publicly.
    pub async fn import_by(
        &self,
        actor: &str,
        file: &ConsultationFile,
        now: Timestamp,
    ) -> Result<ImportOutcome, ManageError> {
        let mut tx = self.begin_write().await?;
        let before = schedule_in(&mut tx, &file.meta.id).await?;
        if let Some(s) = before {
            s.not_archived().map_err(|e| ManageError::schedule(e, &file.meta.id))?;
        }
        let outcome = self.import_in(&mut tx, actor, file, false, now).await?;
        if let Some(s) = before
            && s.closes_at != file.meta.closes_at
        {
            let event = Event {
                kind: "rescheduled",
                old: Some(s.closes_at),
                new: Some(file.meta.closes_at),
                reason: "导入新的征求意见文件",
            };
            record_event(&mut tx, &file.meta.id, now, actor, &event).await?;
        }
        let audit = Audit::new(actor, "consultation.imported", &file.meta.id, format!("{outcome:?}"));
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A published consultation's schedule.
    pub async fn schedule(&self, id: &str) -> Result<Option<Schedule>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        schedule_in(&mut conn, id).await
    }

    /// Changes a consultation's schedule as `rule` (a `yijian_domain::consultation::Schedule`
    /// transition) allows, and records the change publicly (with `reason`) and in the audit
    /// log, all in one transaction.
    pub async fn change_schedule(
        &self,
        actor: &str,
        id: &str,
        change: ScheduleChange,
        reason: &str,
        now: Timestamp,
        rule: impl FnOnce(&Schedule) -> Result<Schedule, ScheduleError>,
    ) -> Result<Schedule, ManageError> {
        let mut tx = self.begin_write().await?;
        let old = schedule_in(&mut tx, id).await?.ok_or_else(|| ManageError::NotFound(id.into()))?;
        let new = rule(&old).map_err(|e| ManageError::schedule(e, id))?;
        if new.closes_at != old.closes_at {
            set_closes_at(&mut tx, id, new.closes_at, now).await?;
        }
        if new.archived_at != old.archived_at {
            sqlx::query("UPDATE consultations SET archived_at = $1 WHERE id = $2")
                .bind(new.archived_at.map(micros))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let (event, detail) = match change {
            ScheduleChange::Archived => {
                (Event { kind: change.kind(), old: None, new: None, reason: "" }, String::new())
            }
            _ => (
                Event { kind: change.kind(), old: Some(old.closes_at), new: Some(new.closes_at), reason },
                format!("closes_at {} -> {}; reason={reason}", old.closes_at, new.closes_at),
            ),
        };
        record_event(&mut tx, id, now, actor, &event).await?;
        // A lawful change is signed anew with it: what the public page shows stays verifiable.
        self.sign_metadata_in(&mut tx, actor, id, now, "").await?;
        let action = format!("consultation.{}", change.kind());
        self.audit_in(&mut tx, now, Audit::new(actor, &action, id, detail)).await?;
        tx.commit().await?;
        Ok(new)
    }

    pub async fn is_archived(&self, id: &str) -> Result<bool, StoreError> {
        Ok(matches!(self.schedule(id).await?, Some(Schedule { archived_at: Some(_), .. })))
    }

    /// The schedule changes of a consultation, oldest first.
    pub async fn schedule_events(&self, id: &str) -> Result<Vec<ScheduleEvent>, StoreError> {
        type EventRow = (i64, String, Option<i64>, Option<i64>, String);
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT at, kind, old_closes_at, new_closes_at, reason FROM consultation_events \
             WHERE consultation_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, kind, old, new, reason)| {
                Ok(ScheduleEvent {
                    at: from_micros(at)?,
                    kind,
                    old_closes_at: old.map(from_micros).transpose()?,
                    new_closes_at: new.map(from_micros).transpose()?,
                    reason,
                })
            })
            .collect()
    }

    /// Publishes a new revision of a consultation's adoption report.
    pub async fn publish_report(
        &self,
        actor: &str,
        report: &AdoptionReport,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let json = serde_json::to_string(report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        let revision: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(revision), 0) + 1 FROM reports WHERE consultation_id = $1")
                .bind(&report.consultation_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO reports (consultation_id, revision, published_at, published_by, report_json) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&report.consultation_id)
        .bind(revision)
        .bind(micros(now))
        .bind(actor)
        .bind(json)
        .execute(&mut *tx)
        .await?;
        // What a receipt look-up will tell from now on: each comment's disposition as this
        // report carries it (spam and hidden comments are left out of the report, so of this
        // too). Staff's later edits show only when a later report is published. The report
        // itself was built just before this transaction: a disposition changed in between shows
        // here as changed but is counted in the figures as it was (the next publication agrees).
        sqlx::query(
            "UPDATE comments SET \
               published_disposition = CASE WHEN moderation IN ('spam', 'hidden') THEN NULL ELSE disposition END, \
               published_reason = CASE WHEN moderation IN ('spam', 'hidden') OR disposition IS NULL \
                                  THEN NULL ELSE disposition_reason END \
             WHERE consultation_id = $1",
        )
        .bind(&report.consultation_id)
        .execute(&mut *tx)
        .await?;
        let audit = Audit::new(actor, "report.published", &report.consultation_id, format!("revision={revision}"));
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(revision)
    }

    /// The newest published report: (revision, published at, report).
    pub async fn latest_report(&self, id: &str) -> Result<Option<(i64, Timestamp, AdoptionReport)>, StoreError> {
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT revision, published_at, report_json FROM reports WHERE consultation_id = $1 ORDER BY revision DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(rev, at, json)| {
            let report = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("report_json: {e}")))?;
            Ok((rev, from_micros(at)?, report))
        })
        .transpose()
    }
}

/// A public record of a schedule change.
struct Event<'a> {
    kind: &'a str,
    old: Option<Timestamp>,
    new: Option<Timestamp>,
    reason: &'a str,
}

async fn record_event(
    conn: &mut AnyConnection,
    id: &str,
    at: Timestamp,
    actor: &str,
    e: &Event<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consultation_events (consultation_id, at, kind, old_closes_at, new_closes_at, reason, actor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(micros(at))
    .bind(e.kind)
    .bind(e.old.map(micros))
    .bind(e.new.map(micros))
    .bind(e.reason)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn schedule_in(conn: &mut AnyConnection, id: &str) -> Result<Option<Schedule>, StoreError> {
    let row: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT opens_at, closes_at, archived_at FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|(o, c, a)| {
        Ok(Schedule {
            opens_at: from_micros(o)?,
            closes_at: from_micros(c)?,
            archived_at: a.map(from_micros).transpose()?,
        })
    })
    .transpose()
}

async fn set_closes_at(
    conn: &mut AnyConnection,
    id: &str,
    closes_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The meta JSON keeps its own copy of the dates; the columns win when loading, but the copy
    // is kept in step for anyone reading the row.
    let meta_json: String =
        sqlx::query_scalar("SELECT meta_json FROM consultations WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
    let mut meta: ConsultationMeta =
        serde_json::from_str(&meta_json).map_err(|e| StoreError::Corrupt(format!("meta_json: {e}")))?;
    meta.closes_at = closes_at;
    let meta_json = serde_json::to_string(&meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("UPDATE consultations SET closes_at = $1, meta_json = $2, updated_at = $3 WHERE id = $4")
        .bind(micros(closes_at))
        .bind(meta_json)
        .bind(micros(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
