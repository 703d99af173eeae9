//! The adoption report (采纳情况): built from the comments' dispositions, previewed by staff,
//! published by an admin, then public at `/c/{id}/report` as a printable page and a .docx.
//!
//! A published report is a snapshot: later reclassification changes nothing public until an
//! admin publishes again, and each publication is kept.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use yijian_domain::Lang;
use yijian_domain::report::{AdoptionReport, Section};
use yijian_domain::review::Disposition;
use yijian_domain::staff::Role;
use yijian_formats::docx::{Block, write_docx};
use yijian_store::SessionUser;

use crate::error::{ErrorCode, WebError};
use crate::extract::{CsrfForm, Form, Language, PageLanguage, Staff, StaffConsultation};
use crate::review::{article_label, channel_label};
use crate::texts::{Texts, texts};
use crate::{AppState, LiveConsultation};

/// The report as lines for people, shared by the page and the .docx.
struct View {
    title: String,
    subtitle: String,
    preface: Vec<String>,
    summary: Vec<String>,
    overall: Vec<(String, String)>,
    sections: Vec<SectionView>,
    by_channel: Vec<(String, String)>,
    by_position: Vec<(String, String)>,
}

struct SectionView {
    heading: String,
    figures: String,
    reasonings: Vec<(String, String)>,
    excerpts: Vec<String>,
    /// "N comments, of which M in K campaigns", then each campaign once with its answer.
    campaigns: Vec<String>,
    /// The main points: each confirmed theme with its count and answer, and a sentence of it.
    themes: Vec<(String, Vec<String>)>,
}

fn theme_lines(lines: &[yijian_domain::report::ThemeLine], lang: Lang) -> Vec<(String, Vec<String>)> {
    let t = texts(lang);
    lines
        .iter()
        .map(|l| {
            let mut line = t.report_theme_line.replace("{label}", &l.label).replace("{n}", &l.comments.to_string());
            if let Some(d) = l.disposition {
                line.push_str(t.list_separator);
                line.push_str(d.label(lang));
            }
            if let Some(r) = l.reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
                line.push_str(t.colon);
                line.push_str(r.trim());
            }
            (line, l.representatives.clone())
        })
        .collect()
}

/// The honest count and the campaigns of a section, each shown once.
fn campaign_lines(
    comments: u64,
    in_campaigns: u64,
    lines: &[yijian_domain::report::CampaignLine],
    lang: Lang,
) -> Vec<String> {
    if in_campaigns == 0 {
        return vec![];
    }
    let t = texts(lang);
    let mut out = vec![
        t.campaign_counts
            .replace("{n}", &comments.to_string())
            .replace("{m}", &in_campaigns.to_string())
            .replace("{k}", &lines.len().to_string()),
    ];
    out.extend(lines.iter().map(|l| {
        let mut line = t.campaign_line.replace("{n}", &l.campaign.to_string()).replace("{m}", &l.comments.to_string());
        if let Some(d) = l.disposition {
            line.push_str(t.list_separator);
            line.push_str(d.label(lang));
        }
        if let Some(r) = l.reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
            line.push_str(t.colon);
            line.push_str(r.trim());
        }
        line
    }));
    out
}

fn day(r: &AdoptionReport, t: Timestamp, lang: Lang) -> String {
    let tz = jiff::tz::TimeZone::get(&r.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let d = t.to_zoned(tz).date();
    match lang {
        Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => d.to_string(),
    }
}

fn figures(s: &Section, lang: Lang) -> String {
    let parts: Vec<String> = Disposition::ALL
        .iter()
        .filter(|d| s.counts.get(**d) > 0)
        .map(|d| format!("{} {}", d.label(lang), s.counts.get(*d)))
        .chain((s.counts.undecided > 0).then(|| format!("{} {}", texts(lang).undecided, s.counts.undecided)))
        .collect();
    if s.comments == 0 {
        texts(lang).no_comment_addressed_this_article.to_string()
    } else {
        let t = texts(lang);
        t.section_figures
            .replace("{comments}", &s.comments.to_string())
            .replace("{parts}", &parts.join(t.list_separator))
    }
}

fn section_view(s: &Section, heading: String, lang: Lang) -> SectionView {
    SectionView {
        heading,
        figures: figures(s, lang),
        reasonings: s
            .reasonings
            .iter()
            .map(|r| {
                (
                    texts(lang)
                        .reasoning_heading
                        .replace("{comments}", &r.comments.to_string())
                        .replace("{disposition}", r.disposition.label(lang)),
                    r.text.clone(),
                )
            })
            .collect(),
        excerpts: s.excerpts.clone(),
        campaigns: campaign_lines(s.comments, s.in_campaigns, &s.campaigns, lang),
        themes: theme_lines(&s.themes, lang),
    }
}

fn view(r: &AdoptionReport, published: Option<Timestamp>, lang: Lang) -> View {
    let mut sections: Vec<SectionView> = r
        .articles
        .iter()
        .map(|s| section_view(s, format!("{} {}", article_label(s.article, lang), s.title), lang))
        .collect();
    sections.push(section_view(&r.general, texts(lang).comments_on_the_draft_as.to_string(), lang));
    let last_day = r.closes_at.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap_or(r.closes_at);
    let mut summary = vec![
        texts(lang)
            .report_summary
            .replace("{from}", &day(r, r.opens_at, lang))
            .replace("{until}", &day(r, last_day, lang))
            .replace("{comments}", &r.comments.to_string()),
    ];
    if r.in_campaigns > 0 {
        summary.push(
            texts(lang)
                .campaign_counts
                .replace("{n}", &r.comments.to_string())
                .replace("{m}", &r.in_campaigns.to_string())
                .replace("{k}", &r.campaign_count.to_string()),
        );
    }
    if r.left_out_spam + r.left_out_hidden > 0 {
        summary.push(
            texts(lang)
                .report_left_out
                .replace("{spam}", &r.left_out_spam.to_string())
                .replace("{hidden}", &r.left_out_hidden.to_string()),
        );
    }
    summary.push(texts(lang).a_comment_on_several_articles.to_string());
    let mut overall: Vec<(String, String)> =
        Disposition::ALL.iter().map(|d| (d.label(lang).to_string(), r.counts.get(*d).to_string())).collect();
    overall.push((texts(lang).undecided_heading.to_string(), r.counts.undecided.to_string()));
    View {
        title: texts(lang).report_title.replace("{title}", &r.title),
        subtitle: match published {
            Some(t) => format!("{} · {}", r.issuer, texts(lang).published_on.replace("{date}", &day(r, t, lang))),
            None => format!("{} · {}", r.issuer, texts(lang).preview_not_published),
        },
        preface: r.preface.split('\n').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect(),
        summary,
        overall,
        sections,
        by_channel: r.by_channel.iter().map(|(k, n)| (channel_label(k, lang).to_string(), n.to_string())).collect(),
        by_position: r.by_position.iter().map(|(k, n)| (k.clone(), n.to_string())).collect(),
    }
}

fn docx_blocks(v: &View, lang: Lang) -> Vec<Block> {
    let mut b = vec![Block::Title(v.title.clone()), Block::Paragraph(v.subtitle.clone())];
    b.extend(v.preface.iter().cloned().map(Block::Paragraph));
    b.push(Block::Heading(1, texts(lang).n1_overview.to_string()));
    b.extend(v.summary.iter().cloned().map(Block::Paragraph));
    b.push(Block::Table {
        header: vec![texts(lang).disposition.to_string(), texts(lang).comment_count.to_string()],
        rows: v.overall.iter().map(|(k, n)| vec![k.clone(), n.clone()]).collect(),
    });
    b.push(Block::Heading(1, texts(lang).n2_article_by_article.to_string()));
    for s in &v.sections {
        b.push(Block::Heading(2, s.heading.clone()));
        b.push(Block::Paragraph(s.figures.clone()));
        b.extend(s.campaigns.iter().cloned().map(Block::Paragraph));
        if !s.themes.is_empty() {
            b.push(Block::Paragraph(texts(lang).report_main_points.to_string()));
            for (line, quotes) in &s.themes {
                b.push(Block::Paragraph(line.clone()));
                b.extend(quotes.iter().cloned().map(Block::Quote));
            }
        }
        for (label, text) in &s.reasonings {
            b.push(Block::Paragraph(format!("{label}：{text}")));
        }
        b.extend(s.excerpts.iter().cloned().map(Block::Quote));
    }
    b.push(Block::Heading(1, texts(lang).n3_where_the_comments_came.to_string()));
    b.push(Block::Table {
        header: vec![texts(lang).channel.to_string(), texts(lang).comment_count.to_string()],
        rows: v.by_channel.iter().map(|(k, n)| vec![k.clone(), n.clone()]).collect(),
    });
    b.push(Block::Table {
        header: vec![texts(lang).f_position.to_string(), texts(lang).comment_count.to_string()],
        rows: v.by_position.iter().map(|(k, n)| vec![k.clone(), n.clone()]).collect(),
    });
    b
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    t: &'static Texts,
    other_lang_href: String,
    id: String,
    v: View,
    staff: Option<StaffPart>,
}

struct StaffPart {
    csrf: String,
    is_admin: bool,
    preface: String,
    published: Option<String>,
    message: Option<String>,
}

/// `GET /c/{id}/report`: the published report, public and printable; from the response cache,
/// one entry per revision and language (a published revision never changes).
pub async fn public_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageLanguage { lang, remember }: PageLanguage,
    headers: HeaderMap,
) -> Response {
    match state.published_report(&id).await {
        Ok(Some(published)) => {
            let key = crate::cache::Fingerprint::new("report page")
                .with(&id)
                .with(published.0.to_string())
                .with(if lang == Lang::En { "en" } else { "zh" })
                .key();
            crate::pages::cached_page(&state, &key, &headers, lang, remember, || async move {
                let (_, at, r) = &*published;
                let page = ReportPage {
                    t: texts(lang),
                    other_lang_href: format!("/c/{id}/report?lang={}", if lang == Lang::En { "zh" } else { "en" }),
                    id: id.clone(),
                    v: view(r, Some(*at), lang),
                    staff: None,
                };
                Ok(crate::pages::render(&page))
            })
            .await
        }
        Ok(None) => crate::pages::message(
            StatusCode::NOT_FOUND,
            lang,
            texts(lang).no_report_yet,
            texts(lang).the_adoption_report_for_this,
        ),
        Err(e) => WebError::internal(lang, e).into_response(),
    }
}

/// `GET /c/{id}/report.docx`: the published report as a Word document staff can edit.
pub async fn public_docx(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageLanguage { lang, .. }: PageLanguage,
) -> Response {
    match state.app.published_report(&id).await {
        Ok(Some((_, at, r))) => {
            let v = view(&r, Some(at), lang);
            match write_docx(&v.title, &docx_blocks(&v, lang)) {
                Ok(bytes) => {
                    let mut res = bytes.into_response();
                    let h = res.headers_mut();
                    h.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        ),
                    );
                    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}-report.docx\"")) {
                        h.insert(header::CONTENT_DISPOSITION, v);
                    }
                    res
                }
                Err(e) => WebError::internal(lang, e).into_response(),
            }
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => WebError::internal(lang, e).into_response(),
    }
}

/// `GET /api/v1/consultations/{id}/report`: the published report as JSON; from the response
/// cache, one entry per revision.
pub async fn public_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Language(lang): Language,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    match state.published_report(&id).await {
        Ok(Some(published)) => {
            let key = crate::cache::Fingerprint::new("report json").with(&id).with(published.0.to_string()).key();
            let made = state
                .responses
                .get_or_make(&key, || async move {
                    let (revision, at, r) = &*published;
                    let v = serde_json::json!({"revision": revision, "published_at": at.to_string(), "report": r});
                    serde_json::to_vec(&v).map(|body| (body, crate::cache::JSON, vec![]))
                })
                .await
                .map_err(|e| WebError::internal(lang, e))?;
            Ok(made.respond(&headers))
        }
        Ok(None) => Err(WebError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ReportNotPublished,
            lang,
            texts(lang).the_report_has_not_been,
        )),
        Err(e) => Err(WebError::internal(lang, e)),
    }
}

async fn staff_page(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    headers: &HeaderMap,
    status: StatusCode,
    preface: Option<String>,
    message: Option<String>,
) -> Result<Response, WebError> {
    let lang = crate::extract::lang_of(headers);
    let id = &c.meta.id;
    let published = state.app.published_report(id).await.map_err(|e| WebError::app(lang, e))?;
    let preface = preface.or_else(|| published.as_ref().map(|(_, _, r)| r.preface.clone())).unwrap_or_default();
    let report = state.app.preview_report(c, &preface).await.map_err(|e| WebError::app(lang, e))?;
    let csrf = crate::csrf::token_for(state, headers);
    let page = ReportPage {
        t: texts(lang),
        other_lang_href: format!("/admin/c/{id}/report?lang=en"),
        id: id.to_string(),
        v: view(&report, None, lang),
        staff: Some(StaffPart {
            csrf: csrf.clone(),
            is_admin: user.role == Role::Admin,
            preface,
            published: published.map(|(rev, at, _)| {
                texts(lang).revision_published.replace("{rev}", &rev.to_string()).replace("{at}", &at.to_string())
            }),
            message,
        }),
    };
    Ok(crate::csrf::with_cookie(crate::pages::html(status, crate::pages::render(&page), lang, false), &csrf))
}

/// `GET /admin/c/{id}/report`: the report as it would be published now.
pub async fn preview(
    State(state): State<AppState>,
    Staff(user): Staff,
    StaffConsultation(c): StaffConsultation,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    staff_page(&state, &user, &c, &headers, StatusCode::OK, None, None).await
}

/// Publishes the report as it stands now, with this preface.
async fn publish_now(
    state: &AppState,
    user: &SessionUser,
    c: &LiveConsultation,
    preface: &str,
    lang: Lang,
) -> Result<i64, WebError> {
    let published = state.app.publish_report(user, c, preface, Timestamp::now()).await.map_err(|e| match e {
        yijian_app::Error::Invalid(_) => WebError::bad(lang, texts(lang).the_preface_is_limited_to.into()),
        e => WebError::app(lang, e),
    });
    // The public pages show the new revision (and the consultation page its link) at once.
    state.forget(&c.meta.id);
    published
}

fn preface_of(f: &crate::forms::Fields) -> String {
    f.0.iter().find(|(k, _)| k == "preface").map(|(_, v)| v.clone()).unwrap_or_default()
}

/// `POST /admin/c/{id}/report`: publishes (admins only).
pub async fn publish(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm,
) -> Result<Response, WebError> {
    let preface = preface_of(&f);
    match publish_now(&state, &user, &c, &preface, lang).await {
        Ok(_) => Ok(Redirect::to(&format!("/c/{}/report", c.meta.id)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            staff_page(&state, &user, &c, &headers, e.status, Some(preface), Some(e.message)).await
        }
        Err(e) => Err(e),
    }
}

pub async fn api_preview(
    State(state): State<AppState>,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
) -> Result<Json<AdoptionReport>, WebError> {
    Ok(Json(state.app.preview_report(&c, "").await.map_err(|e| WebError::app(lang, e))?))
}

pub async fn api_publish(
    State(state): State<AppState>,
    Staff(user): Staff,
    Language(lang): Language,
    StaffConsultation(c): StaffConsultation,
    Form(f): Form,
) -> Result<Response, WebError> {
    let revision = publish_now(&state, &user, &c, &preface_of(&f), lang).await?;
    let url = format!("/c/{}/report", c.meta.id);
    Ok((StatusCode::CREATED, Json(serde_json::json!({"revision": revision, "url": url}))).into_response())
}
