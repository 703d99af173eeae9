//! The signal pass (issue 13): off the intake's write path, it looks at the comments that
//! arrived since it last looked and adds the signals the rules of `yijian_domain::signals` find,
//! and forgets client networks older than the retention period. A signal is shown and filtered
//! on; nothing here rejects, hides or discounts a comment.
//!
//! Every node may run it (`spawn`): signal rows are only added, so two passes over the same
//! comments agree, and the mark of how far they read only moves forward.
//!
//! The rules look at groups (one ID number, one network, one region and birth date, within one
//! consultation), so the earlier members of a burst or a run get the signal too. A pass reads no
//! more of a group than the new comments can change (see each rule's function): a flood of
//! comments with one ID number from one network costs each pass what it brings, not the whole
//! group again, which made the pass's cost grow with the flood and took the CPU the intake needed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use yijian_domain::signals::{self, DisposableDomains, Signal, SignalRules};
use yijian_store::{SignalCandidate, Store, StoreError};

use crate::App;

/// What the pass applies: the thresholds, the disposable-mail domains, and how long a client's
/// network is kept.
#[derive(Debug, Clone)]
pub struct SignalSettings {
    pub rules: SignalRules,
    pub disposable: Arc<DisposableDomains>,
    /// How long the keyed hash of a comment's client network is kept; bursts are found within
    /// it (default 30 days).
    pub address_retention: SignedDuration,
}

/// The default retention of client networks, in days.
pub const DEFAULT_ADDRESS_RETENTION_DAYS: u32 = 30;

impl Default for SignalSettings {
    fn default() -> Self {
        SignalSettings {
            rules: SignalRules::default(),
            disposable: Arc::new(DisposableDomains::default()),
            address_retention: SignedDuration::from_hours(24 * DEFAULT_ADDRESS_RETENTION_DAYS as i64),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassOutcome {
    /// Comments looked at for the first time.
    pub comments: u64,
    /// Signal rows found (some may have been there already).
    pub signals: u64,
    /// Client networks forgotten for their age.
    pub networks_cleared: u64,
}

/// Comments read at a time: each batch reads a little of each group it touches, so fewer,
/// larger batches read less.
const BATCH: i64 = 10_000;
/// How often `spawn`'s loop looks.
const EVERY: Duration = Duration::from_secs(5);

/// Looks at every comment above the pass's mark, then forgets old client networks.
pub async fn run_pass(store: &Store, settings: &SignalSettings, now: Timestamp) -> Result<PassOutcome, String> {
    let e = |e: yijian_store::StoreError| e.to_string();
    let mut outcome = PassOutcome::default();
    let mut after = store.signal_high_water().await.map_err(e)?;
    loop {
        let batch = store.signal_candidates(after, BATCH).await.map_err(e)?;
        let Some(last) = batch.last().map(|c| c.id) else { break };
        let mut found: Vec<(String, Signal, i64)> = vec![];
        // Each group once per batch, however many of its members arrived in it.
        type Groups<'a> = BTreeMap<(&'a str, &'a [u8]), Vec<&'a SignalCandidate>>;
        let (mut ids, mut nets, mut prefixes) = (Groups::new(), Groups::new(), Groups::new());
        for c in &batch {
            if c.email.as_deref().is_some_and(|m| settings.disposable.is_disposable(m)) {
                found.push((c.consultation_id.clone(), Signal::DisposableEmail, c.id));
            }
            let cid = c.consultation_id.as_str();
            if let Some(i) = &c.id_number_index {
                ids.entry((cid, i)).or_default().push(c);
            }
            if let Some(n) = &c.client_net_index {
                nets.entry((cid, n)).or_default().push(c);
            }
            if let (Some(p), Some(_)) = (&c.id_prefix_index, &c.id_number_index) {
                prefixes.entry((cid, p)).or_default().push(c);
            }
        }
        for ((cid, index), new) in ids {
            found.extend(id_signals(store, cid, index, after, &new).await.map_err(e)?);
        }
        for ((cid, index), new) in nets {
            found.extend(burst_signals(store, &settings.rules, cid, index, after, &new).await.map_err(e)?);
        }
        for ((cid, prefix), new) in prefixes {
            found.extend(run_signals(store, &settings.rules, cid, prefix, after, &new).await.map_err(e)?);
        }
        store.record_signals(&found, last).await.map_err(e)?;
        outcome.comments += batch.len() as u64;
        outcome.signals += found.len() as u64;
        after = last;
    }
    let horizon = now.checked_sub(settings.address_retention).unwrap_or(Timestamp::MIN);
    outcome.networks_cleared = store.clear_client_networks(horizon).await.map_err(e)?;
    Ok(outcome)
}

type Found = Vec<(String, Signal, i64)>;

/// Ids read a page at a time where a whole group is flagged.
const PAGE: i64 = 10_000;

/// Every comment with one ID number, with ids in `after..`, as signal rows.
async fn flag_id_group(
    store: &Store,
    cid: &str,
    index: &[u8],
    after: i64,
    through: i64,
    signal: Signal,
    found: &mut Found,
) -> Result<(), StoreError> {
    let mut from = after;
    loop {
        let page = store.id_group_page(cid, index, (from, through), false, PAGE).await?;
        let Some(&(last, _)) = page.last() else { return Ok(()) };
        found.extend(page.into_iter().map(|(id, _)| (cid.to_string(), signal, id)));
        from = last;
    }
}

/// `id_reused` and `id_names_differ` for the new comments (above `after`) of one ID number.
/// Each flags a whole group at once, so the earlier comments are all flagged already or none
/// is: the first of them tells which. Only the threshold's worth of earlier comments is read,
/// and the whole group only when a new comment is what makes it differ.
async fn id_signals(
    store: &Store,
    cid: &str,
    index: &[u8],
    after: i64,
    new: &[&SignalCandidate],
) -> Result<Found, StoreError> {
    let mut found = vec![];
    let head = store.id_group_page(cid, index, (0, after), false, signals::ID_REUSED_AT as i64).await?;
    if signals::id_reused(head.len() + new.len()) {
        if !signals::id_reused(head.len()) {
            // Fewer than the threshold came before: `head` is all of them.
            found.extend(head.iter().map(|(id, _)| (cid.to_string(), Signal::IdReused, *id)));
        }
        found.extend(new.iter().map(|c| (cid.to_string(), Signal::IdReused, c.id)));
    }
    let earlier_differ = match head.first() {
        Some(&(first, _)) => store.has_signal(cid, Signal::IdNamesDiffer, first).await?,
        None => false,
    };
    if earlier_differ {
        found.extend(new.iter().map(|c| (cid.to_string(), Signal::IdNamesDiffer, c.id)));
    } else {
        // The earlier names agree: the first that says anything stands for them all.
        let mut standing = None;
        let mut from = 0;
        while standing.is_none() {
            let page = store.id_group_page(cid, index, (from, after), true, 64).await?;
            let Some(&(last, _)) = page.last() else { break };
            standing = page.into_iter().filter_map(|(_, n)| n).find(|n| !signals::name_key(n).is_empty());
            from = last;
        }
        let names = standing.as_deref().map(Some).into_iter().chain(new.iter().map(|c| c.name.as_deref()));
        if signals::names_differ(names) {
            flag_id_group(store, cid, index, 0, after, Signal::IdNamesDiffer, &mut found).await?;
            found.extend(new.iter().map(|c| (cid.to_string(), Signal::IdNamesDiffer, c.id)));
        }
    }
    Ok(found)
}

/// `address_burst` for the new comments (above `after`) of one network, read from no more than
/// `burst_min_comments` earlier ones.
///
/// Only a window holding a new comment can change, and each starts at most a window's width
/// before the earliest new comment (`t0`). Such a window holds every earlier comment from its
/// start to `t0`: the latest ones. If it holds fewer than the threshold of them, they are among
/// the threshold's worth of latest; if it holds more, those latest alone reach the threshold with
/// the new comment. So counting over the latest `min` earlier comments and the new ones decides
/// every window with a new comment as counting over all would, and an earlier comment it flags
/// that the same count without the new ones does not was not flagged before (any window of
/// earlier comments reaching the threshold had flagged it). Reading the whole network instead
/// made every pass read every comment a flood from one network had sent.
async fn burst_signals(
    store: &Store,
    rules: &SignalRules,
    cid: &str,
    index: &[u8],
    after: i64,
    new: &[&SignalCandidate],
) -> Result<Found, StoreError> {
    let Some(t0) = new.iter().map(|c| c.at_seconds).min() else { return Ok(vec![]) };
    let min = rules.burst_min_comments.max(1);
    let span = (t0.saturating_sub(rules.burst_window_seconds.max(0)), t0);
    let earlier = store.latest_by_client_net(cid, index, span, after, min as i64).await?;
    let new: Vec<(i64, i64)> = new.iter().map(|c| (c.id, c.at_seconds)).collect();
    Ok(signals::new_bursts(&earlier, &new, rules)
        .into_iter()
        .map(|id| (cid.to_string(), Signal::AddressBurst, id))
        .collect())
}

/// `id_generated_run` for the new comments (above `after`) with one region and birth date. A
/// run is made of distinct ID numbers: a new comment with an ID number seen before changes no
/// run and takes the flag its number has (the number's first comment tells). Only a number
/// new to the group makes the runs be found again, unsealing one comment per number.
async fn run_signals(
    store: &Store,
    rules: &SignalRules,
    cid: &str,
    prefix: &[u8],
    after: i64,
    new: &[&SignalCandidate],
) -> Result<Found, StoreError> {
    let mut found = vec![];
    let mut by_number: BTreeMap<&[u8], Vec<i64>> = BTreeMap::new();
    for c in new {
        if let Some(i) = &c.id_number_index {
            by_number.entry(i).or_default().push(c.id);
        }
    }
    let mut unseen = false;
    for (number, members) in &by_number {
        match store.id_group_page(cid, number, (0, after), false, 1).await?.first() {
            Some(&(first, _)) => {
                if store.has_signal(cid, Signal::IdGeneratedRun, first).await? {
                    found.extend(members.iter().map(|id| (cid.to_string(), Signal::IdGeneratedRun, *id)));
                }
            }
            None => unseen = true,
        }
    }
    if !unseen {
        return Ok(found);
    }
    let numbers = store.ids_by_prefix(cid, prefix).await?;
    if numbers.len() < rules.run_min_length.max(2) {
        return Ok(found);
    }
    let firsts: Vec<i64> = numbers.iter().map(|(_, first)| *first).collect();
    let codes: HashMap<i64, u16> = store.sequence_codes(cid, &firsts).await?.into_iter().collect();
    let coded: Vec<(&[u8], i64, u16)> =
        numbers.iter().filter_map(|(n, first)| codes.get(first).map(|c| (n.as_slice(), *first, *c))).collect();
    let all: Vec<u16> = coded.iter().map(|(_, _, c)| *c).collect();
    let now = signals::generated_runs(&all, rules);
    let earlier: Vec<&(&[u8], i64, u16)> = coded.iter().filter(|(_, first, _)| *first <= after).collect();
    let earlier_codes: Vec<u16> = earlier.iter().map(|(_, _, c)| *c).collect();
    let before: HashMap<i64, bool> =
        earlier.iter().map(|(_, first, _)| *first).zip(signals::generated_runs(&earlier_codes, rules)).collect();
    for ((number, first, _), flagged) in coded.iter().zip(now) {
        // A number flagged before had its new comments flagged above.
        if flagged && !before.get(first).copied().unwrap_or(false) {
            flag_id_group(store, cid, number, 0, i64::MAX, Signal::IdGeneratedRun, &mut found).await?;
        }
    }
    Ok(found)
}

impl App {
    /// Applies these settings in the signal pass.
    pub fn with_signals(mut self, settings: SignalSettings) -> Self {
        self.signals = Arc::new(settings);
        self
    }

    pub fn signal_settings(&self) -> &SignalSettings {
        &self.signals
    }

    /// One pass now (tests, and the command line).
    pub async fn signals_pass(&self, now: Timestamp) -> Result<PassOutcome, crate::Error> {
        run_pass(&self.store, &self.signals, now).await.map_err(crate::Error::Storage)
    }

    /// Runs the pass every few seconds, in the background, for as long as the process runs.
    pub fn spawn_signals(&self) {
        let (store, settings) = (self.store.clone(), self.signals.clone());
        tokio::spawn(async move {
            loop {
                match run_pass(&store, &settings, Timestamp::now()).await {
                    Ok(o) if o.signals > 0 || o.networks_cleared > 0 => {
                        tracing::info!(
                            comments = o.comments,
                            signals = o.signals,
                            cleared = o.networks_cleared,
                            "signal pass"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the signal pass failed; it will try again"),
                }
                tokio::time::sleep(EVERY).await;
            }
        });
    }

    /// A comment's signals, for staff who may review.
    pub async fn comment_signals(
        &self,
        user: &yijian_store::SessionUser,
        comment: &yijian_store::StoredComment,
    ) -> Result<Vec<Signal>, crate::Error> {
        self.require(user, yijian_domain::staff::Permission::Review)?;
        Ok(self.store.comment_signals(&comment.consultation_id, comment.id).await?)
    }
}
