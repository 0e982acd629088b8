//! `sigil orgs …`: organizations, the tenants.

use clap::{Args, Subcommand};
use sigil_proto::api::{CreateOrg, UpdateOrg};
use sigil_proto::duration::{format_duration, parse_duration_for};
use sigil_proto::names::OrgName;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, now};
use crate::table::{self, Col};

/// The columns of `orgs list`: short, and all of them needed whole.
const LIST_COLUMNS: &[Col] = &[
    Col::whole("NAME"),
    Col::whole("ID"),
    Col::whole("MAX TOKEN LIFETIME"),
    Col::whole("CREATED"),
];

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// Create an organization.
    #[command(after_help = "Examples:
  sigil orgs create acme
  sigil orgs create acme-prod --max-token-lifetime 90d
  sigil bots list --org acme        # then work in it with --org or SIGIL_ORG")]
    Create(CreateArgs),
    /// List the organizations the token can see.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  sigil orgs list\n  sigil orgs list -o json"
    )]
    List,
    /// Change an organization's settings.
    #[command(after_help = "Examples:
  sigil orgs update acme --expiry-warning 7d     # token.expiring fires 7 days before expiry
  sigil orgs update acme --expiry-warning 30d -o json")]
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Org name: [a-z0-9][a-z0-9-]{0,62}.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cap on the lifetime of this org's tokens (e.g. 90d, 1y).
    #[arg(long, value_name = "DURATION")]
    pub max_token_lifetime: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Org name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// How long before a token expires its webhooks get `token.expiring` (e.g. 7d; default 14d).
    #[arg(long, value_name = "DURATION")]
    pub expiry_warning: Option<String>,
}

pub async fn run(ctx: &Ctx, cmd: OrgsCommand) -> Result<(), CliError> {
    match cmd {
        OrgsCommand::Create(a) => {
            let name = OrgName::parse(&a.name).map_err(|e| CliError::usage(e.to_string()))?;
            if let Some(m) = &a.max_token_lifetime {
                parse_duration_for("max_token_lifetime", m)
                    .map_err(|e| CliError::usage(format!("--max-token-lifetime: {e}")))?;
            }
            let req = CreateOrg {
                name: name.to_string(),
                max_token_lifetime: a.max_token_lifetime,
            };
            let org = ctx.client()?.create_org(&req).await?;
            if ctx.json() {
                return output::print_json(&org);
            }
            println!("Created org {} ({}).", org.name, org.id);
            Ok(())
        }
        OrgsCommand::Update(a) => {
            let name = OrgName::parse(&a.name).map_err(|e| CliError::usage(e.to_string()))?;
            let Some(w) = a.expiry_warning else {
                return Err(CliError::usage("nothing to change: pass --expiry-warning"));
            };
            parse_duration_for("expiry_warning", &w)
                .map_err(|e| CliError::usage(format!("--expiry-warning: {e}")))?;
            let req = UpdateOrg {
                expiry_warning: Some(w),
            };
            let org = ctx.client()?.update_org(name.as_str(), &req).await?;
            if ctx.json() {
                return output::print_json(&org);
            }
            println!(
                "Updated org {}: tokens are announced as expiring {} before they expire.",
                org.name,
                format_duration(org.expiry_warning)
            );
            Ok(())
        }
        OrgsCommand::List => {
            let orgs = ctx.client()?.list_all_orgs().await?;
            let now = now();
            table::print_list(ctx, &orgs, "No orgs to show.", LIST_COLUMNS, |o| {
                vec![
                    o.name.clone(),
                    o.id.to_string(),
                    o.max_token_lifetime
                        .map(format_duration)
                        .unwrap_or_else(|| "-".into()),
                    output::relative(o.created_at, now),
                ]
            })
        }
    }
}
