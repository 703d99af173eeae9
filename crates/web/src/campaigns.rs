//! Campaigns in the back office and the staff API: the list (one row per campaign), one
//! campaign (its representative text, arrivals, members with what each changed), and a
//! decision on the campaign as a whole. The use cases are `yijian_app::campaigns`.

use askama::Template;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use yijian_app::campaigns::{CampaignMember, MemberPage, Span};
use yijian_domain::Lang;
use yijian_domain::campaign::{Campaign, histogram};
use yijian_domain::review::{ReviewStatus, action_message};
use yijian_store::{CampaignSummary, SessionUser};

use crate::error::{ErrorCode, WebError};
use crate::extract::{CsrfForm, Language, Staff, StaffConsultation, StaffJson};
use crate::forms::{Fields, review_action};
use crate::texts::{Texts, texts};
use crate::{AppState, LiveConsultation};

const LIST_SIZE: i64 = 50;
/// Short answers shown beside the campaigns.
const SHORT_ANSWERS: usize = 20;
const MEMBERS_SIZE: usize = 50;
/// Bars in a campaign's arrival histogram.
const BARS: usize = 24;

fn not_found(lang: Lang) -> WebError {
    WebError::new(StatusCode::NOT_FOUND, ErrorCode::CampaignNotFound, lang, texts(lang).no_such_campaign)
}

fn app_error(lang: Lang, e: yijian_app::Error) -> WebError {
    match e {
        yijian_app::Error::NotFound(_) => not_found(lang),
        yijian_app::Error::Invalid(_) => WebError::bad(lang, texts(lang).excerpts_are_chosen_one_comment.into()),
        e => WebError::app(lang, e),
    }
}

fn paging(f: &Fields, default: i64, lang: Lang) -> Result<(i64, i64), WebError> {
    let offset = match f.get("offset") {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| WebError::bad(lang, texts(lang).bad_page_cursor.into()))?,
        None => 0,
    };
    let (_, limit) = crate::review::cursor_and_limit(f, default as usize, lang)?;
    let limit = limit as i64;
    Ok((offset, limit))
}

fn campaign_json(c: &LiveConsultation, k: &Campaign) -> Value {
    let d = &k.decision;
    json!({
        "id": k.id,
        "size": k.size,
        "first_at": c.meta.rfc3339(k.first_at),
        "last_at": c.meta.rfc3339(k.last_at),
        "decision": {
            "disposition": d.disposition.map(|x| x.as_str()),
            "disposition_reason": d.disposition_reason,
            "moderation": d.moderation.map(|x| x.as_str()),
            "moderation_reason": d.moderation_reason,
            "tags": d.tags,
            "later_members_inherit": d.inherit,
            "decided_by": d.decided_by,
            "decided_at": d.decided_at.map(|t| c.meta.rfc3339(t)),
        },
    })
}

fn span_json(s: &Span) -> Value {
    match s {
        Span::Same(t) => json!({"same": t}),
        Span::Added(t) => json!({"added": t}),
        Span::Removed(t) => json!({"removed": t}),
    }
}

async fn list(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    f: &Fields,
    lang: Lang,
) -> Result<(Vec<CampaignSummary>, i64, i64, i64), WebError> {
    let (offset, limit) = paging(f, LIST_SIZE, lang)?;
    let (items, total) = state.app.campaigns(user, &c.meta.id, offset, limit).await.map_err(|e| app_error(lang, e))?;
    Ok((items, total, offset, limit))
}

async fn one(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    campaign: &str,
    f: &Fields,
    lang: Lang,
) -> Result<(Campaign, Vec<Timestamp>, MemberPage), WebError> {
    let id: i64 = campaign.parse().map_err(|_| not_found(lang))?;
    let (k, arrivals) = state.app.campaign(user, &c.meta.id, id).await.map_err(|e| app_error(lang, e))?;
    let (before, limit) = crate::review::cursor_and_limit(f, MEMBERS_SIZE, lang)?;
    let page = state.app.campaign_members(user, &c.meta.id, &k, before, limit).await.map_err(|e| app_error(lang, e))?;
    Ok((k, arrivals, page))
}

// ------------------------------------------------------------------------------------------
// The staff API
// ------------------------------------------------------------------------------------------

/// `GET /api/v1/admin/consultations/{id}/campaigns`: largest first, paged by `offset`.
pub async fn api_list(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (items, total, offset, limit) = list(&state, &user, &c, &f, lang).await?;
    let short = state.app.short_answers(&user, &c.meta.id, SHORT_ANSWERS).await.map_err(|e| app_error(lang, e))?;
    let next = offset + (items.len() as i64);
    Ok(Json(json!({
        "total": total,
        "short_answers": short.iter().map(|s| json!({"text": s.text, "comments": s.comments})).collect::<Vec<_>>(),
        "next_offset": (next < total && items.len() as i64 == limit).then_some(next),
        "items": items.iter().map(|s| {
            let mut v = campaign_json(&c, &s.campaign);
            v["representative"] = json!({"receipt": s.representative_receipt, "opening": s.opening});
            v
        }).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/admin/consultations/{id}/campaigns/{campaign}`: the campaign, its arrivals, and
/// a page of its members (newest first, keyset-paged by `before`), each with its difference
/// from the representative's text.
pub async fn api_one(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, campaign)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (k, arrivals, page) = one(&state, &user, &c, &campaign, &f, lang).await?;
    let mut v = campaign_json(&c, &k);
    v["representative"] = json!({"text": page.representative_text});
    v["arrivals"] = histogram(&arrivals, BARS)
        .into_iter()
        .map(|(t, n)| json!({"from": c.meta.rfc3339(t), "comments": n}))
        .collect();
    v["members"] = page
        .members
        .iter()
        .map(|m: &CampaignMember| {
            json!({
                "receipt": m.item.receipt.to_string(),
                "submitted_at": c.meta.rfc3339(m.item.submitted_at),
                "channel": m.item.channel,
                "disposition": m.item.disposition.map(|d| d.as_str()),
                "moderation": m.item.moderation,
                "tags": m.item.tags,
                "diff": m.diff.iter().map(span_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    v["next_before"] = json!(page.next_before);
    Ok(Json(v))
}

/// Applies a review action to every member of a campaign and records it on the campaign.
async fn decide(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    campaign: &str,
    f: &Fields,
    lang: Lang,
) -> Result<u64, WebError> {
    let id: i64 = campaign.parse().map_err(|_| not_found(lang))?;
    let action = review_action(f, lang).map_err(|m| WebError::bad(lang, m))?;
    action.check(&c.rules.articles).map_err(|e| WebError::bad(lang, action_message(e, lang)))?;
    let inherit = matches!(f.get("inherit"), Some("on" | "true" | "1" | "yes"));
    state
        .app
        .decide_campaign(user, &c.meta.id, id, &action, inherit, Timestamp::now())
        .await
        .map_err(|e| app_error(lang, e))
}

/// `POST /api/v1/admin/consultations/{id}/campaigns/{campaign}`: a review action (as for one
/// comment) given to every member, with `inherit: true` to give it to later members too.
pub async fn api_decide(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, campaign)): Path<(String, String)>,
    StaffJson(mut v): StaffJson,
) -> Result<Json<Value>, WebError> {
    if let Some(o) = v.as_object_mut()
        && let Some(b) = o.get("inherit").and_then(Value::as_bool)
    {
        o.insert("inherit".into(), json!(if b { "true" } else { "false" }));
    }
    let f = Fields::from_json(&v).ok_or_else(|| {
        WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, texts(lang).the_body_must_be_filter)
    })?;
    let n = decide(&state, &user, &c, &campaign, &f, lang).await?;
    Ok(Json(json!({"changed": n})))
}

// ------------------------------------------------------------------------------------------
// The pages
// ------------------------------------------------------------------------------------------

struct ListRow {
    id: i64,
    size: u64,
    span: String,
    state: String,
    receipt: String,
    opening: String,
}

#[derive(Template)]
#[template(path = "admin_campaigns.html")]
struct ListPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    counts: String,
    rows: Vec<ListRow>,
    /// (text, comments, link to them in the queue).
    short_answers: Vec<(String, u64, String)>,
    next_href: Option<String>,
}

fn day_time(c: &LiveConsultation, t: Timestamp) -> String {
    c.meta.rfc3339(t).replace('T', " ").chars().take(16).collect()
}

fn decision_label(k: &Campaign, lang: Lang) -> String {
    let d = &k.decision;
    let mut parts = vec![];
    if let Some(x) = d.disposition {
        parts.push(x.label(lang).to_string());
    }
    if let Some(m) = d.moderation {
        parts.push(m.label(lang).to_string());
    }
    parts.extend(d.tags.iter().cloned());
    if parts.is_empty() { ReviewStatus::Received.label(lang).to_string() } else { parts.join(" · ") }
}

/// `GET /admin/c/{id}/campaigns`: one row per campaign.
pub async fn list_page(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (items, total, offset, limit) = list(&state, &user, &c, &f, lang).await?;
    let d = state.app.dashboard(&user, &c).await.map_err(|e| WebError::app(lang, e))?;
    let short = state.app.short_answers(&user, &c.meta.id, SHORT_ANSWERS).await.map_err(|e| app_error(lang, e))?;
    let counts = texts(lang)
        .campaign_counts
        .replace("{n}", &d.comments.to_string())
        .replace("{m}", &d.in_campaigns.to_string())
        .replace("{k}", &d.campaigns.to_string());
    let next = offset + items.len() as i64;
    let page = ListPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/campaigns?lang=en", c.meta.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        counts,
        rows: items
            .iter()
            .map(|s| ListRow {
                id: s.campaign.id,
                size: s.campaign.size,
                span: format!("{} – {}", day_time(&c, s.campaign.first_at), day_time(&c, s.campaign.last_at)),
                state: decision_label(&s.campaign, lang),
                receipt: s.representative_receipt.clone(),
                opening: s.opening.clone(),
            })
            .collect(),
        next_href: (next < total && items.len() as i64 == limit)
            .then(|| format!("/admin/c/{}/campaigns?offset={next}", c.meta.id)),
        short_answers: short
            .into_iter()
            .map(|s| {
                let href = format!(
                    "/admin/c/{}?{}",
                    c.meta.id,
                    crate::forms::query_string(&[("q", s.text.clone()), ("campaign", "none".into())])
                );
                (s.text, s.comments, href)
            })
            .collect(),
    };
    Ok(crate::pages::html(StatusCode::OK, crate::pages::render(&page), lang, false))
}

struct MemberRow {
    receipt: String,
    when: String,
    state: String,
    /// (kind, text): kind is `same`, `added` or `removed`.
    spans: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "admin_campaign.html")]
struct OnePage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    campaign: i64,
    size: u64,
    span: String,
    state: String,
    inherit: bool,
    representative: String,
    chart: String,
    members: Vec<MemberRow>,
    next_href: Option<String>,
    csrf: String,
    message: Option<String>,
    disposition_options: Vec<(String, String)>,
    moderation_options: Vec<(String, String)>,
}

/// `GET /admin/c/{id}/campaigns/{campaign}`.
pub async fn one_page(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, campaign)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (k, arrivals, page) = one(&state, &user, &c, &campaign, &f, lang).await?;
    let bars: Vec<(String, u64)> = histogram(&arrivals, BARS).into_iter().map(|(t, n)| (day_time(&c, t), n)).collect();
    let csrf = crate::csrf::token_for(&state, &headers);
    let view = OnePage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/campaigns/{}?lang=en", c.meta.id, k.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        campaign: k.id,
        size: k.size,
        span: format!("{} – {}", day_time(&c, k.first_at), day_time(&c, k.last_at)),
        state: decision_label(&k, lang),
        inherit: k.decision.inherit,
        representative: page.representative_text.clone(),
        chart: yijian_formats::svg::time_series(texts(lang).arrivals, &bars),
        members: page
            .members
            .iter()
            .map(|m| MemberRow {
                receipt: m.item.receipt.to_string(),
                when: day_time(&c, m.item.submitted_at),
                state: m
                    .item
                    .disposition
                    .map(|d| d.label(lang).to_string())
                    .unwrap_or_else(|| ReviewStatus::Received.label(lang).to_string()),
                spans: m
                    .diff
                    .iter()
                    .map(|s| match s {
                        Span::Same(t) => ("same", t.clone()),
                        Span::Added(t) => ("added", t.clone()),
                        Span::Removed(t) => ("removed", t.clone()),
                    })
                    .collect(),
            })
            .collect(),
        next_href: page.next_before.map(|b| format!("/admin/c/{}/campaigns/{}?before={b}", c.meta.id, k.id)),
        csrf: csrf.clone(),
        message: f.get("done").map(|n| texts(lang).comments_changed.replace("{n}", n)),
        disposition_options: yijian_domain::review::Disposition::ALL
            .map(|d| (d.as_str().to_string(), d.label(lang).to_string()))
            .to_vec(),
        moderation_options: yijian_domain::review::Moderation::ALL
            .map(|m| (m.as_str().to_string(), m.label(lang).to_string()))
            .to_vec(),
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(StatusCode::OK, crate::pages::render(&view), lang, false), &csrf))
}

/// `POST /admin/c/{id}/campaigns/{campaign}`: a decision on the whole campaign.
pub async fn decide_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, campaign)): Path<(String, String)>,
    CsrfForm(f): CsrfForm,
) -> Result<Response, WebError> {
    let n = decide(&state, &user, &c, &campaign, &f, lang).await?;
    Ok(Redirect::to(&format!("/admin/c/{}/campaigns/{}?done={n}", c.meta.id, campaign.trim())).into_response())
}
