//! `yijian token …`: bearer tokens for the admin API. A token is printed once, when it is made.

use anyhow::Result;

use jiff::Timestamp;

use super::{cli_actor, with_app};
use crate::cli::TokenCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: TokenCommand) -> Result<()> {
    let actor = cli_actor();
    with_app(config, async |app| {
        match command {
            TokenCommand::Create { user, expires } => {
                let (id, token) = app.create_token(&actor, &user, expires, Timestamp::now()).await?;
                eprintln!("token {id} for {user}; it is shown only now:");
                println!("{token}");
            }
            TokenCommand::List => {
                for t in app.list_tokens().await? {
                    let state = if t.revoked {
                        "revoked".to_string()
                    } else {
                        t.expires_at.map(|e| format!("expires {e}")).unwrap_or_else(|| "no expiry".into())
                    };
                    println!("{}\t{}\t{}\t{}", t.id, t.user, t.created_at, state);
                }
            }
            TokenCommand::Revoke { id } => {
                app.revoke_token(&actor, &id, Timestamp::now()).await?;
                println!("revoked {id}");
            }
        }
        Ok(())
    })
    .await
}
