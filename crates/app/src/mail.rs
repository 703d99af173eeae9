//! Mail intake as use cases: importing .eml files and mbox archives, one IMAP pass, and the poll
//! that runs passes inside the server. Each returns what became of the mails (a [`Tally`]);
//! printing it is the caller's business.

use jiff::Timestamp;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use yijian_mail::fetch::{self, FetchError, RejectedFile, Tally};
use yijian_mail::imap::ImapAccount;
use yijian_mail::intake::{Incoming, Intake};
use yijian_mail::mbox::{self, MboxReader};
use yijian_mail::parse::Limits;
use yijian_mail::reply::{Replier, ReplySettings};
use yijian_mail::smtp::SmtpAccount;
use yijian_store::{Store, StoreError};

/// Mails stored per transaction by [`import`].
pub const IMPORT_BATCH: usize = 200;

/// The email channel's settings, already checked.
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    /// The mailbox comments arrive in; `None`: no fetching.
    pub imap: Option<ImapAccount>,
    /// The server replies go through; `None`: no automatic mail.
    pub smtp: Option<SmtpAccount>,
    pub limits: Limits,
    /// Reply to mail fetched from the mailbox (needs `smtp`).
    pub replies: bool,
    pub reply: ReplySettings,
    /// Time between two passes of the poll; zero turns the poll off.
    pub poll_every: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("no [mail.imap] account in the configuration (see yijian.example.toml)")]
    NoImap,
    #[error("no [mail.smtp] server in the configuration")]
    NoSmtp,
    #[error("mail.smtp: {0}")]
    Smtp(String),
    /// The source carries the reason; the message says which mailbox.
    #[error("fetching mail from {account}")]
    Fetch {
        account: String,
        #[source]
        source: FetchError,
    },
    #[error("storing mail")]
    Storing(#[source] StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The replier, when SMTP is configured.
pub fn replier(store: &Store, settings: &MailSettings) -> Result<Option<Replier>, MailError> {
    let Some(account) = &settings.smtp else { return Ok(None) };
    Replier::new(account, store.clone(), settings.reply.clone()).map(Some).map_err(MailError::Smtp)
}

/// The replier for fetched mail: only when replies are on.
fn fetch_replier(store: &Store, settings: &MailSettings) -> Result<Option<Replier>, MailError> {
    if settings.replies { replier(store, settings) } else { Ok(None) }
}

/// One IMAP pass: what is new is stored, moved if so configured, and answered if replies are on.
pub async fn fetch_once(store: &Store, settings: &MailSettings) -> Result<Tally, MailError> {
    let Some(account) = &settings.imap else { return Err(MailError::NoImap) };
    let replier = fetch_replier(store, settings)?;
    fetch::fetch_once(store, account, &settings.limits, replier.as_ref(), Timestamp::now)
        .await
        .map_err(|source| MailError::Fetch { account: fetch::cursor_key(account), source })
}

/// Imports .eml files and mbox archives, [`IMPORT_BATCH`] mails per transaction. A file that
/// cannot be read is listed among the rejected and the others still go in. With `reply`, each
/// routed mail gets its automatic reply (an error without `smtp`). `progress` is told how many
/// mails are done after each batch.
pub async fn import(
    store: &Store,
    settings: &MailSettings,
    files: &[PathBuf],
    reply: bool,
    mut progress: impl FnMut(usize),
) -> Result<Tally, MailError> {
    let replier = if reply {
        match replier(store, settings)? {
            Some(r) => Some(r),
            None => return Err(MailError::NoSmtp),
        }
    } else {
        None
    };
    let intake = Intake::new(store.clone(), settings.limits.clone()).await?;
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for file in files {
        let name = file.display().to_string();
        let messages = match open_messages(file, settings.limits.max_message_bytes) {
            Ok(m) => m,
            Err(e) => {
                tally
                    .rejected
                    .push(RejectedFile {
                        file: name, reason: format!("无法读取文件 (cannot read the file: {e})")
                    });
                continue;
            }
        };
        for (n, message) in messages.enumerate() {
            let source = match &message {
                Message::Whole(_) => name.clone(),
                _ => format!("{name}#{}", n + 1),
            };
            match message {
                Message::Whole(raw) => batch.push(Incoming { raw, source, arrival: None, size: None }),
                Message::InArchive(raw, size) => {
                    batch.push(Incoming { size: (size > raw.len()).then_some(size), raw, source, arrival: None });
                }
                Message::Unreadable(e) => {
                    tally.rejected.push(RejectedFile {
                        file: source,
                        reason: format!("读取中断，文件其余部分未导入 (read error: {e})"),
                    });
                    break;
                }
            }
            if batch.len() >= IMPORT_BATCH {
                flush(&intake, &mut batch, replier.as_ref(), &mut tally).await?;
                progress(tally_total(&tally));
            }
        }
    }
    flush(&intake, &mut batch, replier.as_ref(), &mut tally).await?;
    Ok(tally)
}

/// How many mails a tally accounts for.
pub fn tally_total(t: &Tally) -> usize {
    t.imported + t.duplicates + t.unrouted + t.rejected.len()
}

async fn flush(
    intake: &Intake,
    batch: &mut Vec<Incoming>,
    replier: Option<&Replier>,
    tally: &mut Tally,
) -> Result<(), MailError> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now();
    let imported = intake.import(std::mem::take(batch), now).await.map_err(MailError::Storing)?;
    for i in &imported {
        tally.add(i);
    }
    fetch::settle_replies(intake, &imported, replier, tally, now).await;
    Ok(())
}

enum Message {
    /// A whole .eml file.
    Whole(Vec<u8>),
    /// One message of an mbox (its beginning, if it is too large) and its whole size.
    InArchive(Vec<u8>, usize),
    Unreadable(std::io::Error),
}

/// The messages of one file: an mbox archive is streamed, anything else is one message.
fn open_messages(path: &Path, max_message_bytes: usize) -> std::io::Result<Box<dyn Iterator<Item = Message>>> {
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let head = reader.fill_buf()?.to_vec();
    if mbox::is_mbox(&head) {
        // One runaway message must not take the whole archive into memory: the reader keeps
        // just past the limit, and the parser reads what fits and records what did not.
        let mut messages = MboxReader::new(reader).max_message_bytes(max_message_bytes);
        Ok(Box::new(std::iter::from_fn(move || messages.next_sized()).map(|m| match m {
            Ok((raw, size)) => Message::InArchive(raw, size),
            Err(e) => Message::Unreadable(e),
        })))
    } else {
        let mut raw = Vec::new();
        reader.read_to_end(&mut raw)?;
        Ok(Box::new(std::iter::once(Message::Whole(raw))))
    }
}

/// The lease that lets one node at a time poll the mailbox.
pub const POLL_LEASE: &str = "mail-poll";

/// How long the poll lease is taken for: several intervals, so a pass or two running late does
/// not lose it, and a few seconds at least. A holder that dies is replaced once it runs out.
pub fn poll_lease_length(every: Duration) -> Duration {
    (every * 3).max(Duration::from_secs(5))
}

/// Names this process among the nodes sharing the database (in the leases, and the logs): the
/// same name for every lease it takes, so that it can give them all up when it stops.
pub(crate) fn node_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let host = host.trim();
        format!(
            "{}:{}:{}",
            if host.is_empty() { "node" } else { host },
            std::process::id(),
            hex::encode(yijian_crypto::random_bytes::<4>())
        )
    })
    .clone()
}

/// Polls the mailbox until the process ends, when there is one and the interval is not zero.
/// A failed pass is logged and the next one tried at the next interval: a mail server's bad
/// hour must not stop the web.
///
/// Where several nodes share the database, only the one holding the poll lease (a row in the
/// database) polls; it renews the lease at every pass and while a pass runs, and another node
/// takes it over once it has expired (its holder died or lost the database). Two nodes fetching
/// the same mail would store it once (its Message-ID is unique), but would each send replies.
pub fn spawn_poll(
    store: Store,
    settings: &MailSettings,
    passes: Arc<crate::operations::MailPasses>,
) -> Result<Option<tokio::task::JoinHandle<()>>, MailError> {
    let Some(account) = settings.imap.clone() else { return Ok(None) };
    if settings.poll_every.is_zero() {
        tracing::info!("mail.poll_seconds = 0: the mailbox is not polled (use `yijian mail fetch`)");
        return Ok(None);
    }
    let replier = fetch_replier(&store, settings)?.map(Arc::new);
    let limits = settings.limits.clone();
    let every = settings.poll_every;
    let lease = poll_lease_length(every);
    let span = jiff::SignedDuration::try_from(lease).unwrap_or(jiff::SignedDuration::from_secs(60));
    let me = node_name();
    Ok(Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let hold = |store: &Store, me: &str| {
            let now = Timestamp::now();
            let (store, me) = (store.clone(), me.to_string());
            async move { store.hold_lease(POLL_LEASE, &me, now + span, now).await }
        };
        let mut holding = false;
        loop {
            ticker.tick().await;
            match hold(&store, &me).await {
                Ok(true) if !holding => {
                    tracing::info!(node = %me, "this node polls the mailbox");
                    holding = true;
                }
                Ok(true) => {}
                Ok(false) => {
                    if holding {
                        tracing::warn!(node = %me, "another node took over polling the mailbox");
                    }
                    holding = false;
                    tracing::debug!("another node polls the mailbox");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not take the mail poll lease; trying again at the next interval");
                    continue;
                }
            }
            let pass = fetch::fetch_once(&store, &account, &limits, replier.as_deref(), Timestamp::now);
            tokio::pin!(pass);
            let mut renew = tokio::time::interval(lease / 3);
            renew.tick().await;
            let result = loop {
                tokio::select! {
                    r = &mut pass => break r,
                    _ = renew.tick() => match hold(&store, &me).await {
                        Ok(true) => {}
                        // The pass is let finish: what it stores is stored once either way.
                        Ok(false) => tracing::warn!(node = %me, "lost the mail poll lease during a pass"),
                        Err(e) => tracing::warn!(error = %e, "could not renew the mail poll lease"),
                    },
                }
            };
            passes.record(result.is_ok());
            match result {
                Ok(t) if tally_total(&t) > 0 => tracing::info!(
                    imported = t.imported,
                    duplicates = t.duplicates,
                    unrouted = t.unrouted,
                    rejected = t.rejected.len(),
                    replies = t.replies,
                    "mail fetched"
                ),
                Ok(_) => tracing::debug!("no new mail"),
                Err(e) => tracing::warn!(error = %e, "fetching mail failed; trying again at the next interval"),
            }
        }
    })))
}

/// The same use cases on the application's store, for the adapters.
impl crate::App {
    /// One IMAP pass (see [`fetch_once`]).
    pub async fn fetch_mail(&self, settings: &MailSettings) -> Result<Tally, MailError> {
        fetch_once(&self.store, settings).await
    }

    /// Imports .eml files and mbox archives (see [`import`]).
    pub async fn import_mail(
        &self,
        settings: &MailSettings,
        files: &[PathBuf],
        reply: bool,
        progress: impl FnMut(usize),
    ) -> Result<Tally, MailError> {
        import(&self.store, settings, files, reply, progress).await
    }

    /// The replier, when SMTP is configured.
    pub fn mail_replier(&self, settings: &MailSettings) -> Result<Option<Replier>, MailError> {
        replier(&self.store, settings)
    }

    /// Starts polling the mailbox (see [`spawn_poll`]).
    pub fn spawn_mail_poll(&self, settings: &MailSettings) -> Result<Option<tokio::task::JoinHandle<()>>, MailError> {
        spawn_poll(self.store.clone(), settings, self.mail_passes.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_messages_the_command_line_prints() {
        assert_eq!(
            MailError::NoImap.to_string(),
            "no [mail.imap] account in the configuration (see yijian.example.toml)"
        );
        assert_eq!(MailError::Smtp("bad from".into()).to_string(), "mail.smtp: bad from");
    }

    #[tokio::test]
    async fn import_takes_eml_and_mbox_and_lists_an_unreadable_file() {
        let dir = std::env::temp_dir().join(format!("yijian-app-mail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mail = |n: u32| {
            format!("From: a{n}@example.org\r\nMessage-ID: <{n}@example.org>\r\nSubject: hello\r\n\r\nSome text.\r\n")
        };
        let eml = dir.join("one.eml");
        std::fs::write(&eml, mail(1)).unwrap();
        let archive = dir.join("two.mbox");
        std::fs::write(
            &archive,
            format!("From a@b Thu Jan  1 00:00:00 2026\n{}\nFrom a@b Thu Jan  1 00:00:00 2026\n{}", mail(2), mail(3)),
        )
        .unwrap();
        let store = Store::open(&yijian_store::StoreOptions::new(dir.join("data"))).await.unwrap();
        let files = [eml, archive, dir.join("missing.eml")];
        let mut reported = Vec::new();
        let tally = import(&store, &MailSettings::default(), &files, false, |n| reported.push(n)).await.unwrap();
        // No consultation to route to: every readable mail goes to the unrouted tray.
        assert_eq!((tally.imported, tally.unrouted, tally.duplicates), (0, 3, 0), "{tally:?}");
        assert_eq!(tally.rejected.len(), 1);
        assert!(tally.rejected[0].file.ends_with("missing.eml"), "{tally:?}");
        assert!(reported.is_empty(), "one batch, flushed at the end: {reported:?}");
        // The same files again are duplicates; asking for replies without SMTP is an error.
        let again = import(&store, &MailSettings::default(), &files[..2], false, |_| {}).await.unwrap();
        assert_eq!((again.unrouted, again.duplicates), (0, 3), "{again:?}");
        assert!(matches!(import(&store, &MailSettings::default(), &files, true, |_| {}).await, Err(MailError::NoSmtp)));
        assert!(matches!(fetch_once(&store, &MailSettings::default()).await, Err(MailError::NoImap)));
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_tally_counts_every_mail_once() {
        let t = Tally {
            imported: 3,
            duplicates: 2,
            unrouted: 1,
            rejected: vec![RejectedFile { file: "a".into(), reason: "b".into() }],
            replies: 3,
            early_or_late: 1,
        };
        assert_eq!(tally_total(&t), 7);
    }
}
