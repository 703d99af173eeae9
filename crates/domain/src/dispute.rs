//! "Not written by me": a person says comments were made under their ID number without them.
//!
//! The request names no comment: it gives the ID number (found through its keyed hash) and a
//! way to reach the person. The answer never says whether any comment was found. Each comment
//! it names is disputed until staff decide: upheld (not written by that person: it stays out
//! of the report's counts) or rejected (it counts again).

use serde_json::{Map, Value};

use crate::comment::text_field;
use crate::pii::{IdNumber, PhoneNumber};
use crate::{FieldCode, FieldError, Lang, validate};

/// What staff decided about a disputed comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisputeDecision {
    /// The comment was not written by the person it names: it is left out of the counts.
    Upheld,
    /// The dispute does not hold: the comment counts as before.
    Rejected,
}

impl DisputeDecision {
    pub const ALL: [DisputeDecision; 2] = [DisputeDecision::Upheld, DisputeDecision::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            DisputeDecision::Upheld => "upheld",
            DisputeDecision::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<DisputeDecision> {
        DisputeDecision::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (DisputeDecision::Upheld, Lang::Zh) => "属实（非本人提交，不计入统计）",
            (DisputeDecision::Rejected, Lang::Zh) => "不属实（照常计入统计）",
            (DisputeDecision::Upheld, Lang::En) => "Upheld (not theirs; left out of the counts)",
            (DisputeDecision::Rejected, Lang::En) => "Rejected (counted as before)",
        }
    }
}

/// Where a comment stands with disputes: never disputed, disputed and waiting for staff, or
/// decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeState {
    None,
    Pending,
    Decided(DisputeDecision),
}

impl DisputeState {
    /// Whether the report counts the comment: a disputed comment is left out until staff
    /// decide, and stays out when the dispute is upheld.
    pub fn counts_in_report(self) -> bool {
        matches!(self, DisputeState::None | DisputeState::Decided(DisputeDecision::Rejected))
    }
}

/// A request as checked: the ID number, and a phone number or an email address (or both).
#[derive(Debug, Clone)]
pub struct DisputeRequest {
    pub id_number: IdNumber,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
}

/// The fields of the request form.
pub const FIELDS: [&str; 3] = ["id_number", "phone", "email"];

/// Checks a request's fields (`id_number`, `phone`, `email`), every problem at once. A phone
/// number or an email address is required, so the office can answer; both may be given.
pub fn validate_request(
    body: &Map<String, Value>,
    today: jiff::civil::Date,
) -> Result<DisputeRequest, Vec<FieldError>> {
    let mut errors = vec![];
    let given = |field: &'static str, errors: &mut Vec<FieldError>| match text_field(body, field) {
        Ok(s) if s.trim().is_empty() => None,
        Ok(s) => Some(s),
        Err(e) if e.code == FieldCode::Required => None,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let id_number = match text_field(body, "id_number") {
        Ok(s) if !s.trim().is_empty() => {
            validate::id_number(&s, today).map_err(|c| errors.push(FieldError::new("id_number", c))).ok()
        }
        Ok(_) => {
            errors.push(FieldError::new("id_number", FieldCode::Required));
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let phone = given("phone", &mut errors);
    let email = given("email", &mut errors);
    let phone = phone.and_then(|s| validate::phone(&s).map_err(|c| errors.push(FieldError::new("phone", c))).ok());
    let email = email.and_then(|s| validate::email(&s).map_err(|c| errors.push(FieldError::new("email", c))).ok());
    let contact_given = body.get("phone").and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty())
        || body.get("email").and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
    if !contact_given {
        errors.push(FieldError::new("phone", FieldCode::Required));
    }
    match id_number {
        Some(id_number) if errors.is_empty() => Ok(DisputeRequest { id_number, phone, email }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2025, 6, 1)
    }

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_disputed_comment_counts_only_once_the_dispute_is_rejected() {
        assert!(DisputeState::None.counts_in_report());
        assert!(!DisputeState::Pending.counts_in_report());
        assert!(!DisputeState::Decided(DisputeDecision::Upheld).counts_in_report());
        assert!(DisputeState::Decided(DisputeDecision::Rejected).counts_in_report());
        for d in DisputeDecision::ALL {
            assert_eq!(DisputeDecision::parse(d.as_str()), Some(d));
        }
    }

    #[test]
    fn a_request_needs_the_id_number_and_a_way_to_answer() {
        let ok = validate_request(&fields(json!({"id_number": "11010519491231002x", "phone": "13800138000"})), today())
            .unwrap();
        assert_eq!(ok.id_number.expose(), "11010519491231002X");
        assert!(ok.phone.is_some() && ok.email.is_none());
        let ok =
            validate_request(&fields(json!({"id_number": "11010519491231002X", "email": "a@example.com"})), today())
                .unwrap();
        assert_eq!(ok.email.as_deref(), Some("a@example.com"));

        let codes = |v: Value| -> Vec<(&'static str, FieldCode)> {
            validate_request(&fields(v), today()).unwrap_err().into_iter().map(|e| (e.field, e.code)).collect()
        };
        assert_eq!(
            codes(json!({"id_number": "", "phone": " "})),
            vec![("id_number", FieldCode::Required), ("phone", FieldCode::Required)]
        );
        assert_eq!(
            codes(json!({"id_number": "110105194912310021", "email": "x"})),
            vec![("id_number", FieldCode::IdNumberChecksum), ("email", FieldCode::EmailInvalid)]
        );
        assert_eq!(
            codes(json!({"id_number": 5, "phone": "123"})),
            vec![("id_number", FieldCode::InvalidType), ("phone", FieldCode::PhoneInvalid)]
        );
    }
}
