//! Bots and users: one set of handlers over [`crate::ops::principals`],
//! generic over the [`Route`] that fixes the kind and the wire types (a bot
//! has a username, a description, identities and a token count; a user an
//! email). Identities are the bots' own.

use super::{page, page_params, AppJson, AppPath, AppQuery, Auth, Created};
use crate::error::ApiResult;
use crate::ops::principals::{self, NewPrincipal, PrincipalChange, PrincipalView};
use crate::ops::Kind;
use crate::ops::{OrgRow, PrincipalRow};
use crate::state::AppState;
use crate::wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sigil_proto::api::{
    Bot, CreateBot, CreateUser, ListQuery, Page, PutIdentity, UpdateBot, UpdateUser, User,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .nest("/v1/orgs/:org/bots", routes::<Bots>())
        .nest("/v1/orgs/:org/users", routes::<Users>())
        .route(
            "/v1/orgs/:org/bots/:bot/identities/:service",
            put(put_identity).delete(delete_identity),
        )
}

/// What tells bots' routes from users': the kind, and the wire types.
trait Route: Send + Sync + 'static {
    const KIND: Kind;
    /// The route segment naming one (`/:bot`, `/:user`), checked by [`super::AppPath`].
    const SEGMENT: &'static str;
    type Create: DeserializeOwned + Send + 'static;
    type Update: DeserializeOwned + Send + 'static;
    type Out: Serialize + Send + 'static;
    fn created(req: Self::Create) -> NewPrincipal;
    fn change(req: Self::Update) -> PrincipalChange;
    fn out(org: &OrgRow, row: PrincipalRow, token_count: i64) -> Self::Out;
    fn view(v: PrincipalView) -> Self::Out {
        Self::out(&v.org, v.row, v.token_count)
    }
}

struct Bots;
struct Users;

impl Route for Bots {
    const KIND: Kind = Kind::Bot;
    const SEGMENT: &'static str = "/:bot";
    type Create = CreateBot;
    type Update = UpdateBot;
    type Out = Bot;
    fn created(req: CreateBot) -> NewPrincipal {
        NewPrincipal {
            kind: Kind::Bot,
            name: req.username,
            description: req.description,
            permissions: req.permissions,
            identities: req.identities,
        }
    }
    fn change(req: UpdateBot) -> PrincipalChange {
        PrincipalChange {
            name: req.username,
            description: req.description,
            permissions: req.permissions,
            identities: req.identities,
        }
    }
    fn out(org: &OrgRow, row: PrincipalRow, token_count: i64) -> Bot {
        wire::bot(org, row, token_count)
    }
}

impl Route for Users {
    const KIND: Kind = Kind::User;
    const SEGMENT: &'static str = "/:user";
    type Create = CreateUser;
    type Update = UpdateUser;
    type Out = User;
    fn created(req: CreateUser) -> NewPrincipal {
        NewPrincipal {
            kind: Kind::User,
            name: req.email,
            description: None,
            permissions: req.permissions,
            identities: Default::default(),
        }
    }
    fn change(req: UpdateUser) -> PrincipalChange {
        PrincipalChange {
            name: req.email,
            permissions: req.permissions,
            ..Default::default()
        }
    }
    fn out(org: &OrgRow, row: PrincipalRow, _token_count: i64) -> User {
        wire::user(org, row)
    }
}

/// `/` (list, create) and `/:bot` or `/:user` (view, update, delete) of one kind.
fn routes<R: Route>() -> Router<AppState> {
    Router::new()
        .route("/", get(list::<R>).post(create::<R>))
        .route(
            R::SEGMENT,
            get(view::<R>).patch(update::<R>).delete(delete::<R>),
        )
}

async fn create<R: Route>(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppJson(req): AppJson<R::Create>,
) -> ApiResult<Created<R::Out>> {
    let v = principals::create(&state, &caller, &org, R::created(req)).await?;
    Ok(Created(R::view(v)))
}

async fn list<R: Route>(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<Page<R::Out>>> {
    let req = page_params(q.cursor.as_deref(), q.limit)?;
    let (org, rows) = principals::list(&state, &caller, &org, R::KIND, req).await?;
    Ok(Json(page(rows, |(r, n)| R::out(&org, r, n))))
}

async fn view<R: Route>(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, which)): AppPath<(String, String)>,
) -> ApiResult<Json<R::Out>> {
    let v = principals::view(&state, &caller, &org, R::KIND, &which).await?;
    Ok(Json(R::view(v)))
}

async fn update<R: Route>(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, which)): AppPath<(String, String)>,
    AppJson(req): AppJson<R::Update>,
) -> ApiResult<Json<R::Out>> {
    let change = R::change(req);
    let v = principals::update(&state, &caller, &org, R::KIND, &which, change).await?;
    Ok(Json(R::view(v)))
}

/// Deletes the principal and revokes all of its tokens, in one transaction.
async fn delete<R: Route>(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, which)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    principals::delete(&state, &caller, &org, R::KIND, &which).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_identity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, which, service)): AppPath<(String, String, String)>,
    AppJson(req): AppJson<PutIdentity>,
) -> ApiResult<Json<Bot>> {
    let id = Some(req.identity);
    let v = principals::set_identity(&state, &caller, &org, &which, &service, id).await?;
    Ok(Json(Bots::view(v)))
}

async fn delete_identity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, which, service)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Bot>> {
    let v = principals::set_identity(&state, &caller, &org, &which, &service, None).await?;
    Ok(Json(Bots::view(v)))
}
