//! Destroying a `sigil_token` with `grace_period`: its expiry is shortened
//! to now + grace instead of revoking it (see [`super::grace`] for the warning).

use super::*;

impl Token {
    /// Destroy with `grace_period`: shorten the expiry to now + grace (never
    /// extend it) instead of revoking.
    pub(super) async fn shorten(
        diags: &mut Diagnostics,
        (api, org, id): (&Api, &str, Uuid),
        prior: &TokenState,
    ) -> Option<()> {
        let grace = check_duration(diags, &prior.grace_period, "grace_period")?;
        let what = Self::what(&id);
        let blind = || Self::blind(api, org, prior);
        let t = match api.client.get_token(org, id).await {
            Ok(t) => t,
            Err(e) => {
                return deleted(diags, api, org, ("read", &what), blind(), Err::<(), _>(e)).await
            }
        };
        let until = now() + time::Duration::seconds(grace);
        if t.status != "active" || until >= t.expires_at {
            return Some(());
        }
        let req = UpdateToken {
            expires_at: Some(rfc3339(until)),
            ..Default::default()
        };
        match api.client.update_token(org, id, &req).await {
            Ok(t) => {
                let shortened = grace::Shortened {
                    id,
                    label: t.label.clone(),
                    bot: Some(t.owner_id),
                    expires_at: t.expires_at,
                    grace: prior
                        .grace_period
                        .as_ref_option()
                        .cloned()
                        .unwrap_or_default(),
                };
                if let Some(s) = api.grace.shortened(shortened) {
                    let (summary, detail) = grace::warning(&s);
                    diags.root_warning(summary, detail);
                }
                Some(())
            }
            Err(e) => {
                deleted(
                    diags,
                    api,
                    org,
                    ("shorten", &what),
                    blind(),
                    Err::<(), _>(e),
                )
                .await
            }
        }
    }
}
