//! `yijian mail fetch|import` and the poll inside `serve`: the use cases are in
//! `yijian_app::mail`; this prints their tally as one JSON line.

use std::path::PathBuf;

use anyhow::{Result, bail};
use yijian_mail::reply::Replier;
use yijian_store::Store;

use crate::config::Config;

/// The replier, when SMTP is configured.
pub fn replier(config: &Config, store: &Store) -> Result<Option<Replier>> {
    Ok(yijian_app::mail::replier(store, &config.mail_settings()?)?)
}

/// One IMAP pass, printing the tally as JSON.
pub async fn fetch(config: &Config, store: &Store) -> Result<()> {
    let tally = yijian_app::mail::fetch_once(store, &config.mail_settings()?).await?;
    println!("{}", serde_json::to_string(&tally)?);
    Ok(())
}

/// Imports .eml files and mbox archives. Ends with one JSON line on stdout; a file that cannot
/// be read is listed among the rejected and the others still go in.
pub async fn import(config: &Config, store: &Store, files: &[PathBuf], reply: bool) -> Result<()> {
    let settings = config.mail_settings()?;
    if reply && settings.smtp.is_none() {
        bail!("--reply needs a [mail.smtp] server in the configuration");
    }
    let bar = crate::spinner("importing mail");
    let tally = yijian_app::mail::import(store, &settings, files, reply, |stored| {
        if let Some(b) = &bar {
            b.set_message(format!("importing mail: {stored} stored"));
        }
    })
    .await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    println!("{}", serde_json::to_string(&tally)?);
    Ok(())
}

/// Polls the mailbox inside `serve` until the process ends.
pub fn spawn_poll(config: &Config, store: Store) -> Result<()> {
    yijian_app::mail::spawn_poll(store, &config.mail_settings()?)?;
    Ok(())
}
