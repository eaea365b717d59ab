//! Speech over HTTP: what a board says for a call and how it says it, the organisation's
//! announcement phrases, a preview for administrators, and the transcripts of a thread.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{Admin, Board, Operator, Supervisor};
use crate::error::{bad, ApiError};
use crate::{ApiResult, AppState};
use hub_actors::Error;
use hub_channels::speech::{default_template, Speech};
use hub_speech::{audio, phrase::Template, say::Lang, SpeechError, TemplateError};

fn speech(state: &AppState) -> Result<&Speech, ApiError> {
    state
        .speech
        .as_ref()
        .ok_or_else(|| SpeechError::EngineUnavailable("speech is not started on this node".into()).into())
}

fn parse_lang(s: &str) -> Result<Lang, ApiError> {
    Lang::parse(s)
        .filter(|l| l.code() == s)
        .ok_or_else(|| Error::Invalid("lang must be ru or en".into()).into())
}

#[derive(Serialize)]
struct VoiceView {
    #[serde(flatten)]
    voice: hub_actors::store::speech::BoardVoice,
    /// Whether this hub can speak at all (an engine is installed).
    available: bool,
}

async fn board_voice(state: web::Data<AppState>, board: Board) -> ApiResult<HttpResponse> {
    let voice = state.hub.store().board_voice(board.device_id).await?;
    let available = state.speech.as_ref().is_some_and(Speech::can_speak);
    Ok(HttpResponse::Ok().json(VoiceView { voice, available }))
}

/// The spoken call of one ticket, as WAV. Only a call of the board's own branch.
async fn announcement(state: web::Data<AppState>, board: Board, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let call = state.hub.store().call_to_say(board.device_id, *path).await?;
    let wav = speech(&state)?.announcement(call).await?;
    Ok(HttpResponse::Ok()
        .content_type("audio/wav")
        // The same ticket and window always sound the same; a recall plays it again from cache.
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(wav))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoiceBody {
    voice: Option<bool>,
    chime: Option<bool>,
    lang: Option<String>,
}

async fn set_board_voice(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: web::Json<VoiceBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    if let Some(l) = &b.lang {
        parse_lang(l)?;
    }
    let voice = state
        .hub
        .store()
        .set_board_voice(admin.org_id, *path, b.voice, b.chime, b.lang.as_deref())
        .await?;
    // The board's screens take it at once (they ask for their voice again).
    state.hub.device_changed(admin.org_id, *path).await;
    tracing::info!(board = *path, voice = voice.voice, chime = voice.chime, lang = %voice.lang, "board voice set");
    Ok(HttpResponse::Ok().json(voice))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    /// The phrase, e.g. "Талон {ticket}, пройдите к окну {window}"; null: the built-in one.
    template: Option<String>,
}

#[derive(Serialize)]
struct TemplateView {
    lang: &'static str,
    template: String,
    custom: bool,
}

async fn templates(state: web::Data<AppState>, admin: Admin) -> ApiResult<HttpResponse> {
    let mut out = Vec::new();
    for lang in [Lang::Ru, Lang::En] {
        let custom = state.hub.store().speech_template(admin.org_id, lang.code()).await?;
        out.push(TemplateView {
            lang: lang.code(),
            custom: custom.is_some(),
            template: custom.unwrap_or_else(|| default_template(lang).to_string()),
        });
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn set_template(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<TemplateBody>,
) -> ApiResult<HttpResponse> {
    let lang = parse_lang(&path)?;
    let template = body.into_inner().template;
    if let Some(t) = &template {
        hub_actors::model::field::text("template", t, hub_speech::phrase::MAX_TEXT, true).map_err(Error::from)?;
        // Checked with sample values, so a phrase that cannot be said is refused now rather
        // than silently on the first call; the page words why.
        let parsed = Template::parse(t).map_err(|e| match e {
            SpeechError::BadTemplate(TemplateError::Unknown(name)) => {
                bad("template", "phrase_placeholder", json!({ "name": name }))
            }
            _ => bad("template", "phrase_form", json!({})),
        })?;
        // A known placeholder a call has no value for ({minutes}) cannot be said either.
        parsed
            .render(&HashMap::from([("ticket", "A001"), ("window", "1")]), lang)
            .map_err(|_| bad("template", "phrase_form", json!({})))?;
    }
    let store = state.hub.store();
    let before = store.speech_template(admin.org_id, lang.code()).await?;
    store
        .set_speech_template(admin.org_id, lang.code(), template.as_deref())
        .await?;
    crate::audit::record(
        &state,
        &req,
        hub_actors::store::audit::Change {
            action: hub_actors::model::audit::action_name("speech_template", "set"),
            object_kind: "speech_template",
            object_id: None,
            before: Some(json!({ "lang": lang.code(), "template": before })),
            after: Some(json!({ "lang": lang.code(), "template": template })),
        },
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SayBody {
    text: String,
    lang: String,
    /// wav (default), pcmu or pcma (raw 8 kHz G.711).
    #[serde(default)]
    format: Option<String>,
}

/// Says a text: a preview of a phrase before it goes on the boards.
async fn say(state: web::Data<AppState>, _s: Supervisor, body: web::Json<SayBody>) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let lang = parse_lang(&b.lang)?;
    let pcm = speech(&state)?.say(&b.text, lang).await?;
    let (mime, bytes) = match b.format.as_deref().unwrap_or("wav") {
        "wav" => ("audio/wav", audio::wav(&pcm)),
        "pcmu" => ("audio/PCMU", audio::g711(&pcm, audio::G711::Pcmu)),
        "pcma" => ("audio/PCMA", audio::g711(&pcm, audio::G711::Pcma)),
        _ => return Err(Error::Invalid("format must be wav, pcmu or pcma".into()).into()),
    };
    Ok(HttpResponse::Ok().content_type(mime).body(bytes))
}

async fn transcriptions(state: web::Data<AppState>, op: Operator, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let store = state.hub.store();
    let conversation = store.conversation(op.org_id, *path).await?;
    Ok(HttpResponse::Ok().json(store.transcriptions_of(op.org_id, conversation.row.id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/board/voice", web::get().to(board_voice))
        .route("/api/board/announcement/{ticket_id}", web::get().to(announcement))
        .route("/api/admin/boards/{id}/voice", web::patch().to(set_board_voice))
        .route("/api/admin/speech/templates", web::get().to(templates))
        .route("/api/admin/speech/templates/{lang}", web::put().to(set_template))
        .route("/api/speech/say", web::post().to(say))
        .route("/api/conversations/{id}/transcriptions", web::get().to(transcriptions));
}
