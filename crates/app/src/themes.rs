//! Themes (issue 14): the main points made about each article, and about the draft as a whole,
//! found among the comments' distinct texts, then named, merged, split, confirmed and decided by
//! staff. Confirmed themes feed the report.
//!
//! `yijian themes build` ([`App::build_themes`]) groups each comment under each article it is
//! linked to (or the draft as a whole), one input per distinct text (a campaign is one input,
//! weighted by its size); a comment is in one theme of each of its scopes. The first build makes the themes; a later one places only the comments
//! in no theme yet, into the existing themes where they fit (by `yijian_analysis::themes::place`)
//! or into new ones, so that everything staff did stays. A comment that joins a theme staff
//! decided gets that decision, unless its own or its campaign's wins over it.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use jiff::Timestamp;
use yijian_analysis::themes::{ExistingTheme, ThemeDraft, ThemeInput, ThemeParams, build, place};
use yijian_domain::consultation::Consultation;
use yijian_domain::review::{Disposition, QueueFilter, ReviewAction};
use yijian_domain::staff::Permission;
use yijian_domain::theme::{DecisionSource, Theme, ThemeScope, valid_label};
use yijian_store::{NewTheme, SessionUser, StoredComment, Target, ThemeChange, ThemeMember, ThemeText};

use crate::{App, Error};

/// Who the audit log names for what a build does on its own.
pub const BUILD_ACTOR: &str = "theme-build";

/// What a build did: `{"comments": N, "themes": K, "seconds": S}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BuildOutcome {
    /// Comments looked at.
    pub comments: u64,
    /// Themes there are now (merged ones not counted).
    pub themes: u64,
    pub seconds: f64,
}

/// What staff do with a theme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeAction {
    Rename(String),
    Confirm(bool),
    /// Moves every member into another theme of the same article; this one is kept, empty.
    MergeInto(i64),
    /// Moves these comments (by tracking number) into a new theme with this label.
    Split {
        receipts: Vec<String>,
        label: String,
    },
    /// Moves these comments (by tracking number) into this theme.
    Move {
        receipts: Vec<String>,
    },
    /// A disposition (or `None` to clear it) with its reasoning, given to the members whose own
    /// or campaign's decision does not win over it.
    Dispose(Option<Disposition>, String),
}

/// The text a scope's comments may repeat without that making them alike.
fn draft_of(c: &Consultation, scope: ThemeScope) -> String {
    match scope {
        ThemeScope::Article(n) => c
            .document
            .articles()
            .find(|a| a.number == n)
            .map(|a| format!("{}\n{}", a.title, a.text()))
            .unwrap_or_default(),
        ThemeScope::Whole => c.canonical_text(),
    }
}

fn new_theme(scope: ThemeScope, d: ThemeDraft, members: &HashMap<i64, Vec<i64>>) -> NewTheme {
    NewTheme {
        article: scope.article(),
        label: d.label,
        key_phrases: d.key_phrases,
        representatives: d.representatives,
        stance: d.stance.as_str().to_string(),
        members: d.members.iter().flat_map(|id| members.get(id).cloned().unwrap_or_else(|| vec![*id])).collect(),
    }
}

/// One input per distinct text: a comment outside campaigns, or a campaign (its first member
/// stands for it, weighted by its size). Returns the inputs' texts by representative id, each
/// representative's members and scopes, and the theme the input is already in for a scope
/// (which, for a campaign, any of its members being in one decides).
struct Distinct<'a> {
    text: HashMap<i64, &'a str>,
    weight: HashMap<i64, u32>,
    members: HashMap<i64, Vec<i64>>,
    theme: HashMap<(i64, ThemeScope), i64>,
    scopes: HashMap<i64, Vec<ThemeScope>>,
    order: Vec<i64>,
}

fn distinct(texts: &[ThemeText]) -> Distinct<'_> {
    let mut d = Distinct {
        text: HashMap::new(),
        weight: HashMap::new(),
        members: HashMap::new(),
        theme: HashMap::new(),
        scopes: HashMap::new(),
        order: vec![],
    };
    let mut campaign_rep: HashMap<i64, i64> = HashMap::new();
    for t in texts {
        let rep = match t.campaign {
            Some(k) => *campaign_rep.entry(k).or_insert(t.id),
            None => t.id,
        };
        if rep == t.id {
            d.text.insert(rep, t.opinion.as_str());
            d.scopes.insert(rep, ThemeScope::of(&t.articles));
            d.order.push(rep);
        }
        *d.weight.entry(rep).or_insert(0) += 1;
        d.members.entry(rep).or_default().push(t.id);
        for &(scope, k) in &t.themes {
            d.theme.entry((rep, scope)).or_insert(k);
        }
    }
    d
}

impl App {
    /// Builds or extends a consultation's themes (see the module's note).
    pub async fn build_themes(&self, actor: &str, c: &Consultation, now: Timestamp) -> Result<BuildOutcome, Error> {
        let started = Instant::now();
        let texts = self.store.theme_texts(&c.meta.id).await?;
        let comments = texts.len() as u64;
        let doc = c.clone();
        let (new, joined) = tokio::task::spawn_blocking(move || {
            let d = distinct(&texts);
            // By scope: the existing themes' members and the inputs in no theme yet.
            let mut old: BTreeMap<ThemeScope, BTreeMap<i64, Vec<ThemeInput>>> = BTreeMap::new();
            let mut fresh: BTreeMap<ThemeScope, Vec<ThemeInput>> = BTreeMap::new();
            let mut joined: Vec<(i64, i64)> = vec![];
            for &rep in &d.order {
                let input = ThemeInput { id: rep, text: d.text[&rep], weight: d.weight[&rep] };
                for &scope in &d.scopes[&rep] {
                    match d.theme.get(&(rep, scope)) {
                        Some(k) => {
                            old.entry(scope).or_default().entry(*k).or_default().push(input);
                            // A campaign's members that joined it since follow it into its theme.
                            joined.extend(d.members[&rep].iter().map(|m| (*m, *k)));
                        }
                        None => fresh.entry(scope).or_default().push(input),
                    }
                }
            }
            let params = ThemeParams::default();
            let mut new = vec![];
            for (scope, inputs) in fresh {
                let draft = draft_of(&doc, scope);
                match old.remove(&scope) {
                    None => {
                        new.extend(build(&inputs, &draft, &params).into_iter().map(|t| new_theme(scope, t, &d.members)))
                    }
                    Some(themes) => {
                        let existing: Vec<ExistingTheme> =
                            themes.into_iter().map(|(id, members)| ExistingTheme { id, members }).collect();
                        let placed = place(&existing, &inputs, &draft, &params);
                        for (rep, theme) in placed.joined {
                            joined.extend(d.members[&rep].iter().map(|m| (*m, theme)));
                        }
                        new.extend(placed.new_themes.into_iter().map(|t| new_theme(scope, t, &d.members)));
                    }
                }
            }
            (new, joined)
        })
        .await
        .map_err(|e| Error::Storage(format!("the theme build failed: {e}")))?;
        self.store.save_themes(&c.meta.id, &new, &joined, now).await?;
        // Comments that joined a theme staff decided get its decision, where it wins.
        let mut by_theme: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (comment, theme) in &joined {
            by_theme.entry(*theme).or_default().push(*comment);
        }
        for (theme, ids) in by_theme {
            let Some(t) = self.store.theme(&c.meta.id, theme).await? else { continue };
            if let Some(d) = t.disposition {
                let action = ReviewAction::Dispose(Some(d), t.disposition_reason.clone().unwrap_or_default());
                let filter = QueueFilter { theme: Some(theme), ..QueueFilter::default() };
                let target = Target::Filtered { filter: &filter, ids: Some(&ids) };
                let who = format!("{actor} (theme {theme})");
                self.store.apply_review_as(&who, &c.meta.id, target, &action, now, DecisionSource::Theme).await?;
            }
        }
        let themes = self.store.themes(&c.meta.id).await?.len() as u64;
        Ok(BuildOutcome { comments, themes, seconds: started.elapsed().as_secs_f64() })
    }

    /// [`App::build_themes`] for a staff member, from the themes page or the API.
    pub async fn build_themes_for(
        &self,
        user: &SessionUser,
        c: &Consultation,
        now: Timestamp,
    ) -> Result<BuildOutcome, Error> {
        self.require(user, Permission::Review)?;
        let outcome = self.build_themes(&user.name, c, now).await?;
        let detail = format!("comments={} themes={}", outcome.comments, outcome.themes);
        self.store.audit(now, yijian_store::Audit::new(&user.name, "themes.build", &c.meta.id, detail)).await?;
        Ok(outcome)
    }

    /// A consultation's themes, by article, largest first.
    pub async fn themes(&self, user: &SessionUser, consultation_id: &str) -> Result<Vec<Theme>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.themes(consultation_id).await?)
    }

    pub async fn theme(&self, user: &SessionUser, consultation_id: &str, id: i64) -> Result<Option<Theme>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.theme(consultation_id, id).await?)
    }

    /// The themes a comment is in (one per article it is themed under): (theme, article or
    /// `None` for the draft as a whole, label).
    pub async fn comment_themes(
        &self,
        user: &SessionUser,
        comment: &StoredComment,
    ) -> Result<Vec<(i64, Option<u32>, String)>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.themes_of_comment(comment.id).await?)
    }

    /// A page of a theme's members, newest first.
    pub async fn theme_members(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ThemeMember>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.theme_members(consultation_id, id, before, limit).await?)
    }

    /// Applies a staff action to a theme; returns how many comments it changed or moved (1 for
    /// a change of the theme itself, 0 if nothing changed) and the theme the comments are in now
    /// (the new one of a split, the other of a merge, else this one). Each step is audited.
    pub async fn change_theme(
        &self,
        user: &SessionUser,
        c: &Consultation,
        id: i64,
        action: ThemeAction,
        now: Timestamp,
    ) -> Result<(u64, i64), Error> {
        self.require(user, Permission::Review)?;
        let cid = &c.meta.id;
        let theme =
            self.store.theme(cid, id).await?.filter(|t| t.merged_into.is_none()).ok_or(Error::NotFound("theme"))?;
        let actor = &user.name;
        let receipts_to_ids = async |receipts: &[String]| -> Result<Vec<i64>, Error> {
            let mut ids = vec![];
            for r in receipts {
                let r = yijian_domain::receipt::Receipt::parse(r).ok_or(Error::Invalid("unknown_comment"))?;
                let comment = self.store.comment(&r).await?.filter(|s| s.consultation_id == *cid);
                ids.push(comment.ok_or(Error::Invalid("unknown_comment"))?.id);
            }
            if ids.is_empty() {
                return Err(Error::Invalid("no_comments"));
            }
            Ok(ids)
        };
        match action {
            ThemeAction::Rename(label) => {
                if !valid_label(&label) {
                    return Err(Error::Invalid("bad_label"));
                }
                Ok((self.store.change_theme(actor, cid, id, ThemeChange::Rename(&label), now).await? as u64, id))
            }
            ThemeAction::Confirm(on) => {
                Ok((self.store.change_theme(actor, cid, id, ThemeChange::Confirm(on), now).await? as u64, id))
            }
            ThemeAction::MergeInto(into) => {
                let target = self.store.theme(cid, into).await?.filter(|t| t.merged_into.is_none() && t.id != id);
                let target = target.ok_or(Error::NotFound("theme"))?;
                if target.article != theme.article {
                    return Err(Error::Invalid("other_article"));
                }
                Ok((self.store.merge_themes(actor, cid, id, into, now).await?, into))
            }
            ThemeAction::Split { receipts, label } => {
                if !valid_label(&label) {
                    return Err(Error::Invalid("bad_label"));
                }
                let ids = receipts_to_ids(&receipts).await?;
                let new = self.store.split_theme(actor, cid, &theme, &ids, &label, now).await?;
                Ok((ids.len() as u64, new))
            }
            ThemeAction::Move { receipts } => {
                let ids = receipts_to_ids(&receipts).await?;
                Ok((self.store.move_to_theme(actor, cid, &ids, id, now).await?, id))
            }
            ThemeAction::Dispose(d, reason) => {
                let action = ReviewAction::Dispose(d, reason.clone());
                action.check(&c.document.article_numbers()).map_err(|_| Error::Invalid("reason_required"))?;
                let filter = QueueFilter { theme: Some(id), ..QueueFilter::default() };
                let target = Target::Filtered { filter: &filter, ids: None };
                let changed =
                    self.store.apply_review_as(actor, cid, target, &action, now, DecisionSource::Theme).await?;
                self.store.change_theme(actor, cid, id, ThemeChange::Decide(d, &reason), now).await?;
                Ok((changed, id))
            }
        }
    }
}
