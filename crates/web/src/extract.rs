//! Extractors for what handlers share: the caller's language, the staff member and what their
//! role allows, the consultation the path names, a mail's id, and a form (with its CSRF token
//! checked). Each refuses with a [`WebError`], which answers in the caller's shape: JSON under
//! `/api/`, a page elsewhere.

use std::collections::HashMap;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use yijian_domain::Lang;
use yijian_domain::staff;
use yijian_store::SessionUser;

use crate::error::{ErrorCode, WebError};
use crate::forms::Fields;
use crate::texts::texts;
use crate::{AppState, LiveConsultation};

/// Bytes a staff form may have unless its handler says otherwise.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The language of an answer: the `lang` cookie a person chose on the public pages, else the
/// browser's Accept-Language.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, "lang") {
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

/// A cookie the request carries.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The caller's language (see [`lang_of`]): the `lang` cookie, else Accept-Language.
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Language(lang_of(&parts.headers)))
    }
}

/// A public page's language: `?lang=` (then remembered in a cookie), else the `lang` cookie,
/// else the browser's.
pub struct PageLanguage {
    pub lang: Lang,
    /// The choice came in the query and is to be kept in a cookie.
    pub remember: bool,
}

impl PageLanguage {
    fn of(parts: &Parts) -> PageLanguage {
        let asked = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned());
        match asked.as_deref() {
            Some("en") => PageLanguage { lang: Lang::En, remember: true },
            Some("zh") => PageLanguage { lang: Lang::Zh, remember: true },
            _ => PageLanguage { lang: lang_of(&parts.headers), remember: false },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageLanguage {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(PageLanguage::of(parts))
    }
}

/// The client's address (see [`crate::limits::client_ip`]), when the server knows its peer.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        Ok(ClientAddr(peer.map(|p| crate::limits::client_ip(p, &parts.headers, &state.options.trusted_proxies))))
    }
}

/// The signed-in staff member, whom [`crate::admin::require_staff`] put on the request.
pub struct Staff(pub SessionUser);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        parts
            .extensions
            .get::<SessionUser>()
            .cloned()
            .map(Staff)
            .ok_or_else(|| WebError::internal(lang_of(&parts.headers), "a staff route without its guard"))
    }
}

/// A permission an [`Admin`] extractor asks for.
pub trait Needs {
    const PERMISSION: staff::Permission;
    /// The refusal: 403.
    fn refused(lang: Lang) -> WebError {
        WebError::forbidden(lang)
    }
}

/// Creating, publishing and scheduling consultations.
pub struct ManageConsultations;
/// Seeing the staff accounts.
pub struct ManageUsers;
/// Seeing a comment's ID and phone numbers in full.
pub struct RevealPersonalData;
/// Opening a raw mail or an attachment.
pub struct OpenMailOriginals;

impl Needs for OpenMailOriginals {
    const PERMISSION: staff::Permission = staff::Permission::OpenMailOriginals;
}

impl Needs for ManageConsultations {
    const PERMISSION: staff::Permission = staff::Permission::ManageConsultations;
}

/// The pages of these two say that the page, not the action, is for administrators.
pub(crate) fn page_for_admins(lang: Lang) -> WebError {
    let body = texts(lang).this_page_is_for_administrators;
    WebError::forbidden(lang).on_page(texts(lang).not_allowed, body)
}

impl Needs for ManageUsers {
    const PERMISSION: staff::Permission = staff::Permission::ManageUsers;
    fn refused(lang: Lang) -> WebError {
        page_for_admins(lang)
    }
}

impl Needs for RevealPersonalData {
    const PERMISSION: staff::Permission = staff::Permission::RevealPersonalData;
    fn refused(lang: Lang) -> WebError {
        page_for_admins(lang)
    }
}

/// A staff member whose role has the permission `P`; anyone else is answered 403.
pub struct Admin<P: Needs = ManageConsultations>(pub SessionUser, pub PhantomData<P>);

impl<S: Send + Sync, P: Needs> FromRequestParts<S> for Admin<P> {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let Staff(user) = Staff::from_request_parts(parts, state).await?;
        if user.role.may(P::PERMISSION) {
            Ok(Admin(user, PhantomData))
        } else {
            Err(P::refused(lang_of(&parts.headers)))
        }
    }
}

/// The path's `{id}`.
async fn path_id(parts: &mut Parts, state: &AppState) -> Option<String> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await.ok()?;
    params.remove("id")
}

/// The consultation the path's `{id}` names, for staff: verified, like the public side's.
pub struct StaffConsultation(pub Arc<LiveConsultation>);

impl FromRequestParts<AppState> for StaffConsultation {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let lang = lang_of(&parts.headers);
        let id = path_id(parts, state).await.ok_or_else(|| WebError::consultation_not_found(lang))?;
        staff_consultation(state, &id, lang).await.map(StaffConsultation)
    }
}

/// A consultation for staff, by id.
pub async fn staff_consultation(state: &AppState, id: &str, lang: Lang) -> Result<Arc<LiveConsultation>, WebError> {
    match state.app.consultation(id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(WebError::consultation_not_found(lang)),
        Err(e) => Err(WebError::app(lang, e)),
    }
}

/// The consultation the path's `{id}` names, for the public: a tampered text is withheld (500).
/// Pages answer in the page's language, with the public pages' wording.
pub struct PublicConsultation(pub Arc<LiveConsultation>);

impl FromRequestParts<AppState> for PublicConsultation {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let lang =
            if parts.uri.path().starts_with("/api/") { lang_of(&parts.headers) } else { PageLanguage::of(parts).lang };
        let id = path_id(parts, state).await.unwrap_or_default();
        load_public(state, &id, lang).await.map(PublicConsultation)
    }
}

/// A consultation for the public, by id.
pub async fn load_public(state: &AppState, id: &str, lang: Lang) -> Result<Arc<LiveConsultation>, WebError> {
    let t = texts(lang);
    match state.app.consultation(id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(WebError::consultation_not_found(lang).on_page(t.not_found, t.not_found_body)),
        Err(yijian_app::Error::Integrity) => Err(WebError::integrity(lang)),
        Err(e) => {
            tracing::error!(error = %e, "loading a consultation failed");
            Err(WebError::public_internal(lang))
        }
    }
}

/// A mail's or attachment's id from the path. Anything but a number is a 404, never axum's
/// plain-text rejection.
pub struct MailId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for MailId {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let lang = lang_of(&parts.headers);
        let raw = Path::<String>::from_request_parts(parts, state).await.map(|Path(raw)| raw);
        raw.ok().and_then(|raw| raw.parse::<i64>().ok()).map(MailId).ok_or_else(|| WebError::not_found(lang))
    }
}

/// A staff form body (or JSON object) of at most `LIMIT` bytes, as [`Fields`]; for the JSON API,
/// whose bearer tokens need no CSRF token.
pub struct Form<const LIMIT: usize = FORM_LIMIT>(pub Fields);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for Form<LIMIT> {
    type Rejection = WebError;
    async fn from_request(req: Request, _: &S) -> Result<Self, WebError> {
        let lang = lang_of(req.headers());
        let (parts, body) = req.into_parts();
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string());
        let Some(route) = route.filter(|r| is_json && r.starts_with("/api/v1/admin/")) else {
            return read_fields(&parts.headers, body, LIMIT, lang).await.map(Form);
        };
        // The staff API's JSON: each field must have the type the OpenAPI document gives it.
        let bytes = axum::body::to_bytes(body, LIMIT).await.map_err(|_| {
            WebError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                lang,
                texts(lang).the_request_body_is_too,
            )
        })?;
        let mut bytes = bytes;
        if let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) {
            check_json_types(&parts.method, &route, &v, lang)?;
            if ignore_unknown_fields(&parts.method, &route, &mut v) {
                bytes = serde_json::to_vec(&v).expect("a JSON value serialises").into();
            }
        }
        read_fields(&parts.headers, Body::from(bytes), LIMIT, lang).await.map(Form)
    }
}

/// A staff API body that must be JSON (a bulk action, a decision on a campaign), of at most
/// `LIMIT` bytes: too large is 413, not JSON 400 `malformed_json`, a field of the wrong type 400
/// naming it; fields the OpenAPI document does not name for the route are dropped. One place,
/// so every such endpoint refuses bad bodies alike.
pub struct StaffJson<const LIMIT: usize = { 64 * 1024 }>(pub Value);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for StaffJson<LIMIT> {
    type Rejection = WebError;
    async fn from_request(req: Request, _: &S) -> Result<Self, WebError> {
        let lang = lang_of(req.headers());
        let (parts, body) = req.into_parts();
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string());
        let bytes = axum::body::to_bytes(body, LIMIT).await.map_err(|_| {
            WebError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                lang,
                texts(lang).the_request_body_is_too,
            )
        })?;
        let mut v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            let message = texts(lang).malformed_json.replace("{error}", &e.to_string());
            WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, message)
        })?;
        if let Some(route) = route {
            check_json_types(&parts.method, &route, &v, lang)?;
            ignore_unknown_fields(&parts.method, &route, &mut v);
        }
        Ok(StaffJson(v))
    }
}

/// Refuses (400, `malformed_json`, naming the field) a staff API body whose fields are not of the
/// types the OpenAPI document gives them for this route.
pub fn check_json_types(method: &axum::http::Method, route: &str, v: &Value, lang: Lang) -> Result<(), WebError> {
    crate::openapi::check_body_types(&method.as_str().to_lowercase(), route, v).map_err(|field| {
        let message = texts(lang).field_has_the_wrong_type.replace("{field}", &field);
        WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, message)
    })
}

/// Drops the fields of a staff API body that the OpenAPI document does not name for this route
/// (it allows extra fields, so they are ignored, whatever their shape); true if any were dropped.
pub fn ignore_unknown_fields(method: &axum::http::Method, route: &str, v: &mut Value) -> bool {
    let (Some(known), Some(fields)) =
        (crate::openapi::known_fields(&method.as_str().to_lowercase(), route), v.as_object_mut())
    else {
        return false;
    };
    let before = fields.len();
    fields.retain(|k, _| known.contains(k));
    fields.len() != before
}

/// A page's form of at most `LIMIT` bytes whose CSRF token matches the browser's: 403 when it
/// does not.
pub struct CsrfForm<const LIMIT: usize = FORM_LIMIT>(pub Fields);

impl<const LIMIT: usize> FromRequest<AppState> for CsrfForm<LIMIT> {
    type Rejection = WebError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, WebError> {
        let lang = lang_of(req.headers());
        let (parts, body) = req.into_parts();
        let f = read_fields(&parts.headers, body, LIMIT, lang).await?;
        check_csrf(state, &parts.headers, &f, lang)?;
        Ok(CsrfForm(f))
    }
}

/// The form's `csrf` field matches the browser's token.
pub fn check_csrf(state: &AppState, headers: &HeaderMap, f: &Fields, lang: Lang) -> Result<(), WebError> {
    check_csrf_token(state, headers, f.get("csrf").unwrap_or(""), lang)
}

/// This token, sent with a form, matches the browser's.
pub fn check_csrf_token(state: &AppState, headers: &HeaderMap, token: &str, lang: Lang) -> Result<(), WebError> {
    match crate::csrf::matches(state, headers, token) {
        true => Ok(()),
        false => Err(WebError::expired(lang)),
    }
}

/// Reads a body of at most `limit` bytes as form fields or a JSON object.
pub async fn read_fields(headers: &HeaderMap, body: Body, limit: usize, lang: Lang) -> Result<Fields, WebError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            lang,
            texts(lang).the_request_body_is_too,
        )
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Ok(Fields::from_urlencoded(&bytes));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        let message = texts(lang).malformed_json.replace("{error}", &e.to_string());
        WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, message)
    })?;
    Fields::from_json(&v).ok_or_else(|| {
        WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, texts(lang).the_body_must_be_a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, cookie: Option<&str>) -> Parts {
        let mut req = axum::http::Request::builder().uri(uri).header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_page_speaks_the_asked_language_and_remembers_it_else_the_cookie_else_the_browser() {
        let p = PageLanguage::of(&parts("/c/x?article=2&lang=zh", Some("lang=en")));
        assert!(p.lang == Lang::Zh && p.remember);
        let p = PageLanguage::of(&parts("/c/x", Some("lang=zh")));
        assert!(p.lang == Lang::Zh && !p.remember);
        let p = PageLanguage::of(&parts("/c/x?lang=fr", None));
        assert!(p.lang == Lang::En && !p.remember);
    }

    #[tokio::test]
    async fn staff_without_the_permission_are_refused() {
        let mut p = parts("/admin/users", None);
        let user = |role| SessionUser { name: "li".into(), role };
        p.extensions.insert(user(staff::Role::Reviewer));
        let refused = Admin::<ManageUsers>::from_request_parts(&mut p, &()).await.err().unwrap();
        assert_eq!((refused.status, refused.code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert!(Staff::from_request_parts(&mut p, &()).await.is_ok());
        p.extensions.insert(user(staff::Role::Admin));
        assert!(Admin::<ManageUsers>::from_request_parts(&mut p, &()).await.is_ok());
    }
}
