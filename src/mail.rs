//! `yijian mail fetch|import` and the poll inside `serve`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::SignedDuration;
use yijian_mail::fetch::{self, RejectedFile, Tally};
use yijian_mail::intake::{Incoming, Intake};
use yijian_mail::mbox::{self, MboxReader};
use yijian_mail::reply::{Replier, ReplySettings};
use yijian_store::Store;

use crate::config::Config;

/// Mails stored per transaction by `mail import`.
const IMPORT_BATCH: usize = 200;

/// The replier, when SMTP is configured.
pub fn replier(config: &Config, store: &Store) -> Result<Option<Replier>> {
    let Some(account) = config.mail.smtp_account()? else { return Ok(None) };
    let settings = ReplySettings {
        public_url: config.public_url.clone(),
        max_per_address: config.mail.replies_per_address_per_day,
        window: SignedDuration::from_hours(24),
    };
    Replier::new(&account, store.clone(), settings).map(Some).map_err(|e| anyhow::anyhow!("mail.smtp: {e}"))
}

/// One IMAP pass, printing the tally as JSON.
pub async fn fetch(config: &Config, store: &Store) -> Result<()> {
    let Some(account) = config.mail.imap_account()? else {
        bail!("no [mail.imap] account in the configuration (see yijian.example.toml)");
    };
    let replier = if config.mail.replies { replier(config, store)? } else { None };
    let tally = fetch::fetch_once(store, &account, &config.mail.limits(), replier.as_ref())
        .await
        .with_context(|| format!("fetching mail from {}", fetch::cursor_key(&account)))?;
    println!("{}", serde_json::to_string(&tally)?);
    Ok(())
}

/// Imports .eml files and mbox archives. Ends with one JSON line on stdout; a file that cannot
/// be read is listed among the rejected and the others still go in.
pub async fn import(config: &Config, store: &Store, files: &[PathBuf], reply: bool) -> Result<()> {
    let replier = if reply {
        match replier(config, store)? {
            Some(r) => Some(r),
            None => bail!("--reply needs a [mail.smtp] server in the configuration"),
        }
    } else {
        None
    };
    let intake = Intake::new(store.clone(), config.mail.limits()).await?;
    let bar = crate::spinner("importing mail");
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for file in files {
        let name = file.display().to_string();
        let messages = match open_messages(file, config.mail.limits().max_message_bytes) {
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
                Message::Whole(raw) | Message::InArchive(raw) => {
                    batch.push(Incoming { raw, source, arrival: None });
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
                if let Some(b) = &bar {
                    b.set_message(format!("importing mail: {} stored", tally_total(&tally)));
                }
            }
        }
    }
    flush(&intake, &mut batch, replier.as_ref(), &mut tally).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    println!("{}", serde_json::to_string(&tally)?);
    Ok(())
}

fn tally_total(t: &Tally) -> usize {
    t.imported + t.duplicates + t.unrouted + t.rejected.len()
}

async fn flush(intake: &Intake, batch: &mut Vec<Incoming>, replier: Option<&Replier>, tally: &mut Tally) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let imported = intake.import(std::mem::take(batch)).await.context("storing mail")?;
    for i in &imported {
        tally.add(i);
    }
    fetch::settle_replies(intake, &imported, replier, tally).await;
    Ok(())
}

enum Message {
    /// A whole .eml file.
    Whole(Vec<u8>),
    /// One message of an mbox.
    InArchive(Vec<u8>),
    Unreadable(std::io::Error),
}

/// The messages of one file: an mbox archive is streamed, anything else is one message.
fn open_messages(path: &Path, max_message_bytes: usize) -> std::io::Result<Box<dyn Iterator<Item = Message>>> {
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let head = reader.fill_buf()?.to_vec();
    if mbox::is_mbox(&head) {
        // One runaway message must not take the whole archive into memory: the reader keeps
        // just past the limit, and the parser rejects it as too large (kept, with the reason).
        Ok(Box::new(MboxReader::new(reader).max_message_bytes(max_message_bytes).map(|m| match m {
            Ok(raw) => Message::InArchive(raw),
            Err(e) => Message::Unreadable(e),
        })))
    } else {
        let mut raw = Vec::new();
        reader.read_to_end(&mut raw)?;
        Ok(Box::new(std::iter::once(Message::Whole(raw))))
    }
}

/// Polls the mailbox inside `serve` until the process ends. A failed pass is logged and the
/// next one tried at the next interval: a mail server's bad hour must not stop the web.
pub fn spawn_poll(config: &Config, store: Store) -> Result<()> {
    let Some(account) = config.mail.imap_account()? else { return Ok(()) };
    if config.mail.poll_seconds == 0 {
        tracing::info!("mail.poll_seconds = 0: the mailbox is not polled (use `yijian mail fetch`)");
        return Ok(());
    }
    let replier = if config.mail.replies { replier(config, &store)?.map(Arc::new) } else { None };
    let limits = config.mail.limits();
    let every = Duration::from_secs(config.mail.poll_seconds);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match fetch::fetch_once(&store, &account, &limits, replier.as_deref()).await {
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
    });
    Ok(())
}
