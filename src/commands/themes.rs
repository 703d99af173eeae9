//! `yijian themes build`: build a consultation's themes, or place the comments in none yet.

use anyhow::{Result, bail};

use super::{cli_actor, with_app};
use crate::cli::ThemesCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: ThemesCommand) -> Result<()> {
    match command {
        ThemesCommand::Build { consultation } => {
            with_app(config, async |app| {
                let Some(c) = app.consultation(&consultation).await? else {
                    bail!("no consultation `{consultation}` (see `yijian consultation list`)");
                };
                let outcome = app.build_themes(&cli_actor(), &c, jiff::Timestamp::now()).await?;
                println!("{}", serde_json::to_string(&outcome)?);
                Ok(())
            })
            .await
        }
    }
}
