//! `yijian user …`: staff accounts. Passwords come from a prompt or standard input, never from
//! the command line.

use anyhow::{Result, bail};
use yijian_domain::staff::{Role, valid_username};

use jiff::Timestamp;

use super::{cli_actor, with_app};
use crate::cli::UserCommand;
use crate::config::Config;

pub async fn run(config: &Config, command: UserCommand) -> Result<()> {
    let actor = cli_actor();
    match command {
        UserCommand::Add { name, role } => {
            check_name(&name)?;
            let role = Role::from(role);
            let password = read_new_password()?;
            with_app(config, async |app| {
                app.add_user(&actor, &name, role, &password, Timestamp::now()).await?;
                println!("added {name} ({})", role.as_str());
                Ok(())
            })
            .await
        }
        UserCommand::List => {
            with_app(config, async |app| {
                let users = app.list_users().await?;
                if users.is_empty() {
                    println!("no users");
                }
                for u in users {
                    println!("{}\t{}\t{}", u.name, u.role.as_str(), if u.disabled { "disabled" } else { "enabled" });
                }
                Ok(())
            })
            .await
        }
        UserCommand::Disable { name } => {
            with_app(config, async |app| {
                app.set_user_disabled(&actor, &name, true, Timestamp::now()).await?;
                println!("disabled {name}");
                Ok(())
            })
            .await
        }
        UserCommand::Enable { name } => {
            with_app(config, async |app| {
                app.set_user_disabled(&actor, &name, false, Timestamp::now()).await?;
                println!("enabled {name}");
                Ok(())
            })
            .await
        }
        UserCommand::SetRole { name, role } => {
            let role = Role::from(role);
            with_app(config, async |app| {
                app.set_user_role(&actor, &name, role, Timestamp::now()).await?;
                println!("{name} is now {}", role.as_str());
                Ok(())
            })
            .await
        }
        UserCommand::ResetPassword { name } => {
            with_app(config, async |app| {
                if !app.list_users().await?.iter().any(|u| u.name == name) {
                    bail!("no user named {name}");
                }
                let password = read_new_password()?;
                app.reset_password(&actor, &name, &password, Timestamp::now()).await?;
                println!("password of {name} changed; its sessions ended");
                Ok(())
            })
            .await
        }
        UserCommand::ResetTotp { name } => {
            with_app(config, async |app| {
                app.reset_totp(&actor, &name, Timestamp::now()).await?;
                println!("two-step login of {name} turned off");
                Ok(())
            })
            .await
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    if !valid_username(name) {
        bail!("`{name}` is not a user name: 2–32 lower-case letters, digits, `.`, `_` or `-`, starting with a letter");
    }
    Ok(())
}

/// A new password from a prompt (typed twice, not echoed) or the first line of standard input.
fn read_new_password() -> Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if let Some(problem) = yijian_domain::staff::password_problem(&password) {
        bail!("{problem}; nothing was changed");
    }
    Ok(password)
}
