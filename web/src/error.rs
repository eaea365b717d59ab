//! Maps every error to HTTP once: a status, and a JSON body `{code, message}` with a stable code.
//! Internal causes (store, bus, actors) are logged here and reported to clients only by code.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use hub_actors::Error as CoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    BadJson(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("this page or endpoint does not exist")]
    NoRoute,
    #[error(transparent)]
    Telegram(#[from] hub_channels::telegram::TelegramError),
    #[error(transparent)]
    Speech(#[from] hub_speech::SpeechError),
    #[error(transparent)]
    Dial(#[from] hub_channels::sip::DialError),
    #[error(transparent)]
    Tracker(#[from] hub_channels::trackers::TrackerError),
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    /// For a refusal a page words itself: the reason's name and its values.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<serde_json::Value>,
    /// For a form: the field that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Core(e) => e.code(),
            Self::BadJson(_) => "bad_json",
            Self::TooLarge(_) => "payload_too_large",
            Self::NoRoute => "not_found",
            Self::Telegram(e) => {
                use hub_channels::telegram::TelegramError as T;
                match e {
                    T::NoBot | T::NotWebhook => "not_found",
                    T::WrongSecret => "unauthenticated",
                    T::BadUpdate(_) => "bad_json",
                    T::Core(c) => c.code(),
                    T::ApiUrl(_) => "internal",
                }
            }
            Self::Speech(e) => {
                use hub_speech::SpeechError as S;
                match e {
                    S::BadText(_) | S::BadTemplate(_) | S::UnsupportedAudio(_) | S::EmptyAudio | S::AudioTooLong(_) => {
                        "invalid"
                    }
                    S::EngineUnavailable(_) | S::RecognitionUnavailable(_) => "speech_unavailable",
                    _ => "internal",
                }
            }
            Self::Tracker(e) => {
                use hub_channels::trackers::TrackerError as T;
                match e {
                    T::UnknownDevice(_) => "unknown_device",
                    T::Malformed(_) => "invalid",
                    T::Core(c) => c.code(),
                }
            }
            Self::Dial(e) => {
                use hub_channels::sip::DialError as D;
                match e {
                    D::Number(_) => "invalid",
                    D::NoTrunk => "no_trunk",
                    D::PhoneNotRegistered => "phone_not_registered",
                    D::Busy => "conflict",
                    D::Off | D::Full => "unavailable",
                    D::Failed(_) => "internal",
                }
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self.code() {
            "not_found" => StatusCode::NOT_FOUND,
            "invalid" | "bad_json" | "wrong_vip_code" | "wrong_code" | "unknown_device" => StatusCode::BAD_REQUEST,
            "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "conflict"
            | "ticket_state"
            | "presence"
            | "request_move"
            | "conversation_closed"
            | "no_trunk"
            | "phone_not_registered" => StatusCode::CONFLICT,
            "branch_closed" | "forbidden" | "not_assigned" => StatusCode::FORBIDDEN,
            "bad_credentials" | "unauthenticated" => StatusCode::UNAUTHORIZED,
            "too_many_attempts" | "too_many_requests" => StatusCode::TOO_MANY_REQUESTS,
            "storage_full" => StatusCode::INSUFFICIENT_STORAGE,
            "store_unavailable" | "bus_unavailable" | "unavailable" | "speech_unavailable" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // An absent speech engine is a fact to show (what to install), not an internal fault.
        let message = if status.is_server_error() && self.code() != "speech_unavailable" {
            tracing::error!(code = self.code(), error = %self, "request failed");
            match status {
                StatusCode::SERVICE_UNAVAILABLE => "the service is temporarily unavailable; try again".to_string(),
                _ => "internal error; it has been logged".to_string(),
            }
        } else {
            self.to_string()
        };
        let (reason, args) = match self {
            Self::Core(e) => e.reason().map_or((None, None), |(r, a)| (Some(r), Some(a))),
            _ => (None, None),
        };
        HttpResponse::build(status).json(Body {
            code: self.code(),
            message,
            reason,
            args: args.filter(|a| !a.is_null()),
            field: match self {
                Self::Core(e) => e.field(),
                _ => None,
            },
        })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A form field that is wrong: the page says why beside the field, in its own language, from
/// the reason and its values (the English `message` is for logs and API clients).
pub fn bad(field: &'static str, reason: &'static str, args: serde_json::Value) -> CoreError {
    CoreError::Field(hub_actors::model::field::FieldError::new(field, reason, args))
}
