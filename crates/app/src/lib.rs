//! yijian's application layer: every use case, once.
//!
//! The web server and the command line are adapters over this crate: they turn a request or a
//! command into a call here, and the result into a page, JSON or a line on stdout. A use case
//! takes its inputs, who acts (a staff user, a citizen, a mail) and the current time, and
//! returns a typed result. Rules live in `yijian-domain` (who may do what, the lifecycle of a
//! consultation, the sign-in policy); reading and writing, with each change's audit entry in
//! the same transaction, in `yijian-store`.
//!
//! | use case | module |
//! |---|---|
//! | take a comment (web form, API, manual entry) | [`intake`] |
//! | read a consultation, the lifecycle (drafts, publish, extend, close, archive) | [`consultations`] |
//! | sign in, sessions, tokens, two-step login, accounts | [`staff`] |
//! | the review queue, single and bulk actions, revealing personal data | [`review`] |
//! | campaigns: detection, the campaign view, decisions on a campaign | [`campaigns`] |
//! | article suggestions: found in the background or in full, confirmed by staff | [`suggestions`] |
//! | themes: the main points per article, built, named, merged, split, confirmed, decided | [`themes`] |
//! | exports | [`export`] |
//! | the adoption report | [`report`] |
//! | mail import (.eml, mbox), one IMAP pass, the poll inside `serve` | [`mail`] |
//! | the mail trays | [`trays`] |
//! | the search index | [`indexing`] |
//! | signals on comments, and their background pass | [`signals`] |
//! | "not written by me" requests and staff's decisions | [`disputes`] |
//! | health, readiness, what the metrics read, backups | [`operations`] |

pub mod admission;
pub mod campaigns;
pub mod captcha;
pub mod consultations;
pub mod disputes;
pub mod export;
pub mod indexing;
pub mod intake;
pub mod mail;
pub mod operations;
pub mod report;
pub mod review;
pub mod sign_in_guard;
pub mod signals;
pub mod staff;
pub mod suggestions;
pub mod themes;
pub mod trays;

use std::sync::Arc;

use yijian_domain::staff::Permission;
use yijian_store::{SessionUser, Store, StoreError};

pub use consultations::LiveConsultation;

/// What the application needs of the email channel: the limits mail is read with, and the
/// replier when SMTP is configured.
#[derive(Clone, Default)]
pub struct MailSettings {
    pub limits: yijian_mail::parse::Limits,
    pub replier: Option<Arc<yijian_mail::reply::Replier>>,
}

/// Settings of the application.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Accept submissions without a captcha. For tests and benchmarks only.
    pub insecure_no_captcha: bool,
    /// How long an unused staff session lives; `None`: the sign-in policy's 30 minutes.
    pub session_idle: Option<jiff::SignedDuration>,
}

/// The application: the store and what the use cases share. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Store,
    options: AppOptions,
    captchas: Arc<captcha::Captchas>,
    consultations: Arc<consultations::Cache>,
    search: Option<yijian_analysis::SearchIndex>,
    mail: MailSettings,
    sign_in_guard: Arc<sign_in_guard::SignInGuard>,
    /// The mail poll's passes, by outcome, for the metrics.
    mail_passes: Arc<operations::MailPasses>,
    /// The background campaign pass's in-memory indexes.
    campaign_indexes: Arc<campaigns::Indexes>,
    article_indexes: Arc<suggestions::Indexes>,
    /// What the signal pass applies (issue 13).
    signals: Arc<signals::SignalSettings>,
    /// Whether the node is too loaded to take another comment now.
    admission: Arc<admission::Admission>,
}

/// One run of a background pass (see [`App::spawn_leased`]): how many comments it read.
pub(crate) type PassFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, Error>> + Send>>;

/// How long a refused comment is told to wait before trying again: about what a full intake
/// queue takes to drain, rounded up, so that retries do not arrive while it is still full.
pub const BUSY_RETRY_SECS: u64 = 2;

/// Why a use case did not happen, where no more specific error says it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The acting user's role does not allow it.
    #[error("not permitted")]
    Forbidden,
    /// The thing acted on does not exist (what: `consultation`, `comment`, `mail`…).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// An input broke a rule; the code names which.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// A stored text failed its integrity check: never served.
    #[error("integrity check failed")]
    Integrity,
    #[error(transparent)]
    Store(StoreError),
    /// A comment could not be stored; nothing was acknowledged.
    #[error("storing failed: {0}")]
    Storage(String),
    /// More comments are arriving than can be stored in time; nothing was stored. Try again
    /// after [`BUSY_RETRY_SECS`].
    #[error("too many comments are waiting to be stored")]
    Busy,
    #[error(transparent)]
    Manage(yijian_store::ManageError),
    #[error(transparent)]
    Review(yijian_store::ReviewError),
    #[error(transparent)]
    Staff(yijian_store::StaffError),
}

impl From<yijian_store::ManageError> for Error {
    fn from(e: yijian_store::ManageError) -> Self {
        match e {
            yijian_store::ManageError::Store(e) => e.into(),
            e => Error::Manage(e),
        }
    }
}

impl From<yijian_store::ReviewError> for Error {
    fn from(e: yijian_store::ReviewError) -> Self {
        match e {
            yijian_store::ReviewError::Store(e) => e.into(),
            e => Error::Review(e),
        }
    }
}

impl From<yijian_store::StaffError> for Error {
    fn from(e: yijian_store::StaffError) -> Self {
        match e {
            yijian_store::StaffError::Store(e) => e.into(),
            e => Error::Staff(e),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Integrity { .. } => {
                tracing::error!(error = %e, "integrity check failed");
                Error::Integrity
            }
            e => Error::Store(e),
        }
    }
}

impl App {
    pub fn new(store: Store, options: AppOptions) -> App {
        App {
            store: store.clone(),
            options,
            captchas: Arc::new(captcha::Captchas::new(store.clone(), captcha::Bounds::default())),
            consultations: Arc::default(),
            search: None,
            mail: MailSettings::default(),
            sign_in_guard: Arc::new(sign_in_guard::SignInGuard::new(yijian_domain::staff::LOGIN_POLICY)),
            mail_passes: Arc::default(),
            campaign_indexes: campaigns::new_indexes(),
            article_indexes: Arc::default(),
            signals: Arc::default(),
            admission: Arc::new(admission::Admission::new(std::time::Instant::now())),
        }
    }

    /// Opens the store (running its migrations and loading the master key) and the
    /// application over it.
    /// Opens the store; consultations published before their metadata was signed are signed
    /// now where that is safe (see `Store::sign_unsigned_metadata`).
    pub async fn open(store: &yijian_store::StoreOptions, options: AppOptions) -> Result<App, StoreError> {
        let store = Store::open(store).await?;
        store.sign_unsigned_metadata(jiff::Timestamp::now()).await?;
        Ok(App::new(store, options))
    }

    /// Searches opinions through this index.
    pub fn with_search(mut self, index: yijian_analysis::SearchIndex) -> Self {
        self.search = Some(index);
        self
    }

    /// Remembers used captchas within these bounds (tests give it small ones).
    pub fn with_captcha_bounds(mut self, bounds: captcha::Bounds) -> Self {
        self.captchas = Arc::new(captcha::Captchas::new(self.store.clone(), bounds));
        self
    }

    /// Reads mail with these limits, and sends automatic mail through its replier.
    pub fn with_mail(mut self, settings: MailSettings) -> Self {
        self.mail = settings;
        self
    }

    /// The store, for tests and tools that inspect the database. Adapters call use cases.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Which database is behind the application, and where the master key came from, for the
    /// start-up log.
    pub fn describe(&self) -> String {
        format!("backend={:?} key={:?}", self.store.backend(), self.store.key_source())
    }

    /// Whether several nodes may share this database (PostgreSQL), so that what a node would
    /// otherwise count in its own memory (rate limits) must be counted in the database.
    pub fn database_is_shared(&self) -> bool {
        self.store.backend() == yijian_store::Backend::Postgres
    }

    /// One request of `bucket` against a limit of one every `interval`, bursts of `burst`,
    /// counted in the shared database (see [`yijian_store::Store::rate_check`]).
    pub async fn rate_check(
        &self,
        bucket: &str,
        now: jiff::Timestamp,
        interval: std::time::Duration,
        burst: u32,
    ) -> Result<Result<(), std::time::Duration>, Error> {
        Ok(self.store.rate_check(bucket, now, interval, burst).await?)
    }

    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    pub fn captchas(&self) -> &Arc<captcha::Captchas> {
        &self.captchas
    }

    pub fn search(&self) -> Option<&yijian_analysis::SearchIndex> {
        self.search.as_ref()
    }

    pub fn mail_settings(&self) -> &MailSettings {
        &self.mail
    }

    /// The public half of the key that signs published texts, base64.
    pub fn signing_key(&self) -> String {
        self.store.keys().public_key_base64()
    }

    /// A MAC under a key derived from the master key, for tokens the web hands out (CSRF).
    pub fn mac(&self, purpose: &str, data: &str) -> [u8; 32] {
        self.store.keys().blind_index(purpose, data)
    }

    /// `Err(Forbidden)` unless the user's role grants the permission.
    pub fn require(&self, user: &SessionUser, permission: Permission) -> Result<(), Error> {
        if user.role.may(permission) { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// Waits for queued writes and closes the store.
    pub async fn close(self) {
        self.store.close().await
    }

    /// Runs a background pass every `every` until the process ends, on the one node that holds
    /// `lease` (where several share the database). `pass` gets the time and whether this node
    /// holds the lease; a node that does not is told so (it may drop state that would go
    /// stale) and its pass does nothing else. The pass returns how many comments it read.
    pub(crate) fn spawn_leased<F>(
        &self,
        lease: &'static str,
        every: std::time::Duration,
        pass: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: Fn(App, jiff::Timestamp, bool) -> PassFuture + Send + 'static,
    {
        let app = self.clone();
        let me = mail::node_name();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let span = jiff::SignedDuration::from_secs(60);
            loop {
                ticker.tick().await;
                let now = jiff::Timestamp::now();
                let held = match app.store.hold_lease(lease, &me, now + span, now).await {
                    Ok(held) => held,
                    Err(e) => {
                        tracing::warn!(error = %e, lease, "could not take the lease");
                        continue;
                    }
                };
                match pass(app.clone(), now, held).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(comments = n, lease, "background pass"),
                    Err(e) => tracing::warn!(error = %e, lease, "background pass failed; trying again shortly"),
                }
            }
        })
    }
}

/// Runs a background pass's CPU work (placing comments in campaigns, suggesting articles) on a
/// thread of its own at a lower scheduling priority, and waits for it. On a saturated node the
/// intake's threads then come first, and the pass takes what CPU they leave: at the same
/// priority its batches pushed the intake's sojourn over admission's 50 ms now and then, and
/// admission refused comments (bench/campaigns/README.md). The pass still runs when the node is
/// idle, or on the CPU a busy intake leaves (nice 10 is about a tenth of a core's share).
///
/// A thread per batch (a batch is thousands of comments): lowering a thread's own priority
/// needs no privilege, but raising it back does, so a pooled thread could not be returned as it
/// came; this one ends with its batch. The result is `Err` only if the work panicked or no
/// thread could be started.
pub(crate) async fn below_intake<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("background-pass".into())
        .spawn(move || {
            // On Linux, nice applies to the calling thread only. Failing to lower it changes
            // nothing but the priority, so the work runs either way.
            let _ = rustix::process::nice(10);
            let _ = tx.send(work());
        })
        .map_err(|e| format!("no thread for the background pass: {e}"))?;
    rx.await.map_err(|_| "the background pass's work panicked".to_owned())
}
