//! Durable storage for yijian: consultations, their signed draft versions, and comments.
//!
//! One code path serves both backends: queries go through sqlx's `Any` driver with plain
//! integer, text and blob columns (instants are Unix microseconds), and only the connection
//! set-up and the migrations differ between SQLite and PostgreSQL.
//!
//! Comments are written by one writer task that commits many of them together (group commit):
//! a submission is answered only after the transaction that holds it has committed, which on
//! SQLite (WAL, `synchronous=FULL`) and PostgreSQL (`synchronous_commit=on`) means fsync'd.
//! ID numbers and phone numbers are sealed before they reach the writer; see [`yijian_crypto`].

pub mod anchor;
mod audit;
mod campaigns;
mod comments;
mod consultations;
mod dialect;
mod disputes;
mod mail;
mod masking;
mod operations;
mod review;
mod shared;
mod signals;
mod staff;
mod suggestions;
mod themes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use tokio::sync::mpsc;
use yijian_crypto::{KeySource, Keys};

pub use audit::{Audit, AuditEntry, AuditVerdict};
pub use campaigns::{CampaignSummary, FoundGroup, SavedCampaigns};
pub use comments::{ReceiptInfo, StoredComment, SubmitError};
pub use consultations::{ConsultationSummary, Draft, ImportOutcome, ManageError, ScheduleChange, ScheduleEvent};
pub use disputes::{DisputeRecord, PUBLIC_ACTOR, mask_email};
pub use mail::{
    AttachmentInfo, MailOutcome, MailStored, MailSummary, MailTarget, NewAttachment, NewMail, StoredCursor, Timing,
};
pub use masking::MaskingDone;
pub use operations::{BATCH_SIZE_BOUNDS, WriterStats, check_sqlite_file};
pub use review::{COUNT_CAP, Dashboard, QueueItem, QueuePage, ReviewError, Target};
pub use signals::SignalCandidate;
pub use staff::{ApiToken, LoginAccount, SessionUser, StaffError, StaffUser};
pub use suggestions::{StoredSuggestion, SuggestionState, SuggestionText};
pub use themes::{NewTheme, ThemeChange, ThemeMember, ThemeText};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://…` or `postgresql://…`, or `sqlite:…`.
    /// The one place a URL is judged; anything else is [`StoreError::BadUrl`].
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::BadUrl(url.to_string()))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Key(#[from] yijian_crypto::KeyError),
    #[error(
        "the master key does not open the personal data already in this database (wrong key file or {}); \
         restore the key that encrypted it",
        yijian_crypto::MASTER_KEY_ENV
    )]
    WrongKey,
    #[error("unsupported database URL `{0}`: use postgres://… or sqlite://…")]
    BadUrl(String),
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    /// A stored text no longer matches its checksum or signature: someone changed a row
    /// behind the server's back. Never served.
    #[error("integrity check failed for consultation {id} version {version}: {reason}")]
    Integrity { id: String, version: u32, reason: String },
    #[error("consultation {0} is closed; its text can no longer change")]
    ClosedConsultation(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("not supported on this backend: {0}")]
    Unsupported(&'static str),
    /// Another write in this process held the database for longer than any write should
    /// (see [`WriteGate`]).
    #[error("the database stayed busy with another write for {0:?}")]
    WriterStuck(Duration),
}

/// Takes turns among this process's writers to a SQLite database, in the order they arrive.
///
/// SQLite lets one connection write at a time; without this, a second writer waits in SQLite's
/// busy handler, which sleeps (for up to 100 ms a try) and retries, so the comment writer could
/// lie asleep long after a background pass had committed, and every citizen waiting on that
/// group commit waited with it. A Tokio mutex wakes the next writer the moment the lock is
/// free, and queues them fairly. Other processes (a CLI command beside `serve`) still meet the
/// busy handler. PostgreSQL writes side by side and has no gate.
pub(crate) type WriteGate = Arc<tokio::sync::Mutex<()>>;

/// Where the data lives.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Holds the SQLite database (unless `database_url` is set) and the key file.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; `None` means `DATA_DIR/yijian.sqlite3`.
    pub database_url: Option<String>,
    /// The value of `YIJIAN_MASTER_KEY`, if set.
    pub master_key: Option<String>,
    /// Most comments one group commit takes.
    pub max_batch: usize,
    /// Most comments waiting for the writer. One more is refused at once
    /// ([`SubmitError::Busy`]) rather than queued behind a wait nobody would sit through.
    pub max_queue: usize,
    /// A second file that anchors the audit log's head, besides `DATA_DIR/audit-anchor`
    /// (e.g. on another volume or a WORM mount).
    pub audit_anchor: Option<PathBuf>,
}

impl StoreOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        StoreOptions {
            data_dir: data_dir.into(),
            database_url: None,
            master_key: None,
            max_batch: 1024,
            max_queue: 4096,
            audit_anchor: None,
        }
    }
}

/// The handle every part of yijian talks to. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    keys: Arc<Keys>,
    writer: mpsc::Sender<comments::WriteJob>,
    /// Tells the writer to finish what is queued and let go of its connection.
    stop_writer: Arc<tokio::sync::watch::Sender<bool>>,
    key_source: KeySource,
    /// Where the audit log's head is anchored outside the database.
    anchors: Arc<anchor::Anchors>,
    /// Used captchas held in memory (SQLite), see [`shared`].
    shared: Arc<shared::SharedState>,
    /// What the comment writer has done, read by the metrics at scrape time.
    writer_counts: Arc<operations::WriterCounts>,
    /// SQLite only: see [`WriteGate`].
    write_gate: Option<WriteGate>,
}

const KEY_CHECK: &str = "key_check";
const KEY_CHECK_PLAINTEXT: &[u8] = b"yijian master key check";

impl Store {
    /// Connects, runs the migrations, and loads (or, on a database holding no personal data,
    /// creates) the master key. Must run inside a Tokio runtime.
    pub async fn open(opts: &StoreOptions) -> Result<Store, StoreError> {
        install_default_drivers();
        if !opts.data_dir.exists() {
            // The directory holds the key and the comments: nobody else on the machine reads it.
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&opts.data_dir)
                .map_err(|source| StoreError::DataDir { path: opts.data_dir.clone(), source })?;
        }
        let (url, backend) = match &opts.database_url {
            None => {
                let path = opts.data_dir.join("yijian.sqlite3");
                create_private(&path).map_err(|source| StoreError::DataDir { path: path.clone(), source })?;
                (sqlite_url(&path), Backend::Sqlite)
            }
            Some(u) => (u.clone(), Backend::from_url(u)?),
        };
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the one writer; FULL makes a commit an
                            // fsync of the WAL, so an acknowledged comment survives a power cut.
                            // Checkpoints run in the committing connection, every 4,000 pages
                            // (16 MiB) rather than SQLite's 1,000: fewer, larger checkpoints.
                            // A checkpoint from another connection, tried first, ran beside a
                            // writer that never paused, so it never completed, the WAL never
                            // restarted, and it grew to gigabytes under sustained load.
                            // temp_store = MEMORY: a multi-row insert into a table with
                            // triggers and foreign keys keeps a statement journal (to undo just
                            // that statement); as a temporary file it was a write per page
                            // touched, about a twentieth of the writer's time.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA wal_autocheckpoint = 4000; PRAGMA cache_size = -32000; \
                                 PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET synchronous_commit = on").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
        };
        operations::migrator(backend).run(&pool).await?;
        let (keys, key_source) = load_keys(&pool, opts).await?;
        let keys = Arc::new(keys);
        audit::ensure_keyed_start(&pool, backend, &keys).await?;
        let mut anchor_paths = vec![opts.data_dir.join(anchor::ANCHOR_FILE)];
        anchor_paths.extend(opts.audit_anchor.clone());
        let anchors = Arc::new(anchor::Anchors::new(anchor_paths, keys.clone()));
        let (stop_writer, stop) = tokio::sync::watch::channel(false);
        let writer_counts = Arc::new(operations::WriterCounts::default());
        let write_gate = (backend == Backend::Sqlite).then(WriteGate::default);
        let writer = comments::spawn_writer(
            pool.clone(),
            backend,
            write_gate.clone(),
            opts.max_batch.max(1),
            opts.max_queue.max(1),
            stop,
            writer_counts.clone(),
        );
        let store = Store {
            pool,
            backend,
            keys,
            writer,
            stop_writer: Arc::new(stop_writer),
            key_source,
            anchors,
            shared: Arc::default(),
            writer_counts,
            write_gate,
        };
        // Rows from before numbers in free text were masked get masked now, once.
        store.mask_stored_personal_data().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// The pool, for tests and tools that inspect the database directly.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits for queued writes and closes the connections. Clones held elsewhere (the search
    /// indexer, the mail poll) no longer keep the writer, and so the pool, open: comments they
    /// submit afterwards are refused as shutting down.
    pub async fn close(self) {
        self.anchors.flush().await;
        let _ = self.stop_writer.send(true);
        drop(self.writer);
        self.pool.close().await;
    }
}

/// Creates the database file, empty, readable and writable by this user only, unless it
/// exists. SQLite gives its -wal and -shm files the database file's permissions, so they are
/// private too, whatever the process's umask.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A database that already holds a key check (so, possibly, encrypted data) must be opened with
/// the same key; only a fresh one may get a new key.
async fn load_keys(pool: &AnyPool, opts: &StoreOptions) -> Result<(Keys, KeySource), StoreError> {
    let check: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(KEY_CHECK).fetch_optional(pool).await?;
    let (keys, source) = Keys::load(&opts.data_dir, opts.master_key.as_deref(), check.is_none())?;
    match check {
        Some(envelope) => match keys.open(&envelope, KEY_CHECK.as_bytes()) {
            Ok(plain) if plain.as_slice() == KEY_CHECK_PLAINTEXT => {}
            _ => return Err(StoreError::WrongKey),
        },
        None => {
            let envelope = keys.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK.as_bytes());
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(KEY_CHECK)
                .bind(envelope)
                .execute(pool)
                .await?;
            // Another process may have raced us with another key: the stored check decides.
            let stored: Vec<u8> =
                sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(KEY_CHECK).fetch_one(pool).await?;
            if keys.open(&stored, KEY_CHECK.as_bytes()).is_err() {
                return Err(StoreError::WrongKey);
            }
        }
    }
    Ok((keys, source))
}

pub(crate) fn micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_micros(v: i64) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_microsecond(v).map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_names_its_backend() {
        for (url, backend) in [
            ("postgres://u:p@db/yijian", Backend::Postgres),
            ("postgresql://db/yijian", Backend::Postgres),
            ("sqlite:///var/lib/yijian/y.sqlite3", Backend::Sqlite),
            ("sqlite::memory:", Backend::Sqlite),
        ] {
            assert_eq!(Backend::from_url(url).unwrap(), backend, "{url}");
        }
        for url in ["mysql://db/yijian", "postgres:/db", "", "SQLITE:x"] {
            assert!(matches!(Backend::from_url(url), Err(StoreError::BadUrl(u)) if u == url), "{url}");
        }
    }
}
