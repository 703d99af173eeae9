//! Consultations and their signed, versioned draft texts.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::consultation::{Consultation, ConsultationMeta, Status};
use yijian_domain::document::{Document, sha256_hex};
use yijian_domain::file::ConsultationFile;

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
}

impl ConsultationSummary {
    pub fn status(&self, now: Timestamp) -> Status {
        if now < self.opens_at {
            Status::Upcoming
        } else if now < self.closes_at {
            Status::Open
        } else {
            Status::Closed
        }
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
        let meta = &file.meta;
        let text = file.document.canonical_text();
        let sha = sha256_hex(&text);
        let meta_json = serde_json::to_string(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query(
            "SELECT c.current_version, c.meta_json, c.opens_at, c.closes_at, v.content_sha256 \
             FROM consultations c JOIN consultation_versions v \
             ON v.consultation_id = c.id AND v.version = c.current_version WHERE c.id = $1",
        )
        .bind(&meta.id)
        .fetch_optional(&mut *tx)
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
                .execute(&mut *tx)
                .await?;
                self.insert_version(&mut tx, &meta.id, 1, &text, &sha, now).await?;
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
                        self.update_meta(&mut tx, meta, version, now).await?;
                        ImportOutcome::MetadataUpdated { version }
                    }
                } else {
                    if now >= old_closes {
                        return Err(StoreError::ClosedConsultation(meta.id.clone()));
                    }
                    let version = version + 1;
                    self.insert_version(&mut tx, &meta.id, version, &text, &sha, now).await?;
                    self.update_meta(&mut tx, meta, version, now).await?;
                    ImportOutcome::NewVersion { version }
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn insert_version(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
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
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
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

    /// All consultations, newest opening first.
    pub async fn list_consultations(&self) -> Result<Vec<ConsultationSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, title, opens_at, closes_at, demo, current_version, meta_json FROM consultations ORDER BY opens_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let meta: ConsultationMeta = serde_json::from_str(&row.try_get::<String, _>(6)?)
                    .map_err(|e| StoreError::Corrupt(format!("meta_json: {e}")))?;
                Ok(ConsultationSummary {
                    id: row.try_get(0)?,
                    title: row.try_get(1)?,
                    opens_at: from_micros(row.try_get(2)?)?,
                    closes_at: from_micros(row.try_get(3)?)?,
                    time_zone: meta.time_zone,
                    demo: row.try_get::<i64, _>(4)? != 0,
                    version: row.try_get::<i64, _>(5)? as u32,
                })
            })
            .collect()
    }

    /// Loads a consultation and verifies its text against the stored SHA-256 and the Ed25519
    /// signature. A mismatch is an [`StoreError::Integrity`] error, logged, never served.
    pub async fn consultation(&self, id: &str) -> Result<Option<Consultation>, StoreError> {
        let row = sqlx::query(
            "SELECT c.demo, c.current_version, c.meta_json, c.opens_at, c.closes_at, c.title, \
                    v.canonical_text, v.content_sha256, v.signature \
             FROM consultations c JOIN consultation_versions v \
             ON v.consultation_id = c.id AND v.version = c.current_version WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let version = row.try_get::<i64, _>(1)? as u32;
        let text: String = row.try_get(6)?;
        let sha: String = row.try_get(7)?;
        let signature: String = row.try_get(8)?;
        let fail = |reason: &str| {
            let err = StoreError::Integrity { id: id.to_string(), version, reason: reason.to_string() };
            tracing::error!(
                consultation = id,
                version,
                reason,
                "stored draft text failed its integrity check; refusing to serve it"
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
        let mut meta: ConsultationMeta = serde_json::from_str(&row.try_get::<String, _>(2)?)
            .map_err(|e| StoreError::Corrupt(format!("meta_json: {e}")))?;
        // The indexed columns are what the back office edits (a deadline extended).
        meta.opens_at = from_micros(row.try_get(3)?)?;
        meta.closes_at = from_micros(row.try_get(4)?)?;
        meta.title = row.try_get(5)?;
        Ok(Some(Consultation {
            meta,
            demo: row.try_get::<i64, _>(0)? != 0,
            version,
            document,
            content_sha256: sha,
            signature,
        }))
    }
}
