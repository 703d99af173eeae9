//! Words for people: what each [`FieldError`] means, in Chinese or English.
//!
//! The Chinese is written for citizens filling in a form: plain, polite, and saying what to do.

use crate::validate::NAME_MAX_CHARS;
use crate::{FieldCode, FieldError, Lang};

/// The label of a form field, as the form shows it. An unknown field gets a neutral label.
/// How an article is named: 第5条, Art. 5.
pub fn article_label(n: u32, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("第{n}条"),
        Lang::En => format!("Art. {n}"),
    }
}

/// A channel's name (`web`, `api`, `email`, `manual`) for people.
pub fn channel_label(channel: &str, lang: Lang) -> &'static str {
    match (channel, lang) {
        ("web", Lang::Zh) => "网页",
        ("api", Lang::Zh) => "接口",
        ("email", Lang::Zh) => "电子邮件",
        ("manual", Lang::Zh) => "手工录入",
        ("web", Lang::En) => "Web",
        ("api", Lang::En) => "API",
        ("email", Lang::En) => "Email",
        ("manual", Lang::En) => "Manual",
        (_, Lang::Zh) => "其他",
        (_, Lang::En) => "Other",
    }
}

pub fn field_label(field: &str, lang: Lang) -> &'static str {
    match (field, lang) {
        ("name", Lang::Zh) => "姓名",
        ("name", Lang::En) => "Name",
        ("id_number", Lang::Zh) => "身份证",
        ("id_number", Lang::En) => "ID card number",
        ("position", Lang::Zh) => "职位",
        ("position", Lang::En) => "Position",
        ("phone", Lang::Zh) => "联系电话",
        ("phone", Lang::En) => "Phone number",
        ("email", Lang::Zh) => "邮箱",
        ("email", Lang::En) => "Email",
        ("opinion", Lang::Zh) => "意见",
        ("opinion", Lang::En) => "Comments",
        ("articles", Lang::Zh) => "相关条款",
        ("articles", Lang::En) => "Related articles",
        ("captcha_id" | "captcha_answer", Lang::Zh) => "验证码",
        ("captcha_id" | "captcha_answer", Lang::En) => "Verification code",
        ("note", Lang::Zh) => "备注",
        ("note", Lang::En) => "Note",
        ("consent", Lang::Zh) => "同意个人信息处理",
        ("consent", Lang::En) => "Consent",
        (_, Lang::Zh) => "此项",
        (_, Lang::En) => "This field",
    }
}

/// The message for one field error. Every code has its own wording, in both languages: the match
/// names every [`FieldCode`], so a new code does not compile until it is worded.
pub fn field_message(err: &FieldError, lang: Lang) -> String {
    let label = field_label(err.field, lang);
    let zh = lang == Lang::Zh;
    let text = |zh_text: &str, en_text: &str| {
        if zh { zh_text.to_owned() } else { en_text.to_owned() }
    };
    match err.code {
        FieldCode::Required => required(err.field, lang),
        FieldCode::InvalidType => {
            if zh {
                format!("{label}的数据格式不正确，请重新填写")
            } else {
                format!("{label}: the value has the wrong type")
            }
        }

        FieldCode::NameTooLong => {
            let limit = err.limit.unwrap_or(NAME_MAX_CHARS);
            if zh {
                format!("姓名不能超过{limit}个字")
            } else {
                format!("Your name can be at most {limit} characters long")
            }
        }
        FieldCode::NameInvalidCharacter => text(
            "姓名只能填写文字，可以使用空格和间隔号“·”，不能包含数字或其他符号",
            "Your name may contain letters, spaces and the marks · . - ' only, not digits or other symbols",
        ),

        FieldCode::IdNumberLegacy => text(
            "15位旧身份证号码已停止使用，请填写18位身份证号码",
            "15-digit ID numbers are no longer valid; please enter your 18-digit ID card number",
        ),
        FieldCode::IdNumberFormat => text(
            "身份证号码应为18位，由17位数字和最后1位数字或字母X组成，请核对",
            "An ID card number has 18 characters: 17 digits followed by a digit or the letter X",
        ),
        FieldCode::IdNumberRegion => text(
            "身份证号码的前两位（地区代码）不正确，请核对",
            "The first two digits (the region code) of the ID card number are not valid; please check the number",
        ),
        FieldCode::IdNumberBirthDate => text(
            "身份证号码中的出生日期不正确，请核对",
            "The date of birth in the ID card number is not valid; please check the number",
        ),
        FieldCode::IdNumberChecksum => text(
            "身份证号码校验位不正确，请核对",
            "The ID card number is not valid (its check digit is wrong); please check the number",
        ),

        FieldCode::PhoneInvalid => text(
            "请填写正确的手机号码，或带区号的固定电话号码（如 024-22951510）",
            "Please enter a valid mobile number, or a landline number with its area code (such as 024-22951510)",
        ),
        FieldCode::PhoneNotMainland => {
            text("请填写中国大陆的手机号码或固定电话号码", "Please enter a mobile or landline number in mainland China")
        }
        FieldCode::PhoneServiceNumber => text(
            "请填写本人的手机号码或固定电话号码，不能使用400、800等服务号码或短号码",
            "Please enter your own mobile or landline number; service numbers such as 400 or 800 numbers and short numbers cannot be used",
        ),

        FieldCode::EmailInvalid => text(
            "请填写正确的邮箱地址，如 name@example.com",
            "Please enter a valid email address, such as name@example.com",
        ),
        FieldCode::EmailDomain => text(
            "邮箱地址中“@”后面的部分不正确，请核对",
            "The part of the email address after the @ is not valid; please check it",
        ),
        // The limit is in octets, which people do not count, so it is not named.
        FieldCode::EmailTooLong => text("邮箱地址过长，请核对", "The email address is too long; please check it"),

        FieldCode::OpinionTooLong => match (err.limit, zh) {
            (Some(limit), true) => format!("意见不能超过{limit}个字，请精简后再提交"),
            (Some(limit), false) => {
                format!("Your comments can be at most {limit} characters long; please shorten them")
            }
            (None, true) => "意见内容过长，请精简后再提交".to_owned(),
            (None, false) => "Your comments are too long; please shorten them".to_owned(),
        },
        FieldCode::OpinionControlCharacter => text(
            "意见中含有无法显示的控制字符，请删除后再提交（可尝试以纯文本方式重新粘贴）",
            "Your comments contain invisible control characters; please remove them (try pasting the text again as plain text)",
        ),

        FieldCode::NoteTooLong => match (err.limit, zh) {
            (Some(limit), true) => format!("备注不能超过{limit}个字"),
            (Some(limit), false) => format!("The note can be at most {limit} characters long"),
            (None, true) => "备注过长".to_owned(),
            (None, false) => "The note is too long".to_owned(),
        },
        FieldCode::PositionUnknown => text("请选择列表中的职位", "Please choose a position from the list"),
        FieldCode::ArticleUnknown => {
            text("所选条款不存在，请重新选择", "A selected article does not exist; please choose again")
        }
        FieldCode::CaptchaWrong => {
            text("验证码不正确，请重新输入", "The verification code is not correct; please try again")
        }
        FieldCode::ConsentRequired => text(
            "请阅读个人信息保护说明，并勾选同意后再提交",
            "Please read the privacy notice and tick the box to agree before you submit",
        ),
        FieldCode::RateLimited => {
            let secs = err.limit.unwrap_or(60);
            if zh {
                format!("提交过于频繁，您填写的内容已保留，请{secs}秒后再提交")
            } else {
                format!(
                    "Too many submissions from your address. What you typed is kept; please try again in {secs} seconds"
                )
            }
        }
        FieldCode::FormExpired => text(
            "页面已过期，您填写的内容已保留，请重新填写验证码后再提交",
            "This form had expired. What you typed is kept; please answer the captcha again and resubmit",
        ),
        FieldCode::StorageFailed => text(
            "服务器出现问题，您的意见没有保存，请稍后再试",
            "Something went wrong on the server; your comment was not saved. Please try again later",
        ),
        FieldCode::Busy => {
            let secs = err.limit.unwrap_or(5);
            if zh {
                format!("当前提交的人数过多，您的意见尚未保存；您填写的内容已保留，请{secs}秒后再次提交")
            } else {
                format!(
                    "Too many people are submitting right now and your comment was not saved. What you typed is kept; please submit again in {secs} seconds"
                )
            }
        }
        FieldCode::CaptchaExpired => text(
            "验证码已失效，请点击图片获取新的验证码",
            "The verification code has expired or was already used; please get a new image",
        ),
    }
}

/// "Please fill in X", worded for each field.
fn required(field: &str, lang: Lang) -> String {
    let (zh, en) = match field {
        "name" => ("请填写姓名", "Please enter your name"),
        "id_number" => ("请填写身份证号码", "Please enter your ID card number"),
        "position" => ("请选择职位", "Please choose your position"),
        "phone" => ("请填写联系电话", "Please enter your phone number"),
        "email" => ("请填写邮箱", "Please enter your email address"),
        "opinion" => ("请填写意见", "Please enter your comments"),
        "articles" => ("请选择相关条款", "Please choose the related articles"),
        "captcha_id" => ("请先获取验证码图片", "Please get a verification code image first"),
        "captcha_answer" => ("请填写验证码", "Please enter the verification code"),
        _ => {
            return match lang {
                Lang::Zh => format!("请填写{}", field_label(field, lang)),
                Lang::En => "Please fill in this field".to_owned(),
            };
        }
    };
    match lang {
        Lang::Zh => zh.to_owned(),
        Lang::En => en.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_names_the_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("name", "请填写姓名", "Please enter your name"),
            ("id_number", "请填写身份证号码", "Please enter your ID card number"),
            ("position", "请选择职位", "Please choose your position"),
            ("phone", "请填写联系电话", "Please enter your phone number"),
            ("email", "请填写邮箱", "Please enter your email address"),
            ("opinion", "请填写意见", "Please enter your comments"),
            ("articles", "请选择相关条款", "Please choose the related articles"),
            ("captcha_id", "请先获取验证码图片", "Please get a verification code image first"),
            ("captcha_answer", "请填写验证码", "Please enter the verification code"),
            ("other", "请填写此项", "Please fill in this field"),
        ];
        for (field, zh, en) in cases {
            let e = FieldError::new(field, FieldCode::Required);
            assert_eq!(field_message(&e, Lang::Zh), *zh);
            assert_eq!(field_message(&e, Lang::En), *en);
        }
    }

    /// The field each code comes with in practice, for a realistic message.
    fn field_of(code: FieldCode) -> &'static str {
        match code.as_str().split('_').next() {
            Some("name") => "name",
            Some("id") => "id_number",
            Some("phone") => "phone",
            Some("email") => "email",
            Some("opinion") => "opinion",
            Some("note") => "note",
            Some("position") => "position",
            Some("article") => "articles",
            Some("captcha") => "captcha_answer",
            Some("consent") => "consent",
            _ => "form",
        }
    }

    #[test]
    fn every_code_has_its_own_message_in_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for code in FieldCode::ALL {
            let field = field_of(code);
            for lang in [Lang::Zh, Lang::En] {
                let m = field_message(&FieldError::new(field, code), lang);
                assert!(!m.is_empty(), "{field}/{code}");
                assert!(!m.contains(code.as_str()), "{field}/{code}: the code leaks into {m}");
                assert_eq!(
                    lang == Lang::Zh,
                    m.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                    "{field}/{code}: {m}"
                );
                assert!(seen.insert(m.clone()), "{field}/{code}: the same words as another code: {m}");
            }
        }
    }

    #[test]
    fn specific_wording() {
        let cases: &[(FieldError, Lang, &str)] = &[
            (FieldError::new("id_number", FieldCode::IdNumberChecksum), Lang::Zh, "身份证号码校验位不正确，请核对"),
            (
                FieldError::new("id_number", FieldCode::IdNumberLegacy),
                Lang::Zh,
                "15位旧身份证号码已停止使用，请填写18位身份证号码",
            ),
            (FieldError::new("position", FieldCode::PositionUnknown), Lang::Zh, "请选择列表中的职位"),
            (
                FieldError::new("opinion", FieldCode::OpinionTooLong).with_limit(2000),
                Lang::Zh,
                "意见不能超过2000个字，请精简后再提交",
            ),
            (
                FieldError::new("opinion", FieldCode::OpinionTooLong).with_limit(10),
                Lang::En,
                "Your comments can be at most 10 characters long; please shorten them",
            ),
            (FieldError::new("opinion", FieldCode::OpinionTooLong), Lang::Zh, "意见内容过长，请精简后再提交"),
            (FieldError::new("name", FieldCode::NameTooLong), Lang::Zh, "姓名不能超过50个字"),
            (
                FieldError::new("name", FieldCode::NameTooLong).with_limit(30),
                Lang::En,
                "Your name can be at most 30 characters long",
            ),
            (FieldError::new("phone", FieldCode::InvalidType), Lang::Zh, "联系电话的数据格式不正确，请重新填写"),
            (FieldError::new("phone", FieldCode::InvalidType), Lang::En, "Phone number: the value has the wrong type"),
        ];
        for (err, lang, want) in cases {
            assert_eq!(field_message(err, *lang), *want, "{err:?} {lang:?}");
        }
        let expired = field_message(&FieldError::new("captcha_answer", FieldCode::CaptchaExpired), Lang::En);
        assert!(expired.contains("new image"), "{expired}");
        let expired = field_message(&FieldError::new("captcha_answer", FieldCode::CaptchaExpired), Lang::Zh);
        assert!(expired.contains("新的验证码"), "{expired}");
    }

    #[test]
    fn labels() {
        let cases: &[(&str, &str, &str)] = &[
            ("name", "姓名", "Name"),
            ("id_number", "身份证", "ID card number"),
            ("position", "职位", "Position"),
            ("phone", "联系电话", "Phone number"),
            ("email", "邮箱", "Email"),
            ("opinion", "意见", "Comments"),
            ("articles", "相关条款", "Related articles"),
            ("captcha_id", "验证码", "Verification code"),
            ("captcha_answer", "验证码", "Verification code"),
            ("nonsense", "此项", "This field"),
        ];
        for (field, zh, en) in cases {
            assert_eq!(field_label(field, Lang::Zh), *zh, "{field}");
            assert_eq!(field_label(field, Lang::En), *en, "{field}");
        }
    }
}
