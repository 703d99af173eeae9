//! CSRF protection for the pages' forms and the staff API. A token is a random nonce and its
//! MAC under a key derived from the master key, bound to the staff session cookie the browser
//! holds, if any; the same token sits in a SameSite=Strict cookie and in the form (double
//! submit) or, for the staff API with a session cookie, in the `X-CSRF-Token` header. Bound to
//! the session, a cookie pair planted by someone else (a sibling subdomain, plain HTTP) does
//! not pass: they cannot compute the MAC over a session they do not know.
//! [`crate::extract::CsrfForm`] checks a staff form's; [`crate::admin::require_staff`] the API's.
//!
//! [`cookie_names`] gives both cookies the `__Host-` prefix on a site served over HTTPS.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::admin::SESSION_COOKIE;
use crate::extract::cookie;

const COOKIE: &str = "yj_csrf";
/// The header a cookie-authenticated call of the staff API carries its token in.
pub const HEADER: &str = "x-csrf-token";

/// What a token is bound to: the browser's session cookie, if it has one.
fn binding(headers: &HeaderMap) -> &str {
    cookie(headers, SESSION_COOKIE).unwrap_or("")
}

fn mac(state: &AppState, nonce: &str, headers: &HeaderMap) -> String {
    hex::encode(&state.app.mac("csrf", &format!("{nonce}|{}", binding(headers)))[..16])
}

fn new_token(state: &AppState, headers: &HeaderMap) -> String {
    let nonce = hex::encode(yijian_crypto::random_bytes::<16>());
    let mac = mac(state, &nonce, headers);
    format!("{nonce}.{mac}")
}

/// The browser's CSRF token if it has a valid one, else a new one.
pub(crate) fn token_for(state: &AppState, headers: &HeaderMap) -> String {
    cookie(headers, COOKIE)
        .filter(|t| valid(state, headers, t))
        .map(String::from)
        .unwrap_or_else(|| new_token(state, headers))
}

/// A form's token matches the cookie and carries a valid MAC.
pub(crate) fn matches(state: &AppState, headers: &HeaderMap, form_token: &str) -> bool {
    !form_token.is_empty() && cookie(headers, COOKIE) == Some(form_token) && valid(state, headers, form_token)
}

fn valid(state: &AppState, headers: &HeaderMap, token: &str) -> bool {
    let Some((nonce, mac)) = token.split_once('.') else { return false };
    nonce.len() == 32 && self::mac(state, nonce, headers) == mac
}

/// Sets the token's cookie on a page that carries it in a form.
pub(crate) fn with_cookie(mut res: Response, token: &str) -> Response {
    let v = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The cookies whose names take the `__Host-` prefix on a secure site.
const PREFIXED: [&str; 2] = [SESSION_COOKIE, COOKIE];
const HOST_PREFIX: &str = "__Host-";

/// On a site with secure cookies, the session and CSRF cookies travel as `__Host-yj_session`
/// and `__Host-yj_csrf`, marked Secure: a browser accepts such a cookie only from this host
/// over HTTPS, for the whole site, so no sibling subdomain or plain-HTTP page can plant one.
/// The handlers know them by their plain names; this layer renames them both ways, and drops
/// a plain-named one a browser sends, since that is just what could have been planted.
pub(crate) async fn cookie_names(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !state.options.secure_cookies {
        return next.run(req).await;
    }
    let sent: Vec<String> = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .filter_map(|c| {
            let (name, value) = c.split_once('=')?;
            match name.strip_prefix(HOST_PREFIX) {
                Some(plain) if PREFIXED.contains(&plain) => Some(format!("{plain}={value}")),
                _ if PREFIXED.contains(&name) => None,
                _ => Some(c.to_string()),
            }
        })
        .collect();
    req.headers_mut().remove(header::COOKIE);
    if !sent.is_empty()
        && let Ok(v) = HeaderValue::from_str(&sent.join("; "))
    {
        req.headers_mut().insert(header::COOKIE, v);
    }
    let mut res = next.run(req).await;
    let set: Vec<HeaderValue> = res.headers_mut().remove_all_set_cookies();
    for v in set {
        let renamed = v.to_str().ok().and_then(|c| {
            let name = c.split('=').next()?;
            PREFIXED.contains(&name).then(|| format!("{HOST_PREFIX}{c}; Secure"))
        });
        let v = renamed.and_then(|c| HeaderValue::from_str(&c).ok()).unwrap_or(v);
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

trait RemoveSetCookies {
    fn remove_all_set_cookies(&mut self) -> Vec<HeaderValue>;
}

impl RemoveSetCookies for HeaderMap {
    fn remove_all_set_cookies(&mut self) -> Vec<HeaderValue> {
        match self.entry(header::SET_COOKIE) {
            axum::http::header::Entry::Occupied(e) => e.remove_entry_mult().1.collect(),
            axum::http::header::Entry::Vacant(_) => vec![],
        }
    }
}
