//! Every route's answers and errors, one file per route, laid out as the URL
//! is: to find the tests of a route, follow its path.
//!
//! | route | file |
//! |---|---|
//! | `GET /healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/.well-known/jwks.json`, `/v1/whoami`; unknown routes and methods | `operations.rs` |
//! | `POST,GET /v1/orgs`, `GET /v1/orgs/{org}`; one org's objects out of another's reach | `orgs.rs` |
//! | `POST,GET /v1/orgs/{org}/users`, `GET,PATCH,DELETE …/users/{user}` | `users.rs` |
//! | `POST /v1/orgs/{org}/bots` | `bots/create.rs` |
//! | `GET /v1/orgs/{org}/bots` | `bots/list.rs` |
//! | `GET /v1/orgs/{org}/bots/{bot}` | `bots/view.rs` |
//! | `PATCH /v1/orgs/{org}/bots/{bot}` | `bots/update.rs` |
//! | `DELETE /v1/orgs/{org}/bots/{bot}` | `bots/delete.rs` |
//! | `PUT,DELETE /v1/orgs/{org}/bots/{bot}/identities/{service}` | `bots/identities.rs` |
//! | `POST,GET /v1/orgs/{org}/apps`, `GET,DELETE …/apps/{app}`; app-scoped tokens | `apps.rs` |
//! | `POST /v1/orgs/{org}/tokens` | `tokens/issue.rs` |
//! | `POST /v1/orgs/{org}/tokens` with `Idempotency-Key` | `tokens/idempotency.rs` |
//! | `GET /v1/orgs/{org}/tokens` | `tokens/list.rs` |
//! | `GET /v1/orgs/{org}/tokens/{id}` | `tokens/view.rs` |
//! | `PATCH /v1/orgs/{org}/tokens/{id}` | `tokens/update.rs` |
//! | `DELETE /v1/orgs/{org}/tokens/{id}` | `tokens/revoke.rs` |
//! | `POST /v1/tokens/attenuate`; descendants revoked and capped with their parent | `tokens/attenuate.rs` |
//! | `POST /v1/leaks` | `tokens/leaks.rs` |
//! | token `status`, list filters `status`, `expiring_within`, `parent` | `tokens/status.rs` |
//! | `POST /v1/revoke` (RFC 7009), `POST /v1/introspect` (RFC 7662) | `oauth.rs` |
//! | `GET /v1/revocations?since=` | `revocations.rs` |
//! | `GET /v1/orgs/{org}/audit` | `audit.rs` |
//! | `POST /v1/keys/rotate` | `keys.rs` |
//! | `…/webhooks`, `…/webhooks/{id}`, `…/deliveries`, `…/test`, `PATCH /v1/orgs/{org}`; events, expiry warnings, their metrics | `webhooks.rs` |
//!
//! Each test checks one behaviour, so one failing assertion does not hide the
//! others; shared setup lives in the harness (`c.bot`, `c.issue`, `c.app`, …).
//! Whole JSON answers are compared with snapshots in `tests/it/snapshots/`
//! through [`snapshot!`](crate::snapshot).

mod apps;
mod audit;
mod bots;
mod keys;
mod oauth;
mod operations;
mod orgs;
mod revocations;
mod tokens;
mod users;
mod webhooks;
