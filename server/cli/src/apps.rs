//! `sigil apps …`: apps, the things inside an org a token can be scoped to.

use clap::{Args, Subcommand};
use sigil_proto::api::CreateApp;
use sigil_proto::names::AppName;

use crate::context::Ctx;
use crate::error::CliError;
use crate::ids;
use crate::output::{self, now};
use crate::prompt;
use crate::table::{self, Col};

/// The columns of `apps list`: short, and all of them needed whole.
const LIST_COLUMNS: &[Col] = &[Col::whole("NAME"), Col::whole("ID"), Col::whole("CREATED")];

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Create an app.
    #[command(
        after_help = "Examples:\n  sigil apps create web\n  sigil apps create billing-prod -o json"
    )]
    Create(NameArg),
    /// List the apps of the org.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  sigil apps list\n  sigil apps list -o json"
    )]
    List,
    /// Delete an app.
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  sigil apps delete web\n  sigil apps delete web --yes   # no question (required without a terminal)"
    )]
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// App name: [a-z0-9][a-z0-9-]{0,62}.
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// App name, id, or a unique start of its id.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(ctx: &Ctx, cmd: AppsCommand) -> Result<(), CliError> {
    match cmd {
        AppsCommand::Create(a) => {
            let name = AppName::parse(&a.name).map_err(|e| CliError::usage(e.to_string()))?;
            let app = ctx
                .client()?
                .create_app(
                    &ctx.org,
                    &CreateApp {
                        name: name.to_string(),
                    },
                )
                .await?;
            if ctx.json() {
                return output::print_json(&app);
            }
            println!("Created app {} ({}) in org {}.", app.name, app.id, app.org);
            Ok(())
        }
        AppsCommand::List => {
            let apps = ctx.client()?.list_all_apps(&ctx.org).await?;
            let empty = format!(
                "No apps in org {}. Create one with `sigil apps create NAME`.",
                ctx.org
            );
            let now = now();
            table::print_list(ctx, &apps, &empty, LIST_COLUMNS, |a| {
                vec![
                    a.name.clone(),
                    a.id.to_string(),
                    output::relative(a.created_at, now),
                ]
            })
        }
        AppsCommand::Delete(a) => {
            let client = ctx.client()?;
            let app = ids::or_prefix(
                "apps",
                &a.name,
                client.get_app(&ctx.org, &a.name).await,
                || client.list_all_apps(&ctx.org),
                |a| a.id,
                |a| a.name.clone(),
            )
            .await?;
            prompt::confirm(
                ctx,
                a.yes,
                &format!("Delete app {}? Tokens scoped to it stop working.", app.name),
            )?;
            client.delete_app(&ctx.org, &app.id.to_string()).await?;
            if ctx.json() {
                return output::print_json(
                    &serde_json::json!({"id": app.id, "name": app.name, "deleted": true}),
                );
            }
            println!("Deleted app {}.", app.name);
            Ok(())
        }
    }
}
