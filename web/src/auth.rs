//! Identity and permission as extractors: a handler states what it needs in its signature
//! (`Operator`, `Supervisor`, `Kiosk`, `Board`, …) and never runs without it.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use hub_actors::{
    model::role::{DeviceKind, Role},
    store::{Principal, PrincipalKind},
    Error,
};

use crate::{error::ApiError, AppState};

pub const SESSION_COOKIE: &str = "hub_session";

/// The session token of a request: `Authorization: Bearer`, the session cookie, or for
/// WebSocket upgrades (browsers cannot set headers there) a `token` query parameter.
pub fn token_of(req: &HttpRequest) -> Option<String> {
    if let Some(h) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        if let Some(t) = h.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            return Some(t.trim().to_string());
        }
    }
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        return Some(c.value().to_string());
    }
    if req.path().starts_with("/ws/") {
        return web::Query::<TokenQuery>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.0.token);
    }
    None
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

async fn principal(req: HttpRequest) -> Result<Principal, ApiError> {
    if let Some(p) = req.extensions().get::<Principal>() {
        return Ok(p.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(Error::Internal("no app state".into()))?;
    let token = token_of(&req).ok_or(Error::Unauthenticated)?;
    let p = match state.sessions.get(&token) {
        Some(p) => p,
        None => {
            let p = state.hub.store().principal(&token).await?;
            state.sessions.put(&token, p.clone());
            p
        }
    };
    req.extensions_mut().insert(p.clone());
    Ok(p)
}

/// Anyone signed in: a user or a device.
pub struct Signed(pub Principal);

impl FromRequest for Signed {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal(req).await.map(Signed) })
    }
}

/// A signed-in user with at least role `R`.
pub struct User<const R: u8> {
    pub org_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub name: String,
}

pub const OPERATOR: u8 = 0;
pub const SUPERVISOR: u8 = 1;
pub const ADMIN: u8 = 2;

pub type Operator = User<OPERATOR>;
pub type Supervisor = User<SUPERVISOR>;
pub type Admin = User<ADMIN>;

fn required(r: u8) -> Role {
    match r {
        OPERATOR => Role::Operator,
        SUPERVISOR => Role::Supervisor,
        _ => Role::Admin,
    }
}

impl<const R: u8> FromRequest for User<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let p = principal(req.clone()).await?;
            match p.kind {
                PrincipalKind::User { user_id, role } if role.at_least(required(R)) => {
                    // Who made a change, for the audit trail.
                    req.extensions_mut()
                        .insert(crate::audit::Who(hub_actors::store::audit::Actor {
                            org_id: p.org_id,
                            user_id,
                            name: p.name.clone(),
                        }));
                    Ok(User {
                        org_id: p.org_id,
                        user_id,
                        role,
                        name: p.name,
                    })
                }
                _ => Err(Error::Forbidden.into()),
            }
        })
    }
}

/// A signed-in device of kind `K` (0 kiosk, 1 board), bound to its branch.
pub struct Device<const K: u8> {
    pub org_id: i64,
    pub device_id: i64,
    pub branch_id: i64,
}

pub type Kiosk = Device<0>;
pub type Board = Device<1>;

impl<const K: u8> FromRequest for Device<K> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let p = principal(req).await?;
            let want = if K == 0 { DeviceKind::Kiosk } else { DeviceKind::Board };
            match p.kind {
                PrincipalKind::Device {
                    device_id,
                    device,
                    branch_id,
                } if device == want => Ok(Device {
                    org_id: p.org_id,
                    device_id,
                    branch_id,
                }),
                _ => Err(Error::Forbidden.into()),
            }
        })
    }
}
