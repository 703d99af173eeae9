//! One error for every handler. [`WebError`] answers `{"error": {"code", "message", ...}}` under
//! `/api/` and an HTML message page elsewhere, in the language it was made in; [`shape_errors`]
//! picks the form by the request's path. Field errors of a submission are answered apart, as
//! `{"errors": [{"field", "code", "message"}]}` ([`field_errors`]).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use yijian_domain::{FieldError, Lang, messages};

use crate::texts::texts;

macro_rules! error_codes {
    ($($variant:ident => $code:literal,)*) => {
        /// The `code` of a JSON error: what a program reads, never translated.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, for tests.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The snake_case code the API writes.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    AttachmentNotFound => "attachment_not_found",
    Busy => "busy",
    CampaignNotFound => "campaign_not_found",
    AlreadyClosed => "already_closed",
    AlreadyPublished => "already_published",
    CaptchaUnavailable => "captcha_unavailable",
    Archived => "archived",
    Closed => "closed",
    CommentNotFound => "comment_not_found",
    ConsultationClosed => "consultation_closed",
    ConsultationNotFound => "consultation_not_found",
    ConsultationNotOpen => "consultation_not_open",
    Csrf => "csrf",
    DraftNotFound => "draft_not_found",
    ExportInProgress => "export_in_progress",
    ExportsBusy => "exports_busy",
    Forbidden => "forbidden",
    IntegrityCheckFailed => "integrity_check_failed",
    Internal => "internal",
    InternalError => "internal_error",
    Invalid => "invalid",
    MailNotFound => "mail_not_found",
    MailNotUnrouted => "mail_not_unrouted",
    MalformedJson => "malformed_json",
    NotFound => "not_found",
    NotLater => "not_later",
    PayloadTooLarge => "payload_too_large",
    RateLimited => "rate_limited",
    ReceiptNotFound => "receipt_not_found",
    ReportNotPublished => "report_not_published",
    SearchUnavailable => "search_unavailable",
    StillOpen => "still_open",
    ThemeNotFound => "theme_not_found",
    TotpRequired => "totp_required",
    Unauthenticated => "unauthenticated",
    UnsupportedMediaType => "unsupported_media_type",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request that failed, with what to tell the caller.
#[derive(Debug, Clone)]
pub struct WebError {
    pub status: StatusCode,
    pub code: ErrorCode,
    /// In `lang`; the body of the page, the `message` of the JSON.
    pub message: String,
    lang: Lang,
    /// More members of the JSON error object.
    extra: Option<Box<Value>>,
    /// Heading and body of the page, where they are not the status's heading and the message.
    page: Option<Box<(&'static str, &'static str)>>,
    retry_after: Option<u64>,
}

impl WebError {
    /// With a message already in `lang`, usually from its catalogue ([`texts`]).
    pub fn new(status: StatusCode, code: ErrorCode, lang: Lang, message: impl Into<String>) -> Self {
        let message = message.into();
        WebError { status, code, message, lang, extra: None, page: None, retry_after: None }
    }

    /// More members of the JSON error object.
    pub fn with(mut self, extra: Value) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }

    /// The page's heading and body, for errors whose page says more (or less) than the message.
    pub fn on_page(mut self, heading: &'static str, body: &'static str) -> Self {
        self.page = Some(Box::new((heading, body)));
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 422: an input a staff member can correct.
    pub fn bad(lang: Lang, message: String) -> Self {
        WebError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, lang, message)
    }

    /// 403: the role does not allow it.
    pub fn forbidden(lang: Lang) -> Self {
        WebError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, lang, texts(lang).administrators_only)
    }

    /// 403: a form whose CSRF token is missing or wrong.
    pub fn expired(lang: Lang) -> Self {
        WebError::new(StatusCode::FORBIDDEN, ErrorCode::Csrf, lang, texts(lang).the_page_had_expired_reload)
    }

    pub fn not_found(lang: Lang) -> Self {
        WebError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, lang, texts(lang).nothing_found)
    }

    pub fn consultation_not_found(lang: Lang) -> Self {
        WebError::new(StatusCode::NOT_FOUND, ErrorCode::ConsultationNotFound, lang, texts(lang).no_such_consultation)
    }

    /// 500 on a staff page or call; the cause goes to the log.
    pub fn internal(lang: Lang, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "staff request failed");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            lang,
            texts(lang).server_error_try_again_later,
        )
    }

    /// 500 on the public side, which says that nothing was saved.
    pub fn public_internal(lang: Lang) -> Self {
        let t = texts(lang);
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            lang,
            texts(lang).something_went_wrong_on_the,
        )
        .on_page(t.error, t.error_body)
    }

    /// 500: a published text failed its integrity check and is withheld.
    pub fn integrity(lang: Lang) -> Self {
        let t = texts(lang);
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::IntegrityCheckFailed,
            lang,
            texts(lang).integrity_body,
        )
        .on_page(t.integrity, t.integrity_body)
    }

    /// A use case's failure where the caller has no more specific answer for it.
    pub fn app(lang: Lang, e: yijian_app::Error) -> Self {
        match e {
            yijian_app::Error::Forbidden => WebError::forbidden(lang),
            yijian_app::Error::NotFound(_) => WebError::not_found(lang),
            yijian_app::Error::Integrity => WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::IntegrityCheckFailed,
                lang,
                texts(lang).the_stored_text_failed_its,
            ),
            yijian_app::Error::Busy => WebError::busy(lang),
            e => WebError::internal(lang, e),
        }
    }

    /// 503 with Retry-After: more comments are arriving than can be stored in time, and this
    /// one was not stored.
    pub fn busy(lang: Lang) -> Self {
        let secs = yijian_app::BUSY_RETRY_SECS;
        let error = yijian_domain::FieldError::new("form", yijian_domain::FieldCode::Busy).with_limit(secs as usize);
        WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            lang,
            yijian_domain::messages::field_message(&error, lang),
        )
        .retry_after(secs)
    }

    fn json(&self) -> Response {
        let mut error = json!({ "code": self.code.as_str(), "message": self.message });
        if let (Some(Value::Object(extra)), Some(obj)) = (self.extra.as_deref().cloned(), error.as_object_mut()) {
            obj.extend(extra);
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }

    fn page(&self) -> Response {
        let lang = self.lang;
        let (heading, body) = match self.page.as_deref() {
            Some(&(heading, body)) => (heading, body),
            None => {
                let heading = match self.status {
                    StatusCode::NOT_FOUND => texts(lang).not_found,
                    StatusCode::FORBIDDEN => texts(lang).not_allowed,
                    _ => texts(lang).error,
                };
                (heading, self.message.as_str())
            }
        };
        crate::pages::message(self.status, lang, heading, body)
    }

    /// The answer as JSON (`api`) or as a page.
    pub fn render(&self, api: bool) -> Response {
        let mut res = if api { self.json() } else { self.page() };
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// JSON until [`shape_errors`] sees that the request wanted a page.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut res = self.render(true);
        res.extensions_mut().insert(self);
        res
    }
}

/// Gives each [`WebError`] the shape its caller reads: JSON under `/api/`, a page elsewhere.
pub async fn shape_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    match res.extensions_mut().remove::<WebError>() {
        Some(e) if !api => e.render(false),
        _ => res,
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn one_error_answers_json_for_the_api_and_a_page_elsewhere() {
        let e = WebError::new(StatusCode::CONFLICT, ErrorCode::ConsultationClosed, Lang::En, "Closed.")
            .with(json!({"closes_at": "2025-05-18T00:00:00+08:00"}))
            .retry_after(7);
        let json = e.render(true);
        assert_eq!(json.status(), StatusCode::CONFLICT);
        assert_eq!(json.headers()[header::RETRY_AFTER], "7");
        let v: Value = serde_json::from_str(&body(json).await).unwrap();
        assert_eq!(
            v,
            json!({"error": {"code": "consultation_closed", "message": "Closed.", "closes_at": "2025-05-18T00:00:00+08:00"}})
        );
        let page = e.render(false);
        assert_eq!(page.status(), StatusCode::CONFLICT);
        assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert_eq!(page.headers()[header::RETRY_AFTER], "7");
        let html = body(page).await;
        assert!(html.contains("Closed.") && html.contains(texts(Lang::En).error), "{html}");
    }

    #[tokio::test]
    async fn a_page_may_say_more_than_the_message_and_speaks_the_callers_language() {
        let t = texts(Lang::Zh);
        let e = WebError::consultation_not_found(Lang::Zh).on_page(t.not_found, t.not_found_body);
        let html = body(e.render(false)).await;
        assert!(html.contains(t.not_found_body) && !html.contains("没有找到这项征求意见"), "{html}");
        let v: Value = serde_json::from_str(&body(e.render(true)).await).unwrap();
        assert_eq!(v["error"]["message"], "没有找到这项征求意见。");
        let html = body(WebError::forbidden(Lang::Zh).render(false)).await;
        assert!(html.contains("没有权限") && html.contains("此操作仅限管理员。"), "{html}");
    }

    #[test]
    fn error_codes_are_distinct_snake_case_strings() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(!s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
            assert!(seen.insert(s), "{s} twice");
        }
    }

    #[tokio::test]
    async fn the_answer_carries_the_error_until_it_is_shaped() {
        let res = WebError::expired(Lang::En).into_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(res.extensions().get::<WebError>().map(|e| e.code), Some(ErrorCode::Csrf));
        let v: Value = serde_json::from_str(&body(res).await).unwrap();
        assert_eq!(v["error"]["code"], "csrf");
    }
}
