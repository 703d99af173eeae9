//! `yijian token …`: bearer tokens for the admin API. A token is printed once, when it is made.

use anyhow::Result;

use super::{cli_actor, with_store};
use crate::cli::TokenCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: TokenCommand) -> Result<()> {
    let actor = cli_actor();
    with_store(config, async |store| {
        match command {
            TokenCommand::Create { user, expires } => {
                let (id, token) = store.create_token(&actor, &user, expires).await?;
                eprintln!("token {id} for {user}; it is shown only now:");
                println!("{token}");
            }
            TokenCommand::List => {
                for t in store.list_tokens().await? {
                    let state = if t.revoked {
                        "revoked".to_string()
                    } else {
                        t.expires_at.map(|e| format!("expires {e}")).unwrap_or_else(|| "no expiry".into())
                    };
                    println!("{}\t{}\t{}\t{}", t.id, t.user, t.created_at, state);
                }
            }
            TokenCommand::Revoke { id } => {
                store.revoke_token(&actor, &id).await?;
                println!("revoked {id}");
            }
        }
        Ok(())
    })
    .await
}
