//! JSON error answers: `{"error": {"code", "message"}}` for the request as a whole and
//! `{"errors": [{"field", "code", "message"}]}` for the fields of a submission.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use yijian_domain::{FieldError, Lang, messages};

/// The language of an answer: the `lang` cookie a person chose on the public pages, else the
/// browser's Accept-Language.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match crate::pages::cookie(headers, "lang") {
        Some("en") => return Lang::En,
        Some("zh") => return Lang::Zh,
        _ => {}
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, lang: Lang, zh: &str, en: &str) -> Self {
        let message = match lang {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
        };
        ApiError { status, code, message, extra: None }
    }

    pub fn with(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }

    pub fn consultation_not_found(lang: Lang) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "consultation_not_found",
            lang,
            "没有找到这项征求意见。",
            "No such consultation.",
        )
    }

    pub fn internal(lang: Lang) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            lang,
            "服务器出现问题，您的意见没有保存，请稍后再试。",
            "Something went wrong on the server; nothing was saved. Please try again later.",
        )
    }

    pub fn integrity(lang: Lang) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "integrity_check_failed",
            lang,
            "该征求意见稿的文本未通过完整性校验，暂不提供，管理员已收到记录。",
            "The text of this draft failed its integrity check and is withheld; the incident has been logged.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(Value::Object(extra)), Some(obj)) = (self.extra, error.as_object_mut()) {
            obj.extend(extra);
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

/// 422 with every field error.
pub fn field_errors(errors: &[FieldError], lang: Lang) -> Response {
    let list: Vec<Value> = errors
        .iter()
        .map(|e| json!({ "field": e.field, "code": e.code, "message": messages::field_message(e, lang) }))
        .collect();
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({ "errors": list }))).into_response()
}
