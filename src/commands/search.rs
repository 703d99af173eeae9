//! `yijian search reindex`: rebuild the full-text index, or ask the running server to.

use anyhow::{Context, Result, bail};

use super::{progress_bar, with_app};
use crate::cli::SearchCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: SearchCommand) -> Result<()> {
    match command {
        SearchCommand::Reindex => reindex(config).await,
    }
}

async fn reindex(config: &Config) -> Result<()> {
    with_app(config, async |app| {
        let index = yijian_analysis::SearchIndex::open(&config.search_dir()).context("cannot open the search index")?;
        match index.writer() {
            Ok(mut writer) => {
                let bar = progress_bar(app.count_all_comments().await? as u64, "indexing");
                let n = app
                    .rebuild_index(&mut writer, |n| {
                        if let Some(b) = &bar {
                            b.set_position(n);
                        }
                    })
                    .await
                    .map_err(|e| anyhow::anyhow!("rebuilding the index failed: {e}"))?;
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                app.announce_rebuild(&index).await?;
                eprintln!("indexed {n} comments (other servers sharing the database rebuild theirs within a second)");
            }
            Err(yijian_analysis::SearchError::Locked) => {
                app.request_reindex().await?;
                eprintln!("the running server holds the index; it (and every other server sharing the database) will rebuild within a second");
            }
            Err(e) => bail!("cannot write the search index: {e}"),
        }
        Ok(())
    })
    .await
}
