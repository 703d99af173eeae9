//! Every word the web crate shows or answers, in one catalogue per language: [`ZH`] and
//! [`EN`] fill the same [`Texts`] struct, so a message missing in one language does not
//! compile, and the test below fails on an empty one, a Chinese text without Chinese, or
//! placeholders (`{n}`) that differ between the two. Messages that take values carry
//! `{name}` placeholders, filled with `str::replace` where they are used. Field labels and
//! field error messages come from `yijian_domain::messages`, so the API and the pages say the
//! same thing.

use yijian_domain::Lang;

mod en;
mod zh;

pub use en::EN;
pub use zh::ZH;

macro_rules! catalogue {
    ($($name:ident,)*) => {
        /// One language's words; a field per message.
        pub struct Texts {
            $(pub $name: &'static str,)*
            pub privacy_sections: [(&'static str, &'static str); 5],
        }

        impl Texts {
            /// Every message with its field's name, for the completeness test.
            #[cfg(test)]
            fn entries(&self) -> Vec<(&'static str, &'static str)> {
                let mut all = vec![$((stringify!($name), self.$name),)*];
                for (heading, body) in self.privacy_sections {
                    all.push(("privacy_sections", heading));
                    all.push(("privacy_sections", body));
                }
                all
            }
        }
    };
}

catalogue! {
    colon,
    html_lang,
    other_lang_code,
    other_lang_name,
    language,
    site,
    skip,
    track,
    privacy,
    index_title,
    none_yet,
    demo_tag,
    demo_banner,
    open,
    upcoming,
    closed,
    open_until,
    opens_on,
    closed_on,
    notice,
    contact,
    phone_label,
    email_label,
    by_email,
    subject_line,
    version,
    checksum,
    signature,
    canonical_text,
    public_key,
    comment_on_article,
    form_title,
    all_required,
    error_summary,
    f_name,
    f_id_number,
    f_position,
    f_phone,
    f_email,
    f_opinion,
    h_id_number,
    h_phone,
    char_count,
    articles_legend,
    article_n,
    captcha,
    captcha_alt,
    captcha_refresh,
    captcha_text_alt,
    consent,
    submit,
    not_yet_open,
    is_closed,
    received_title,
    received_intro,
    received_at,
    what_you_sent,
    how_to_track,
    receipt_label,
    look_up,
    status_label,
    status_received,
    receipt_malformed,
    receipt_unknown,
    not_found,
    not_found_body,
    integrity,
    integrity_body,
    error,
    error_body,
    too_large,
    too_large_body,
    back_home,
    // staff
    my_account,
    change_password,
    current_password,
    new_password_12_characters_or,
    new_password_again,
    two_step_login,
    totp_is_on,
    turn_off,
    add_this_key_to_an,
    n6_digit_code,
    turn_on,
    back_to_the_queue,
    the_mail,
    the_whole_mail_quotes_and,
    review,
    disposition,
    none_yet_2,
    reasoning_printed_in_the_report,
    save_the_disposition,
    articles_it_addresses,
    save_the_links,
    mark,
    no_mark,
    reason,
    save_the_mark,
    tag,
    add_tag,
    remove_tag,
    excerpt_for_the_report_a,
    save_the_excerpt,
    other_comments_by_the_same,
    none,
    reveal_the_full_id_and,
    reason_recorded_in_the_audit,
    reveal,
    dashboard,
    draft,
    new_consultation,
    consultation_file,
    save_the_draft,
    publish_the_signed_text_then,
    delete_the_draft,
    export,
    export_every_comment,
    format,
    id_and_phone_numbers_are,
    full_personal_data_administrators_only,
    include_full_id_and_phone,
    open_a_comment_by_its,
    open_2,
    mail_trays_unrouted_rejected,
    mail,
    back_office,
    trays,
    no_mail_here,
    no_subject,
    assign_to,
    assign_and_issue_a_receipt,
    older_mail,
    back_to_the_mail_trays,
    tracking_number,
    assign_to_a_consultation,
    consultation,
    attachments,
    whole_text_quotes_and_signature,
    no_readable_text,
    download_the_raw_message_eml,
    manage,
    manage_the_consultation,
    schedule_changes_shown_publicly,
    extend_the_deadline,
    new_last_day,
    reason_shown_publicly,
    extend,
    close_early,
    close_now,
    upload_a_new_version,
    upload,
    archive,
    an_archived_consultation_leaves_the,
    manual_entry,
    type_in_a_letter_or,
    saved_tracking_number,
    open_it,
    only_the_opinion_is_required,
    id_number,
    opinion_required,
    articles,
    note_where_it_came_from,
    save_and_issue_a_tracking,
    back_office_2,
    drafts,
    upload_a_consultation_file,
    file_toml_front_matter_and,
    upload_as_a_draft,
    or_fill_in_the_form,
    id_lower_case_letters_digits,
    title,
    issuer,
    opens_on_2,
    closes_at_the_end_of,
    positions_one_per_line,
    notice_deadline_is_replaced_by,
    contact_person,
    department,
    email,
    mailbox_for_comments,
    subject_phrase,
    draft_markdown_hint,
    save_as_a_draft,
    this_consultation,
    comments,
    adoption_report,
    search_the_opinions,
    status,
    article,
    channel,
    moderation,
    received_from,
    until,
    filter,
    clear,
    next_page,
    act_on_every_comment_the,
    no_filter_is_set_these,
    clear_the_disposition,
    set_the_disposition,
    clear_the_mark,
    mark_them,
    add_the_tag,
    remove_the_tag,
    link_to_articles_replaces_the,
    link_them,
    changes_to_the_schedule,
    how_the_comments_were_handled,
    outcome,
    public_version,
    not_published_yet,
    preface_printed_first_may_be,
    publish_the_report_as_it,
    an_administrator_publishes_the_report,
    n1_overview,
    comments_2,
    n2_article_by_article,
    n3_where_the_comments_came,
    download_as_word,
    the_draft,
    bulk_acts_on_the_filter,
    staff_login,
    user_name,
    password,
    one_time_code_if_two,
    the_page_had_expired_please,
    wrong_user_name_password_or,
    staff_accounts,
    log_out,
    name,
    role,
    state,
    the_page_had_expired_try,
    text_version,
    sender_entered_by,
    reasoning,
    tags,
    report_excerpt,
    last_reviewed,
    mail_subject,
    automatic_reply,
    timing,
    saved,
    the_page_had_expired,
    give_a_reason_4_characters,
    the_two_new_passwords_differ,
    password_changed,
    two_step_login_is_on,
    wrong_code_two_step_login,
    two_step_login_is_off,
    the_current_password_is_wrong,
    unknown_action,
    a_tracking_number_looks_like,
    the_request_body_is_larger,
    administrators_only,
    the_page_had_expired_reload,
    not_found_2,
    no_such_consultation,
    server_error_try_again_later,
    something_went_wrong_on_the,
    the_stored_text_failed_its,
    format_must_be_csv_xlsx,
    give_a_reason_4_characters_2,
    use_post_with_a_reason,
    this_page_is_for_administrators,
    not_allowed,
    the_request_body_is_too,
    the_body_must_be_a,
    choose_a_mark,
    choose_a_disposition,
    text_included_in_the_comment,
    reason_2,
    from,
    imported,
    source,
    raw_size,
    assigned_by,
    no_such_mail,
    no_such_consultation_or_it,
    this_mail_is_not_in,
    no_such_attachment_or_it,
    state_must_be_unrouted_rejected,
    before_must_be_a_mail,
    choose_a_consultation,
    deadline_extended,
    closed_early,
    schedule_changed,
    archived,
    archived_2,
    opens,
    closes,
    the_deadline_is_extended_and,
    the_consultation_is_closed,
    archived_3,
    same_text_the_settings_are,
    nothing_changed,
    created,
    the_file_is_limited_to,
    no_such_draft,
    the_file_must_be_utf,
    a_draft_s_id_cannot,
    give_a_valid_new_deadline,
    give_a_reason_4_to,
    the_file_s_id_is,
    answered_in_the_published_report,
    undecided,
    no_comment_addressed_this_article,
    comments_on_the_draft_as,
    a_comment_on_several_articles,
    undecided_2,
    preview_not_published,
    no_report_yet,
    the_adoption_report_for_this,
    the_report_has_not_been,
    the_preface_is_limited_to,
    not_given,
    none_2,
    comments_per_day,
    comments_by_article,
    by_position,
    by_channel,
    by_disposition,
    by_moderation_mark,
    full_text_search_is_not,
    no_such_comment_in_this,
    body_too_large,
    the_body_must_be_filter,
    no_such_comment,
    bad_page_cursor,
    limit_must_be_between_1,
    excerpts_are_chosen_one_comment,
    rate_limited,
    api_closed,
    api_not_open,
    api_bad_json,
    api_not_an_object,
    no_such_address,
    malformed_json,
    bad_filter_value,
    bad_article_number,
    unknown_action_named,
    manage_not_found,
    manage_already_published,
    manage_not_later,
    manage_already_closed,
    manage_still_open,
    manage_archived,
    manage_text_closed,
    file_line_error,
    chapters_and_articles,
    line_error,
    deadline_moved,
    event_reason,
    new_version,
    list_separator,
    section_figures,
    reasoning_heading,
    report_summary,
    report_left_out,
    report_title,
    published_on,
    revision_published,
    any_value,
    unmarked,
    marked,
    comments_changed,
    more_than_n,
    n_in_all,
    search_capped,
}

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Messages that are the same in both languages, or hold no Chinese on purpose.
    const NOT_CHINESE: &[&str] = &["colon", "list_separator", "html_lang", "other_lang_code", "other_lang_name"];

    /// Messages whose Chinese leaves out the `{id}` its English names (the store's errors).
    const ZH_OMITS_ID: &[&str] = &[
        "manage_not_found",
        "manage_already_published",
        "manage_already_closed",
        "manage_still_open",
        "manage_archived",
        "manage_text_closed",
    ];

    /// English texts that quote Chinese on purpose.
    const QUOTES_CHINESE: &[&str] = &["draft_markdown_hint"];

    fn placeholders(s: &str) -> BTreeSet<&str> {
        s.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .collect()
    }

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_message_is_in_both_languages() {
        let (zh, en) = (ZH.entries(), EN.entries());
        assert_eq!(zh.len(), en.len());
        for ((name, z), (name_en, e)) in zh.into_iter().zip(en) {
            assert_eq!(name, name_en);
            assert!(!z.trim().is_empty() && !e.trim().is_empty(), "{name} is empty");
            let mut in_en = placeholders(e);
            if ZH_OMITS_ID.contains(&name) {
                assert!(in_en.remove("id"), "{name}: the English names no {{id}}");
            }
            assert_eq!(placeholders(z), in_en, "{name}: the placeholders differ");
            if NOT_CHINESE.contains(&name) {
                continue;
            }
            assert!(has_cjk(z), "{name}: the Chinese text has no Chinese: {z}");
            assert!(QUOTES_CHINESE.contains(&name) || !has_cjk(e), "{name}: the English text has Chinese: {e}");
            assert_ne!(z, e, "{name} is not translated");
        }
    }
}
