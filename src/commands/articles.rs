//! `yijian articles suggest`: suggest articles for every comment of a consultation afresh.

use anyhow::{Result, bail};

use super::with_app;
use crate::cli::ArticlesCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: ArticlesCommand) -> Result<()> {
    match command {
        ArticlesCommand::Suggest { consultation } => {
            with_app(config, async |app| {
                let Some(c) = app.consultation(&consultation).await? else {
                    bail!("no consultation `{consultation}` (see `yijian consultation list`)");
                };
                let outcome = app.suggest_articles(&c).await?;
                println!("{}", serde_json::to_string(&outcome)?);
                Ok(())
            })
            .await
        }
    }
}
