use actix_web::{web, HttpResponse};

use crate::auth::Board;
use crate::{ApiResult, AppState};
use hub_actors::{actors::display::Connect, ask};

/// The board's state now. The page uses the WebSocket; this serves scripts and checks.
async fn snapshot(state: web::Data<AppState>, board: Board) -> ApiResult<HttpResponse> {
    let snapshot = ask(&state.hub.display(board.device_id), Connect(None)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(snapshot.to_string()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/board", web::get().to(snapshot));
}
