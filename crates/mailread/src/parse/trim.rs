//! What the sender wrote, as opposed to what their mail program added: quoted originals of
//! replies, signatures, "sent from my phone" lines, and the header blocks of forwarded mail.

use super::words::{self, Mailbox};

/// The separator lines mail programs put above a quoted or forwarded original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    /// "---------- Forwarded message ---------", "-------- 转发邮件信息 --------",
    /// "Begin forwarded message:": only ever used for forwarding.
    Forward,
    /// "-----原始邮件-----", "-----Original Message-----", QQ Mail's
    /// "------------------ 原始邮件 ------------------": used for replies and forwards alike.
    Original,
}

fn separator(line: &str) -> Option<Separator> {
    let trimmed = line.trim();
    if trimmed.len() > 120 {
        return None;
    }
    let dashes = trimmed.chars().filter(|c| matches!(c, '-' | '—' | '_' | '=')).count();
    let core: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '—' | '_' | '=' | '*'))
        .flat_map(char::to_lowercase)
        .collect();
    match core.as_str() {
        "forwardedmessage" | "转发邮件信息" | "转发的邮件" | "转发邮件" | "轉寄郵件" | "已转发邮件" if dashes >= 2 => {
            Some(Separator::Forward)
        }
        "beginforwardedmessage:" | "beginforwardedmessage：" => Some(Separator::Forward),
        "原始邮件" | "原始郵件" | "originalmessage" | "原邮件" if dashes >= 2 => Some(Separator::Original),
        _ => None,
    }
}

/// The fields of a quoted header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Date,
    To,
    Cc,
    Subject,
}

/// A line like "From: …", "发件人：…", "发送时间: …" in a quoted or forwarded header block.
fn quoted_field(line: &str) -> Option<(Field, &str)> {
    let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '>');
    let sep = line.find([':', '：'])?;
    let key = line[..sep].trim().trim_matches('*').trim();
    let value = line[sep..].trim_start_matches([':', '：']).trim_matches(|c: char| c.is_whitespace() || c == '*');
    let field = match key.to_lowercase().as_str() {
        "from" | "发件人" | "發件人" | "寄件者" | "寄件人" => Field::From,
        "date" | "sent" | "发送时间" | "發送時間" | "时间" | "時間" | "日期" | "寄件日期" | "发送日期" => {
            Field::Date
        }
        "to" | "收件人" | "收件者" => Field::To,
        "cc" | "抄送" | "副本" | "抄送人" => Field::Cc,
        "subject" | "主题" | "主題" | "主旨" => Field::Subject,
        _ => return None,
    };
    Some((field, value))
}

/// "On Tue, 13 May 2025 at 10:00, 张三 <zs@example.cn> wrote:" and the Chinese forms
/// "在 2025年5月13日 …写道：" / "张三 于2025年5月13日周二 10:00写道：". Returns how many lines
/// (1 or 2, when the client wrapped it) the attribution line takes, ending at `i`.
fn attribution_ending_at(lines: &[&str], i: usize) -> Option<usize> {
    let line = lines[i].trim();
    if line.starts_with('>') || line.chars().count() > 300 {
        return None;
    }
    if line.ends_with("写道：") || line.ends_with("写道:") || line.ends_with("寫道：") {
        return Some(1);
    }
    if line.ends_with("wrote:") {
        if line.starts_with("On ") {
            return Some(1);
        }
        if i > 0 && lines[i - 1].trim().starts_with("On ") {
            return Some(2);
        }
    }
    None
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// "发自我的iPhone", "Sent from my iPhone", "发自网易邮箱大师" and their kin.
fn is_device_line(line: &str) -> bool {
    let line = line.trim().trim_start_matches(['-', '—', ' ']).trim();
    if line.is_empty() || line.chars().count() > 40 {
        return false;
    }
    let lower = line.to_lowercase();
    [
        "发自我的",
        "发自网易邮箱",
        "发自手机",
        "发自 ",
        "发自qq邮箱",
        "来自网易邮箱",
        "来自 qq邮箱",
        "来自qq邮箱",
        "来自我的",
        "从我的",
        "sent from my",
        "sent from mail for",
        "sent from outlook",
        "sent from yahoo",
        "get outlook for",
        "获取 outlook",
        "通过 outlook",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || lower == "发自手机qq邮箱"
        || lower == "发自我的iphone"
}

/// `text` without quoted originals, signature and device lines. Never empty when `text` has
/// anything in it: if trimming would leave nothing, `text` is returned as it was (trimmed).
pub(crate) fn trim_reply(text: &str) -> String {
    let trimmed = trim_note(text);
    if trimmed.trim().is_empty() { text.trim().to_owned() } else { trimmed }
}

/// What a forwarder wrote above a forwarded mail, without their quoted originals, signature
/// and device lines; unlike [`trim_reply`], empty when that is all there is, since the
/// forwarded text is the comment.
pub(crate) fn trim_note(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();

    // 1. A quoted original starts at the first separator or quoted header block.
    let mut cut_wrote: Vec<(usize, usize)> = Vec::new();
    for i in 0..lines.len() {
        if separator(lines[i]) == Some(Separator::Original) {
            end = i;
            break;
        }
        if let Some((Field::From, _)) = quoted_field(lines[i])
            && starts_header_block(&lines[i..])
        {
            end = i;
            // Outlook draws a line of underscores above its header block.
            while end > 0 && is_rule(lines[end - 1]) {
                end -= 1;
            }
            break;
        }
        if let Some(span) = attribution_ending_at(&lines, i) {
            let rest = &lines[i + 1..];
            if rest.iter().any(|l| is_quoted(l)) {
                // Quoted with ">": drop the attribution and the quoted lines, keep any
                // answers written between them.
                cut_wrote.push((i + 1 - span, i + 1));
            } else if rest.iter().any(|l| !l.trim().is_empty()) {
                end = i + 1 - span;
                break;
            }
        }
    }

    let mut kept: Vec<&str> = Vec::with_capacity(end);
    for (i, line) in lines[..end].iter().enumerate() {
        if cut_wrote.iter().any(|(a, b)| (*a..*b).contains(&i)) || is_quoted(line) {
            continue;
        }
        kept.push(line);
    }

    // 2. A signature after "-- ", if it is short enough to be one.
    if let Some(sig) = kept.iter().rposition(|l| l.trim_end() == "--") {
        let after = kept[sig + 1..].iter().filter(|l| !l.trim().is_empty()).count();
        let before = kept[..sig].iter().any(|l| !l.trim().is_empty());
        if after <= 10 && before {
            kept.truncate(sig);
        }
    }

    // 3. Trailing blank lines and device lines.
    while let Some(last) = kept.last() {
        if last.trim().is_empty() || is_device_line(last) {
            kept.pop();
        } else {
            break;
        }
    }
    while kept.first().is_some_and(|l| l.trim().is_empty()) {
        kept.remove(0);
    }

    join_lines(&kept)
}

fn join_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.trim_end());
    }
    out
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || (t.len() >= 10 && t.chars().all(|c| c == '_' || c == '-'))
}

/// Whether `lines` start with a quoted header block: a From line followed closely by a date.
fn starts_header_block(lines: &[&str]) -> bool {
    lines.iter().skip(1).take(4).any(|l| matches!(quoted_field(l), Some((Field::Date, _))))
}

/// A forwarded mail found inline in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InlineForward {
    /// What the forwarder wrote above the forwarded mail (trimmed; may be empty).
    pub note: String,
    /// The forwarded mail's From, if its header block has one with an address.
    pub from: Option<Mailbox>,
    /// The forwarded mail's text (trimmed of its own quotes and signature).
    pub content: String,
}

/// The most the forwarder may have written above a forwarded mail for it still to count as
/// passing someone else's comment on, rather than commenting and quoting.
const MAX_NOTE_LINES: usize = 8;
const MAX_NOTE_CHARS: usize = 400;

/// Finds a forwarded mail at the top of `text` (only a short note above it).
pub(crate) fn inline_forward(text: &str, subject: &str) -> Option<InlineForward> {
    inline_forward_at(text, subject, 0)
}

fn inline_forward_at(text: &str, subject: &str, depth: usize) -> Option<InlineForward> {
    let lines: Vec<&str> = text.lines().collect();
    let mut note_lines = 0;
    let mut note_chars = 0;
    let mut found = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(kind) = separator(line) {
            found = Some((i, kind));
            break;
        }
        if !line.trim().is_empty() {
            note_lines += 1;
            note_chars += line.trim().chars().count();
            if note_lines > MAX_NOTE_LINES || note_chars > MAX_NOTE_CHARS {
                return None;
            }
        }
    }
    let (sep, kind) = found?;
    if kind == Separator::Original {
        // Outlook and QQ Mail use the same separator for replies; only the subject (or an
        // empty note) tells a forward apart.
        let says_forward = subject_prefix(subject) == Some(Prefix::Forward);
        let says_reply = subject_prefix(subject) == Some(Prefix::Reply);
        if !(says_forward || (note_lines == 0 && !says_reply)) {
            return None;
        }
    }

    // The forwarded header block.
    let mut i = sep + 1;
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let mut from = None;
    let mut fields = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            break;
        }
        match quoted_field(line) {
            Some((field, value)) => {
                fields += 1;
                if field == Field::From && from.is_none() {
                    from = words::parse_addresses(value.as_bytes()).into_iter().find(|m| m.address.is_some());
                }
            }
            // A long To or Cc list wraps onto lines of its own.
            None if fields > 0 && line.starts_with([' ', '\t']) => {}
            None => break,
        }
        i += 1;
    }
    if fields == 0 {
        return None;
    }
    let body: Vec<&str> = lines[i..].to_vec();
    let body = join_lines(&body);
    let note = trim_note(&join_lines(&lines[..sep]));

    // A forward of a forward: the original author is the innermost one.
    if depth < 4
        && let Some(inner) = inline_forward_at(&body, subject, depth + 1)
    {
        let content = join_note(&inner.note, &inner.content);
        return Some(InlineForward { note, from: inner.from.or(from), content });
    }
    Some(InlineForward { note, from, content: trim_reply(&body) })
}

/// The forwarder's note and the forwarded text as one text.
pub(crate) fn join_note(note: &str, content: &str) -> String {
    match (note.trim().is_empty(), content.trim().is_empty()) {
        (true, _) => content.trim().to_owned(),
        (false, true) => note.trim().to_owned(),
        (false, false) => format!("{}\n\n{}", note.trim(), content.trim()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    Reply,
    Forward,
}

/// Whether a subject says it is a reply ("Re:", "回复：") or a forward ("Fwd:", "转发：").
pub(crate) fn subject_prefix(subject: &str) -> Option<Prefix> {
    let s = subject.trim_start().to_lowercase();
    let s = s.trim_start_matches(['[', '【']);
    let head: String = s.chars().take(6).collect();
    let (word, _) = head.split_once([':', '：'])?;
    match word.trim() {
        "re" | "回复" | "答复" | "回覆" | "aw" => Some(Prefix::Reply),
        "fwd" | "fw" | "转发" | "轉寄" | "转寄" | "wg" => Some(Prefix::Forward),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_english_reply_is_trimmed() {
        let text = "I support article 3.\n\nOn Tue, May 13, 2025 at 10:00 AM Office <\noffice@example.gov.cn> wrote:\n> Dear citizen,\n> thank you.\n";
        assert_eq!(trim_reply(text), "I support article 3.");
    }

    #[test]
    fn qq_mail_reply_is_trimmed_with_device_line() {
        let text = "建议第五条增加培训内容。\n\n发自我的iPhone\n\n\n------------------ 原始邮件 ------------------\n发件人: \"办公室\"<office@example.gov.cn>;\n发送时间: 2025年5月13日(星期二) 上午10:00\n主题: 征求意见\n\n原文内容";
        assert_eq!(trim_reply(text), "建议第五条增加培训内容。");
    }

    #[test]
    fn outlook_chinese_reply_is_trimmed() {
        let text = "同意第三条。\r\n\r\n________________________________\r\n发件人: 办公室 <office@example.gov.cn>\r\n发送时间: 2025年5月13日 10:00\r\n收件人: 张三\r\n主题: 征求意见\r\n\r\n原文";
        assert_eq!(trim_reply(text), "同意第三条。");
    }

    #[test]
    fn chinese_attribution_and_signature() {
        let text = "第十条建议删除。\n\n-- \n张三\n某某公司\n\n在 2025年5月13日 10:00，办公室 写道：\n> 原文\n";
        assert_eq!(trim_reply(text), "第十条建议删除。");
        let text = "同意\n\n张三 <zs@example.cn> 于2025年5月13日周二 10:00写道：\n\n原文没有引用符号\n";
        assert_eq!(trim_reply(text), "同意");
    }

    #[test]
    fn interleaved_answers_are_kept() {
        let text = "On Tue, 13 May 2025, Office wrote:\n> 第一条？\n同意。\n> 第二条？\n反对。\n";
        assert_eq!(trim_reply(text), "同意。\n反对。");
    }

    #[test]
    fn trimming_never_removes_everything() {
        let text = "> 只有引用\n> 没有别的\n";
        assert_eq!(trim_reply(text), "> 只有引用\n> 没有别的");
        assert_eq!(trim_reply("发自我的iPhone"), "发自我的iPhone");
        assert_eq!(trim_reply(""), "");
        assert_eq!(trim_note("发自我的iPhone"), "");
        assert_eq!(trim_note("请看。\n-- \n小李"), "请看。");
    }

    #[test]
    fn a_long_dash_dash_section_is_not_a_signature() {
        let text = format!("正文\n--\n{}", "第一项\n".repeat(12));
        assert_eq!(trim_reply(&text), text.trim_end());
    }

    #[test]
    fn gmail_forward_is_attributed() {
        let text = "请看下面这位市民的意见。\n\n---------- Forwarded message ---------\nFrom: 王五 <WangWu@example.cn>\nDate: Tue, 13 May 2025 at 10:00\nSubject: 意见\nTo: <office@example.gov.cn>\n\n第七条应当明确补贴标准。\n\n-- \n王五\n";
        let fwd = inline_forward(text, "Fwd: 意见").unwrap();
        assert_eq!(fwd.note, "请看下面这位市民的意见。");
        assert_eq!(fwd.from.unwrap().address.as_deref(), Some("wangwu@example.cn"));
        assert_eq!(fwd.content, "第七条应当明确补贴标准。");
    }

    #[test]
    fn original_separator_is_a_forward_only_when_the_subject_says_so() {
        let text = "同意。\n-----原始邮件-----\n发件人: 赵六 <zl@example.cn>\n发送时间: 2025年5月13日 10:00\n主题: 意见\n\n原文";
        assert!(inline_forward(text, "答复: 意见").is_none());
        assert!(inline_forward(text, "意见").is_none());
        let fwd = inline_forward(text, "转发: 意见").unwrap();
        assert_eq!(fwd.note, "同意。");
        assert_eq!(fwd.content, "原文");
        let bare = "-----原始邮件-----\n发件人: 赵六 <zl@example.cn>\n\n原文";
        assert_eq!(inline_forward(bare, "意见").unwrap().from.unwrap().name.as_deref(), Some("赵六"));
    }

    #[test]
    fn a_long_note_is_not_a_forward() {
        let note = "我的意见如下。\n".repeat(9);
        let text = format!("{note}---------- Forwarded message ---------\nFrom: a@b.cn\n\nx");
        assert!(inline_forward(&text, "Fwd: x").is_none());
    }

    #[test]
    fn subject_prefixes() {
        assert_eq!(subject_prefix("Re: 意见"), Some(Prefix::Reply));
        assert_eq!(subject_prefix("回复：《措施》"), Some(Prefix::Reply));
        assert_eq!(subject_prefix("FW: x"), Some(Prefix::Forward));
        assert_eq!(subject_prefix("转发: x"), Some(Prefix::Forward));
        assert_eq!(subject_prefix("《措施》意见"), None);
    }
}
