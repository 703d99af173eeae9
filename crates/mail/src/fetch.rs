//! One pass over the IMAP mailbox: fetch what is new, store it, then advance the cursor, move
//! the mails (if configured) and send the replies, in that order.
//!
//! The cursor moves only after the batch is committed, so a crash between the two fetches the
//! batch again and the Message-ID makes the second copy a duplicate: a mail is never lost and
//! never taken twice. Mail is never deleted from the server.

use jiff::Timestamp;
use yijian_store::{Store, StoreError, StoredCursor};

use crate::imap::{Cursor, ImapAccount, ImapClient, ImapError};
use crate::intake::{Imported, Incoming, Intake, Outcome};
use crate::parse::Limits;
use crate::reply::{Replier, ReplyState};

/// How many mails one transaction takes.
pub const FETCH_BATCH: usize = 50;

/// What one pass (or one import) did, as `yijian mail fetch|import` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub imported: usize,
    pub duplicates: usize,
    pub unrouted: usize,
    pub rejected: Vec<RejectedFile>,
    /// Automatic replies sent (0 unless replies are on).
    pub replies: usize,
    /// Mails that arrived before the consultation opened or after it closed (also counted
    /// in `imported`).
    pub early_or_late: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedFile {
    pub file: String,
    pub reason: String,
}

impl Tally {
    pub fn add(&mut self, imported: &Imported) {
        match &imported.outcome {
            Outcome::Comment { timing, .. } => {
                self.imported += 1;
                if timing.is_some() {
                    self.early_or_late += 1;
                }
            }
            Outcome::Unrouted { .. } => self.unrouted += 1,
            Outcome::Rejected { reason, .. } => {
                self.rejected.push(RejectedFile { file: imported.source.clone(), reason: reason.clone() })
            }
            Outcome::Duplicate => self.duplicates += 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends the replies a stored batch earned (when `replier` is given) and records on each mail
/// why it got none when a rule withheld it.
pub async fn settle_replies(
    intake: &Intake,
    batch: &[Imported],
    replier: Option<&Replier>,
    tally: &mut Tally,
    now: Timestamp,
) {
    for imported in batch {
        let Outcome::Comment { mail_id, consultation_id, .. } = &imported.outcome else { continue };
        match (&imported.reply, replier) {
            (Ok(plan), Some(replier)) => {
                let Some(target) = intake.target(consultation_id) else { continue };
                if replier.reply(plan, &target.meta, now).await == ReplyState::Sent {
                    tally.replies += 1;
                }
            }
            (Ok(_), None) => {}
            (Err(why), _) => {
                if let Err(e) = intake.store().set_reply_state(*mail_id, &format!("withheld: {why}")).await {
                    tracing::warn!(error = %e, "could not record why a mail got no reply");
                }
            }
        }
    }
}

/// The key the cursor is stored under: one per account and mailbox.
pub fn cursor_key(account: &ImapAccount) -> String {
    format!("{}@{}/{}", account.username, account.host, account.mailbox)
}

/// Fetches every new mail once. A pass may take a while: `clock` tells the time at each step.
pub async fn fetch_once(
    store: &Store,
    account: &ImapAccount,
    limits: &Limits,
    replier: Option<&Replier>,
    clock: impl Fn() -> Timestamp,
) -> Result<Tally, FetchError> {
    let intake = Intake::new(store.clone(), limits.clone()).await?;
    let key = cursor_key(account);
    let mut cursor =
        store.imap_cursor(&key).await?.map(|c| Cursor { uid_validity: c.uid_validity, last_uid: c.last_uid });
    let mut client = ImapClient::connect(account).await?;
    client.set_max_message_bytes(limits.max_message_bytes);
    client.open_mailbox().await?;
    let mut tally = Tally::default();
    loop {
        let (next, mails) = client.fetch_after(cursor, FETCH_BATCH).await?;
        if mails.is_empty() {
            // A changed UIDVALIDITY with an empty mailbox still resets the stored cursor.
            if cursor.is_some_and(|c| c.uid_validity != next.uid_validity) {
                store
                    .set_imap_cursor(
                        &key,
                        StoredCursor { uid_validity: next.uid_validity, last_uid: next.last_uid },
                        clock(),
                    )
                    .await?;
            }
            break;
        }
        let uids: Vec<u32> = mails.iter().map(|m| m.uid).collect();
        let batch: Vec<Incoming> = mails
            .into_iter()
            .map(|m| Incoming {
                size: (m.size > m.raw.len()).then_some(m.size),
                raw: m.raw,
                source: format!("imap:{}#{}", account.mailbox, m.uid),
                arrival: m.internal_date,
            })
            .collect();
        let now = clock();
        let imported = intake.import(batch, now).await?;
        store
            .set_imap_cursor(&key, StoredCursor { uid_validity: next.uid_validity, last_uid: next.last_uid }, now)
            .await?;
        cursor = Some(next);
        for i in &imported {
            tally.add(i);
        }
        if account.move_to.is_some() {
            client.move_to_folder(&uids).await?;
        }
        settle_replies(&intake, &imported, replier, &mut tally, clock()).await;
    }
    client.logout().await?;
    Ok(tally)
}
