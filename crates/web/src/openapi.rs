//! The OpenAPI 3.1 document of `/api/v1`, generated from the types and declarations below and
//! served at `/api/v1/openapi.json`.
//!
//! The operations are declared on documentation-only functions (module `ops`), not on the
//! handlers: the handlers may change shape freely, and a test (`tests/it/api.rs`) checks that the
//! document lists exactly the routes of [`crate::api_routes`], which is what the router serves.
//! The schemas describe the JSON the handlers write; they are not used to write it.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AllOfBuilder, KnownFormat, ObjectBuilder, Ref, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};

/// The document, built once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises"));

/// The document as JSON, for checking request bodies against it.
static DOCUMENT_JSON: LazyLock<serde_json::Value> =
    LazyLock::new(|| serde_json::from_str(&DOCUMENT).expect("the OpenAPI document is JSON"));

/// Checks a JSON request body of the staff API against the type the document gives each of its
/// fields, so a value of the wrong type (a number as a string, `null` where a string is
/// required, `false` for an opinion) is refused as the document says rather than read as text.
/// The document is the one source: change a field's type there and the check follows.
/// `Err(field)` names the first field whose value does not fit; a path or field the document
/// does not describe passes (the handler judges it).
pub(crate) fn check_body_types(method: &str, path: &str, body: &serde_json::Value) -> Result<(), String> {
    let doc = &*DOCUMENT_JSON;
    let Some(schema) = doc.pointer(&body_pointer(method, path)) else {
        return Ok(());
    };
    match misfit(doc, schema, body) {
        Some(field) => Err(field),
        None => Ok(()),
    }
}

/// The fields a request body's schema names (through `$ref`s and `allOf`s), if it names any: the
/// document allows other fields, so the staff API ignores them rather than refusing them.
pub(crate) fn known_fields(method: &str, path: &str) -> Option<Vec<String>> {
    fn collect(doc: &serde_json::Value, schema: &serde_json::Value, out: &mut Vec<String>) {
        let schema = resolve(doc, schema);
        for s in schema.get("allOf").and_then(|a| a.as_array()).into_iter().flatten() {
            collect(doc, s, out);
        }
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            out.extend(props.keys().cloned());
        }
    }
    let doc = &*DOCUMENT_JSON;
    let schema = doc.pointer(&body_pointer(method, path))?;
    let mut out = vec![];
    collect(doc, schema, &mut out);
    (!out.is_empty()).then_some(out)
}

fn body_pointer(method: &str, path: &str) -> String {
    let path = path.replace('~', "~0").replace('/', "~1");
    format!("/paths/{path}/{method}/requestBody/content/application~1json/schema")
}

/// The first field of an object whose value does not fit its schema (through `$ref`s and
/// `allOf`s, as utoipa composes a body from its parts).
fn misfit(doc: &serde_json::Value, schema: &serde_json::Value, body: &serde_json::Value) -> Option<String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(|a| a.as_array()) {
        return all.iter().find_map(|s| misfit(doc, s, body));
    }
    let (props, fields) = (schema.get("properties")?.as_object()?, body.as_object()?);
    fields.iter().find(|(name, value)| props.get(*name).is_some_and(|s| !fits(doc, s, value))).map(|(n, _)| n.clone())
}

fn resolve<'a>(doc: &'a serde_json::Value, schema: &'a serde_json::Value) -> &'a serde_json::Value {
    match schema.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).map(|s| resolve(doc, s)).unwrap_or(schema),
        None => schema,
    }
}

/// Whether a value has the type (and, for an enumeration, one of the values) a schema allows.
fn fits(doc: &serde_json::Value, schema: &serde_json::Value, value: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    let schema = resolve(doc, schema);
    if let Some(any) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(|a| a.as_array()) {
        return any.iter().any(|s| fits(doc, s, value));
    }
    if let Some(all) = schema.get("allOf").and_then(|a| a.as_array())
        && !all.iter().all(|s| fits(doc, s, value))
    {
        return false;
    }
    if let Some(values) = schema.get("enum").and_then(|e| e.as_array())
        && !values.contains(value)
    {
        return false;
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(V::String(t)) => vec![t.as_str()],
        Some(V::Array(ts)) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => return true,
    };
    types.iter().any(|t| match (*t, value) {
        ("string", V::String(_)) | ("boolean", V::Bool(_)) | ("null", V::Null) => true,
        ("object", V::Object(_)) => misfit(doc, schema, value).is_none(),
        // JSON Schema counts 1.0 as an integer.
        ("integer", V::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        ("number", V::Number(_)) => true,
        ("array", V::Array(items)) => schema.get("items").is_none_or(|item| items.iter().all(|i| fits(doc, item, i))),
        _ => false,
    })
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "yijian public API",
        version = "1",
        description = "Public consultations: read a draft, submit a comment, track it by its receipt. Times are RFC 3339 with the consultation's offset.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        ops::list_consultations,
        ops::get_consultation,
        ops::submit_comment,
        ops::get_receipt,
        ops::new_captcha,
        ops::signing_key,
        ops::openapi,
        ops::get_report,
        ops::admin_list_consultations,
        ops::admin_create_consultation,
        ops::admin_list_drafts,
        ops::admin_publish_draft,
        ops::admin_consultation_action,
        ops::admin_queue,
        ops::admin_manual_entry,
        ops::admin_bulk_review,
        ops::admin_comment,
        ops::admin_review_comment,
        ops::admin_dashboard,
        ops::admin_campaigns,
        ops::admin_campaign,
        ops::admin_decide_campaign,
        ops::admin_themes,
        ops::admin_build_themes,
        ops::admin_theme,
        ops::admin_theme_action,
        ops::admin_disputes,
        ops::admin_decide_dispute,
        ops::admin_export,
        ops::admin_export_personal,
        ops::admin_report_preview,
        ops::admin_publish_report,
        ops::admin_users,
        ops::admin_session,
        ops::admin_mail_tray,
        ops::admin_mail,
        ops::admin_mail_raw,
        ops::admin_mail_assign,
        ops::admin_attachment,
    ),
    components(schemas(
        Error,
        FieldErrors,
        ConsultationSummary,
        Consultation,
        CommentSubmission,
        Receipt,
        ReceiptStatus,
        ReceiptState,
        Captcha,
        SigningKey,
        AdminError,
        QueueItem,
        ReviewAction,
        QueueFilter,
        MailSummary,
    )),
    tags(
        (name = "public", description = "Open to anyone, without a token."),
        (name = "admin", description = "The staff API. Every call carries a bearer token (`bearerAuth`), or the session cookie of a staff member signed in to the back office (`cookieAuth`), in which case every call but a GET also carries the CSRF token in the `X-CSRF-Token` header (from `GET /api/v1/admin/session`). A reviewer may read and review, an admin may do everything."),
    ),
    modifiers(&BearerAuth, &OptionalBodies, &StaffAnswers, &SlowBodies),
)]
pub struct ApiDoc;

/// The security schemes, either of which every `/api/v1/admin/` operation takes: a bearer
/// token, or the back office's session cookie (with the CSRF header on changes).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `yijian token create --user NAME`. It acts with that user's role (admin or reviewer).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookieAuth",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "yj_session",
                "The session cookie of the back office (`__Host-yj_session` on an HTTPS site). A call but a GET on it must carry the `X-CSRF-Token` header.",
            ))),
        );
    }
}

/// What every operation of the staff API may answer before its handler runs: 401 without a live
/// token or session, 403 when the user lacks the role (or, on a session cookie, a change lacks
/// its CSRF header, or an admin who must use two-step login has not set it up); and what every
/// operation that takes a JSON body answers to another type, 415. Added here once rather than
/// in each operation, with the security requirements and the CSRF header.
struct StaffAnswers;

impl Modify for StaffAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Required, ResponseBuilder};
        let answer = |description: &str, schema: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build(),
                    )
                    .build(),
            )
        };
        let csrf_header = ParameterBuilder::new()
            .name("X-CSRF-Token")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(ops::CSRF_HEADER))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let staff = path.starts_with("/api/v1/admin/");
            let error = if staff { "AdminError" } else { "Error" };
            if let Some(op) = item.post.as_mut() {
                op.responses.responses.insert("415".into(), answer(ops::NOT_JSON, error));
                if staff {
                    op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(csrf_header.clone()));
                }
            }
            if !staff {
                continue;
            }
            for (op, refusal) in [(&mut item.get, ops::NO_ROLE), (&mut item.post, ops::NO_ROLE_OR_CSRF)] {
                let Some(op) = op.as_mut() else { continue };
                op.responses.responses.insert("401".into(), answer(ops::NO_TOKEN, error));
                op.responses.responses.insert("403".into(), answer(refusal, error));
                op.security = Some(vec![
                    SecurityRequirement::new("bearerAuth", Vec::<String>::new()),
                    SecurityRequirement::new("cookieAuth", Vec::<String>::new()),
                ]);
            }
        }
    }
}

/// What every operation with a request body may answer when the body does not arrive within the
/// server's body deadline (`server.rs`): 408, in plain text, and the connection closed.
struct SlowBodies;

impl Modify for SlowBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, ResponseBuilder};
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.post].into_iter().flatten() {
                let answer = ResponseBuilder::new()
                    .description(
                        "The request body did not arrive within the server's deadline; the connection is closed",
                    )
                    .content("text/plain", ContentBuilder::new().build())
                    .build();
                op.responses.responses.insert("408".into(), RefOr::T(answer));
            }
        }
    }
}

/// Request bodies that may be left out (an empty body reads as no fields). utoipa marks a body
/// optional only when its type is an `Option`, which would also admit a JSON `null`, refused.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let Some(op) = item.post.as_mut() else { continue };
            if matches!(op.operation_id.as_deref(), Some("adminExportPersonal" | "adminPublishReport"))
                && let Some(RefOr::T(body)) = op.request_body.as_mut()
            {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Schemas that are not types of their own
// ------------------------------------------------------------------------------------------

/// Any JSON object (`{"type": "object"}`).
struct AnyObject;

impl PartialSchema for AnyObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Object).into()
    }
}
impl ToSchema for AnyObject {}

/// Bytes (`{"type": "string", "format": "binary"}`).
struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}
impl ToSchema for Binary {}

// ------------------------------------------------------------------------------------------
// Public schemas
// ------------------------------------------------------------------------------------------

/// A refusal of the public API.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Error {
    #[schema(inline)]
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    /// A stable code, e.g. `consultation_closed`.
    code: String,
    /// In the caller's language (Chinese unless English is preferred).
    message: String,
    /// With `consultation_not_open` and `consultation_closed`.
    #[schema(format = DateTime, nullable = false)]
    opens_at: Option<String>,
    /// With `consultation_not_open` and `consultation_closed`.
    #[schema(format = DateTime, nullable = false)]
    closes_at: Option<String>,
}

/// Every wrong or missing field of a submission, at once.
#[derive(ToSchema)]
#[allow(dead_code)]
struct FieldErrors {
    #[schema(inline)]
    errors: Vec<FieldError>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct FieldError {
    #[schema(inline)]
    field: SubmissionField,
    /// A stable code, e.g. `required`.
    code: String,
    message: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum SubmissionField {
    Name,
    IdNumber,
    Position,
    Phone,
    Email,
    Opinion,
    Articles,
    CaptchaId,
    CaptchaAnswer,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Status {
    Open,
    Upcoming,
    Closed,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ConsultationSummary {
    id: String,
    title: String,
    #[schema(inline)]
    status: Status,
    #[schema(format = DateTime)]
    opens_at: String,
    #[schema(format = DateTime)]
    closes_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Consultation {
    id: String,
    title: String,
    issuer: String,
    #[schema(inline)]
    status: Status,
    #[schema(format = DateTime)]
    opens_at: String,
    #[schema(format = DateTime)]
    closes_at: String,
    /// An IANA time zone, e.g. `Asia/Shanghai`.
    time_zone: String,
    demo: bool,
    notice: String,
    #[schema(inline)]
    contact: Contact,
    #[schema(inline)]
    email_channel: EmailChannel,
    positions: Vec<String>,
    #[schema(required = false)]
    max_opinion_chars: u32,
    version: u32,
    /// SHA-256 (hex) of the canonical text
    content_sha256: String,
    /// Ed25519 signature (base64) of the canonical text
    signature: String,
    preamble: String,
    #[schema(inline)]
    chapters: Vec<Chapter>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Contact {
    #[schema(required = false)]
    person: String,
    #[schema(required = false)]
    department: String,
    #[schema(required = false)]
    phone: String,
    #[schema(required = false)]
    email: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct EmailChannel {
    #[schema(required = false)]
    address: String,
    #[schema(required = false)]
    subject_phrase: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Chapter {
    #[schema(required = false)]
    number: u32,
    #[schema(required = false)]
    title: String,
    #[schema(inline, required = false)]
    articles: Vec<Article>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Article {
    #[schema(required = false)]
    number: u32,
    #[schema(required = false)]
    title: String,
    #[schema(required = false)]
    text: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct CommentSubmission {
    #[schema(max_length = 50)]
    name: String,
    /// 18-character resident ID (GB 11643-1999)
    id_number: String,
    /// One of the consultation's positions
    position: String,
    /// Mainland China mobile or fixed line, optional extension
    phone: String,
    #[schema(format = "idn-email")]
    email: String,
    #[schema(max_length = 5000)]
    opinion: String,
    /// Article numbers the comment is about.
    #[schema(required = false)]
    articles: Vec<u32>,
    captcha_id: String,
    captcha_answer: String,
}

/// The proof of a stored comment.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Receipt {
    #[schema(pattern = "^YJ-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")]
    receipt: String,
    #[schema(format = DateTime)]
    submitted_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ReceiptStatus {
    receipt: String,
    consultation_id: String,
    #[schema(format = DateTime)]
    submitted_at: String,
    /// `disposed` once a published adoption report carries the comment's disposition.
    status: ReceiptState,
    /// What became of the comment, as the last published report carries it; null until then.
    disposition: Option<Disposition>,
    /// The reasoning given with the disposition, as published; null until then.
    reasoning: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ReceiptState {
    Received,
    Disposed,
}

/// An image captcha carries `image`; an audio one (`?kind=audio`) carries `audio` instead.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Captcha {
    captcha_id: String,
    /// data:image/png;base64,…
    #[schema(nullable = false)]
    image: Option<String>,
    /// The address of the spoken digits, a WAV file: /captcha/{captcha_id}/audio.wav
    #[schema(nullable = false)]
    audio: Option<String>,
    #[schema(format = DateTime)]
    expires_at: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum CaptchaKind {
    Image,
    Audio,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct CaptchaQuery {
    /// `image` (the default) or `audio`: the same kind of challenge, spoken, for people who
    /// cannot see the image
    #[param(inline, nullable = false)]
    kind: Option<CaptchaKind>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct SigningKey {
    #[schema(inline)]
    algorithm: Algorithm,
    #[schema(inline, required = false)]
    encoding: Encoding,
    public_key: String,
    /// What exactly is signed.
    #[schema(required = false)]
    signed: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
enum Algorithm {
    Ed25519,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Encoding {
    Base64,
}

/// The published adoption report.
#[derive(ToSchema)]
#[allow(dead_code)]
struct PublishedReport {
    revision: i64,
    #[schema(format = DateTime)]
    published_at: String,
    /// The report: per article, the comments' dispositions and reasons.
    #[schema(value_type = AnyObject, inline)]
    report: (),
}

// ------------------------------------------------------------------------------------------
// Staff schemas
// ------------------------------------------------------------------------------------------

/// The signed-in user and the CSRF token.
#[derive(ToSchema)]
#[allow(dead_code)]
struct StaffSession {
    user: String,
    #[schema(pattern = "^(admin|reviewer)$")]
    role: String,
    csrf_token: String,
}

/// A refusal of the staff API.
#[derive(ToSchema)]
#[allow(dead_code)]
struct AdminError {
    #[schema(inline, required = false)]
    error: AdminErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct AdminErrorDetail {
    code: String,
    message: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Channel {
    Web,
    Api,
    Email,
    Manual,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum Disposition {
    Adopted,
    PartlyAdopted,
    NotAdopted,
    OutOfScope,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Mark {
    Spam,
    Abusive,
    Duplicate,
    Hidden,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum DispositionOrNone {
    Adopted,
    PartlyAdopted,
    NotAdopted,
    OutOfScope,
    None,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum MarkOrNone {
    Spam,
    Abusive,
    Duplicate,
    Hidden,
    None,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Timing {
    Early,
    Late,
}

/// A comment in the review queue, personal data masked.
#[derive(ToSchema)]
#[allow(dead_code)]
struct QueueItem {
    #[schema(required = false)]
    receipt: String,
    #[schema(format = DateTime, required = false)]
    submitted_at: String,
    #[schema(inline, required = false)]
    channel: Channel,
    #[schema(required = false)]
    name: Option<String>,
    #[schema(required = false)]
    position: Option<String>,
    #[schema(required = false)]
    articles: Vec<u32>,
    /// The first 120 characters of the opinion
    #[schema(required = false)]
    opening: String,
    #[schema(required = false)]
    opinion_chars: u32,
    #[schema(inline, required = false)]
    disposition: Option<Disposition>,
    #[schema(inline, required = false)]
    moderation: Option<Mark>,
    #[schema(required = false)]
    tags: Vec<String>,
    /// A mailed comment that arrived before the consultation opened or after it closed.
    #[schema(inline, required = false)]
    timing: Option<Timing>,
    /// The campaign (copies of one text) the comment is in
    #[schema(required = false)]
    campaign: Option<i64>,
    /// Open article suggestions: {"article", "confidence" (0..1), "kind" (explicit or similar)}
    #[schema(required = false, value_type = Vec<Object>)]
    suggested_articles: Vec<serde_json::Value>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ReviewVerb {
    Link,
    Tag,
    Untag,
    Moderate,
    Dispose,
    Excerpt,
    #[schema(rename = "accept_suggestion")]
    AcceptSuggestion,
    #[schema(rename = "reject_suggestion")]
    RejectSuggestion,
}

/// One action. `link` takes `articles`; `tag`/`untag` take `tag_name`; `moderate` takes `mark` (a mark or `none`) and `reason`; `dispose` takes `disposition` (or `none`) and `reason` (required; printed in the report); `excerpt` takes `excerpt` (a passage of the opinion, blank to remove; one comment at a time); `accept_suggestion` / `reject_suggestion` take `article` (accepting adds it to the comment's articles, other links untouched; comments without that suggestion are left alone).
#[derive(ToSchema)]
#[allow(dead_code)]
struct ReviewAction {
    #[schema(inline)]
    action: ReviewVerb,
    #[schema(required = false)]
    articles: Vec<u32>,
    #[schema(required = false)]
    tag_name: String,
    #[schema(inline, required = false)]
    mark: MarkOrNone,
    #[schema(inline, required = false)]
    disposition: DispositionOrNone,
    #[schema(required = false)]
    reason: String,
    #[schema(required = false)]
    excerpt: String,
    /// The suggested article to accept or reject
    #[schema(required = false)]
    article: u32,
}

/// The queue's filters, as strings; every one narrows the set.
#[derive(ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct QueueFilter {
    /// received or disposed
    #[schema(nullable = false, pattern = r"^\s*(received|disposed)?\s*$")]
    #[param(nullable = false, pattern = r"^\s*(received|disposed)?\s*$")]
    status: Option<String>,
    /// Article number
    #[schema(nullable = false, pattern = r"^\s*[0-9]{0,9}\s*$")]
    #[param(nullable = false, pattern = r"^\s*[0-9]{0,9}\s*$")]
    article: Option<String>,
    /// One of the consultation's positions
    #[schema(nullable = false)]
    #[param(nullable = false)]
    position: Option<String>,
    /// web, api, email or manual
    #[schema(nullable = false, pattern = r"^\s*(web|api|email|manual)?\s*$")]
    #[param(nullable = false, pattern = r"^\s*(web|api|email|manual)?\s*$")]
    channel: Option<String>,
    /// First day received (YYYY-MM-DD, the consultation's time zone)
    #[schema(nullable = false)]
    #[param(nullable = false)]
    r#from: Option<String>,
    /// Last day received (inclusive)
    #[schema(nullable = false)]
    #[param(nullable = false)]
    until: Option<String>,
    /// adopted, partly_adopted, not_adopted or out_of_scope
    #[schema(nullable = false, pattern = r"^\s*(adopted|partly_adopted|not_adopted|out_of_scope)?\s*$")]
    #[param(nullable = false, pattern = r"^\s*(adopted|partly_adopted|not_adopted|out_of_scope)?\s*$")]
    disposition: Option<String>,
    /// none, any, spam, abusive, duplicate or hidden
    #[schema(nullable = false, pattern = r"^\s*(none|any|spam|abusive|duplicate|hidden)?\s*$")]
    #[param(nullable = false, pattern = r"^\s*(none|any|spam|abusive|duplicate|hidden)?\s*$")]
    moderation: Option<String>,
    /// A tag
    #[schema(nullable = false)]
    #[param(nullable = false)]
    tag: Option<String>,
    /// Chinese full-text search over the opinions (all words must match; quotes for a phrase)
    #[schema(nullable = false)]
    #[param(nullable = false)]
    q: Option<String>,
    /// `only` (members of any campaign), `none` (of none), or a campaign's id
    #[schema(nullable = false, pattern = r"^\s*(only|none|[0-9]{1,18})?\s*$")]
    #[param(nullable = false, pattern = r"^\s*(only|none|[0-9]{1,18})?\s*$")]
    campaign: Option<String>,
    /// Comments with this signal: id_reused, id_names_differ, address_burst, disposable_email,
    /// id_generated_run or disputed
    #[schema(
        nullable = false,
        pattern = r"^\s*(id_reused|id_names_differ|address_burst|disposable_email|id_generated_run|disputed)?\s*$"
    )]
    #[param(
        nullable = false,
        pattern = r"^\s*(id_reused|id_names_differ|address_burst|disposable_email|id_generated_run|disputed)?\s*$"
    )]
    signal: Option<String>,
    /// Comments with an open (neither accepted nor rejected) suggestion of this article
    #[schema(nullable = false, pattern = r"^\s*[0-9]{0,9}\s*$")]
    #[param(nullable = false, pattern = r"^\s*[0-9]{0,9}\s*$")]
    suggested: Option<String>,
    /// With `suggested`: the lowest confidence, 0 to 1 (default 0.5)
    #[schema(nullable = false, pattern = r"^\s*(0(\.[0-9]{1,6})?|1(\.0{1,6})?)?\s*$")]
    #[param(nullable = false, pattern = r"^\s*(0(\.[0-9]{1,6})?|1(\.0{1,6})?)?\s*$")]
    confidence: Option<String>,
    /// The members of one theme (its id)
    #[schema(nullable = false, pattern = r"^\s*([0-9]{1,18})?\s*$")]
    #[param(nullable = false, pattern = r"^\s*([0-9]{1,18})?\s*$")]
    theme: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct QueuePaging {
    /// `next_before` of the previous page
    #[param(nullable = false)]
    before: Option<i64>,
    #[param(nullable = false, minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// `total` stops at 10,000.
#[derive(ToSchema)]
#[allow(dead_code)]
struct QueuePage {
    total: i64,
    /// `total` stopped counting at 10,000.
    total_is_lower_bound: bool,
    /// How many opinions the search `q` matched, when there was one.
    search_matches: Option<i64>,
    /// Pass as `before` for the next page; null on the last.
    next_before: Option<i64>,
    items: Vec<QueueItem>,
}

/// A bulk action: a [`ReviewAction`] with the `filter` (a [`QueueFilter`]) that selects the
/// comments.
struct BulkReviewBody;

impl PartialSchema for BulkReviewBody {
    fn schema() -> RefOr<Schema> {
        AllOfBuilder::new()
            .item(Ref::from_schema_name("ReviewAction"))
            .item(
                ObjectBuilder::new().schema_type(Type::Object).property("filter", Ref::from_schema_name("QueueFilter")),
            )
            .into()
    }
}
impl ToSchema for BulkReviewBody {}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Changed {
    /// How many comments changed.
    changed: u64,
}

/// One comment a "not written by me" request named, and where it stands.
#[derive(ToSchema)]
#[allow(dead_code)]
struct DisputedComment {
    receipt: String,
    /// pending, upheld or rejected
    #[schema(pattern = r"^(pending|upheld|rejected)$")]
    state: String,
}

/// A "not written by me" request, its personal data masked.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Dispute {
    id: i64,
    reference: String,
    received_at: String,
    /// Masked
    id_number: String,
    /// Masked
    phone: Option<String>,
    /// Masked
    email: Option<String>,
    #[schema(inline)]
    comments: Vec<DisputedComment>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct DisputeList {
    #[schema(inline)]
    disputes: Vec<Dispute>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct DisputeDecisionBody {
    /// upheld (not written by that person: left out of the counts) or rejected (counted again)
    #[schema(pattern = r"^(upheld|rejected)$")]
    decision: String,
    /// Why; recorded in the audit log
    reason: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct DisputeDecided {
    receipt: String,
    decision: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ReceiptChanged {
    receipt: String,
    changed: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct StaffConsultation {
    id: String,
    title: String,
    /// Comments received.
    comments: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct StaffUser {
    name: String,
    role: String,
    disabled: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Draft {
    id: String,
    created_by: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct NewConsultation {
    /// The whole consultation file (TOML front matter + Markdown)
    source: String,
    #[schema(required = false)]
    publish: bool,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum DraftState {
    Draft,
    Published,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Created {
    id: String,
    #[schema(inline)]
    state: DraftState,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Outcome {
    id: String,
    outcome: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum LifecycleAction {
    Extend,
    Close,
    Archive,
    Version,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct ConsultationActionPath {
    /// The consultation's id.
    id: String,
    #[param(inline)]
    action: LifecycleAction,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct LifecycleChange {
    /// `extend`: a date or RFC 3339 instant.
    #[schema(required = false)]
    closes_at: String,
    /// `extend` and `close`.
    #[schema(required = false)]
    reason: String,
    /// `version`: a new consultation file.
    #[schema(required = false)]
    source: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct LifecycleDone {
    id: String,
    message: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ManualEntry {
    opinion: String,
    #[schema(required = false)]
    name: String,
    #[schema(required = false)]
    id_number: String,
    #[schema(required = false)]
    position: String,
    #[schema(required = false)]
    phone: String,
    #[schema(required = false)]
    email: String,
    #[schema(required = false)]
    articles: Vec<u32>,
    #[schema(required = false)]
    note: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ManualReceipt {
    receipt: String,
    #[schema(format = DateTime)]
    submitted_at: String,
    #[schema(inline)]
    channel: Channel,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ManualErrors {
    #[schema(inline)]
    errors: Vec<ManualError>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ManualError {
    field: String,
    message: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Dashboard {
    /// Comments in all; of them, how many are in campaigns, and in how many campaigns
    comments: i64,
    in_campaigns: i64,
    campaigns: i64,
    #[schema(inline)]
    campaigns_by_article: Vec<ArticleCampaigns>,
    #[schema(inline)]
    per_day: Vec<DayCount>,
    #[schema(inline)]
    by_article: Vec<ArticleCount>,
    #[schema(inline)]
    by_position: Vec<KeyCount>,
    #[schema(inline)]
    by_channel: Vec<KeyCount>,
    #[schema(inline)]
    by_disposition: Vec<KeyCount>,
    #[schema(inline)]
    by_moderation: Vec<KeyCount>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ArticleCampaigns {
    article: u32,
    in_campaigns: i64,
    campaigns: i64,
}

/// What staff decided about a campaign as a whole.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignDecision {
    #[schema(inline)]
    disposition: Option<Disposition>,
    disposition_reason: Option<String>,
    #[schema(inline)]
    moderation: Option<Mark>,
    moderation_reason: Option<String>,
    tags: Vec<String>,
    /// Members that join later get the decision too
    later_members_inherit: bool,
    decided_by: Option<String>,
    #[schema(format = DateTime)]
    decided_at: Option<String>,
}

/// A campaign's representative in the list: its tracking number and the opening of its text.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignRepresentative {
    receipt: String,
    opening: String,
}

/// A campaign: comments whose texts are copies or near-copies of one another.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignSummary {
    id: i64,
    size: u64,
    #[schema(format = DateTime)]
    first_at: String,
    #[schema(format = DateTime)]
    last_at: String,
    #[schema(inline)]
    decision: CampaignDecision,
    #[schema(inline)]
    representative: CampaignRepresentative,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignList {
    total: i64,
    /// Short answers many people gave word for word (同意): never campaigns, grouped here by their words
    #[schema(inline)]
    short_answers: Vec<ShortAnswer>,
    /// `offset` of the next page, if there is one
    next_offset: Option<i64>,
    #[schema(inline)]
    items: Vec<CampaignSummary>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ShortAnswer {
    text: String,
    comments: u64,
}

/// A run of text: `same` as the representative's, `added` by the member, or `removed` from it.
#[derive(ToSchema)]
#[allow(dead_code)]
struct DiffSpan {
    #[schema(required = false)]
    same: String,
    #[schema(required = false)]
    added: String,
    #[schema(required = false)]
    removed: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignMember {
    receipt: String,
    #[schema(format = DateTime)]
    submitted_at: String,
    #[schema(inline)]
    channel: Channel,
    #[schema(inline)]
    disposition: Option<Disposition>,
    #[schema(inline)]
    moderation: Option<Mark>,
    tags: Vec<String>,
    /// What the member's text changes in the representative's
    #[schema(inline)]
    diff: Vec<DiffSpan>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ArrivalBar {
    #[schema(format = DateTime)]
    from: String,
    comments: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignText {
    text: String,
}

/// One campaign with a page of its members (newest first; keyset paging with `before`).
#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignDetail {
    id: i64,
    size: u64,
    #[schema(format = DateTime)]
    first_at: String,
    #[schema(format = DateTime)]
    last_at: String,
    #[schema(inline)]
    decision: CampaignDecision,
    #[schema(inline)]
    representative: CampaignText,
    /// Arrivals binned into equal spans
    #[schema(inline)]
    arrivals: Vec<ArrivalBar>,
    #[schema(inline)]
    members: Vec<CampaignMember>,
    next_before: Option<i64>,
}

/// A decision on a whole campaign: one review action (as for one comment, but no excerpt), given to every member.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CampaignDecisionBody {
    #[schema(inline)]
    action: ReviewVerb,
    #[schema(required = false)]
    articles: Vec<u32>,
    #[schema(required = false)]
    tag_name: String,
    #[schema(inline, required = false)]
    mark: MarkOrNone,
    #[schema(inline, required = false)]
    disposition: DispositionOrNone,
    #[schema(required = false)]
    reason: String,
    /// Give the decision to members that join the campaign later too (default false)
    #[schema(required = false)]
    inherit: bool,
    /// For `accept_suggestion` / `reject_suggestion`: the article
    #[schema(required = false)]
    article: u32,
}

/// A theme: one main point made about an article (or the draft as a whole, `article` null).
#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemeSummary {
    id: i64,
    article: Option<u32>,
    label: String,
    /// Whether staff named it (a rebuild then keeps the name)
    named_by_staff: bool,
    key_phrases: Vec<String>,
    /// Two or three sentences taken from its comments
    representatives: Vec<String>,
    /// for, against, suggest or neutral
    stance: String,
    /// Its comments, each member of a campaign counted
    comments: u64,
    /// Its distinct texts: a campaign counts once
    distinct_texts: u64,
    /// Only confirmed themes go into the report
    confirmed: bool,
    #[schema(inline)]
    disposition: Option<Disposition>,
    disposition_reason: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemeList {
    total: u64,
    #[schema(inline)]
    items: Vec<ThemeSummary>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemeMember {
    receipt: String,
    opening: String,
    campaign: Option<i64>,
    #[schema(inline)]
    disposition: Option<Disposition>,
}

/// One theme with a page of its members (newest first; keyset paging with `before`).
#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemeDetail {
    #[schema(inline)]
    #[serde(flatten)]
    theme: ThemeSummary,
    #[schema(inline)]
    members: Vec<ThemeMember>,
    next_before: Option<i64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ThemeVerb {
    Rename,
    Confirm,
    Unconfirm,
    Merge,
    Split,
    Move,
    Dispose,
}

/// One staff action on a theme. `rename` takes `label`; `merge` takes `into` (another theme of the same article; this one is kept, empty); `split` takes `receipts` and `label` (a new theme); `move` takes `receipts` (into this theme, or into `into`); `dispose` takes `disposition` (or `none`) and `reason`, given to the members whose own or campaign's decision does not win over it.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemeActionBody {
    #[schema(inline)]
    action: ThemeVerb,
    #[schema(required = false)]
    label: String,
    #[schema(required = false)]
    into: i64,
    #[schema(required = false)]
    receipts: Vec<String>,
    #[schema(inline, required = false)]
    disposition: DispositionOrNone,
    #[schema(required = false)]
    reason: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemesBuilt {
    /// Comments looked at (spam and hidden ones are left out)
    comments: u64,
    /// Themes there are now
    themes: u64,
    seconds: f64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ThemeChanged {
    /// Comments changed or moved (1 for a change of the theme itself, 0 if nothing changed)
    changed: u64,
    /// The theme the comments are in now: the new one of a split, the other of a merge, else this one
    theme: i64,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct CampaignPaging {
    #[param(nullable = false, minimum = 0)]
    offset: Option<i64>,
    #[param(nullable = false, minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct DayCount {
    #[schema(format = Date)]
    date: String,
    comments: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ArticleCount {
    article: u32,
    comments: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct KeyCount {
    key: String,
    comments: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ExportFormat {
    Csv,
    Xlsx,
    Jsonl,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ExportQuery {
    /// `csv` when not given
    #[param(inline, nullable = false)]
    format: Option<ExportFormat>,
}

/// Why a raw message or an attachment is opened.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct OpenReason {
    /// Why it is opened: 4 to 1,000 characters once trimmed, kept in the audit log
    #[param(min_length = 4, max_length = 1000)]
    reason: String,
}

/// `format` is `csv` when not given.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ExportRequest {
    #[schema(inline, required = false)]
    format: ExportFormat,
    #[schema(required = false)]
    include_personal_data: bool,
    /// Required with `include_personal_data`; audited.
    #[schema(required = false)]
    reason: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ReportPublication {
    #[schema(required = false)]
    preface: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ReportPublished {
    revision: i64,
    /// The public page of the report.
    url: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum Tray {
    Unrouted,
    Rejected,
    Comment,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TrayQuery {
    /// Which tray: unrouted, rejected or comment; `unrouted` when not given or empty
    #[param(nullable = false, pattern = r"^(unrouted|rejected|comment)?$")]
    state: Option<String>,
    /// Mails with a smaller id (the previous page's next_before)
    #[param(nullable = false)]
    before: Option<i64>,
}

/// A mail as it came in, without its text.
#[derive(ToSchema)]
#[allow(dead_code)]
struct MailSummary {
    id: i64,
    state: String,
    /// Why it was rejected or left unrouted.
    reason: Option<String>,
    message_id: Option<String>,
    /// The mailbox or file it was read from.
    source: String,
    #[schema(format = DateTime)]
    received_at: String,
    #[schema(format = DateTime)]
    imported_at: String,
    subject: String,
    from_name: Option<String>,
    from_address: Option<String>,
    raw_size: i64,
    consultation_id: Option<String>,
    comment_id: Option<i64>,
    reply_state: Option<String>,
    assigned_by: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct MailTray {
    #[schema(inline)]
    state: Tray,
    /// Mails in each tray.
    counts: std::collections::BTreeMap<String, i64>,
    mails: Vec<MailSummary>,
    /// Pass as `before` for the next page; null on the last.
    next_before: Option<i64>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct MailAssignment {
    /// The consultation's id.
    consultation: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct MailAssigned {
    mail_id: i64,
    receipt: String,
}

// ------------------------------------------------------------------------------------------
// The operations
// ------------------------------------------------------------------------------------------

/// Documentation only: each function stands for the route of the same path and method.
#[allow(dead_code)]
mod ops {
    use super::*;

    const LANG: &str = "Messages are in Chinese unless English is preferred (e.g. `en`).";
    pub(super) const NO_TOKEN: &str = "No or bad token or session (code unauthenticated)";
    pub(super) const NO_ROLE: &str = "The user lacks the role (code forbidden), or is an admin who must use two-step login and has not set it up (code totp_required)";
    pub(super) const NO_ROLE_OR_CSRF: &str = "The user lacks the role (code forbidden), or is an admin who must use two-step login and has not set it up (code totp_required), or the call came on a session cookie without the right X-CSRF-Token header (code csrf)";
    pub(super) const CSRF_HEADER: &str = "The CSRF token (from GET /api/v1/admin/session); required when the call is authenticated by the session cookie, not needed with a bearer token";
    pub(super) const NOT_JSON: &str = "The body is not sent as application/json (code unsupported_media_type)";
    const BAD_BODY: &str = "The body is not JSON, not an object of strings, numbers, booleans and arrays of strings or numbers, or a field's value is not of the type stated here (code malformed_json)";
    const NO_CONSULTATION: &str = "No such consultation (code consultation_not_found)";
    const OPEN_REASON_MISSING: &str = "No reason, or one under 4 characters (code invalid)";
    const EXPORT_IN_PROGRESS: &str =
        "This user already has an export running: one at a time each (code export_in_progress); see Retry-After";
    const EXPORTS_BUSY: &str =
        "As many exports as the server runs at once are running (code exports_busy); see Retry-After";

    #[utoipa::path(
        get,
        path = "/api/v1/consultations",
        operation_id = "listConsultations",
        tag = "public",
        summary = "All consultations",
        params(("Accept-Language" = Option<String>, Header, nullable = false, description = LANG)),
        responses((status = 200, description = "The list", body = Vec<ConsultationSummary>)),
    )]
    fn list_consultations() {}

    #[utoipa::path(
        get,
        path = "/api/v1/consultations/{id}",
        operation_id = "getConsultation",
        tag = "public",
        summary = "A consultation with its notice and verified draft",
        params(
            ("id" = String, Path, description = "The consultation's id"),
            ("Accept-Language" = Option<String>, Header, nullable = false, description = LANG),
        ),
        responses(
            (status = 200, description = "The consultation", body = Consultation),
            (status = 404, description = "Unknown consultation", body = Error),
            (status = 500, description = "The stored text failed its integrity check (code integrity_check_failed) or another server error", body = Error),
        ),
    )]
    fn get_consultation() {}

    #[utoipa::path(
        post,
        path = "/api/v1/consultations/{id}/comments",
        operation_id = "submitComment",
        tag = "public",
        summary = "Submit a comment",
        description = "Answered 201 only once the comment is durably committed.",
        params(
            ("id" = String, Path, description = "The consultation's id"),
            ("Accept-Language" = Option<String>, Header, nullable = false, description = LANG),
        ),
        request_body(content = CommentSubmission),
        responses(
            (status = 201, description = "Stored", body = Receipt,
                headers(("Location" = String, description = "The receipt's address under /api/v1/receipts/"))),
            (status = 400, description = "Malformed JSON (code malformed_json)", body = Error),
            (status = 404, description = "Unknown consultation", body = Error),
            (status = 409, description = "consultation_not_open or consultation_closed, with the dates", body = Error),
            (status = 413, description = "Body over 64 KB (code payload_too_large)", body = Error),
            (status = 422, description = "Every wrong or missing field", body = FieldErrors),
            (status = 429, description = "Too many submissions from this address (code rate_limited); see Retry-After", body = Error,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
            (status = 503, description = "More comments are arriving than the server can store in time (code busy); nothing was stored: submit again after Retry-After", body = Error,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
        ),
    )]
    fn submit_comment() {}

    #[utoipa::path(
        get,
        path = "/api/v1/receipts/{receipt}",
        operation_id = "getReceipt",
        tag = "public",
        summary = "A comment's status by its tracking number (nothing personal)",
        params(
            ("receipt" = String, Path, description = "YJ-XXXX-XXXX, any case, dashes optional"),
            ("Accept-Language" = Option<String>, Header, nullable = false, description = LANG),
        ),
        responses(
            (status = 200, description = "Status", body = ReceiptStatus),
            (status = 404, description = "Unknown receipt (code receipt_not_found)", body = Error),
            (status = 429, description = "Too many look-ups from this address or its IPv6 /64 (code rate_limited); see Retry-After", body = Error,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
        ),
    )]
    fn get_receipt() {}

    #[utoipa::path(
        get,
        path = "/api/v1/captcha",
        operation_id = "newCaptcha",
        tag = "public",
        summary = "A new captcha; its answer is single-use and expires after 10 minutes",
        description = "Limited per client (an IPv4 address, an IPv6 /64), images and sounds together.",
        params(CaptchaQuery, ("Accept-Language" = Option<String>, Header, nullable = false, description = LANG)),
        responses(
            (status = 200, description = "The challenge", body = Captcha),
            (status = 422, description = "An unknown kind, or more than one (code invalid)", body = Error),
            (status = 429, description = "Too many captchas for this client (code rate_limited); see Retry-After", body = Error,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
            (status = 503, description = "Too many captchas outstanding on the server (code captcha_unavailable); see Retry-After", body = Error,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
        ),
    )]
    fn new_captcha() {}

    #[utoipa::path(
        get,
        path = "/api/v1/signing-key",
        operation_id = "signingKey",
        tag = "public",
        summary = "The Ed25519 public key that signs every published draft text",
        responses((status = 200, description = "The key", body = SigningKey)),
    )]
    fn signing_key() {}

    #[utoipa::path(
        get,
        path = "/api/v1/openapi.json",
        operation_id = "openapi",
        tag = "public",
        summary = "This document",
        responses((status = 200, description = "OpenAPI 3.1", body = inline(AnyObject))),
    )]
    fn openapi() {}

    #[utoipa::path(
        get,
        path = "/api/v1/consultations/{id}/report",
        operation_id = "getReport",
        tag = "public",
        summary = "The published adoption report (no personal data); also as a page at /c/{id}/report and a Word file at /c/{id}/report.docx",
        params(("id" = String, Path, description = "The consultation's id")),
        responses(
            (status = 200, description = "The latest publication", body = inline(PublishedReport)),
            (status = 404, description = "Not published yet (code report_not_published)", body = Error),
        ),
    )]
    fn get_report() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations",
        operation_id = "adminListConsultations",
        summary = "Consultations with their comment counts",
        tag = "admin",
        security(("bearerAuth" = [])),
        responses(
            (status = 200, description = "OK", body = inline(Vec<StaffConsultation>)),
        ),
    )]
    fn admin_list_consultations() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations",
        operation_id = "adminCreateConsultation",
        summary = "Create a consultation from a consultation file: a draft, or published at once with `publish: true` (admins only)",
        tag = "admin",
        security(("bearerAuth" = [])),
        request_body(content = inline(NewConsultation)),
        responses(
            (status = 201, description = "Created", body = inline(Created)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 409, description = "The id is already published", body = AdminError),
            (status = 422, description = "The file has an error; the message names its line", body = AdminError),
        ),
    )]
    fn admin_create_consultation() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/drafts",
        operation_id = "adminListDrafts",
        summary = "Unpublished drafts (admins only)",
        tag = "admin",
        security(("bearerAuth" = [])),
        responses(
            (status = 200, description = "OK", body = inline(Vec<Draft>)),
        ),
    )]
    fn admin_list_drafts() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/drafts/{id}/publish",
        operation_id = "adminPublishDraft",
        summary = "Publish a draft: its text becomes version 1, signed (admins only)",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The draft's id")),
        responses(
            (status = 200, description = "OK", body = inline(Outcome)),
            (status = 404, description = "No such draft", body = AdminError),
        ),
    )]
    fn admin_publish_draft() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/{action}",
        operation_id = "adminConsultationAction",
        summary = "`extend` (body `closes_at`: a date or RFC 3339 instant, and `reason`), `close` (`reason`), `archive`, or `version` (`source`: a new consultation file). Every schedule change is shown on the public page. (admins only)",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(ConsultationActionPath),
        request_body(content = inline(LifecycleChange)),
        responses(
            (status = 200, description = "OK", body = inline(LifecycleDone)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 409, description = "Not allowed in the consultation's state (already closed, still open, archived)", body = AdminError),
            (status = 422, description = "Bad date or missing reason", body = AdminError),
        ),
    )]
    fn admin_consultation_action() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/comments",
        operation_id = "adminQueue",
        summary = "A page of the review queue, newest first (keyset paging with `before`)",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id"), QueueFilter, QueuePaging),
        responses(
            (status = 200, description = "A page; `total` stops at 10,000", body = inline(QueuePage)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 422, description = "A filter value is not understood", body = AdminError),
        ),
    )]
    fn admin_queue() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/comments",
        operation_id = "adminManualEntry",
        summary = "Enter a comment received by letter or phone (channel manual): only `opinion` is required; `name`, `id_number`, `position`, `phone`, `email`, `articles`, `note` are checked when given",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        request_body(content = inline(ManualEntry)),
        responses(
            (status = 201, description = "Stored, once on disk", body = inline(ManualReceipt)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 422, description = "Every wrong field", body = inline(ManualErrors)),
        ),
    )]
    fn admin_manual_entry() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/review",
        operation_id = "adminBulkReview",
        summary = "Apply one action to every comment the filter selects (not just a page); audited",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        request_body(content = inline(BulkReviewBody)),
        responses(
            (status = 200, description = "How many comments changed", body = inline(Changed)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 422, description = "Bad filter or action", body = AdminError),
        ),
    )]
    fn admin_bulk_review() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/comments/{receipt}",
        operation_id = "adminComment",
        summary = "One comment with personal data masked",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("receipt" = String, Path, description = "The comment's tracking number")),
        responses(
            (status = 200, description = "The comment: receipt, consultation_id, version, channel, submitted_at, status, name, id_number and phone (masked), position, email, articles, opinion, sender, message_id, timing, disposition, disposition_reason, moderation, tags, campaign (the campaign's id or null), signals (a list of codes, see the queue's `signal` filter), dispute (null, pending, upheld or rejected) and suggestions (every article suggestion with its state: open, accepted or rejected)", body = inline(AnyObject)),
            (status = 404, description = "No such comment", body = AdminError),
        ),
    )]
    fn admin_comment() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/comments/{receipt}/review",
        operation_id = "adminReviewComment",
        summary = "Apply one action to one comment",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("receipt" = String, Path, description = "The comment's tracking number")),
        request_body(content = ReviewAction),
        responses(
            (status = 200, description = "Done", body = inline(ReceiptChanged)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = "No such comment", body = AdminError),
            (status = 422, description = "The action is refused (unknown article, missing reason, excerpt not in the opinion)", body = AdminError),
        ),
    )]
    fn admin_review_comment() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/dashboard",
        operation_id = "adminDashboard",
        summary = "Figures per day, article, position, channel, disposition and moderation mark",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        responses(
            (status = 200, description = "OK", body = inline(Dashboard)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
        ),
    )]
    fn admin_dashboard() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/campaigns",
        operation_id = "adminCampaigns",
        summary = "The consultation's campaigns (copies and near-copies of one text), largest first",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id"), CampaignPaging),
        responses(
            (status = 200, description = "A page of campaigns", body = inline(CampaignList)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 422, description = "Bad paging", body = AdminError),
        ),
    )]
    fn admin_campaigns() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/campaigns/{campaign}",
        operation_id = "adminCampaign",
        summary = "One campaign: its representative text, arrivals, and a page of its members with what each changed",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(
            ("id" = String, Path, description = "The consultation's id"),
            ("campaign" = i64, Path, description = "The campaign's id"),
            QueuePaging,
        ),
        responses(
            (status = 200, description = "The campaign", body = inline(CampaignDetail)),
            (status = 404, description = "No such consultation or campaign", body = AdminError),
            (status = 422, description = "Bad paging", body = AdminError),
        ),
    )]
    fn admin_campaign() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/campaigns/{campaign}",
        operation_id = "adminDecideCampaign",
        summary = "Give one review action to every member of a campaign (each change audited), and record it on the campaign",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(
            ("id" = String, Path, description = "The consultation's id"),
            ("campaign" = i64, Path, description = "The campaign's id"),
        ),
        request_body(content = inline(CampaignDecisionBody)),
        responses(
            (status = 200, description = "How many members changed", body = inline(Changed)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = "No such consultation or campaign", body = AdminError),
            (status = 422, description = "The action is refused (unknown article, missing reason, an excerpt)", body = AdminError),
        ),
    )]
    fn admin_decide_campaign() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/themes",
        operation_id = "adminThemes",
        summary = "The consultation's themes (the main points made about each article, and about the draft as a whole)",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        responses(
            (status = 200, description = "Every theme, by article, largest first", body = inline(ThemeList)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
        ),
    )]
    fn admin_themes() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/themes",
        operation_id = "adminBuildThemes",
        summary = "Build the themes, or place the comments in no theme yet (as `yijian themes build`); everything staff did stays",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        responses(
            (status = 200, description = "What the build did", body = inline(ThemesBuilt)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
        ),
    )]
    fn admin_build_themes() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/themes/{theme}",
        operation_id = "adminTheme",
        summary = "One theme and a page of its members",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(
            ("id" = String, Path, description = "The consultation's id"),
            ("theme" = i64, Path, description = "The theme's id"),
            QueuePaging,
        ),
        responses(
            (status = 200, description = "The theme", body = inline(ThemeDetail)),
            (status = 404, description = "No such consultation or theme", body = AdminError),
            (status = 422, description = "Bad paging", body = AdminError),
        ),
    )]
    fn admin_theme() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/themes/{theme}",
        operation_id = "adminThemeAction",
        summary = "Rename, confirm, merge, split, move comments into, or decide a theme (audited)",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(
            ("id" = String, Path, description = "The consultation's id"),
            ("theme" = i64, Path, description = "The theme's id"),
        ),
        request_body(content = inline(ThemeActionBody)),
        responses(
            (status = 200, description = "What changed", body = inline(ThemeChanged)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = "No such consultation or theme", body = AdminError),
            (status = 422, description = "The action is refused (a bad name, a theme of another article, unknown comments, a missing reason)", body = AdminError),
        ),
    )]
    fn admin_theme_action() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/disputes",
        operation_id = "adminDisputes",
        summary = "\"Not written by me\" requests about the consultation's comments, newest first, contact details masked, with the comments each named and where they stand",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        responses(
            (status = 200, description = "OK", body = inline(DisputeList)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
        ),
    )]
    fn admin_disputes() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/comments/{receipt}/dispute",
        operation_id = "adminDecideDispute",
        summary = "Decide a disputed comment: upheld (left out of the report's counts) or rejected (counted again); audited",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("receipt" = String, Path, description = "The comment's tracking number")),
        request_body(content = inline(DisputeDecisionBody)),
        responses(
            (status = 200, description = "Recorded", body = inline(DisputeDecided)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = "No such comment, or it is not disputed", body = AdminError),
            (status = 422, description = "Unknown decision or missing reason", body = AdminError),
        ),
    )]
    fn admin_decide_dispute() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/export",
        operation_id = "adminExport",
        summary = "Every comment as a file, ID and phone numbers masked",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id"), ExportQuery),
        responses(
            (status = 200, description = "The file (CSV with a UTF-8 BOM; XLSX with the comments sheet first and an articles sheet; JSON Lines)",
                content(
                    (inline(Binary) = "text/csv"),
                    (inline(Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                    (inline(Binary) = "application/jsonl"),
                )),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 422, description = "Unknown format", body = AdminError),
            (status = 429, description = EXPORT_IN_PROGRESS, body = AdminError,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
            (status = 503, description = EXPORTS_BUSY, body = AdminError,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
        ),
    )]
    fn admin_export() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/export",
        operation_id = "adminExportPersonal",
        summary = "Every comment as a file; with `include_personal_data: true` and a `reason` (admins only) the numbers are in full. Audited.",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        request_body(content = inline(ExportRequest), description = "Optional: without one, the masked CSV"),
        responses(
            (status = 200, description = "The file",
                content(
                    (inline(Binary) = "text/csv"),
                    (inline(Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                    (inline(Binary) = "application/jsonl"),
                )),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
            (status = 422, description = "No reason given", body = AdminError),
            (status = 429, description = EXPORT_IN_PROGRESS, body = AdminError,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
            (status = 503, description = EXPORTS_BUSY, body = AdminError,
                headers(("Retry-After" = u64, description = "Seconds to wait"))),
        ),
    )]
    fn admin_export_personal() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/consultations/{id}/report",
        operation_id = "adminReportPreview",
        summary = "The adoption report as it would be published now",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        responses(
            (status = 200, description = "OK", body = inline(AnyObject)),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
        ),
    )]
    fn admin_report_preview() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/consultations/{id}/report",
        operation_id = "adminPublishReport",
        summary = "Publish the adoption report as it stands, with an optional `preface`; each publication is kept (admins only)",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = String, Path, description = "The consultation's id")),
        request_body(content = inline(ReportPublication), description = "Optional"),
        responses(
            (status = 201, description = "Published", body = inline(ReportPublished)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = NO_CONSULTATION, body = AdminError),
        ),
    )]
    fn admin_publish_report() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/users",
        operation_id = "adminUsers",
        summary = "Staff accounts (admins only)",
        tag = "admin",
        security(("bearerAuth" = [])),
        responses(
            (status = 200, description = "OK", body = inline(Vec<StaffUser>)),
        ),
    )]
    fn admin_users() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/session",
        operation_id = "adminSession",
        summary = "Who is signed in, and the CSRF token to send in the X-CSRF-Token header with changes made on the session cookie (its cookie is set too)",
        tag = "admin",
        security(("bearerAuth" = [])),
        responses(
            (status = 200, description = "OK", body = inline(StaffSession)),
        ),
    )]
    fn admin_session() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/mail",
        operation_id = "adminMailTray",
        summary = "The mail trays: unrouted, rejected, or mail that became comments, newest first, 100 at a time",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(TrayQuery),
        responses(
            (status = 200, description = "A page of a tray", body = inline(MailTray)),
            (status = 422, description = "Unknown state or bad before (code invalid)", body = AdminError),
        ),
    )]
    fn admin_mail_tray() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/mail/{id}",
        operation_id = "adminMail",
        summary = "One mail: its summary, attachments (no bytes), whole text and receipt",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = i64, Path, description = "The mail's id")),
        responses(
            (status = 200, description = "The mail's summary fields, with `attachments`, `full_text` and `receipt`", body = inline(AnyObject)),
            (status = 404, description = "No such mail (code mail_not_found)", body = AdminError),
        ),
    )]
    fn admin_mail() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/mail/{id}/raw",
        operation_id = "adminMailRaw",
        summary = "The raw message as it arrived (message/rfc822), for admins, with a reason. Audited as mail.raw_opened before it is sent",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = i64, Path, description = "The mail's id"), OpenReason),
        responses(
            (status = 200, description = "The message", content_type = "message/rfc822", body = inline(Binary)),
            (status = 404, description = "No such mail (code mail_not_found)", body = AdminError),
            (status = 422, description = OPEN_REASON_MISSING, body = AdminError),
        ),
    )]
    fn admin_mail_raw() {}

    #[utoipa::path(
        post,
        path = "/api/v1/admin/mail/{id}/assign",
        operation_id = "adminMailAssign",
        summary = "Assign an unrouted mail to a consultation: it becomes a comment with its receipt, and gets its automatic reply when SMTP is configured",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = i64, Path, description = "The mail's id")),
        request_body(content = inline(MailAssignment)),
        responses(
            (status = 201, description = "The comment it became", body = inline(MailAssigned)),
            (status = 400, description = BAD_BODY, body = AdminError),
            (status = 404, description = "No such consultation (code consultation_not_found)", body = AdminError),
            (status = 409, description = "The mail is not in the unrouted tray (code mail_not_unrouted)", body = AdminError),
            (status = 422, description = "No consultation given (code invalid)", body = AdminError),
        ),
    )]
    fn admin_mail_assign() {}

    #[utoipa::path(
        get,
        path = "/api/v1/admin/attachments/{id}",
        operation_id = "adminAttachment",
        summary = "An attachment's bytes, as a download, for admins, with a reason. Audited as mail.attachment_opened before it is sent",
        tag = "admin",
        security(("bearerAuth" = [])),
        params(("id" = i64, Path, description = "The attachment's id"), OpenReason),
        responses(
            (status = 200, description = "The bytes", content_type = "application/octet-stream", body = inline(Binary)),
            (status = 404, description = "No such attachment, or it was left out over a limit (code attachment_not_found)", body = AdminError),
            (status = 422, description = OPEN_REASON_MISSING, body = AdminError),
        ),
    )]
    fn admin_attachment() {}
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every operation of the document as (method, path), methods in upper case.
    fn documented() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&method.as_str()) {
                    ops.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let served: BTreeSet<(String, String)> =
            crate::api_endpoints().into_iter().map(|(m, p)| (m.as_str().to_string(), p.to_string())).collect();
        assert_eq!(served.len(), crate::api_endpoints().len(), "a route listed twice");
        let documented = documented();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(undocumented.is_empty(), "served but not documented: {undocumented:?}");
        assert!(not_served.is_empty(), "documented but not served: {not_served:?}");
    }

    #[test]
    fn staff_operations_name_the_bearer_token_and_public_ones_none() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
        assert_eq!(doc["components"]["securitySchemes"]["cookieAuth"]["in"], "cookie");
        for (method, path) in documented() {
            let op = &doc["paths"][&path][method.to_lowercase()];
            if path.starts_with("/api/v1/admin/") {
                let either = serde_json::json!([{"bearerAuth": []}, {"cookieAuth": []}]);
                assert_eq!(op["security"], either, "{method} {path}");
                assert_eq!(op["tags"], serde_json::json!(["admin"]), "{method} {path}");
                let mut codes = vec!["401", "403"];
                if method == "POST" {
                    codes.push("415");
                    let csrf = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["name"] == "X-CSRF-Token" && p["in"] == "header");
                    assert!(csrf, "{method} {path} names the CSRF header");
                }
                for code in codes {
                    let schema = &op["responses"][code]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/AdminError", "{method} {path} answers {code}");
                }
            } else {
                assert!(op.get("security").is_none(), "{method} {path}");
                assert!(op["responses"].get("401").is_none(), "{method} {path}");
                if method == "POST" {
                    let schema = &op["responses"]["415"]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/Error", "{method} {path} answers 415");
                }
                assert_eq!(op["tags"], serde_json::json!(["public"]), "{method} {path}");
            }
        }
    }

    #[test]
    fn bodies_are_held_to_the_types_the_document_states() {
        use serde_json::json;
        let review = "/api/v1/admin/consultations/{id}/review";
        let ok =
            json!({"action": "dispose", "disposition": "adopted", "reason": "好", "filter": {"status": "received"}});
        assert_eq!(check_body_types("post", review, &ok), Ok(()));
        for (bad, field) in [
            (json!({"action": "dispose", "excerpt": null}), "excerpt"),
            (json!({"action": "link", "articles": ["3"]}), "articles"),
            (json!({"action": "link", "articles": [1.5]}), "articles"),
            (json!({"action": "drop"}), "action"),
            (json!({"action": "tag", "tag_name": 7}), "tag_name"),
        ] {
            assert_eq!(check_body_types("post", review, &bad), Err(field.to_string()), "{bad}");
        }
        let comments = "/api/v1/admin/consultations/{id}/comments";
        assert_eq!(check_body_types("post", comments, &json!({"opinion": false})), Err("opinion".into()));
        assert_eq!(
            check_body_types("post", comments, &json!({"opinion": "意见", "other": 1})),
            Ok(()),
            "unknown: the handler's"
        );
        assert_eq!(check_body_types("post", "/api/v1/nowhere", &json!({"x": 1})), Ok(()));
    }
}
