//! Comments: what arrives, through which channel, and how a web or API submission is checked.

use jiff::civil::Date;
use serde_json::{Map, Value};

use crate::pii::{IdNumber, PhoneNumber};
use crate::validate;
use crate::{FieldCode, FieldError};

/// How a comment reached the consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The public web form.
    Web,
    /// The JSON API.
    Api,
    /// A mail to the consultation's address.
    Email,
    /// A letter or a call that staff typed in.
    Manual,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Email => "email",
            Channel::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Some(match s {
            "web" => Channel::Web,
            "api" => Channel::Api,
            "email" => Channel::Email,
            "manual" => Channel::Manual,
            _ => return None,
        })
    }
}

/// Where a comment stands in review. The back office moves it along.
pub const STATUS_RECEIVED: &str = "received";

/// A comment ready to be stored. For the web and API channels every personal field is present;
/// mail and manual entries may lack them and carry a sender or a note instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub consultation_id: String,
    pub version: u32,
    pub channel: Channel,
    pub name: Option<String>,
    pub id_number: Option<IdNumber>,
    pub position: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
    pub opinion: String,
    pub articles: Vec<u32>,
    /// A mail's From address, or who typed a manual entry.
    pub sender: Option<String>,
    pub note: Option<String>,
}

/// What the intake needs to know of a consultation to check a submission.
#[derive(Debug, Clone)]
pub struct IntakeRules {
    pub positions: Vec<String>,
    pub articles: Vec<u32>,
    pub max_opinion_chars: usize,
}

/// The seven fields of the reference form, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubmission {
    pub name: String,
    pub id_number: IdNumber,
    pub position: String,
    pub phone: PhoneNumber,
    pub email: String,
    pub opinion: String,
    pub articles: Vec<u32>,
}

impl ValidSubmission {
    /// The comment this submission makes, on a version of a consultation's text.
    pub fn into_comment(self, consultation_id: &str, version: u32, channel: Channel) -> NewComment {
        NewComment {
            consultation_id: consultation_id.to_string(),
            version,
            channel,
            name: Some(self.name),
            id_number: Some(self.id_number),
            position: Some(self.position),
            phone: Some(self.phone),
            email: Some(self.email),
            opinion: self.opinion,
            articles: self.articles,
            sender: None,
            note: None,
        }
    }
}

/// Longest note staff attach to a manual entry (where a letter came from, who called).
pub const MAX_NOTE_CHARS: usize = 1000;

/// Checks a comment that staff type in from a letter or a call. Only the opinion is required:
/// a letter may carry no ID number or phone, but what it does carry is checked as strictly as
/// the web form's fields. `articles` are already numbers (from checkboxes).
#[allow(clippy::too_many_arguments)]
pub fn validate_manual_entry(
    fields: &std::collections::HashMap<&str, &str>,
    articles: &[u32],
    rules: &IntakeRules,
    today: Date,
) -> Result<NewCommentFields, Vec<FieldError>> {
    let mut errors = Vec::new();
    let get = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    fn check<T>(field: &'static str, r: Result<T, FieldCode>, errors: &mut Vec<FieldError>) -> Option<T> {
        r.map_err(|code| errors.push(FieldError::new(field, code))).ok()
    }
    let name = get("name").and_then(|s| check("name", validate::name(s), &mut errors));
    let id_number = get("id_number").and_then(|s| check("id_number", validate::id_number(s, today), &mut errors));
    let position = get("position").filter(|p| *p != "请选择").and_then(|p| {
        if rules.positions.iter().any(|x| x == p) {
            Some(p.to_string())
        } else {
            errors.push(FieldError::new("position", FieldCode::PositionUnknown));
            None
        }
    });
    let phone = get("phone").and_then(|s| check("phone", validate::phone(s), &mut errors));
    let email = get("email").and_then(|s| check("email", validate::email(s), &mut errors));
    let opinion = match fields.get("opinion") {
        Some(s) => validate::opinion(s, rules.max_opinion_chars)
            .map_err(|code| {
                let e = FieldError::new("opinion", code);
                errors.push(if code == FieldCode::OpinionTooLong { e.with_limit(rules.max_opinion_chars) } else { e });
            })
            .ok(),
        None => {
            errors.push(FieldError::new("opinion", FieldCode::Required));
            None
        }
    };
    if let Some(n) = articles.iter().find(|n| !rules.articles.contains(n)) {
        let _ = n;
        errors.push(FieldError::new("articles", FieldCode::ArticleUnknown));
    }
    let note = get("note").map(String::from);
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        errors.push(FieldError::new("note", FieldCode::NoteTooLong).with_limit(MAX_NOTE_CHARS));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut articles = articles.to_vec();
    articles.sort_unstable();
    articles.dedup();
    Ok(NewCommentFields {
        name,
        id_number,
        position,
        phone,
        email,
        opinion: opinion.unwrap_or_default(),
        articles,
        note,
    })
}

/// The checked fields of a manual entry; [`NewCommentFields::into_comment`] makes the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommentFields {
    pub name: Option<String>,
    pub id_number: Option<IdNumber>,
    pub position: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
    pub opinion: String,
    pub articles: Vec<u32>,
    pub note: Option<String>,
}

impl NewCommentFields {
    pub fn into_comment(self, consultation_id: &str, version: u32, entered_by: &str) -> NewComment {
        NewComment {
            consultation_id: consultation_id.to_string(),
            version,
            channel: Channel::Manual,
            name: self.name,
            id_number: self.id_number,
            position: self.position,
            phone: self.phone,
            email: self.email,
            opinion: self.opinion,
            articles: self.articles,
            sender: Some(entered_by.to_string()),
            note: self.note,
        }
    }
}

/// The order in which fields are reported, which is the form's order.
pub const FIELDS: [&str; 7] = ["name", "id_number", "position", "phone", "email", "opinion", "articles"];

/// A text field of a JSON submission: required (absent or null is refused) and a string.
pub fn text_field(body: &Map<String, Value>, field: &'static str) -> Result<String, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(FieldError::new(field, FieldCode::Required)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(FieldError::new(field, FieldCode::InvalidType)),
    }
}

/// Checks every field of a JSON submission and reports every problem at once.
/// `today` is the local date in the consultation's zone (birth dates may not lie after it).
pub fn validate_submission(
    body: &Map<String, Value>,
    rules: &IntakeRules,
    today: Date,
) -> Result<ValidSubmission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut text = |field: &'static str| text_field(body, field).map_err(|e| errors.push(e)).ok();
    let name = text("name");
    let id_number = text("id_number");
    let position = text("position");
    let phone = text("phone");
    let email = text("email");
    let opinion = text("opinion");

    fn check<T>(field: &'static str, r: Result<T, FieldCode>, errors: &mut Vec<FieldError>) -> Option<T> {
        r.map_err(|code| errors.push(FieldError::new(field, code))).ok()
    }
    let name = name.and_then(|s| check("name", validate::name(&s), &mut errors));
    let id_number = id_number.and_then(|s| check("id_number", validate::id_number(&s, today), &mut errors));
    let position = position.and_then(|s| {
        if s.is_empty() || s == "请选择" {
            errors.push(FieldError::new("position", FieldCode::Required));
            None
        } else if rules.positions.contains(&s) {
            Some(s)
        } else {
            errors.push(FieldError::new("position", FieldCode::PositionUnknown));
            None
        }
    });
    let phone = phone.and_then(|s| check("phone", validate::phone(&s), &mut errors));
    let email = email.and_then(|s| check("email", validate::email(&s), &mut errors));
    let opinion = opinion.and_then(|s| {
        validate::opinion(&s, rules.max_opinion_chars)
            .map_err(|code| {
                let e = FieldError::new("opinion", code);
                errors.push(if code == FieldCode::OpinionTooLong { e.with_limit(rules.max_opinion_chars) } else { e });
            })
            .ok()
    });
    let articles = match body.get("articles") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            let mut ok = true;
            for item in items {
                match item.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if rules.articles.contains(&n) => {
                        if !out.contains(&n) {
                            out.push(n);
                        }
                    }
                    Some(_) => {
                        ok = false;
                        errors.push(FieldError::new("articles", FieldCode::ArticleUnknown));
                        break;
                    }
                    None => {
                        ok = false;
                        errors.push(FieldError::new(
                            "articles",
                            if item.is_number() { FieldCode::ArticleUnknown } else { FieldCode::InvalidType },
                        ));
                        break;
                    }
                }
            }
            out.sort_unstable();
            ok.then_some(out)
        }
        Some(_) => {
            errors.push(FieldError::new("articles", FieldCode::InvalidType));
            None
        }
    };
    // Type errors were found first; report in the form's order all the same.
    errors.sort_by_key(|e| FIELDS.iter().position(|f| *f == e.field).unwrap_or(usize::MAX));
    match (name, id_number, position, phone, email, opinion, articles) {
        (Some(name), Some(id_number), Some(position), Some(phone), Some(email), Some(opinion), Some(articles))
            if errors.is_empty() =>
        {
            Ok(ValidSubmission { name, id_number, position, phone, email, opinion, articles })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> IntakeRules {
        IntakeRules {
            positions: vec!["公务员".into(), "其他".into()],
            articles: (1..=20).collect(),
            max_opinion_chars: 10,
        }
    }

    fn today() -> Date {
        jiff::civil::date(2025, 5, 15)
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn good() -> Value {
        json!({"name": "张三", "id_number": "11010519491231002X", "position": "公务员",
               "phone": "13800138000", "email": "zhang@example.com", "opinion": "建议很好", "articles": [5, 2, 5]})
    }

    #[test]
    fn a_good_submission_passes() {
        let v = validate_submission(&body(good()), &rules(), today()).unwrap();
        assert_eq!(v.articles, vec![2, 5]);
        assert_eq!(v.phone.e164(), "+8613800138000");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let b = body(
            json!({"name": 5, "position": "请选择", "phone": "123", "email": "x", "opinion": "这条意见超过了十个字的限制啊", "articles": [99]}),
        );
        let errs = validate_submission(&b, &rules(), today()).unwrap_err();
        let got: Vec<(&str, FieldCode)> = errs.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("name", FieldCode::InvalidType),
                ("id_number", FieldCode::Required),
                ("position", FieldCode::Required),
                ("phone", FieldCode::PhoneInvalid),
                ("email", FieldCode::EmailInvalid),
                ("opinion", FieldCode::OpinionTooLong),
                ("articles", FieldCode::ArticleUnknown),
            ]
        );
        assert_eq!(errs.iter().find(|e| e.field == "opinion").unwrap().limit, Some(10));
    }

    #[test]
    fn field_types_and_articles() {
        let cases: &[(&str, Value, FieldCode)] = &[
            ("articles", json!("5"), FieldCode::InvalidType),
            ("articles", json!(["5"]), FieldCode::InvalidType),
            ("articles", json!([0]), FieldCode::ArticleUnknown),
            ("articles", json!([-1]), FieldCode::ArticleUnknown),
            ("articles", json!([1.5]), FieldCode::ArticleUnknown),
            ("position", json!("局长"), FieldCode::PositionUnknown),
            ("position", json!(["公务员"]), FieldCode::InvalidType),
            ("opinion", json!(true), FieldCode::InvalidType),
        ];
        for (field, value, code) in cases {
            let mut b = body(good());
            b.insert(field.to_string(), value.clone());
            let errs = validate_submission(&b, &rules(), today()).unwrap_err();
            assert_eq!(errs.len(), 1, "{field}={value}: {errs:?}");
            assert_eq!((errs[0].field, errs[0].code), (*field, *code), "{field}={value}");
        }
    }

    #[test]
    fn articles_may_be_absent() {
        let mut b = body(good());
        b.remove("articles");
        assert!(validate_submission(&b, &rules(), today()).unwrap().articles.is_empty());
        b.insert("articles".into(), Value::Null);
        assert!(validate_submission(&b, &rules(), today()).is_ok());
    }

    #[test]
    fn a_manual_entry_needs_only_its_opinion_and_checks_what_it_has() {
        fn fields<'a>(pairs: &[(&'a str, &'a str)]) -> std::collections::HashMap<&'a str, &'a str> {
            pairs.iter().copied().collect()
        }
        let ok = validate_manual_entry(
            &fields(&[("opinion", "来信意见"), ("name", " "), ("position", "请选择")]),
            &[3, 3],
            &rules(),
            today(),
        )
        .unwrap();
        assert_eq!((ok.name, ok.position, ok.articles), (None, None, vec![3]));
        let c =
            validate_manual_entry(&fields(&[("opinion", "来信"), ("phone", "138 0013 8000")]), &[], &rules(), today())
                .unwrap()
                .into_comment("c", 2, "rev1");
        assert_eq!((c.channel, c.sender.as_deref(), c.version), (Channel::Manual, Some("rev1"), 2));
        assert!(c.phone.is_some());
        let errors = validate_manual_entry(
            &fields(&[("id_number", "110105194912310021"), ("position", "宇航员"), ("email", "x@")]),
            &[99],
            &rules(),
            today(),
        )
        .unwrap_err();
        let codes: Vec<_> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            codes,
            [
                ("id_number", FieldCode::IdNumberChecksum),
                ("position", FieldCode::PositionUnknown),
                ("email", FieldCode::EmailDomain),
                ("opinion", FieldCode::Required),
                ("articles", FieldCode::ArticleUnknown)
            ]
        );
        let long_note = "注".repeat(MAX_NOTE_CHARS + 1);
        let errors = validate_manual_entry(&fields(&[("opinion", "好"), ("note", &long_note)]), &[], &rules(), today());
        assert_eq!(errors.unwrap_err()[0].code, FieldCode::NoteTooLong);
    }
}
