//! `sigil users …`: the org's human users (by email), and `users token`,
//! Digital Rebar's `drpcli users token USER ttl 1h …`, which is
//! `tokens issue -u USER`.

use clap::{Args, Subcommand};
use sigil_proto::api::{CreateUser, UpdateUser, User};
use sigil_proto::client::Client;

use crate::bots::parse_claims;
use crate::context::Ctx;
use crate::error::CliError;
use crate::ids;
use crate::output::{self, now};
use crate::prompt;
use crate::table::{self, Col};
use crate::tokens::{self, IssueArgs};

const LIST_COLUMNS: &[Col] = &[
    Col::whole("EMAIL"),
    Col::whole("ID"),
    Col::whole("CREATED"),
    Col::cut("PERMISSIONS"),
];

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (a human, known by email).
    #[command(after_help = "Examples:
  sigil users create ada@example.com
  sigil users create ada@example.com --permission 'machines:get,list:*' -o json")]
    Create(CreateArgs),
    /// List the users of the org.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  sigil users list\n  sigil users list -o json | jq -r '.[].email'"
    )]
    List,
    /// Show one user, by email or id.
    #[command(
        visible_alias = "show",
        after_help = "Examples:\n  sigil users view ada@example.com\n  sigil users view ada@example.com -o json"
    )]
    View(UserArg),
    /// Change a user's email or permissions.
    #[command(after_help = "Examples:
  sigil users update ada@example.com --permission 'machines:get:*'   # replaces the list
  sigil users update ada@example.com --email ada@corp.example.com
  sigil users update ada@example.com --clear-permissions")]
    Update(UpdateArgs),
    /// Delete a user.
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  sigil users delete ada@example.com\n  sigil users delete ada@example.com --yes   # no question (required without a terminal)"
    )]
    Delete(DeleteArgs),
    /// Issue a token for a user or a bot (Digital Rebar's form of `tokens issue -u USER`).
    #[command(after_help = "Examples:
  sigil users token ada@example.com ttl 1h
  sigil users token ada@example.com ttl 1h scope '*' action '*' specific '*'
  sigil users token steve -e 100d -l ci          # the same flags as tokens issue

Words after USER come in pairs, as drpcli spells them: ttl DURATION, scope S, action A,
specific X (scope/action/specific make one claim S:A:X, each `*` when left out).
Human users' tokens live at most a day; bots' tokens may live longer.")]
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct UserArg {
    /// Email, id, or a unique start of its id.
    #[arg(value_name = "USER")]
    pub user: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The user's email, unique in the org.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// A claim the user holds, `scope:action:specific` (repeatable).
    #[arg(short = 'p', long = "permission", value_name = "CLAIM")]
    pub permissions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Email, id, or a unique start of its id.
    #[arg(value_name = "USER")]
    pub user: String,
    /// The new email.
    #[arg(long)]
    pub email: Option<String>,
    /// The new permissions, replacing the old ones (repeatable).
    #[arg(short = 'p', long = "permission", value_name = "CLAIM")]
    pub permissions: Vec<String>,
    /// Remove every permission.
    #[arg(long, conflicts_with = "permissions")]
    pub clear_permissions: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Email, id, or a unique start of its id.
    #[arg(value_name = "USER")]
    pub user: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user (email) or bot the token is for.
    #[arg(value_name = "USER")]
    pub user: String,
    /// drpcli's words: `ttl D`, `scope S`, `action A`, `specific X`.
    #[arg(value_name = "KEY VALUE", num_args = 0..)]
    pub words: Vec<String>,
    /// Lifetime (1h, 100d…) or an RFC 3339 time (the same as `ttl D`).
    #[arg(
        short = 'e',
        long,
        value_name = "DURATION|TIME",
        allow_hyphen_values = true
    )]
    pub expiry: Option<String>,
    /// A label to find the token by later.
    #[arg(short = 'l', long, visible_short_alias = 'n', visible_alias = "name")]
    pub label: Option<String>,
    /// A claim, `scope:action:specific` (repeatable).
    #[arg(long = "claim", value_name = "CLAIM")]
    pub claims: Vec<String>,
    /// Scope the token to this app (name or id).
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,
}

pub async fn run(ctx: &Ctx, cmd: UsersCommand) -> Result<(), CliError> {
    match cmd {
        UsersCommand::Create(a) => create(ctx, a).await,
        UsersCommand::List => list(ctx).await,
        UsersCommand::View(a) => view(ctx, &a.user).await,
        UsersCommand::Update(a) => update(ctx, a).await,
        UsersCommand::Delete(a) => delete(ctx, a).await,
        UsersCommand::Token(a) => tokens::issue(ctx, token_args(a)?).await,
    }
}

/// `users token USER [ttl D] [scope S] [action A] [specific X] [flags]` as
/// the flags of `tokens issue -u USER`.
pub fn token_args(a: TokenArgs) -> Result<IssueArgs, CliError> {
    let mut expiry = a.expiry;
    let (mut scope, mut action, mut specific) = (None, None, None);
    let mut words = a.words.iter();
    while let Some(key) = words.next() {
        let Some(value) = words.next() else {
            return Err(CliError::usage(format!(
                "{key:?} needs a value, e.g. `ttl 1h`"
            )));
        };
        let slot = match key.as_str() {
            "ttl" => &mut expiry,
            "scope" => &mut scope,
            "action" => &mut action,
            "specific" => &mut specific,
            other => {
                return Err(CliError::usage(format!(
                    "unknown word {other:?}: expected ttl, scope, action or specific (each followed by its value)"
                )))
            }
        };
        if slot.is_some() {
            return Err(CliError::usage(format!("{key:?} is given twice")));
        }
        *slot = Some(value.clone());
    }
    let mut claims = a.claims;
    if scope.is_some() || action.is_some() || specific.is_some() {
        let part = |p: Option<String>| p.unwrap_or_else(|| "*".into());
        claims.push(format!(
            "{}:{}:{}",
            part(scope),
            part(action),
            part(specific)
        ));
    }
    Ok(IssueArgs {
        username: Some(a.user),
        expiry,
        label: a.label,
        claims,
        scopes: Vec::new(),
        allows: Vec::new(),
        app: a.app,
        binding: Default::default(),
    })
}

async fn create(ctx: &Ctx, a: CreateArgs) -> Result<(), CliError> {
    let req = CreateUser {
        email: a.email,
        permissions: parse_claims("--permission", &a.permissions)?,
    };
    let user = ctx.client()?.create_user(&ctx.org, &req).await?;
    if ctx.json() {
        return output::print_json(&user);
    }
    output::note(&format!(
        "Created user {} ({}) in org {}.",
        user.email, user.id, user.org
    ));
    print_user(&user);
    Ok(())
}

async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let users = ctx.client()?.list_all_users(&ctx.org).await?;
    let empty = format!(
        "No users in org {}. Create one with `sigil users create EMAIL`.",
        ctx.org
    );
    let now = now();
    table::print_list(ctx, &users, &empty, LIST_COLUMNS, |u| {
        vec![
            u.email.clone(),
            u.id.to_string(),
            output::relative(u.created_at, now),
            output::or_dash(&u.permissions.join(" ")),
        ]
    })
}

/// A user by email or id, or by a unique prefix of its id (see [`ids`]).
async fn resolve_user(ctx: &Ctx, client: &Client, key: &str) -> Result<User, CliError> {
    ids::or_prefix(
        "users",
        key,
        client.get_user(&ctx.org, key).await,
        || client.list_all_users(&ctx.org),
        |u| u.id,
        |u| u.email.clone(),
    )
    .await
}

async fn view(ctx: &Ctx, user: &str) -> Result<(), CliError> {
    let user = resolve_user(ctx, &ctx.client()?, user).await?;
    if ctx.json() {
        return output::print_json(&user);
    }
    print_user(&user);
    Ok(())
}

fn print_user(user: &User) {
    let now = now();
    let permissions = crate::bots::permissions_cell(&user.permissions);
    output::print_kv(&[
        ("ID", user.id.to_string()),
        ("Email", user.email.clone()),
        ("Org", user.org.clone()),
        ("Permissions", permissions),
        ("Created", output::when(user.created_at, now)),
        ("Updated", output::when(user.updated_at, now)),
    ]);
}

async fn update(ctx: &Ctx, a: UpdateArgs) -> Result<(), CliError> {
    let permissions = crate::bots::permission_change(a.clear_permissions, &a.permissions)?;
    if a.email.is_none() && permissions.is_none() {
        return Err(CliError::usage(
            "nothing to change: pass --email, --permission or --clear-permissions",
        ));
    }
    let req = UpdateUser {
        email: a.email,
        permissions,
    };
    let client = ctx.client()?;
    // An email never looks like the start of an id; anything else that does
    // is resolved first.
    let key = match ids::as_prefix(&a.user) {
        Some(_) => resolve_user(ctx, &client, &a.user).await?.id.to_string(),
        None => a.user.clone(),
    };
    let user = client.update_user(&ctx.org, &key, &req).await?;
    if ctx.json() {
        return output::print_json(&user);
    }
    output::note(&format!("Updated user {}.", user.email));
    print_user(&user);
    Ok(())
}

async fn delete(ctx: &Ctx, a: DeleteArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let user = resolve_user(ctx, &client, &a.user).await?;
    prompt::confirm(ctx, a.yes, &format!("Delete user {}?", user.email))?;
    client.delete_user(&ctx.org, &user.id.to_string()).await?;
    if ctx.json() {
        return output::print_json(&serde_json::json!({
            "id": user.id,
            "email": user.email,
            "deleted": true,
        }));
    }
    println!("Deleted user {}.", user.email);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(user: &str, words: &[&str]) -> TokenArgs {
        TokenArgs {
            user: user.into(),
            words: words.iter().map(|w| w.to_string()).collect(),
            expiry: None,
            label: None,
            claims: Vec::new(),
            app: None,
        }
    }

    #[test]
    fn drpcli_words_become_tokens_issue_flags() {
        let a = token_args(args(
            "ada@example.com",
            &["ttl", "1h", "scope", "*", "action", "*", "specific", "*"],
        ))
        .unwrap();
        assert_eq!(a.username.as_deref(), Some("ada@example.com"));
        assert_eq!(a.expiry.as_deref(), Some("1h"));
        assert_eq!(a.claims, ["*:*:*"]);
        let a = token_args(args("steve", &["scope", "machines", "action", "get"])).unwrap();
        assert_eq!(a.claims, ["machines:get:*"]);
        assert_eq!(a.expiry, None);
        let e = token_args(args("steve", &["ttl"])).unwrap_err().to_string();
        assert!(e.contains("needs a value"), "{e}");
        let e = token_args(args("steve", &["life", "1h"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown word \"life\""), "{e}");
        let mut both = args("steve", &["ttl", "1h"]);
        both.expiry = Some("2h".into());
        let e = token_args(both).unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
    }
}
