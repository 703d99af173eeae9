//! Campaigns: comments of one consultation whose texts are copies or near-copies of one
//! another (one letter sent thousands of times, lightly personalised). Finding them is
//! `yijian_analysis::campaigns`; this module holds the rules about them that need no text:
//! how a re-run of the detection keeps each campaign's id (and so what staff decided about it),
//! and how arrivals are binned for the campaign's histogram.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::review::{Disposition, Moderation};

/// One campaign as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub consultation_id: String,
    /// The member whose text stands for the campaign: its most typical member.
    pub representative: i64,
    /// How many comments it holds now (0 once a re-run no longer finds it).
    pub size: u64,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub decision: CampaignDecision,
}

/// What staff decided about a campaign as a whole; given to every member when decided, and to
/// members that join later when `inherit` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignDecision {
    pub disposition: Option<Disposition>,
    pub disposition_reason: Option<String>,
    pub moderation: Option<Moderation>,
    pub moderation_reason: Option<String>,
    pub tags: Vec<String>,
    pub inherit: bool,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

impl CampaignDecision {
    /// Whether staff decided anything a later member could inherit.
    pub fn is_empty(&self) -> bool {
        self.disposition.is_none() && self.moderation.is_none() && self.tags.is_empty()
    }
}

/// Gives each group a re-run of the detection found the id of the existing campaign that holds
/// most of its members, so that a campaign keeps its id, and what staff decided about it, when
/// it gains or loses a few members. An existing id goes to one group at most (the one sharing
/// most members with it, ties to the group listed first); a group sharing no member with any
/// campaign, or losing every contest, gets `None`: a new campaign.
///
/// `current` maps a comment id to the campaign it is in now. Deterministic: the answer depends
/// only on the groups' order and contents.
pub fn keep_ids(current: &HashMap<i64, i64>, groups: &[Vec<i64>]) -> Vec<Option<i64>> {
    // (overlap, group, campaign) candidates, best first.
    let mut candidates: Vec<(usize, usize, i64)> = vec![];
    for (g, members) in groups.iter().enumerate() {
        let mut overlap: HashMap<i64, usize> = HashMap::new();
        for m in members {
            if let Some(&c) = current.get(m) {
                *overlap.entry(c).or_default() += 1;
            }
        }
        candidates.extend(overlap.into_iter().map(|(c, n)| (n, g, c)));
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out = vec![None; groups.len()];
    let mut taken = std::collections::HashSet::new();
    for (_, g, c) in candidates {
        if out[g].is_none() && !taken.contains(&c) {
            out[g] = Some(c);
            taken.insert(c);
        }
    }
    out
}

/// Arrivals binned into at most `buckets` equal spans between the first and the last, for the
/// campaign's histogram: (start of the span, comments in it). A campaign arriving faster than
/// people type shows as one tall bar.
pub fn histogram(arrivals: &[Timestamp], buckets: usize) -> Vec<(Timestamp, u64)> {
    let (Some(first), Some(last)) = (arrivals.iter().min(), arrivals.iter().max()) else { return vec![] };
    let buckets = buckets.max(1);
    let (lo, hi) = (first.as_microsecond(), last.as_microsecond());
    // At least a second a bucket: finer than that says nothing more.
    let width = ((hi - lo) / buckets as i64 + 1).max(1_000_000);
    let n = (((hi - lo) / width) + 1) as usize;
    let mut counts = vec![0u64; n];
    for a in arrivals {
        counts[((a.as_microsecond() - lo) / width) as usize] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .filter_map(|(k, c)| Timestamp::from_microsecond(lo + k as i64 * width).ok().map(|t| (t, c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regrouped_campaign_keeps_its_id() {
        let current: HashMap<i64, i64> = [(1, 7), (2, 7), (3, 7), (10, 9), (11, 9)].into_iter().collect();
        // Campaign 7 gained a member and lost one; campaign 9 split into a pair with a new
        // comment and a new pair; a group of new comments is new.
        let groups = vec![vec![2, 3, 4], vec![10, 12], vec![20, 21], vec![11, 13]];
        assert_eq!(keep_ids(&current, &groups), vec![Some(7), Some(9), None, None]);
    }

    #[test]
    fn the_larger_overlap_wins_an_id() {
        let current: HashMap<i64, i64> = [(1, 5), (2, 5), (3, 5)].into_iter().collect();
        assert_eq!(keep_ids(&current, &[vec![1, 8], vec![2, 3, 9]]), vec![None, Some(5)]);
        assert_eq!(keep_ids(&HashMap::new(), &[vec![1, 2]]), vec![None]);
    }

    #[test]
    fn histogram_bins_arrivals() {
        let t = |s: i64| Timestamp::from_second(1_700_000_000 + s).unwrap();
        let h = histogram(&[t(0), t(1), t(100), t(99)], 10);
        assert_eq!(h.iter().map(|(_, n)| n).sum::<u64>(), 4);
        assert_eq!(h.first().unwrap().1, 2);
        assert_eq!(h.last().unwrap().1, 2);
        assert!(h.len() <= 11);
        // All at once: one bar.
        assert_eq!(histogram(&[t(5), t(5), t(5)], 10), vec![(t(5), 3)]);
        assert!(histogram(&[], 10).is_empty());
    }
}
