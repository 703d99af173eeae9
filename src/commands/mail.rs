//! `yijian mail fetch|import`: the use cases are in `yijian_app::mail`; this prints their tally
//! as one JSON line.

use anyhow::{Result, bail};
use yijian_app::mail::MailError;

use super::{spinner, with_app};
use crate::cli::MailCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: MailCommand) -> Result<()> {
    let settings = config.mail_settings()?;
    with_app(config, async |app| {
        let tally = match command {
            MailCommand::Fetch => app.fetch_mail(&settings).await?,
            MailCommand::Import { files, reply } => {
                let bar = spinner("importing mail");
                let tally = app
                    .import_mail(&settings, &files, reply, |stored| {
                        if let Some(b) = &bar {
                            b.set_message(format!("importing mail: {stored} stored"));
                        }
                    })
                    .await;
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                match tally {
                    Err(MailError::NoSmtp) => bail!("--reply needs a [mail.smtp] server in the configuration"),
                    other => other?,
                }
            }
        };
        println!("{}", serde_json::to_string(&tally)?);
        Ok(())
    })
    .await
}
