//! `/api/v1`: the public JSON API.

use axum::Json;
use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use yijian_app::intake::{Refused, Submission};
use yijian_domain::comment::Channel;
use yijian_domain::consultation::{Status, rfc3339_in};
use yijian_domain::receipt::Receipt;

use crate::AppState;
use crate::error::{ErrorCode, WebError, field_errors};
use crate::extract::{Language, PublicConsultation, load_public};
use crate::texts::texts;
use yijian_domain::Lang;

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;

/// What body an API operation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    None,
    Json,
    /// JSON, or nothing at all (no body and no Content-Type).
    OptionalJson,
}

/// Whether a Content-Type is JSON: `application/json`, with parameters or not.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// A JSON operation refuses any other body with 415 before its handler runs, whatever its
/// handler would make of it: a form or text/plain body is what a cross-site form can send
/// without asking, and a body without a type is not what the document describes.
pub(crate) async fn require_json(
    State(kind): State<BodyKind>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let h = req.headers();
    let content_type = h.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
    let empty = h.get(header::TRANSFER_ENCODING).is_none()
        && h.get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.to_str().ok().and_then(|n| n.trim().parse::<u64>().ok()) == Some(0));
    let fine = match content_type {
        Some(ct) => is_json(ct),
        None => kind == BodyKind::OptionalJson && empty,
    };
    if fine {
        return next.run(req).await;
    }
    let lang = crate::extract::lang_of(h);
    let message = texts(lang).the_body_must_be_json.replace("{type}", content_type.unwrap_or("—"));
    WebError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::UnsupportedMediaType, lang, message).into_response()
}

pub(crate) async fn list_consultations(
    State(state): State<AppState>,
    Language(lang): Language,
) -> Result<Json<Value>, WebError> {
    let list = state.app.consultations().await.map_err(|e| {
        tracing::error!(error = %e, "listing consultations failed");
        WebError::public_internal(lang)
    })?;
    let now = Timestamp::now();
    let items: Vec<Value> = list
        .iter()
        .map(|c| {
            let tz = jiff::tz::TimeZone::get(&c.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            json!({
                "id": c.id,
                "title": c.title,
                "status": c.status(now).as_str(),
                "opens_at": rfc3339_in(c.opens_at, &tz),
                "closes_at": rfc3339_in(c.closes_at, &tz),
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

pub(crate) async fn get_consultation(
    // Unused since the notice speaks the consultation's own language, whatever the reader's.
    Language(_lang): Language,
    PublicConsultation(c): PublicConsultation,
) -> Result<Json<Value>, WebError> {
    let m = &c.meta;
    let chapters: Vec<Value> = c
        .document
        .chapters
        .iter()
        .map(|ch| {
            json!({
                "number": ch.number,
                "title": ch.title,
                "articles": ch.articles.iter().map(|a| json!({"number": a.number, "title": a.title, "text": a.text()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": m.id,
        "title": c.document.title,
        "issuer": m.issuer,
        "status": m.status(Timestamp::now()).as_str(),
        "opens_at": m.rfc3339(m.opens_at),
        "closes_at": m.rfc3339(m.closes_at),
        "time_zone": m.time_zone,
        "demo": c.demo,
        "notice": m.rendered_notice(),
        "contact": {"person": m.contact.person, "department": m.contact.department, "phone": m.contact.phone, "email": m.contact.email},
        "email_channel": {"address": m.email_channel.address, "subject_phrase": m.email_channel.subject_phrase},
        "positions": m.positions,
        "max_opinion_chars": m.max_opinion_chars,
        "version": c.version,
        "content_sha256": c.content_sha256,
        "signature": c.signature,
        "preamble": c.document.preamble.join("\n"),
        "chapters": chapters,
    })))
}

pub(crate) async fn submit_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Language(lang): Language,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, WebError> {
    if let Err(wait) = state.check_rate(peer, &headers).await {
        let secs = crate::limits::retry_after_secs(wait);
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            lang,
            texts(lang).rate_limited.replace("{secs}", &secs.to_string()),
        )
        .retry_after(secs));
    }
    let client = state.client_ip(peer, &headers);
    intake(&state, &id, lang, body, client).await
}

/// The order matters: an unknown or closed consultation is answered before the body is read,
/// then the body's size and syntax, then every field at once.
async fn intake(
    state: &AppState,
    id: &str,
    lang: Lang,
    body: Body,
    client: std::net::IpAddr,
) -> Result<Response, WebError> {
    let c = load_public(state, id, lang).await?;
    let m = &c.meta;
    let now = Timestamp::now();
    let dates = || json!({ "opens_at": m.rfc3339(m.opens_at), "closes_at": m.rfc3339(m.closes_at) });
    let closed = || {
        WebError::new(
            StatusCode::CONFLICT,
            ErrorCode::ConsultationClosed,
            lang,
            texts(lang).api_closed.replace("{date}", &m.deadline_text(lang)),
        )
        .with(dates())
    };
    match m.status(now) {
        Status::Open => {}
        Status::Upcoming => {
            return Err(WebError::new(
                StatusCode::CONFLICT,
                ErrorCode::ConsultationNotOpen,
                lang,
                texts(lang).api_not_open.replace("{at}", &m.rfc3339(m.opens_at)),
            )
            .with(dates()));
        }
        Status::Closed => return Err(closed()),
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            lang,
            texts(lang).the_request_body_is_larger,
        )
    })?;
    // An overloaded node refuses before parsing (the body is read all the same, so that the
    // connection stays usable): each refusal costs little, and the node keeps answering at the
    // rate requests come.
    if !state.app.has_room_for_a_comment() {
        state.metrics.overload_refused("/api/v1/consultations/{id}/comments");
        return Err(WebError::busy(lang));
    }
    let malformed = |message: String| WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, message);
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        malformed(
            texts(lang)
                .api_bad_json
                .replace("{line}", &e.line().to_string())
                .replace("{column}", &e.column().to_string()),
        )
    })?;
    let Value::Object(fields) = value else {
        return Err(malformed(texts(lang).api_not_an_object.into()));
    };

    let sub = Submission { fields: &fields, channel: Channel::Api, consent: None, form_id: None, client: Some(client) };
    let receipt = match state.app.submit_comment(&c, sub, now).await {
        Ok(accepted) => accepted,
        Err(Refused::Invalid(errors)) => return Ok(field_errors(&errors, lang)),
        // Checked above; a deadline that passed meanwhile answers as closed.
        Err(Refused::NotOpen(_)) => return Err(closed()),
        Err(Refused::Storage(_)) => return Err(WebError::public_internal(lang)),
        Err(Refused::Busy) => {
            state.metrics.overload_refused("/api/v1/consultations/{id}/comments");
            return Err(WebError::busy(lang));
        }
    };
    let (receipt, submitted_at) = (receipt.receipt, receipt.submitted_at);
    let location = format!("/api/v1/receipts/{receipt}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!({ "receipt": receipt.to_string(), "submitted_at": rfc3339_in(submitted_at, &c.tz) })),
    )
        .into_response())
}

pub(crate) async fn get_receipt(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Language(lang): Language,
    headers: HeaderMap,
) -> Result<Json<Value>, WebError> {
    if let Err(wait) = state.check_lookup_rate(peer, &headers).await {
        let secs = crate::limits::retry_after_secs(wait);
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            lang,
            texts(lang).lookups_limited.replace("{secs}", &secs.to_string()),
        )
        .retry_after(secs));
    }
    let not_found =
        || WebError::new(StatusCode::NOT_FOUND, ErrorCode::ReceiptNotFound, lang, texts(lang).receipt_unknown);
    let receipt = Receipt::parse(&receipt).ok_or_else(not_found)?;
    let info = state.app.receipt(&receipt).await.map_err(|e| {
        tracing::error!(error = %e, "receipt lookup failed");
        WebError::public_internal(lang)
    })?;
    let info = info.ok_or_else(not_found)?;
    let tz = match state.app.consultation(&info.consultation_id).await {
        Ok(Some(c)) => c.tz.clone(),
        _ => jiff::tz::TimeZone::get(yijian_domain::consultation::DEFAULT_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC),
    };
    Ok(Json(json!({
        "receipt": info.receipt.to_string(),
        "consultation_id": info.consultation_id,
        "submitted_at": rfc3339_in(info.submitted_at, &tz),
        "status": info.status,
        "disposition": info.disposition.as_ref().map(|(d, _)| d.as_str()),
        "reasoning": info.disposition.as_ref().map(|(_, r)| r.as_str()),
    })))
}

/// `GET /api/v1/captcha[?kind=audio]`.
pub(crate) async fn new_captcha(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Language(lang): Language,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, WebError> {
    use yijian_app::captcha::Unavailable;
    // Read by hand rather than with `Query`, whose refusal of a repeated `kind` is a plain-text
    // 400: every wrong query here gets the same JSON 422, in the caller's language.
    let kinds: Vec<String> = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "kind")
        .map(|(_, v)| v.into_owned())
        .collect();
    let audio = match kinds.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["image"] => false,
        ["audio"] => true,
        _ => return Err(WebError::bad(lang, texts(lang).captcha_kind_unknown.into())),
    };
    let client = state.client_ip(peer, &headers);
    if let Err(wait) = state.check_captcha_rate(client).await {
        let secs = crate::limits::retry_after_secs(wait);
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            lang,
            texts(lang).captcha_rate_limited.replace("{secs}", &secs.to_string()),
        )
        .retry_after(secs));
    }
    let full = |retry_after: jiff::SignedDuration| {
        let secs = retry_after.as_secs().max(1).unsigned_abs();
        WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::CaptchaUnavailable,
            lang,
            texts(lang).captcha_busy.replace("{secs}", &secs.to_string()),
        )
        .retry_after(secs)
    };
    let tz = jiff::tz::TimeZone::get(yijian_domain::consultation::DEFAULT_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    if audio {
        let challenge = state.captchas.issue_audio(lang, Timestamp::now()).map_err(|e| match e {
            Unavailable::Full { retry_after } => full(retry_after),
            Unavailable::Failed => WebError::public_internal(lang),
        })?;
        return Ok(Json(json!({
            "captcha_id": challenge.id,
            "audio": format!("/captcha/{}/audio.wav", challenge.id),
            "expires_at": rfc3339_in(challenge.expires_at, &tz),
        })));
    }
    let challenge = state.captchas.issue(Timestamp::now()).await.map_err(|e| match e {
        Unavailable::Full { retry_after } => full(retry_after),
        Unavailable::Failed => WebError::public_internal(lang),
    })?;
    Ok(Json(json!({
        "captcha_id": challenge.id,
        "image": challenge.image_data_url,
        "expires_at": rfc3339_in(challenge.expires_at, &tz),
    })))
}

pub(crate) async fn signing_key(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "algorithm": "Ed25519",
        "encoding": "base64",
        "public_key": state.app.signing_key(),
        "signed": "the UTF-8 bytes of a draft's canonical text (title, preamble, chapter headings, articles; NFC; LF line endings); the server also signs, with the same key, each consultation's metadata (id, version, title, issuer, dates, contact, mailbox and subject phrase) and verifies both before serving them",
    }))
}
