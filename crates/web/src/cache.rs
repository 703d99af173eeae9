//! Public, versioned responses served from memory: each body is rendered once per key, and its
//! gzip and brotli forms are made once, when it is put in; a request only chooses among them.
//!
//! Why not tower-http's `CompressionLayer`: it compresses every response anew, per request, so
//! the 30 KB consultation page would cost a deflate (or brotli) pass on every view, which is most
//! of what a cached page would cost. Here the bytes are compressed at insert, at the best
//! levels, and served as they are.
//!
//! The key of an entry is a fingerprint of everything the page shows (see the handlers that
//! build one): a change of text, schedule, status or language makes a new key, so nothing
//! needs invalidating; old keys age out of the bounded store (oldest first).
//!
//! Validators: a strong `ETag`, the SHA-256 of the identity body (so every node serving the same
//! content gives the same tag), with `-gz`/`-br` for the compressed forms (each is its own
//! representation); and `Last-Modified`, the second the entry was made on this node. A
//! `Last-Modified` within the current second is not sent: two different bodies made in one
//! second would share it, and the second one's copy would then be wrongly "not modified".

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// The bytes kept in all, every encoding counted.
pub const DEFAULT_LIMIT: usize = 64 * 1024 * 1024;
/// The most keys kept, made or being made.
const MAX_KEYS: usize = 4096;

/// How a kind of public response is cached and described.
#[derive(Clone)]
pub struct Kind {
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub vary: &'static str,
}

/// Pages vary with the language, which comes from the query, the `lang` cookie or the
/// browser's Accept-Language. A short max-age, then revalidation: a consultation's status
/// changes at its deadline, and a schedule change must show at once.
pub const PAGE: Kind = Kind {
    content_type: "text/html; charset=utf-8",
    cache_control: "public, max-age=10, must-revalidate",
    vary: "Accept-Encoding, Accept-Language, Cookie",
};

/// A page whose language was chosen in the query and is remembered by a cookie it sets: kept
/// by the browser only, since shared caches should not store a Set-Cookie.
pub const PAGE_SETTING_COOKIE: &str = "private, max-age=10, must-revalidate";

/// The canonical text: one per version, the same in every language.
pub const TEXT: Kind = Kind {
    content_type: "text/plain; charset=utf-8",
    cache_control: "public, max-age=10, must-revalidate",
    vary: "Accept-Encoding",
};

/// The public report as JSON: the same in every language.
pub const JSON: Kind = Kind {
    content_type: "application/json",
    cache_control: "public, max-age=10, must-revalidate",
    vary: "Accept-Encoding",
};

pub const CSS: Kind =
    Kind { content_type: "text/css; charset=utf-8", cache_control: "public, max-age=300", vary: "Accept-Encoding" };

pub const JS: Kind = Kind {
    content_type: "text/javascript; charset=utf-8",
    cache_control: "public, max-age=300",
    vary: "Accept-Encoding",
};

/// One cached response, in every encoding.
pub struct Entry {
    identity: Bytes,
    gzip: Option<Bytes>,
    br: Option<Bytes>,
    /// The hex SHA-256 of the identity body (the first 128 bits).
    tag: String,
    /// Seconds since the epoch at which this node made the entry.
    made: u64,
    kind: Kind,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// The encodings a response can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Entry {
    /// Compresses `body` both ways (a form that is not smaller is not kept). CPU-bound: call it
    /// off the async threads (see [`ResponseCache::get_or_make`]).
    pub fn new(body: Vec<u8>, kind: Kind, headers: Vec<(HeaderName, HeaderValue)>) -> Entry {
        let tag = hex::encode(&Sha256::digest(&body)[..16]);
        let gzip = {
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::best());
            e.write_all(&body).and_then(|_| e.finish()).ok()
        };
        let br = {
            let mut out = Vec::with_capacity(body.len() / 3);
            // Quality 11 (the best) is slow, but it is paid once per content, not per view.
            let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok().map(|_| out)
        };
        let smaller = |v: Option<Vec<u8>>| v.filter(|v| v.len() < body.len()).map(Bytes::from);
        Entry {
            gzip: smaller(gzip),
            br: smaller(br),
            identity: Bytes::from(body),
            tag,
            made: now_secs(),
            kind,
            headers,
        }
    }

    /// The strong entity tag of one encoding.
    pub fn etag(&self, encoding: Encoding) -> String {
        match encoding {
            Encoding::Identity => format!("\"{}\"", self.tag),
            Encoding::Gzip => format!("\"{}-gz\"", self.tag),
            Encoding::Brotli => format!("\"{}-br\"", self.tag),
        }
    }

    fn bytes(&self) -> usize {
        self.identity.len() + self.gzip.as_ref().map_or(0, Bytes::len) + self.br.as_ref().map_or(0, Bytes::len)
    }

    /// The answer to a request with these headers: 304 when its validators match, else the body
    /// in the encoding it prefers.
    pub fn respond(&self, req: &HeaderMap) -> Response {
        let accepted = accept_encoding(req);
        let (encoding, body) = match (accepted, &self.br, &self.gzip) {
            (Encoding::Brotli, Some(b), _) => (Encoding::Brotli, b.clone()),
            (Encoding::Brotli, None, Some(g)) if accepts(req, "gzip") => (Encoding::Gzip, g.clone()),
            (Encoding::Gzip, _, Some(g)) => (Encoding::Gzip, g.clone()),
            _ => (Encoding::Identity, self.identity.clone()),
        };
        let now = now_secs();
        // See the module's comment: a Last-Modified is only given once its second has passed.
        let last_modified = (now > self.made).then_some(self.made);
        let not_modified = match req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            Some(tags) => tags_match(tags, &self.tag),
            // If-Modified-Since only counts without If-None-Match (RFC 9110, 13.1.3).
            None => req
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .zip(last_modified)
                .is_some_and(|(since, made)| since.as_secs() >= made),
        };
        let mut res = if not_modified {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let mut r = Response::new(Body::from(body));
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.kind.content_type));
            match encoding {
                Encoding::Gzip => drop(h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))),
                Encoding::Brotli => drop(h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"))),
                Encoding::Identity => {}
            }
            for (k, v) in &self.headers {
                h.insert(k.clone(), v.clone());
            }
            r
        };
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.etag(encoding)) {
            h.insert(header::ETAG, v);
        }
        if let Some(made) = last_modified
            && let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(made)))
        {
            h.insert(header::LAST_MODIFIED, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(self.kind.cache_control));
        h.insert(header::VARY, HeaderValue::from_static(self.kind.vary));
        res
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// If-None-Match against this entry: `*`, or any listed tag (weak comparison, as RFC 9110
/// asks for this header) naming the same identity body in any encoding.
fn tags_match(list: &str, tag: &str) -> bool {
    list.split(',').map(str::trim).any(|t| {
        if t == "*" {
            return true;
        }
        let t = t.strip_prefix("W/").unwrap_or(t).trim_matches('"');
        let t = t.strip_suffix("-gz").or_else(|| t.strip_suffix("-br")).unwrap_or(t);
        t == tag
    })
}

/// The q-value Accept-Encoding gives `coding` (directly, else through `*`); 0 when neither.
fn q_of(req: &HeaderMap, coding: &str) -> f32 {
    let mut star = None;
    for v in req.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()) {
        for item in v.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            if name == coding || (coding == "gzip" && name == "x-gzip") {
                return q;
            }
            if name == "*" {
                star = Some(q);
            }
        }
    }
    star.unwrap_or(0.0)
}

fn accepts(req: &HeaderMap, coding: &str) -> bool {
    q_of(req, coding) > 0.0
}

/// The encoding a request prefers: the higher q of brotli and gzip, brotli on a tie (it is the
/// smaller), identity when it accepts neither.
pub fn accept_encoding(req: &HeaderMap) -> Encoding {
    let (br, gz) = (q_of(req, "br"), q_of(req, "gzip"));
    if br > 0.0 && br >= gz {
        Encoding::Brotli
    } else if gz > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// A key built from the parts of what a page shows, each length-prefixed so that no two lists of
/// parts give the same key; hashed, so a long list costs one small key.
#[derive(Default)]
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new(what: &str) -> Fingerprint {
        Fingerprint::default().with(what)
    }

    #[must_use]
    pub fn with(mut self, part: impl AsRef<[u8]>) -> Self {
        let part = part.as_ref();
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    pub fn key(self) -> String {
        hex::encode(&self.0.finalize()[..16])
    }
}

struct Slot {
    cell: Arc<OnceCell<Arc<Entry>>>,
    /// Counted once its entry is made.
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Slot>,
    /// Keys, oldest first, for eviction.
    order: VecDeque<String>,
    bytes: usize,
}

/// The store of cached responses, bounded in bytes.
pub struct ResponseCache {
    inner: Mutex<Inner>,
    limit: usize,
}

impl Default for ResponseCache {
    fn default() -> Self {
        ResponseCache::new(DEFAULT_LIMIT)
    }
}

impl ResponseCache {
    pub fn new(limit: usize) -> ResponseCache {
        ResponseCache { inner: Mutex::default(), limit }
    }

    /// The bytes held now, every encoding counted.
    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("response cache poisoned").bytes
    }

    /// The entry under `key`, made by `make` (which renders the body) the first time. Requests
    /// that arrive while it is being made wait for it rather than render it again; a failure
    /// (`Err`) is not kept, and the next request tries again.
    pub async fn get_or_make<E, F, Fut>(&self, key: &str, make: F) -> Result<Arc<Entry>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<u8>, Kind, Vec<(HeaderName, HeaderValue)>), E>>,
    {
        let cell = {
            let mut inner = self.inner.lock().expect("response cache poisoned");
            if let Some(slot) = inner.map.get(key) {
                if let Some(e) = slot.cell.get() {
                    return Ok(e.clone());
                }
                slot.cell.clone()
            } else {
                let cell = Arc::new(OnceCell::new());
                while inner.order.len() >= MAX_KEYS {
                    let Some(oldest) = inner.order.pop_front() else { break };
                    if let Some(gone) = inner.map.remove(&oldest) {
                        inner.bytes -= gone.bytes;
                    }
                }
                inner.map.insert(key.to_string(), Slot { cell: cell.clone(), bytes: 0 });
                inner.order.push_back(key.to_string());
                cell
            }
        };
        let entry = cell
            .get_or_try_init(|| async {
                let (body, kind, headers) = make().await?;
                let entry = tokio::task::spawn_blocking(move || Entry::new(body, kind, headers))
                    .await
                    .expect("compressing a response does not panic");
                Ok::<_, E>(Arc::new(entry))
            })
            .await?
            .clone();
        self.account(key, &cell, entry.bytes());
        Ok(entry)
    }

    /// Counts a new entry's bytes, then drops the oldest entries until the total is within the
    /// limit (never the one just made, so that a request always has its answer).
    fn account(&self, key: &str, cell: &Arc<OnceCell<Arc<Entry>>>, bytes: usize) {
        let mut inner = self.inner.lock().expect("response cache poisoned");
        let Some(slot) = inner.map.get_mut(key) else { return };
        if slot.bytes != 0 || !Arc::ptr_eq(&slot.cell, cell) {
            return;
        }
        slot.bytes = bytes;
        inner.bytes += bytes;
        while inner.bytes > self.limit {
            let Some(oldest) = inner.order.pop_front() else { break };
            if oldest == key {
                inner.order.push_back(oldest);
                if inner.order.len() == 1 {
                    break;
                }
                continue;
            }
            if let Some(gone) = inner.map.remove(&oldest) {
                inner.bytes -= gone.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn encodings_are_negotiated_by_q_value_brotli_first() {
        let enc = |v: &str| accept_encoding(&headers(&[("accept-encoding", v)]));
        assert_eq!(enc("gzip, deflate, br"), Encoding::Brotli);
        assert_eq!(enc("gzip"), Encoding::Gzip);
        assert_eq!(enc("br;q=0.5, gzip;q=0.8"), Encoding::Gzip);
        assert_eq!(enc("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(enc("gzip;q=0, br;q=0"), Encoding::Identity);
        assert_eq!(enc("*"), Encoding::Brotli);
        assert_eq!(enc("*;q=0.1, br;q=0"), Encoding::Gzip);
        assert_eq!(enc("identity"), Encoding::Identity);
        assert_eq!(enc("x-gzip"), Encoding::Gzip);
        assert_eq!(accept_encoding(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn if_none_match_names_the_body_in_any_encoding() {
        let tag = "0123456789abcdef0123456789abcdef";
        assert!(tags_match(&format!("\"{tag}\""), tag));
        assert!(tags_match(&format!("\"x\", W/\"{tag}-gz\""), tag));
        assert!(tags_match("*", tag));
        assert!(!tags_match("\"0123\"", tag));
    }

    #[tokio::test]
    async fn the_store_keeps_within_its_bound_and_makes_each_entry_once() {
        let cache = ResponseCache::new(10_000);
        let made = std::sync::atomic::AtomicUsize::new(0);
        for i in 0..50 {
            let body: Vec<u8> = (0..1000u32).map(|n| ((n * 7919 + i) % 251) as u8).collect();
            for _ in 0..3 {
                let body = body.clone();
                cache
                    .get_or_make(&format!("k{i}"), || async {
                        made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok::<_, ()>((body, TEXT, vec![]))
                    })
                    .await
                    .unwrap();
            }
        }
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 50, "once per key");
        assert!(cache.bytes() <= 10_000, "{}", cache.bytes());
    }
}
