//! Themes in the back office and the staff API (issue 14): the themes of each article and of the
//! draft as a whole, one theme with its members, and what staff do with a theme (rename,
//! confirm, merge, split, move comments, decide). The use cases are `yijian_app::themes`.

use askama::Template;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use yijian_app::themes::ThemeAction;
use yijian_domain::Lang;
use yijian_domain::review::{Disposition, ReviewStatus};
use yijian_domain::theme::Theme;
use yijian_store::{SessionUser, ThemeMember};

use crate::error::{ErrorCode, WebError};
use crate::extract::{CsrfForm, Language, Staff, StaffConsultation, StaffJson};
use crate::forms::Fields;
use crate::review::article_label;
use crate::texts::{Texts, texts};
use crate::{AppState, LiveConsultation};

const MEMBERS_SIZE: usize = 50;

fn not_found(lang: Lang) -> WebError {
    WebError::new(StatusCode::NOT_FOUND, ErrorCode::ThemeNotFound, lang, texts(lang).no_such_theme)
}

fn app_error(lang: Lang, e: yijian_app::Error) -> WebError {
    let t = texts(lang);
    match e {
        yijian_app::Error::NotFound(_) => not_found(lang),
        yijian_app::Error::Invalid("bad_label") => WebError::bad(lang, t.theme_bad_label.into()),
        yijian_app::Error::Invalid("other_article") => WebError::bad(lang, t.theme_other_article.into()),
        yijian_app::Error::Invalid("reason_required") => WebError::bad(lang, t.theme_reason_required.into()),
        yijian_app::Error::Invalid(_) => WebError::bad(lang, t.theme_unknown_comment.into()),
        e => WebError::app(lang, e),
    }
}

fn scope_label(article: Option<u32>, lang: Lang) -> String {
    match article {
        Some(a) => article_label(a, lang),
        None => texts(lang).theme_whole_draft.to_string(),
    }
}

fn theme_json(t: &Theme) -> Value {
    json!({
        "id": t.id,
        "article": t.article,
        "label": t.label,
        "named_by_staff": t.label_by.is_some(),
        "key_phrases": t.key_phrases,
        "representatives": t.representatives,
        "stance": t.stance,
        "comments": t.comments,
        "distinct_texts": t.distinct_texts,
        "confirmed": t.confirmed,
        "disposition": t.disposition.map(|d| d.as_str()),
        "disposition_reason": t.disposition_reason,
    })
}

fn member_json(m: &ThemeMember) -> Value {
    json!({"receipt": m.receipt, "opening": m.opening, "campaign": m.campaign, "disposition": m.disposition})
}

/// Reads a staff action from a form or a JSON body: `action` = `rename` (with `label`),
/// `confirm`, `unconfirm`, `merge` (with `into`, another theme of the same article), `split`
/// (with `receipts` and `label`), `move` (with `receipts`, into this theme or `into`), `dispose` (with `disposition`, a
/// disposition or `none`, and `reason`).
fn theme_action(f: &Fields, lang: Lang) -> Result<ThemeAction, WebError> {
    let t = texts(lang);
    let label = || f.get("label").unwrap_or("").to_string();
    let receipts = || f.all("receipts").into_iter().map(String::from).collect::<Vec<_>>();
    match f.get("action").unwrap_or("") {
        "rename" => Ok(ThemeAction::Rename(label())),
        "confirm" => Ok(ThemeAction::Confirm(true)),
        "unconfirm" => Ok(ThemeAction::Confirm(false)),
        "merge" => f
            .get("into")
            .and_then(|v| v.parse::<i64>().ok())
            .map(ThemeAction::MergeInto)
            .ok_or_else(|| WebError::bad(lang, t.theme_choose_another.into())),
        "split" => Ok(ThemeAction::Split { receipts: receipts(), label: label() }),
        "move" => Ok(ThemeAction::Move { receipts: receipts() }),
        "dispose" => {
            let reason = f.get("reason").unwrap_or("").to_string();
            match f.get("disposition").unwrap_or("") {
                "none" => Ok(ThemeAction::Dispose(None, reason)),
                d => Disposition::parse(d)
                    .map(|d| ThemeAction::Dispose(Some(d), reason))
                    .ok_or_else(|| WebError::bad(lang, t.choose_a_disposition.into())),
            }
        }
        other => Err(WebError::bad(lang, t.unknown_action_named.replace("{action}", other))),
    }
}

async fn act(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    theme: &str,
    f: &Fields,
    lang: Lang,
) -> Result<(u64, i64), WebError> {
    let mut id: i64 = theme.trim().parse().map_err(|_| not_found(lang))?;
    let action = theme_action(f, lang)?;
    // Comments are moved into the theme of the URL, or into `into` (the page's "move to").
    if let (ThemeAction::Move { .. }, Some(into)) = (&action, f.get("into")) {
        id = into.parse().map_err(|_| not_found(lang))?;
    }
    state.app.change_theme(user, c, id, action, Timestamp::now()).await.map_err(|e| app_error(lang, e))
}

async fn one(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    theme: &str,
    f: &Fields,
    lang: Lang,
) -> Result<(Theme, Vec<ThemeMember>, Option<i64>), WebError> {
    let id: i64 = theme.trim().parse().map_err(|_| not_found(lang))?;
    let t =
        state.app.theme(user, &c.meta.id, id).await.map_err(|e| app_error(lang, e))?.ok_or_else(|| not_found(lang))?;
    let (before, limit) = crate::review::cursor_and_limit(f, MEMBERS_SIZE, lang)?;
    let members =
        state.app.theme_members(user, &c.meta.id, id, before, limit as i64).await.map_err(|e| app_error(lang, e))?;
    let next = (members.len() == limit).then(|| members.last().map(|m| m.id)).flatten();
    Ok((t, members, next))
}

// ------------------------------------------------------------------------------------------
// The staff API
// ------------------------------------------------------------------------------------------

/// `GET /api/v1/admin/consultations/{id}/themes`: every theme, by article, largest first.
pub async fn api_list(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
) -> Result<Json<Value>, WebError> {
    let themes = state.app.themes(&user, &c.meta.id).await.map_err(|e| app_error(lang, e))?;
    Ok(Json(json!({"total": themes.len(), "items": themes.iter().map(theme_json).collect::<Vec<_>>()})))
}

/// `GET /api/v1/admin/consultations/{id}/themes/{theme}`: the theme and a page of its members
/// (newest first, keyset-paged by `before`).
pub async fn api_one(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, theme)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (t, members, next) = one(&state, &user, &c, &theme, &f, lang).await?;
    let mut v = theme_json(&t);
    v["members"] = members.iter().map(member_json).collect();
    v["next_before"] = json!(next);
    Ok(Json(v))
}

/// `POST /api/v1/admin/consultations/{id}/themes`: builds the themes, or places the comments in
/// none yet (as `yijian themes build`).
pub async fn api_build(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
) -> Result<Json<Value>, WebError> {
    let o = state.app.build_themes_for(&user, &c, Timestamp::now()).await.map_err(|e| app_error(lang, e))?;
    Ok(Json(json!({"comments": o.comments, "themes": o.themes, "seconds": o.seconds})))
}

/// `POST /admin/c/{id}/themes`: the page's "build" button.
pub async fn build_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let o = state.app.build_themes_for(&user, &c, Timestamp::now()).await.map_err(|e| app_error(lang, e))?;
    Ok(Redirect::to(&format!("/admin/c/{}/themes?built={}", c.meta.id, o.themes)).into_response())
}

/// `POST /api/v1/admin/consultations/{id}/themes/{theme}`: one staff action.
pub async fn api_act(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, theme)): Path<(String, String)>,
    StaffJson(v): StaffJson,
) -> Result<Json<Value>, WebError> {
    let f = Fields::from_json(&v).ok_or_else(|| {
        WebError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, lang, texts(lang).the_body_must_be_a)
    })?;
    let (changed, now_in) = act(&state, &user, &c, &theme, &f, lang).await?;
    Ok(Json(json!({"changed": changed, "theme": now_in})))
}

// ------------------------------------------------------------------------------------------
// The pages
// ------------------------------------------------------------------------------------------

struct ListRow {
    id: i64,
    label: String,
    stance: String,
    comments: u64,
    distinct: u64,
    confirmed: bool,
    state: String,
    representative: String,
}

#[derive(Template)]
#[template(path = "admin_themes.html")]
struct ListPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    /// (scope, its themes).
    groups: Vec<(String, Vec<ListRow>)>,
    csrf: String,
    message: Option<String>,
}

fn stance_label(s: &str, lang: Lang) -> String {
    let t = texts(lang);
    match s {
        "for" => t.stance_for,
        "against" => t.stance_against,
        "suggest" => t.stance_suggest,
        _ => t.stance_neutral,
    }
    .to_string()
}

fn state_label(t: &Theme, lang: Lang) -> String {
    t.disposition.map(|d| d.label(lang).to_string()).unwrap_or_else(|| ReviewStatus::Received.label(lang).to_string())
}

/// `GET /admin/c/{id}/themes`.
pub async fn list_page(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let themes = state.app.themes(&user, &c.meta.id).await.map_err(|e| app_error(lang, e))?;
    let mut groups: Vec<(String, Vec<ListRow>)> = vec![];
    let mut current: Option<Option<u32>> = None;
    for th in &themes {
        if current != Some(th.article) {
            current = Some(th.article);
            groups.push((scope_label(th.article, lang), vec![]));
        }
        groups.last_mut().expect("pushed").1.push(ListRow {
            id: th.id,
            label: th.label.clone(),
            stance: stance_label(&th.stance, lang),
            comments: th.comments,
            distinct: th.distinct_texts,
            confirmed: th.confirmed,
            state: state_label(th, lang),
            representative: th.representatives.first().cloned().unwrap_or_default(),
        });
    }
    let csrf = crate::csrf::token_for(&state, &headers);
    let page = ListPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/themes?lang=en", c.meta.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        groups,
        csrf: csrf.clone(),
        message: f.get("built").map(|n| texts(lang).themes_built.replace("{n}", n)),
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(StatusCode::OK, crate::pages::render(&page), lang, false), &csrf))
}

#[derive(Template)]
#[template(path = "admin_theme.html")]
struct OnePage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    title: String,
    theme: i64,
    label: String,
    scope: String,
    stance: String,
    comments: u64,
    distinct: u64,
    confirmed: bool,
    state: String,
    reason: String,
    key_phrases: String,
    representatives: Vec<String>,
    members: Vec<ThemeMember>,
    /// Other themes of the same article, to merge into or move to: (id, label).
    others: Vec<(i64, String)>,
    next_href: Option<String>,
    csrf: String,
    message: Option<String>,
    disposition_options: Vec<(String, String)>,
}

/// `GET /admin/c/{id}/themes/{theme}`.
pub async fn one_page(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, theme)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    let f = Fields::from_urlencoded(query.unwrap_or_default().as_bytes());
    let (th, members, next) = one(&state, &user, &c, &theme, &f, lang).await?;
    let others = state
        .app
        .themes(&user, &c.meta.id)
        .await
        .map_err(|e| app_error(lang, e))?
        .into_iter()
        .filter(|o| o.article == th.article && o.id != th.id)
        .map(|o| (o.id, o.label))
        .collect();
    let csrf = crate::csrf::token_for(&state, &headers);
    let view = OnePage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{}/themes/{}?lang=en", c.meta.id, th.id),
        id: c.meta.id.clone(),
        title: c.meta.title.clone(),
        theme: th.id,
        label: th.label.clone(),
        scope: scope_label(th.article, lang),
        stance: stance_label(&th.stance, lang),
        comments: th.comments,
        distinct: th.distinct_texts,
        confirmed: th.confirmed,
        state: state_label(&th, lang),
        reason: th.disposition_reason.clone().unwrap_or_default(),
        key_phrases: th.key_phrases.join("、"),
        representatives: th.representatives.clone(),
        members,
        others,
        next_href: next.map(|b| format!("/admin/c/{}/themes/{}?before={b}", c.meta.id, th.id)),
        csrf: csrf.clone(),
        message: f.get("done").map(|n| texts(lang).comments_changed.replace("{n}", n)),
        disposition_options: Disposition::ALL.map(|d| (d.as_str().to_string(), d.label(lang).to_string())).to_vec(),
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(StatusCode::OK, crate::pages::render(&view), lang, false), &csrf))
}

/// `POST /admin/c/{id}/themes/{theme}`: one staff action, then the theme the comments are in.
pub async fn act_post(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Path((_, theme)): Path<(String, String)>,
    CsrfForm(f): CsrfForm,
) -> Result<Response, WebError> {
    let (n, now_in) = act(&state, &user, &c, &theme, &f, lang).await?;
    Ok(Redirect::to(&format!("/admin/c/{}/themes/{now_in}?done={n}", c.meta.id)).into_response())
}
