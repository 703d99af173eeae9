//! `yijian search reindex`: rebuild the full-text index, or ask the running server to.

use anyhow::{Context, Result, bail};

use super::{progress_bar, with_store};
use crate::cli::SearchCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: SearchCommand) -> Result<()> {
    match command {
        SearchCommand::Reindex => reindex(config).await,
    }
}

async fn reindex(config: &Config) -> Result<()> {
    with_store(config, async |store| {
        let index = yijian_analysis::SearchIndex::open(&config.search_dir()).context("cannot open the search index")?;
        match index.writer() {
            Ok(mut writer) => {
                let bar = progress_bar(store.count_all_comments().await? as u64, "indexing");
                let n = yijian_web::indexing::rebuild(store, &mut writer, |n| {
                    if let Some(b) = &bar {
                        b.set_position(n);
                    }
                })
                .await
                .map_err(|e| anyhow::anyhow!("rebuilding the index failed: {e}"))?;
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                eprintln!("indexed {n} comments");
            }
            Err(yijian_analysis::SearchError::Locked) => {
                store.request_search_reindex().await?;
                eprintln!("the running server holds the index; it will rebuild it within a second");
            }
            Err(e) => bail!("cannot write the search index: {e}"),
        }
        Ok(())
    })
    .await
}
