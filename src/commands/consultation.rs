//! `yijian consultation import|list`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use yijian_domain::file;
use yijian_store::ImportOutcome;

use super::with_app;
use crate::cli::ConsultationCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: ConsultationCommand) -> Result<()> {
    match command {
        ConsultationCommand::Import { file, .. } => import(config, &file).await,
        ConsultationCommand::List { .. } => list(config).await,
    }
}

/// The file is read and checked before the store is opened: a broken file touches nothing.
async fn import(config: &Config, path: &Path) -> Result<()> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
    let parsed = match file::parse(&text) {
        Ok(f) => f,
        Err(e) => bail!("{}:{}: {}\nnothing was imported", path.display(), e.line, e.message),
    };
    with_app(config, async |app| {
        let sha = parsed.document.content_sha256();
        let outcome = app.import_consultation(&parsed, false, Timestamp::now()).await.map_err(|e| match e {
            yijian_app::Error::Store(yijian_store::StoreError::ClosedConsultation(id)) => {
                anyhow::anyhow!("consultation {id} has closed; its text can no longer change. Nothing was imported")
            }
            other => anyhow::Error::from(other),
        })?;
        let id = &parsed.meta.id;
        match outcome {
            ImportOutcome::Created { version } => println!("created {id} version {version} (sha256 {sha})"),
            ImportOutcome::NewVersion { version } => println!("new version {version} of {id} (sha256 {sha})"),
            ImportOutcome::MetadataUpdated { version } => {
                println!("{id}: text unchanged (version {version}); settings updated")
            }
            ImportOutcome::Unchanged { version } => println!("{id}: unchanged (version {version})"),
        }
        Ok(())
    })
    .await
}

async fn list(config: &Config) -> Result<()> {
    with_app(config, async |app| {
        let now = Timestamp::now();
        let items = app.consultations().await?;
        if items.is_empty() {
            println!("no consultations");
        }
        for c in items {
            let tz = jiff::tz::TimeZone::get(&c.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            println!(
                "{}\t{}\tv{}\t{} – {}\t{}{}",
                c.id,
                c.status(now).as_str(),
                c.version,
                c.opens_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M"),
                c.closes_at.to_zoned(tz).strftime("%Y-%m-%d %H:%M"),
                c.title,
                if c.demo { "\t(演示 demo)" } else { "" }
            );
        }
        Ok(())
    })
    .await
}
