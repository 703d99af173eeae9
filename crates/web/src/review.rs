//! The review queue and what staff do with comments: filter, search, classify one comment or a
//! whole filtered set, type in letters and calls, and see the figures.
//!
//! Each page has a JSON twin under `/api/v1/admin`; both read their input through
//! [`crate::forms`], so a filter or an action means the same in either.

use askama::Template;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use yijian_domain::Lang;
use yijian_domain::review::{Disposition, Moderation, QueueFilter, ReviewAction, ReviewStatus, action_message};
use yijian_domain::suggestion::ArticleSuggestion;
use yijian_store::{QueueItem, QueuePage, ReviewError, SessionUser, Target};

use crate::error::{ErrorCode, WebError};
use crate::extract::{CsrfForm, Form, Language, Staff, StaffConsultation, StaffJson, staff_consultation};
use crate::forms::{Fields, filter_pairs, query_string, queue_filter, review_action};
use crate::texts::{Texts, texts};
use crate::{AppState, LiveConsultation};

pub use yijian_app::review::SEARCH_CAP;
const PAGE_SIZE: usize = 50;

/// Runs the full-text part of a filter (see [`yijian_app::App::search_ids`]).
async fn search_ids(
    state: &AppState,
    consultation: &str,
    q: &QueueFilter,
    lang: Lang,
) -> Result<Option<(Vec<i64>, usize)>, WebError> {
    state.app.search_ids(consultation, q).await.map_err(|e| match e {
        yijian_app::review::SearchFailure::Unavailable => WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::SearchUnavailable,
            lang,
            texts(lang).full_text_search_is_not,
        ),
        e => WebError::internal(lang, e),
    })
}

async fn run_queue(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    f: &Fields,
    lang: Lang,
) -> Result<(QueueFilter, QueuePage, Option<usize>), WebError> {
    let filter = queue_filter(f, &c.tz, lang).map_err(|m| WebError::bad(lang, m))?;
    let (before, limit) = cursor_and_limit(f, PAGE_SIZE, lang)?;
    let hits = search_ids(state, &c.meta.id, &filter, lang).await?;
    let page = state
        .app
        .queue(user, &c.meta.id, &filter, hits.as_ref().map(|(ids, _)| ids.as_slice()), before, limit)
        .await
        .map_err(|e| WebError::app(lang, e))?;
    Ok((filter, page, hits.map(|(_, total)| total)))
}

/// A keyset page's `before` cursor and its `limit` (1 to 500, `default` when not given).
pub(crate) fn cursor_and_limit(f: &Fields, default: usize, lang: Lang) -> Result<(Option<i64>, usize), WebError> {
    let before = match f.get("before") {
        Some(b) => Some(b.parse::<i64>().map_err(|_| WebError::bad(lang, texts(lang).bad_page_cursor.into()))?),
        None => None,
    };
    let limit = match f.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| WebError::bad(lang, texts(lang).limit_must_be_between_1.into()))?,
        None => default,
    };
    Ok((before, limit))
}

fn item_json(c: &LiveConsultation, i: &QueueItem, suggested: &[ArticleSuggestion]) -> Value {
    json!({
        "receipt": i.receipt.to_string(),
        "submitted_at": c.meta.rfc3339(i.submitted_at),
        "channel": i.channel,
        "name": i.name,
        "position": i.position,
        "articles": i.articles,
        "opening": i.opening,
        "opinion_chars": i.opinion_chars,
        "disposition": i.disposition.map(|d| d.as_str()),
        "moderation": i.moderation,
        "tags": i.tags,
        "timing": i.timing,
        "campaign": i.campaign,
        "suggested_articles": suggested,
    })
}

// ------------------------------------------------------------------------------------------
// The queue page
// ------------------------------------------------------------------------------------------

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(options: Vec<(String, String)>, current: Option<&str>) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice { selected: current == Some(value.as_str()), value, label })
        .collect()
}

struct Row {
    receipt: String,
    when: String,
    channel: String,
    position: String,
    articles: String,
    state: String,
    moderation: String,
    tags: String,
    /// 开始前收到 / 截止后收到, for mail outside the window.
    timing: String,
    campaign: Option<i64>,
    /// Issue 14: open suggestions at or above the shown threshold, as chips.
    suggested: Vec<String>,
    opening: String,
    more: bool,
}

#[derive(Template)]
#[template(path = "admin_queue.html")]
struct QueuePageView {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    is_admin: bool,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
    q: String,
    tag: String,
    from: String,
    until: String,
    statuses: Vec<Choice>,
    articles: Vec<Choice>,
    positions: Vec<Choice>,
    channels: Vec<Choice>,
    dispositions: Vec<Choice>,
    moderations: Vec<Choice>,
    campaigns: Vec<Choice>,
    /// Issue 13: the signal filter.
    signals: Vec<Choice>,
    /// Issue 14: the suggestion filter (articles with their open suggestions counted) and its
    /// lowest confidence; the article of the filter, for the bulk accept and reject.
    suggested: Vec<Choice>,
    confidence: String,
    suggested_article: Option<(u32, String)>,
    rows: Vec<Row>,
    total: String,
    search_note: Option<String>,
    next_href: Option<String>,
    hidden: Vec<(&'static str, String)>,
    article_numbers: Vec<(u32, String)>,
    disposition_options: Vec<(String, String)>,
    moderation_options: Vec<(String, String)>,
    filtered: bool,
}

fn any(lang: Lang) -> (String, String) {
    (String::new(), texts(lang).any_value.to_string())
}

/// When a mail arrived against the consultation's dates, in a word.
pub(crate) fn timing_label(t: yijian_store::Timing, lang: Lang) -> &'static str {
    match t {
        yijian_store::Timing::Early => texts(lang).timing_early,
        yijian_store::Timing::Late => texts(lang).timing_late,
    }
}

pub async fn queue_page(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (page, search_total, error) = match run_queue(&state, &user, &c, &f, lang).await {
        Ok((_, page, total)) => (Some(page), total, None),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => (None, None, Some(e.message)),
        Err(e) => return Err(e),
    };
    let message = f.get("done").map(|n| texts(lang).comments_changed.replace("{n}", n));
    let current = |k: &str| f.get(k).map(String::from);
    let cur = |k: &str| current(k);
    let mut statuses = vec![any(lang)];
    statuses.extend(
        [ReviewStatus::Received, ReviewStatus::Disposed].map(|s| (s.as_str().to_string(), s.label(lang).to_string())),
    );
    let mut articles = vec![any(lang)];
    articles.extend(
        c.document.articles().map(|a| (a.number.to_string(), format!("{} {}", article_label(a.number, lang), a.title))),
    );
    let mut positions = vec![any(lang)];
    positions.extend(c.meta.positions.iter().map(|p| (p.clone(), p.clone())));
    let mut channels = vec![any(lang)];
    channels.extend(["web", "api", "email", "manual"].map(|ch| (ch.to_string(), channel_label(ch, lang).to_string())));
    let mut dispositions = vec![any(lang)];
    dispositions.extend(Disposition::ALL.map(|d| (d.as_str().to_string(), d.label(lang).to_string())));
    let mut moderations = vec![
        any(lang),
        ("none".into(), texts(lang).unmarked.to_string()),
        ("any".into(), texts(lang).marked.to_string()),
    ];
    moderations.extend(Moderation::ALL.map(|m| (m.as_str().to_string(), m.label(lang).to_string())));
    let mut campaigns = vec![
        any(lang),
        ("only".into(), texts(lang).campaigns_only.to_string()),
        ("none".into(), texts(lang).no_campaigns.to_string()),
    ];
    if let Some(k) = f.get("campaign").filter(|k| !matches!(*k, "only" | "none")) {
        campaigns.push((k.to_string(), texts(lang).in_campaign.replace("{n}", k)));
    }
    let pairs = filter_pairs(&f);
    let ids: Vec<i64> = page.as_ref().map(|p| p.items.iter().map(|i| i.id).collect()).unwrap_or_default();
    let open = state.app.open_suggestions(&user, &c.meta.id, &ids).await.map_err(|e| WebError::app(lang, e))?;
    let chips = |id: i64| -> Vec<String> {
        open.get(&id)
            .map(|list| {
                list.iter()
                    .filter(|s| s.confidence >= yijian_domain::suggestion::SHOW_THRESHOLD)
                    .map(|s| {
                        texts(lang)
                            .suggested_chip
                            .replace("{article}", &article_label(s.article, lang))
                            .replace("{confidence}", &format!("{:.2}", s.confidence))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    // No counts beside the articles: counting every open suggestion on each page view would
    // read a million index entries at a million comments.
    let mut suggested = vec![(String::new(), texts(lang).suggested_any.to_string())];
    suggested.extend(c.document.articles().map(|a| (a.number.to_string(), article_label(a.number, lang))));
    let suggested_filter = queue_filter(&f, &c.tz, lang).ok().and_then(|q| q.suggested);
    let rows = page
        .as_ref()
        .map(|p| {
            p.items
                .iter()
                .map(|i| Row {
                    receipt: i.receipt.to_string(),
                    when: c.meta.rfc3339(i.submitted_at).replace('T', " ").chars().take(16).collect(),
                    channel: channel_label(&i.channel, lang).to_string(),
                    position: i.position.clone().unwrap_or_default(),
                    articles: i.articles.iter().map(|n| article_label(*n, lang)).collect::<Vec<_>>().join("、"),
                    state: i
                        .disposition
                        .map(|d| d.label(lang).to_string())
                        .unwrap_or_else(|| ReviewStatus::Received.label(lang).to_string()),
                    moderation: i
                        .moderation
                        .as_deref()
                        .and_then(Moderation::parse)
                        .map(|m| m.label(lang).to_string())
                        .unwrap_or_default(),
                    tags: i.tags.join("、"),
                    timing: match i.timing.as_deref().and_then(yijian_store::Timing::parse) {
                        Some(yijian_store::Timing::Early) => texts(lang).arrived_early.to_string(),
                        Some(yijian_store::Timing::Late) => texts(lang).arrived_late.to_string(),
                        None => String::new(),
                    },
                    campaign: i.campaign,
                    suggested: chips(i.id),
                    opening: i.opening.clone(),
                    more: i.opinion_chars > i.opening.chars().count(),
                })
                .collect()
        })
        .unwrap_or_default();
    let total = match &page {
        Some(p) if p.capped => texts(lang).more_than_n.replace("{n}", &p.total.to_string()),
        Some(p) => texts(lang).n_in_all.replace("{n}", &p.total.to_string()),
        None => String::new(),
    };
    let search_note = search_total
        .filter(|n| *n > SEARCH_CAP)
        .map(|n| texts(lang).search_capped.replace("{n}", &n.to_string()).replace("{cap}", &SEARCH_CAP.to_string()));
    let next_href = page.as_ref().and_then(|p| p.next_before).map(|b| {
        let mut pairs = pairs.clone();
        pairs.push(("before", b.to_string()));
        format!("/admin/c/{}?{}", c.meta.id, query_string(&pairs))
    });
    let csrf = crate::csrf::token_for(&state, &headers);
    let view = QueuePageView {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}?lang=en", c.meta.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        is_admin: user.role == yijian_domain::staff::Role::Admin,
        csrf: csrf.clone(),
        message,
        error,
        q: cur("q").unwrap_or_default(),
        tag: cur("tag").unwrap_or_default(),
        from: cur("from").unwrap_or_default(),
        until: cur("until").unwrap_or_default(),
        statuses: choices(statuses, f.get("status")),
        articles: choices(articles, f.get("article")),
        positions: choices(positions, f.get("position")),
        channels: choices(channels, f.get("channel")),
        dispositions: choices(dispositions, f.get("disposition")),
        moderations: choices(moderations, f.get("moderation")),
        campaigns: choices(campaigns, f.get("campaign")),
        signals: choices(
            std::iter::once((String::new(), texts(lang).signal_any.to_string()))
                .chain(yijian_domain::signals::Signal::ALL.map(|s| (s.as_str().to_string(), s.label(lang).to_string())))
                .collect(),
            f.get("signal"),
        ),
        suggested: choices(suggested, f.get("suggested")),
        confidence: cur("confidence").unwrap_or_default(),
        suggested_article: suggested_filter.map(|s| (s.article, format!("{:.2}", s.min_confidence()))).map(
            |(a, conf)| {
                (
                    a,
                    texts(lang)
                        .bulk_suggestions_note
                        .replace("{article}", &article_label(a, lang))
                        .replace("{confidence}", &conf),
                )
            },
        ),
        rows,
        total,
        search_note,
        next_href,
        hidden: pairs.clone(),
        article_numbers: c.document.articles().map(|a| (a.number, article_label(a.number, lang))).collect(),
        disposition_options: Disposition::ALL.map(|d| (d.as_str().to_string(), d.label(lang).to_string())).to_vec(),
        moderation_options: Moderation::ALL.map(|m| (m.as_str().to_string(), m.label(lang).to_string())).to_vec(),
        filtered: !pairs.is_empty(),
    };
    let status = if view.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&view), lang, false), &csrf))
}

pub(crate) use yijian_domain::messages::{article_label, channel_label};

pub async fn api_queue(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (_, page, search_total) = run_queue(&state, &user, &c, &f, lang).await?;
    let ids: Vec<i64> = page.items.iter().map(|i| i.id).collect();
    let open = state.app.open_suggestions(&user, &c.meta.id, &ids).await.map_err(|e| WebError::app(lang, e))?;
    Ok(Json(json!({
        "total": page.total,
        "total_is_lower_bound": page.capped,
        "search_matches": search_total,
        "next_before": page.next_before,
        "items": page.items.iter().map(|i| item_json(&c, i, open.get(&i.id).map(Vec::as_slice).unwrap_or_default())).collect::<Vec<_>>(),
    })))
}

// ------------------------------------------------------------------------------------------
// Actions
// ------------------------------------------------------------------------------------------

/// Applies an action to the comments a target names. A bulk action is written to the audit
/// log with its filter and how many comments it changed.
async fn apply_action(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    target: Target<'_>,
    action: &ReviewAction,
    lang: Lang,
) -> Result<u64, WebError> {
    action.check(&c.rules.articles).map_err(|e| WebError::bad(lang, action_message(e, lang)))?;
    let changed = state.app.review(user, c, target, action, Timestamp::now()).await.map_err(|e| match e {
        yijian_app::Error::Review(ReviewError::NotFound) => {
            WebError::new(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, lang, texts(lang).no_such_comment_in_this)
        }
        yijian_app::Error::Review(ReviewError::ExcerptNotInOpinion) => {
            WebError::bad(lang, action_message(yijian_domain::review::ActionError::ExcerptNotInOpinion, lang))
        }
        yijian_app::Error::Review(ReviewError::ExcerptInBulk) => {
            WebError::bad(lang, texts(lang).excerpts_are_chosen_one_comment.into())
        }
        e => WebError::app(lang, e),
    })?;
    Ok(changed)
}

async fn bulk_target(
    state: &AppState,
    c: &LiveConsultation,
    f: &Fields,
    lang: Lang,
) -> Result<(QueueFilter, Option<Vec<i64>>), WebError> {
    let filter = queue_filter(f, &c.tz, lang).map_err(|m| WebError::bad(lang, m))?;
    let ids = search_ids(state, &c.meta.id, &filter, lang).await?.map(|(ids, _)| ids);
    Ok((filter, ids))
}

/// Runs one action on every comment a filter selects; for the page and the API alike.
async fn bulk_action(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    filter_fields: &Fields,
    action_fields: &Fields,
    lang: Lang,
) -> Result<u64, WebError> {
    let action = review_action(action_fields, lang).map_err(|m| WebError::bad(lang, m))?;
    let (filter, ids) = bulk_target(state, c, filter_fields, lang).await?;
    apply_action(state, user, c, Target::Filtered { filter: &filter, ids: ids.as_deref() }, &action, lang).await
}

/// `POST /admin/c/{id}/bulk`: an action on every comment the posted filter selects.
pub async fn bulk(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    CsrfForm(f): CsrfForm,
) -> Result<Response, WebError> {
    // The filter travels as `filter.KEY` fields, apart from the action's own fields (a filter
    // on `disposition` and the disposition to set are different things).
    let filter_fields =
        Fields(f.0.iter().filter_map(|(k, v)| k.strip_prefix("filter.").map(|k| (k.to_string(), v.clone()))).collect());
    let n = bulk_action(&state, &user, &c, &filter_fields, &f, lang).await?;
    let mut pairs = filter_pairs(&filter_fields);
    pairs.push(("done", n.to_string()));
    Ok(Redirect::to(&format!("/admin/c/{}?{}", c.meta.id, query_string(&pairs))).into_response())
}

/// `POST /api/v1/admin/consultations/{id}/review`: `{"filter": {...}, "action": "dispose", ...}`.
pub async fn api_bulk(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    StaffJson(v): StaffJson,
) -> Result<Json<Value>, WebError> {
    let malformed =
        || WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, texts(lang).the_body_must_be_filter);
    let filter_fields = Fields::from_json(v.get("filter").unwrap_or(&json!({}))).ok_or_else(malformed)?;
    let mut action_value = v.clone();
    if let Some(o) = action_value.as_object_mut() {
        o.remove("filter");
    }
    let action_fields = Fields::from_json(&action_value).ok_or_else(malformed)?;
    let n = bulk_action(&state, &user, &c, &filter_fields, &action_fields, lang).await?;
    Ok(Json(json!({"changed": n})))
}

/// One action on the comment with this tracking number; for the page and the API alike.
async fn review_by_receipt(
    state: &AppState,
    user: &SessionUser,
    receipt: &str,
    f: &Fields,
    lang: Lang,
) -> Result<(String, u64), WebError> {
    let not_found =
        || WebError::new(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, lang, texts(lang).no_such_comment);
    let r = yijian_domain::receipt::Receipt::parse(receipt).ok_or_else(not_found)?;
    let info = state.app.receipt(&r).await.map_err(|e| WebError::app(lang, e))?.ok_or_else(not_found)?;
    let c = staff_consultation(state, &info.consultation_id, lang).await?;
    let action = review_action(f, lang).map_err(|m| WebError::bad(lang, m))?;
    let n = apply_action(state, user, &c, Target::One(r), &action, lang).await?;
    Ok((r.to_string(), n))
}

/// `POST /admin/comments/{receipt}/review`: one action on one comment, then back to it.
pub async fn review_one(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    Path(receipt): Path<String>,
    headers: HeaderMap,
    form: Result<CsrfForm, WebError>,
) -> Result<Response, WebError> {
    let result = match form {
        Ok(CsrfForm(f)) => review_by_receipt(&state, &user, &receipt, &f, lang).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((r, _)) => Ok(Redirect::to(&format!("/admin/comments/{r}?done=1")).into_response()),
        // The comment comes back with what was wrong.
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::FORBIDDEN => {
            Ok(crate::admin::comment_page(&state, &user, &headers, &receipt, None, e.status, Some(e.message)).await)
        }
        Err(e) => Err(e),
    }
}

/// `POST /api/v1/admin/comments/{receipt}/review`
pub async fn api_review_one(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    Path(receipt): Path<String>,
    Form(f): Form,
) -> Result<Json<Value>, WebError> {
    let (r, n) = review_by_receipt(&state, &user, &receipt, &f, lang).await?;
    Ok(Json(json!({"receipt": r, "changed": n})))
}

// ------------------------------------------------------------------------------------------
// Manual entry
// ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_manual.html")]
struct ManualPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    csrf: String,
    errors: Vec<(String, String)>,
    values: std::collections::HashMap<String, String>,
    positions: Vec<Choice>,
    articles: Vec<(u32, String, bool)>,
    done: Option<(String, String)>,
}

impl ManualPage {
    fn value(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }
}

fn manual_page(
    state: &AppState,
    c: &LiveConsultation,
    headers: &HeaderMap,
    status: StatusCode,
    f: &Fields,
    errors: Vec<(String, String)>,
    done: Option<(String, String)>,
) -> Response {
    let lang = crate::extract::lang_of(headers);
    let csrf = crate::csrf::token_for(state, headers);
    let chosen: Vec<&str> = f.all("articles");
    let mut positions = vec![(String::new(), texts(lang).not_given.to_string())];
    positions.extend(c.meta.positions.iter().map(|p| (p.clone(), p.clone())));
    let page = ManualPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/manual?lang=en", c.meta.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        csrf: csrf.clone(),
        errors,
        values: if done.is_some() {
            Default::default()
        } else {
            f.0.iter().filter(|&(k, _)| k != "csrf").cloned().collect()
        },
        positions: choices(positions, if done.is_some() { None } else { f.get("position") }),
        articles: c
            .document
            .articles()
            .map(|a| {
                (
                    a.number,
                    format!("{} {}", article_label(a.number, lang), a.title),
                    done.is_none() && chosen.contains(&a.number.to_string().as_str()),
                )
            })
            .collect(),
        done,
    };
    crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf)
}

pub async fn manual_form(
    State(state): State<AppState>,
    StaffConsultation(c): StaffConsultation,
    headers: HeaderMap,
) -> Response {
    manual_page(&state, &c, &headers, StatusCode::OK, &Fields::default(), vec![], None)
}

/// Checks and stores a manual entry; the receipt comes back only once it is on disk.
async fn enter_by_hand(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    f: &Fields,
    lang: Lang,
) -> Result<Result<(String, Timestamp), Vec<(String, String)>>, WebError> {
    let articles = f.all("articles");
    let entered = state.app.enter_comment(user, c, &f.map(), &articles, Timestamp::now()).await;
    match entered.map_err(|e| WebError::app(lang, e))? {
        Ok((receipt, at)) => Ok(Ok((receipt.to_string(), at))),
        Err(errors) => Ok(Err(errors
            .iter()
            .map(|e| (e.field.to_string(), yijian_domain::messages::field_message(e, lang)))
            .collect())),
    }
}

/// `POST /admin/c/{id}/manual`: the form comes back empty with the receipt, or as it was with
/// what is wrong.
pub async fn manual_submit(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    headers: HeaderMap,
    Form(f): Form<{ 256 * 1024 }>,
) -> Result<Response, WebError> {
    let (status, errors, done) = match crate::extract::check_csrf(&state, &headers, &f, lang) {
        Err(e) => (e.status, vec![("csrf".into(), e.message)], None),
        Ok(()) => match enter_by_hand(&state, &user, &c, &f, lang).await? {
            Ok((receipt, at)) => (StatusCode::CREATED, vec![], Some((receipt, c.meta.rfc3339(at)))),
            Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        },
    };
    Ok(manual_page(&state, &c, &headers, status, &f, errors, done))
}

/// `POST /api/v1/admin/consultations/{id}/comments`
pub async fn api_manual(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Form(f): Form<{ 256 * 1024 }>,
) -> Result<Response, WebError> {
    Ok(match enter_by_hand(&state, &user, &c, &f, lang).await? {
        Ok((receipt, at)) => (
            StatusCode::CREATED,
            Json(json!({"receipt": receipt, "submitted_at": c.meta.rfc3339(at), "channel": "manual"})),
        )
            .into_response(),
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"errors": errors.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>()})),
        )
            .into_response(),
    })
}

// ------------------------------------------------------------------------------------------
// The dashboard
// ------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct DashboardPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    /// "N comments, of which M in K campaigns".
    counts: String,
    charts: Vec<String>,
}

async fn dashboard_data(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    lang: Lang,
) -> Result<yijian_store::Dashboard, WebError> {
    state.app.dashboard(user, c).await.map_err(|e| WebError::app(lang, e))
}

fn label_of(kind: &str, key: &str, lang: Lang) -> String {
    match (kind, key) {
        (_, "") => texts(lang).none_in_brackets.to_string(),
        ("channel", ch) => channel_label(ch, lang).to_string(),
        ("disposition", d) => Disposition::parse(d).map(|d| d.label(lang).to_string()).unwrap_or_else(|| d.to_string()),
        ("moderation", m) => Moderation::parse(m).map(|m| m.label(lang).to_string()).unwrap_or_else(|| m.to_string()),
        (_, k) => k.to_string(),
    }
}

pub async fn dashboard(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
) -> Result<Response, WebError> {
    let id = &c.meta.id;
    let d = dashboard_data(&state, &user, &c, lang).await?;
    let u = |n: i64| n.max(0) as u64;
    let per_day: Vec<(String, u64)> = d.per_day.iter().map(|(day, n)| (day.to_string(), u(*n))).collect();
    let by_article: Vec<(String, u64)> = c
        .document
        .articles()
        .map(|a| {
            let n = d.by_article.iter().find(|(x, _)| *x == a.number).map(|(_, n)| u(*n)).unwrap_or(0);
            (format!("{} {}", article_label(a.number, lang), a.title), n)
        })
        .collect();
    let group = |kind: &str, rows: &[(String, i64)]| -> Vec<(String, u64)> {
        rows.iter().map(|(k, n)| (label_of(kind, k, lang), u(*n))).collect()
    };
    let charts = vec![
        yijian_formats::svg::time_series(texts(lang).comments_per_day, &per_day),
        yijian_formats::svg::bar_chart(texts(lang).comments_by_article, &by_article),
        yijian_formats::svg::bar_chart(texts(lang).by_position, &group("position", &d.by_position)),
        yijian_formats::svg::bar_chart(texts(lang).by_channel, &group("channel", &d.by_channel)),
        yijian_formats::svg::bar_chart(texts(lang).by_disposition, &group("disposition", &d.by_disposition)),
        yijian_formats::svg::bar_chart(texts(lang).by_moderation_mark, &group("moderation", &d.by_moderation)),
    ];
    let page = DashboardPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{id}/dashboard?lang=en"),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        counts: texts(lang)
            .campaign_counts
            .replace("{n}", &d.comments.to_string())
            .replace("{m}", &d.in_campaigns.to_string())
            .replace("{k}", &d.campaigns.to_string()),
        charts,
    };
    Ok(crate::pages::html(StatusCode::OK, crate::pages::render(&page), lang, false))
}

pub async fn api_dashboard(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
) -> Result<Json<Value>, WebError> {
    let d = dashboard_data(&state, &user, &c, lang).await?;
    let obj = |rows: &[(String, i64)]| rows.iter().map(|(k, n)| json!({"key": k, "comments": n})).collect::<Vec<_>>();
    Ok(Json(json!({
        "comments": d.comments,
        "in_campaigns": d.in_campaigns,
        "campaigns": d.campaigns,
        "campaigns_by_article": d.campaigns_by_article.iter()
            .map(|(a, m, k)| json!({"article": a, "in_campaigns": m, "campaigns": k}))
            .collect::<Vec<_>>(),
        "per_day": d.per_day.iter().map(|(day, n)| json!({"date": day.to_string(), "comments": n})).collect::<Vec<_>>(),
        "by_article": d.by_article.iter().map(|(a, n)| json!({"article": a, "comments": n})).collect::<Vec<_>>(),
        "by_position": obj(&d.by_position),
        "by_channel": obj(&d.by_channel),
        "by_disposition": obj(&d.by_disposition),
        "by_moderation": obj(&d.by_moderation),
    })))
}
