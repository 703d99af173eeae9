//! The signal pass (issue 13): off the intake's write path, it looks at the comments that
//! arrived since it last looked and adds the signals the rules of `yijian_domain::signals` find,
//! and forgets client networks older than the retention period. A signal is shown and filtered
//! on; nothing here rejects, hides or discounts a comment.
//!
//! Every node may run it (`spawn`): signal rows are only added, so two passes over the same
//! comments agree, and the mark of how far they read only moves forward.
//!
//! The rules look at groups (one ID number, one network, one region and birth date, within one
//! consultation): a new comment's group is read whole, so the earlier members of a burst or a run
//! get the signal too.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use yijian_domain::signals::{self, DisposableDomains, Signal, SignalRules};
use yijian_store::Store;

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

/// Comments read at a time.
const BATCH: i64 = 2_000;
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
        let mut ids = BTreeSet::new();
        let mut nets = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for c in &batch {
            if c.email.as_deref().is_some_and(|m| settings.disposable.is_disposable(m)) {
                found.push((c.consultation_id.clone(), Signal::DisposableEmail, c.id));
            }
            if let Some(i) = &c.id_number_index {
                ids.insert((c.consultation_id.clone(), i.clone()));
            }
            if let Some(n) = &c.client_net_index {
                nets.insert((c.consultation_id.clone(), n.clone()));
            }
            if let Some(p) = &c.id_prefix_index {
                prefixes.insert((c.consultation_id.clone(), p.clone()));
            }
        }
        for (cid, index) in ids {
            let group = store.names_by_id_index(&cid, &index).await.map_err(e)?;
            if signals::id_reused(group.len()) {
                found.extend(group.iter().map(|(id, _)| (cid.clone(), Signal::IdReused, *id)));
            }
            if signals::names_differ(group.iter().map(|(_, n)| n.as_deref())) {
                found.extend(group.iter().map(|(id, _)| (cid.clone(), Signal::IdNamesDiffer, *id)));
            }
        }
        for (cid, index) in nets {
            let group = store.times_by_client_net(&cid, &index).await.map_err(e)?;
            let times: Vec<i64> = group.iter().map(|(_, t)| *t).collect();
            let flagged = signals::bursts(&times, &settings.rules);
            found.extend(
                group
                    .iter()
                    .zip(flagged)
                    .filter(|(_, f)| *f)
                    .map(|((id, _), _)| (cid.clone(), Signal::AddressBurst, *id)),
            );
        }
        for (cid, index) in prefixes {
            let group = store.sequences_by_id_prefix(&cid, &index, settings.rules.run_min_length).await.map_err(e)?;
            let codes: Vec<u16> = group.iter().map(|(_, c)| *c).collect();
            let flagged = signals::generated_runs(&codes, &settings.rules);
            found.extend(
                group
                    .iter()
                    .zip(flagged)
                    .filter(|(_, f)| *f)
                    .map(|((id, _), _)| (cid.clone(), Signal::IdGeneratedRun, *id)),
            );
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
