//! From raw mail to stored comments: read, route, store, and plan the replies.
//!
//! Every mail handed to [`Intake::import`] is stored, whatever it turns out to be: a comment,
//! an unrouted mail waiting for staff, or a rejected one kept with its raw bytes and the reason.
//! Replies are planned here but sent by [`crate::reply::Replier`] only after the batch holding
//! their comments has committed, so a receipt never goes out for a comment that is not on disk.

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use yijian_domain::comment::{Channel, NewComment};
use yijian_domain::receipt::Receipt;
use yijian_store::{MailOutcome, MailStored, MailTarget, NewAttachment, NewMail, Store, StoreError, Timing};

use crate::parse::{self, Limits, ParsedMail};
use crate::route::{self, Route, RouteTarget};

/// Raw mail kept for audit is capped: a message past this is kept truncated, with a note, so
/// that one hostile file cannot fill the database.
pub const MAX_KEPT_RAW_BYTES: usize = 64 * 1024 * 1024;

/// A Date header further ahead than this is not believed (clocks drift, spammers lie).
const MAX_FUTURE_SKEW: SignedDuration = SignedDuration::from_hours(1);

/// A mail as it arrives.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub raw: Vec<u8>,
    /// `imap:MAILBOX` or the file (and position in an mbox) it came from.
    pub source: String,
    /// When the server received it (IMAP INTERNALDATE), if known.
    pub arrival: Option<Timestamp>,
    /// The whole message's size when `raw` is only its beginning (IMAP fetches no more of a
    /// message than [`Limits::max_message_bytes`]); `None` when `raw` is all of it.
    pub size: Option<usize>,
}

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Comment { mail_id: i64, consultation_id: String, receipt: Receipt, timing: Option<Timing> },
    Unrouted { mail_id: i64 },
    Rejected { mail_id: i64, reason: String },
    Duplicate,
}

/// A reply to send once the comment is stored. It goes to the sender's From address, never
/// to Reply-To, and carries nothing the sender wrote: its subject and text are the
/// consultation's (see [`crate::reply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPlan {
    pub mail_id: i64,
    pub to: String,
    pub consultation_id: String,
    pub receipt: Receipt,
    pub received_at: Timestamp,
    pub message_id: Option<String>,
    pub references: Vec<String>,
}

/// One mail's result, with its reply plan (if it may get one) or why it may not.
#[derive(Debug, Clone)]
pub struct Imported {
    pub source: String,
    pub outcome: Outcome,
    pub reply: Result<ReplyPlan, &'static str>,
}

/// Reads, routes and stores mail for the consultations in the store.
pub struct Intake {
    store: Store,
    limits: Limits,
    targets: Vec<MailTarget>,
    routes: Vec<RouteTarget>,
}

struct Prepared {
    mail: NewMail,
    reply: Result<PendingReply, &'static str>,
}

struct PendingReply {
    to: String,
    references: Vec<String>,
}

impl Intake {
    /// Loads the consultations mail can be routed to. Make a new `Intake` to see consultations
    /// created since.
    pub async fn new(store: Store, limits: Limits) -> Result<Intake, StoreError> {
        let targets = store.mail_targets().await?;
        let routes = targets
            .iter()
            .map(|t| {
                let mut phrases = vec![t.meta.title.clone(), t.meta.email_channel.subject_phrase.clone()];
                phrases.extend(t.meta.email_channel.phrases.iter().cloned());
                RouteTarget { consultation_id: t.id.clone(), phrases }
            })
            .collect();
        Ok(Intake { store, limits, targets, routes })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn target(&self, id: &str) -> Option<&MailTarget> {
        self.targets.iter().find(|t| t.id == id)
    }

    /// Stores a batch of mails in one transaction, arrived by `now`. Parsing runs on a blocking
    /// thread: a large attachment must not stall the server's other tasks.
    pub async fn import(&self, batch: Vec<Incoming>, now: Timestamp) -> Result<Vec<Imported>, StoreError> {
        let limits = self.limits.clone();
        let targets = self.targets.clone();
        let routes = self.routes.clone();
        let (sources, prepared) = tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|m| (m.source.clone(), prepare(m, &limits, &targets, &routes, now)))
                .unzip::<_, _, Vec<_>, Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("mail parsing task failed: {e}")))?;
        let mails: Vec<NewMail> = prepared.iter().map(|p| p.mail.clone()).collect();
        let stored = self.store.store_mails(&mails, now).await?;
        Ok(sources
            .into_iter()
            .zip(prepared)
            .zip(stored)
            .map(|((source, p), stored)| {
                let outcome = match stored {
                    MailStored::Comment { mail_id, receipt, .. } => {
                        let MailOutcome::Comment { comment, timing } = &p.mail.outcome else {
                            unreachable!("the store makes a comment only of a comment outcome")
                        };
                        Outcome::Comment {
                            mail_id,
                            consultation_id: comment.consultation_id.clone(),
                            receipt,
                            timing: *timing,
                        }
                    }
                    MailStored::Unrouted { mail_id } => Outcome::Unrouted { mail_id },
                    MailStored::Rejected { mail_id } => Outcome::Rejected {
                        mail_id,
                        reason: match &p.mail.outcome {
                            MailOutcome::Rejected { reason } => reason.clone(),
                            _ => String::new(),
                        },
                    },
                    MailStored::Duplicate => Outcome::Duplicate,
                };
                let reply = match (&outcome, p.reply) {
                    (Outcome::Comment { mail_id, consultation_id, receipt, .. }, Ok(r)) => Ok(ReplyPlan {
                        mail_id: *mail_id,
                        to: r.to,
                        consultation_id: consultation_id.clone(),
                        receipt: *receipt,
                        received_at: p.mail.received_at,
                        message_id: p.mail.message_id.clone(),
                        references: r.references,
                    }),
                    (Outcome::Comment { .. }, Err(why)) => Err(why),
                    (Outcome::Duplicate, _) => Err("duplicate"),
                    _ => Err("not-a-comment"),
                };
                Imported { source, outcome, reply }
            })
            .collect())
    }

    /// Staff assign an unrouted mail to a consultation. `Ok(None)` when the mail is not in the
    /// unrouted tray (already assigned, or never there) or the consultation is unknown.
    pub async fn assign(
        &self,
        mail_id: i64,
        consultation_id: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<Imported>, StoreError> {
        let Some(target) = self.target(consultation_id) else { return Ok(None) };
        let Some(summary) = self.store.mail_summary(mail_id).await? else { return Ok(None) };
        if summary.state != "unrouted" {
            return Ok(None);
        }
        let Some(raw) = self.store.mail_raw(mail_id).await? else { return Ok(None) };
        let limits = self.limits.clone();
        let parsed = tokio::task::spawn_blocking(move || parse::parse(&raw, &limits))
            .await
            .map_err(|e| StoreError::Corrupt(format!("mail parsing task failed: {e}")))?;
        // An unrouted mail was readable when it arrived; the same parser reads it the same way.
        let Ok(parsed) = parsed else { return Ok(None) };
        let (comment, timing) = comment_of(&parsed, target, summary.received_at);
        let Some((_, receipt)) = self
            .store
            .assign_mail(mail_id, &comment, summary.received_at, summary.message_id.as_deref(), timing, by, now)
            .await?
        else {
            return Ok(None);
        };
        let reply = reply_of(&parsed).map(|r| ReplyPlan {
            mail_id,
            to: r.to,
            consultation_id: consultation_id.to_string(),
            receipt,
            received_at: summary.received_at,
            message_id: summary.message_id.clone(),
            references: r.references,
        });
        Ok(Some(Imported {
            source: summary.source,
            outcome: Outcome::Comment { mail_id, consultation_id: consultation_id.to_string(), receipt, timing },
            reply,
        }))
    }
}

/// The key that makes a second import of the same mail a duplicate.
pub fn message_key(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id {
        Some(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

fn prepare(m: Incoming, limits: &Limits, targets: &[MailTarget], routes: &[RouteTarget], now: Timestamp) -> Prepared {
    let arrival = m.arrival.filter(|t| *t <= now + MAX_FUTURE_SKEW).unwrap_or(now);
    let mut raw = m.raw;
    let parsed = parse::parse_beginning(&raw, m.size.unwrap_or(raw.len()), limits);
    let mut kept_note = None;
    if raw.len() > MAX_KEPT_RAW_BYTES {
        kept_note = Some(format!("原始邮件 {} 字节，只保留了前 {} 字节", raw.len(), MAX_KEPT_RAW_BYTES));
        raw.truncate(MAX_KEPT_RAW_BYTES);
    }
    let parsed = match parsed {
        Ok(p) => p,
        Err(rejection) => {
            let reason = match kept_note {
                Some(note) => format!("{}；{note}", rejection.reason()),
                None => rejection.reason(),
            };
            return Prepared {
                mail: NewMail {
                    // Read from the header alone: a mail rejected once is a duplicate the
                    // second time, whether its bytes changed in transit or not.
                    message_key: message_key(parse::message_id_of(&raw).as_deref(), &raw),
                    message_id: parse::message_id_of(&raw),
                    source: m.source,
                    received_at: arrival,
                    subject: String::new(),
                    from_name: None,
                    from_address: None,
                    full_text: None,
                    attachments: Vec::new(),
                    outcome: MailOutcome::Rejected { reason },
                    raw,
                },
                reply: Err("rejected"),
            };
        }
    };
    let received_at = parsed.date.filter(|d| *d <= now + MAX_FUTURE_SKEW).unwrap_or(arrival);
    let attachments = parsed
        .attachments
        .iter()
        .map(|a| NewAttachment {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size as u64,
            content: a.bytes.clone(),
            omitted: a.omitted.clone(),
            has_text: a.text.as_ref().is_some_and(|t| !t.trim().is_empty()),
            note: a.note.clone(),
        })
        .collect();
    let (outcome, reply) = match route::route(&parsed.subject, routes) {
        Route::To(id) => {
            let target = targets.iter().find(|t| t.id == id).expect("routes are made from the targets");
            let (comment, timing) = comment_of(&parsed, target, received_at);
            (MailOutcome::Comment { comment, timing }, reply_of(&parsed))
        }
        Route::Unrouted => (MailOutcome::Unrouted { note: None }, Err("unrouted")),
        Route::Ambiguous(ids) => (
            MailOutcome::Unrouted { note: Some(format!("主题同时指向 {}，请人工分配", ids.join("、"))) },
            Err("unrouted"),
        ),
    };
    Prepared {
        mail: NewMail {
            message_key: message_key(parsed.message_id.as_deref(), &raw),
            message_id: parsed.message_id.clone(),
            source: m.source,
            received_at,
            subject: parsed.subject.clone(),
            from_name: parsed.from_name.clone(),
            from_address: parsed.from_address.clone(),
            full_text: Some(parsed.full_text.clone()),
            attachments,
            outcome,
            raw,
        },
        reply,
    }
}

/// The comment a mail makes on a consultation. The citizen is the original author where a
/// forward makes that clear; whoever sent it is the `sender`.
fn comment_of(parsed: &ParsedMail, target: &MailTarget, received_at: Timestamp) -> (NewComment, Option<Timing>) {
    let timing = if received_at < target.meta.opens_at {
        Some(Timing::Early)
    } else if received_at >= target.meta.closes_at {
        Some(Timing::Late)
    } else {
        None
    };
    let sender = match (&parsed.from_name, &parsed.from_address) {
        (Some(n), Some(a)) if !n.trim().is_empty() => Some(format!("{n} <{a}>")),
        (_, Some(a)) => Some(a.clone()),
        (Some(n), None) => Some(n.clone()),
        (None, None) => None,
    };
    let mut notes = Vec::new();
    if parsed.forwarded && parsed.author_address.is_some() && parsed.author_address != parsed.from_address {
        notes.push("转发邮件：作者取自被转发邮件的发件人".to_string());
    }
    // An attachment left out is named on the comment, so that reviewers know the citizen sent
    // more than they see.
    notes.extend(parsed.omissions());
    let comment = NewComment {
        consultation_id: target.id.clone(),
        version: target.version,
        channel: Channel::Email,
        name: parsed.author_name.clone().filter(|n| !n.trim().is_empty()),
        id_number: None,
        position: None,
        phone: None,
        email: parsed.author_address.clone(),
        opinion: parsed.comment_text(),
        articles: Vec::new(),
        sender,
        note: (!notes.is_empty()).then(|| notes.join("；")),
    };
    (comment, timing)
}

fn reply_of(parsed: &ParsedMail) -> Result<PendingReply, &'static str> {
    if let Some(why) = parsed.auto_reply_block {
        return Err(why);
    }
    // From, not Reply-To: anyone may write any address into Reply-To, and the official
    // mailbox must not write to a third party on a stranger's say-so.
    let Some(to) = parsed.from_address.clone() else { return Err("no-address") };
    let mut references = parsed.references.clone();
    if let Some(id) = &parsed.message_id
        && !references.contains(id)
    {
        references.push(id.clone());
    }
    Ok(PendingReply { to, references })
}
