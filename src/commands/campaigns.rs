//! `yijian campaigns detect`: find a consultation's campaigns afresh.

use anyhow::{Result, bail};

use super::{cli_actor, with_app};
use crate::cli::CampaignsCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: CampaignsCommand) -> Result<()> {
    match command {
        CampaignsCommand::Detect { consultation } => {
            with_app(config, async |app| {
                let Some(c) = app.consultation(&consultation).await? else {
                    bail!("no consultation `{consultation}` (see `yijian consultation list`)");
                };
                let outcome = app.detect_campaigns(&cli_actor(), &c, jiff::Timestamp::now()).await?;
                println!("{}", serde_json::to_string(&outcome)?);
                Ok(())
            })
            .await
        }
    }
}
