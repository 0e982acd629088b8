//! `sigil login`, `sigil logout` and `sigil whoami`: who the CLI speaks as.

use clap::Args;
use std::io::Read;

use crate::context::{self, Ctx, StoredLogin};
use crate::error::CliError;
use crate::output::{self, now};
use crate::prompt;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sigil login --endpoint https://sigil.example.com                        # asks for the token
  sigil login --endpoint http://127.0.0.1:8080 --with-token < token.txt   # reads it from stdin
  SIGIL_TOKEN=\"$TOKEN\" sigil login --endpoint https://sigil.example.com --org acme

The token comes from --token or SIGIL_TOKEN, else from stdin with --with-token,
else from a prompt on a terminal; without a terminal and without those, login
fails at once rather than wait on stdin.

The endpoint, the token and the org (given, or the token's own) are stored in
<config dir>/sigil/login.json with mode 0600 and used when neither flags nor
SIGIL_ENDPOINT/SIGIL_TOKEN/SIGIL_ORG say otherwise. The stored token is only
ever sent to the stored endpoint.")]
pub struct LoginArgs {
    /// Read the token from standard input (until end of input).
    #[arg(long)]
    pub with_token: bool,
}

pub async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), CliError> {
    let mut endpoint = ctx.endpoint.clone();
    if !ctx.endpoint_explicit && ctx.interactive && !args.with_token {
        endpoint = prompt::input("Sigil endpoint", Some(&endpoint), false, |v| {
            if v.starts_with("http://") || v.starts_with("https://") {
                Ok(())
            } else {
                Err("expected a URL such as https://sigil.example.com".into())
            }
        })?
        .trim_end_matches('/')
        .to_string();
    }
    let token = if args.with_token {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::failed(format!("cannot read the token from stdin: {e}")))?;
        if s.trim().is_empty() {
            return Err(CliError::usage(
                "no token: --with-token read nothing from stdin",
            ));
        }
        context::parse_token(&s, "stdin")?
    } else {
        match ctx.token().filter(|_| ctx.token_explicit) {
            Some(t) => t.clone(),
            None if ctx.interactive => {
                context::parse_token(&prompt::password("Token")?, "the prompt")?
            }
            None => {
                return Err(CliError::usage(
                    "no token: pass --token, SIGIL_TOKEN or --with-token (reads stdin)",
                ))
            }
        }
    };
    if let Some(host) = insecure_host(&endpoint) {
        output::warn(&format!(
            "{endpoint} is plain http:// to {host}, not a loopback address: the token travels unencrypted; use https://"
        ));
    }
    let client = sigil_proto::client::Client::new(&endpoint, Some(token.clone()))?;
    let me = client.whoami().await?;
    let org = if ctx.org_explicit {
        ctx.org.clone()
    } else {
        me.org.clone()
    };
    let path = context::save_login(&StoredLogin {
        endpoint: endpoint.clone(),
        token,
        org: Some(org.clone()),
    })?;
    if ctx.json() {
        return output::print_json(&serde_json::json!({
            "endpoint": endpoint,
            "org": org,
            "name": me.name,
            "kind": me.kind,
            "token_id": me.token_id,
            "expires_at": me.expires_at.format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| CliError::failed(e.to_string()))?,
            "path": path,
        }));
    }
    println!(
        "Logged in to {endpoint} as {} ({}), org {org}.",
        me.name, me.kind
    );
    output::note(&format!(
        "Saved to {} (mode 0600). The token expires {}.",
        path.display(),
        output::when(me.expires_at, now())
    ));
    Ok(())
}

/// The host of a plain `http://` endpoint that is not a loopback address.
fn insecure_host(endpoint: &str) -> Option<String> {
    let rest = endpoint.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| host.to_string())
}

pub fn logout(ctx: &Ctx) -> Result<(), CliError> {
    let removed = context::remove_login()?;
    if ctx.json() {
        return output::print_json(&serde_json::json!({ "removed": removed }));
    }
    match removed {
        Some(p) => println!("Removed {}.", p.display()),
        None => println!("Not logged in: nothing to remove."),
    }
    Ok(())
}

pub async fn whoami(ctx: &Ctx) -> Result<(), CliError> {
    let client = ctx.client()?;
    let me = client.whoami().await?;
    if ctx.json() {
        return output::print_json(&me);
    }
    let now = now();
    let mut rows = vec![
        ("Name", format!("{} ({})", me.name, me.kind)),
        ("ID", me.id.to_string()),
        ("Org", me.org.clone()),
        ("App", me.app.clone().unwrap_or_else(|| "-".into())),
        ("Endpoint", ctx.endpoint.clone()),
        (
            "Token",
            // `exhausted` when this very call used the token's last use.
            if me.status == "active" {
                me.token_id.to_string()
            } else {
                format!("{} ({})", me.token_id, me.status)
            },
        ),
        ("Expires", output::when(me.expires_at, now)),
    ];
    if let Some(parent) = me.parent_id {
        let rights = sigil_proto::ClaimSet::parse(&me.claims).ok();
        rows.push((
            "Parent",
            ancestry(&client, &me.org, rights.as_ref(), parent)
                .await
                .join("\n"),
        ));
    }
    rows.push((
        "Claims",
        if me.claims.is_empty() {
            "(none)".into()
        } else {
            me.claims.join("\n")
        },
    ));
    output::print_kv(&rows);
    Ok(())
}

/// A derived token's ancestors, its parent first, one a line: `ID "label"
/// (status)` as far up as the caller may view tokens; past that, the id
/// known so far. Each step is a request, and each request counts as a use
/// of a token with `max_uses`: so a step is only taken when the effective
/// claims (`rights`) allow `tokens:get` on that id, never to collect a 403.
async fn ancestry(
    client: &sigil_proto::client::Client,
    org: &str,
    rights: Option<&sigil_proto::ClaimSet>,
    parent: uuid::Uuid,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut next = Some(parent);
    // The server caps derivation depth; the bound also stops a cycle.
    for _ in 0..=sigil_proto::rules::MAX_DERIVATION_DEPTH {
        let Some(id) = next else { break };
        if !rights.is_some_and(|r| r.allows("tokens", "get", &id.to_string())) {
            lines.push(id.to_string());
            break;
        }
        match client.get_token(org, id).await {
            Ok(t) => {
                let label = t
                    .label
                    .as_deref()
                    .map(|l| format!(" \"{l}\""))
                    .unwrap_or_default();
                lines.push(format!("{id}{label} ({})", t.status));
                next = t.parent_id;
            }
            Err(_) => {
                lines.push(id.to_string());
                break;
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_quiet_on_loopback() {
        for quiet in [
            "https://sigil.example.com",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:8080/",
            "http://[::1]:8080",
            "http://app.localhost",
        ] {
            assert_eq!(insecure_host(quiet), None, "{quiet}");
        }
        for (loud, host) in [
            ("http://sigil.example.com", "sigil.example.com"),
            ("http://10.0.0.5:8080/x", "10.0.0.5"),
            ("http://[2001:db8::1]:80", "2001:db8::1"),
            ("http://localhost.evil.com", "localhost.evil.com"),
        ] {
            assert_eq!(insecure_host(loud).as_deref(), Some(host), "{loud}");
        }
    }
}
