//! The HTTP server, built so that a WebSocket leaves the HTTP dispatcher at its upgrade.
//!
//! actix-web's `HttpServer` offers no way to take a connection back from its dispatcher, which
//! keeps a 32 KiB read buffer and a write buffer per connection for as long as it lives: most of
//! what a socket cost. So the server is assembled here from the same parts (`actix-server`,
//! actix-http's `HttpService` on the same port), with an upgrade service: every request that asks
//! to upgrade goes through the app like any other, and when a handler accepted it (a 101 with a
//! [`Handoff`]), the answer is written and the TCP stream goes to its [`super::Conn`].

use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use actix_codec::Framed;
use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::{h1, ConnectionType, HttpService, KeepAlive, Request, Response, StatusCode};
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory};
use actix_web::dev::{AppConfig, ServiceRequest, ServiceResponse};
use actix_web::App;
use futures_util::SinkExt;
use tokio::net::TcpStream;

use super::Handoff;

/// The hub's HTTP server on `listeners`, with `workers` threads, the app made by `app`.
pub fn serve<F, T, B>(
    listeners: Vec<TcpListener>,
    workers: usize,
    grace_secs: u64,
    app: F,
) -> std::io::Result<actix_server::Server>
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let mut server = actix_server::Server::build()
        .workers(workers)
        .shutdown_timeout(grace_secs)
        .disable_signals();
    // Rung at a graceful stop: idle keep-alive connections close at once instead of waiting out
    // their keep-alive.
    let stopping = server.graceful_shutdown_signal();
    for lst in listeners {
        let addr = lst.local_addr()?;
        let app = app.clone();
        let stopping = stopping.clone();
        server = server.listen(format!("hub-{addr}"), lst, move || {
            let config = move |_: ()| AppConfig::__priv_test_new(false, addr.to_string(), addr);
            let for_upgrades = app.clone();
            let upgrade = fn_factory(move || {
                let app = for_upgrades();
                async move {
                    let svc = Rc::new(map_config(app.into_factory(), config).new_service(()).await?);
                    Ok::<_, ()>(fn_service(move |(req, framed)| hand_over(svc.clone(), req, framed)))
                }
            });
            let stopping = stopping.clone();
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(addr)
                .upgrade(upgrade)
                .finish(map_config(app().into_factory(), config))
                .tcp()
        })?;
    }
    Ok(server.run())
}

/// Copies the request's target and header values out of the dispatcher's read buffer (8 KiB),
/// which they point into: the app keeps finished requests in pools for reuse, and a pooled
/// request would keep its socket's read buffer alive long after the socket left HTTP.
fn detach(req: &mut Request) {
    let head = req.head_mut();
    if let Ok(uri) = head.uri.to_string().parse() {
        head.uri = uri;
    }
    let mut headers = actix_http::header::HeaderMap::with_capacity(head.headers.len());
    for (name, value) in head.headers.iter() {
        if let Ok(v) = actix_http::header::HeaderValue::from_bytes(value.as_bytes()) {
            headers.append(name.clone(), v);
        }
    }
    head.headers = headers;
}

/// An upgrade request, answered by the app: a WebSocket handed over, or any other answer
/// written as it is, after which the connection ends.
async fn hand_over<S, B>(
    app: Rc<S>,
    mut req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    detach(&mut req);
    let res: Response<BoxBody> = match app.call(req).await {
        Ok(res) => Response::from(res).map_into_boxed_body(),
        Err(e) => Response::from(e),
    };
    let (mut head, body) = res.into_parts();
    let handoff = head.extensions_mut().remove::<Handoff>();
    match handoff {
        Some(Handoff { conn, inbox, max_frame }) if head.status() == StatusCode::SWITCHING_PROTOCOLS => {
            framed.send(h1::Message::Item((head, BodySize::None))).await?;
            let parts = framed.into_parts();
            // What the client sent behind its request, if anything, in a buffer of its size: the
            // dispatcher's (32 KiB) goes with the rest of it.
            let leftover = match parts.read_buf.is_empty() {
                true => bytes::BytesMut::new(),
                false => bytes::BytesMut::from(&parts.read_buf[..]),
            };
            drop(parts.read_buf);
            actix_rt::spawn(conn.serve(parts.io, leftover, inbox, max_frame));
        }
        _ => {
            let body = actix_web::body::to_bytes(body).await.unwrap_or_default();
            head.head_mut().set_connection_type(ConnectionType::Close);
            framed
                .send(h1::Message::Item((head, BodySize::Sized(body.len() as u64))))
                .await?;
            if !body.is_empty() {
                framed.send(h1::Message::Chunk(Some(body))).await?;
            }
            framed.send(h1::Message::Chunk(None)).await?;
        }
    }
    Ok(())
}
