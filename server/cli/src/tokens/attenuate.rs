//! `sigil tokens attenuate`: a narrower child of the token the CLI calls
//! with. The parent is the bearer token itself (`--token`, `SIGIL_TOKEN` or
//! the login), so any holder can derive without a grant; the server checks
//! that the child only narrows. What can be checked here (claim syntax, the
//! expiry's form, CIDRs, the number of uses) is, with the server's words,
//! before anything is sent.

use sigil_proto::api::AttenuateToken;
use sigil_proto::duration::Expiry;

use super::args::{parse_binding, parse_expiry, AttenuateArgs};
use super::{build_claims, print_issued};
use crate::context::Ctx;
use crate::error::CliError;

/// The request `attenuate` sends for these flags; absent fields are the parent's.
pub(super) fn request(a: AttenuateArgs) -> Result<AttenuateToken, CliError> {
    let claims = build_claims(&a.claims, &[], &[])?;
    let (allowed_cidrs, max_uses) = parse_binding(&a.binding)?;
    let mut req = AttenuateToken {
        claims,
        label: a.label.filter(|l| !l.is_empty()),
        app: a.app,
        allowed_cidrs,
        max_uses,
        ..Default::default()
    };
    match a.expiry.as_deref().map(parse_expiry).transpose()? {
        Some(Expiry::In(_)) => req.expiry = a.expiry.map(|e| e.trim().to_string()),
        Some(Expiry::At(_)) => req.expires_at = a.expiry.map(|e| e.trim().to_string()),
        None => {}
    }
    Ok(req)
}

pub(super) async fn attenuate(ctx: &Ctx, a: AttenuateArgs) -> Result<(), CliError> {
    let req = request(a)?;
    let client = ctx.client()?;
    let issued = client.attenuate_token(&req).await?;
    print_issued(ctx, &issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::args::BindingArgs;

    fn args() -> AttenuateArgs {
        AttenuateArgs {
            claims: vec![],
            expiry: None,
            label: None,
            app: None,
            binding: BindingArgs::default(),
        }
    }

    #[test]
    fn the_request_inherits_what_is_left_out() {
        assert_eq!(request(args()).unwrap(), AttenuateToken::default());
        let req = request(AttenuateArgs {
            claims: vec!["machines:get:*".into()],
            expiry: Some(" 1h ".into()),
            label: Some("job".into()),
            binding: BindingArgs {
                cidrs: vec!["10.1.0.0/16".into()],
                max_uses: Some("3".into()),
            },
            ..args()
        })
        .unwrap();
        assert_eq!(req.claims.unwrap(), ["machines:get:*"]);
        assert_eq!(req.expiry.as_deref(), Some("1h"));
        assert_eq!(req.expires_at, None);
        assert_eq!(req.allowed_cidrs.unwrap(), ["10.1.0.0/16"]);
        assert_eq!(req.max_uses, Some(3));
        let at = request(AttenuateArgs {
            expiry: Some("2030-01-31T00:00:00Z".into()),
            ..args()
        })
        .unwrap();
        assert_eq!(at.expires_at.as_deref(), Some("2030-01-31T00:00:00Z"));
    }

    #[test]
    fn bad_flags_never_leave_the_cli() {
        let bad = |a: AttenuateArgs| request(a).unwrap_err();
        let e = bad(AttenuateArgs {
            claims: vec!["machines:get".into()],
            ..args()
        });
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("scope:action:specific"), "{e}");
        let e = bad(AttenuateArgs {
            expiry: Some("-1h".into()),
            ..args()
        });
        assert!(e.to_string().contains("must be positive"), "{e}");
        let e = bad(AttenuateArgs {
            binding: BindingArgs {
                cidrs: vec!["nowhere".into()],
                max_uses: None,
            },
            ..args()
        });
        assert!(e.to_string().contains("allowed_cidrs"), "{e}");
        let e = bad(AttenuateArgs {
            binding: BindingArgs {
                cidrs: vec![],
                max_uses: Some("0".into()),
            },
            ..args()
        });
        assert!(e.to_string().contains("max_uses must be from 1"), "{e}");
    }
}
