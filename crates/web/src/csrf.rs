//! CSRF protection for the pages' forms. A token is a random nonce and its MAC under a key
//! derived from the master key; the same token sits in a SameSite=Strict cookie and in the form
//! (double submit). [`crate::extract::CsrfForm`] checks a staff form's.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::AppState;
use crate::extract::cookie;

const COOKIE: &str = "yj_csrf";

fn new_token(state: &AppState) -> String {
    let nonce = hex::encode(yijian_crypto::random_bytes::<16>());
    let mac = hex::encode(&state.app.mac("csrf", &nonce)[..16]);
    format!("{nonce}.{mac}")
}

/// The browser's CSRF token if it has a valid one, else a new one.
pub(crate) fn token_for(state: &AppState, headers: &HeaderMap) -> String {
    cookie(headers, COOKIE).filter(|t| valid(state, t)).map(String::from).unwrap_or_else(|| new_token(state))
}

/// A form's token matches the cookie and carries a valid MAC.
pub(crate) fn matches(state: &AppState, headers: &HeaderMap, form_token: &str) -> bool {
    !form_token.is_empty() && cookie(headers, COOKIE) == Some(form_token) && valid(state, form_token)
}

fn valid(state: &AppState, token: &str) -> bool {
    let Some((nonce, mac)) = token.split_once('.') else { return false };
    nonce.len() == 32 && hex::encode(&state.app.mac("csrf", nonce)[..16]) == mac
}

/// Sets the token's cookie on a page that carries it in a form.
pub(crate) fn with_cookie(mut res: Response, token: &str) -> Response {
    let v = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
