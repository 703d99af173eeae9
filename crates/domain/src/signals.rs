//! Signals: what makes a comment worth a second look (an identity used again, a burst from one
//! network, a throwaway mailbox, ID numbers that look generated, a dispute by the person named).
//!
//! A signal is shown to staff and filtered on; it never rejects, hides or discounts a comment by
//! itself. Each rule here is a pure function over what the store keeps (keyed hashes, times,
//! names), so the background pass that applies them (`app::signals`) decides nothing of its own.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::Lang;
use crate::pii::IdNumber;

/// One kind of signal, as the queue filter, the comment page and exports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// The same ID number (by its keyed hash) on several comments of one consultation.
    IdReused,
    /// One ID number given with several different names in one consultation.
    IdNamesDiffer,
    /// Many comments from one client network (/24 or /64) in a short time.
    AddressBurst,
    /// The email address is at a disposable-mail domain.
    DisposableEmail,
    /// Consecutive sequence codes with the same region and birth date: ID numbers that look
    /// generated.
    IdGeneratedRun,
    /// The person whose ID number the comment carries says they did not write it.
    Disputed,
}

impl Signal {
    pub const ALL: [Signal; 6] = [
        Signal::IdReused,
        Signal::IdNamesDiffer,
        Signal::AddressBurst,
        Signal::DisposableEmail,
        Signal::IdGeneratedRun,
        Signal::Disputed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::IdReused => "id_reused",
            Signal::IdNamesDiffer => "id_names_differ",
            Signal::AddressBurst => "address_burst",
            Signal::DisposableEmail => "disposable_email",
            Signal::IdGeneratedRun => "id_generated_run",
            Signal::Disputed => "disputed",
        }
    }

    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Signal::IdReused, Lang::Zh) => "身份证号重复使用",
            (Signal::IdNamesDiffer, Lang::Zh) => "同一身份证号姓名不同",
            (Signal::AddressBurst, Lang::Zh) => "同一网络短时集中提交",
            (Signal::DisposableEmail, Lang::Zh) => "临时邮箱",
            (Signal::IdGeneratedRun, Lang::Zh) => "疑似生成的连号身份证号",
            (Signal::Disputed, Lang::Zh) => "本人声明非本人提交",
            (Signal::IdReused, Lang::En) => "ID number used again",
            (Signal::IdNamesDiffer, Lang::En) => "One ID number, different names",
            (Signal::AddressBurst, Lang::En) => "Burst from one network",
            (Signal::DisposableEmail, Lang::En) => "Disposable email",
            (Signal::IdGeneratedRun, Lang::En) => "Run of generated-looking ID numbers",
            (Signal::Disputed, Lang::En) => "Disputed: not written by me",
        }
    }
}

/// The thresholds of the rules. The defaults are documented in `yijian.example.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalRules {
    /// A burst is at least this many comments from one network …
    pub burst_min_comments: usize,
    /// … within this many seconds.
    pub burst_window_seconds: i64,
    /// A run is at least this many ID numbers with the same region and birth date …
    pub run_min_length: usize,
    /// … whose sequence codes, sorted, step by at most this much (2 also catches a generator
    /// that keeps the gender digit's parity).
    pub run_max_step: u16,
}

impl Default for SignalRules {
    fn default() -> Self {
        SignalRules { burst_min_comments: 20, burst_window_seconds: 600, run_min_length: 3, run_max_step: 2 }
    }
}

/// The network an address is counted in: its /24 for IPv4 (an IPv4 address written as IPv6
/// too), its /64 for IPv6 (what one subscriber is given). Only a keyed hash of this is stored.
pub fn client_network(ip: IpAddr) -> String {
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4,
            None => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX));
                return format!("{net}/64");
            }
        },
    };
    let [a, b, c, _] = v4.octets();
    format!("{a}.{b}.{c}.0/24")
}

/// How many comments of one consultation carrying one ID number make `id_reused`.
pub const ID_REUSED_AT: usize = 2;

/// `id_reused`: an ID number on `comments_with_it` comments of one consultation.
pub fn id_reused(comments_with_it: usize) -> bool {
    comments_with_it >= ID_REUSED_AT
}

/// A name as `names_differ` compares it: without spaces, middle dots, case or width
/// differences (NFKC). Empty when the name says nothing.
pub fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfkc().filter(|c| !c.is_whitespace() && *c != '·' && *c != '.').flat_map(char::to_lowercase).collect()
}

/// `id_names_differ`: the names given with one ID number, compared without spaces, case or
/// width differences (NFKC), differ. Comments without a name say nothing either way.
pub fn names_differ<'a>(names: impl IntoIterator<Item = Option<&'a str>>) -> bool {
    let distinct: HashSet<String> = names.into_iter().flatten().map(name_key).filter(|n| !n.is_empty()).collect();
    distinct.len() >= 2
}

/// `address_burst`: which of one network's comments (their arrival times in seconds, sorted)
/// fall in a window of `burst_window_seconds` holding at least `burst_min_comments` of them.
pub fn bursts(times: &[i64], rules: &SignalRules) -> Vec<bool> {
    let n = times.len();
    let mut flagged = vec![false; n];
    let min = rules.burst_min_comments.max(1);
    if n < min {
        return flagged;
    }
    // For each start, the window [times[start], times[start] + window] as far as it reaches.
    let mut end = 0;
    let mut marked_to = 0;
    for start in 0..n {
        end = end.max(start);
        while end + 1 < n && times[end + 1] - times[start] <= rules.burst_window_seconds {
            end += 1;
        }
        if end + 1 - start >= min {
            for f in flagged.iter_mut().take(end + 1).skip(start.max(marked_to)) {
                *f = true;
            }
            marked_to = end + 1;
        }
    }
    flagged
}

/// `address_burst` as new comments change it: of `earlier` (the latest `burst_min_comments`
/// comments of one network before the new ones, from at most a window's width before the
/// earliest new one) and `new`, each as (id, arrival in seconds), the ids the new comments put
/// in a burst that were not in one before (an earlier one already in a burst that the latest
/// alone do not show may be named again; it is written once). See `app::signals` for why the latest earlier ones
/// decide as all of them would.
pub fn new_bursts(earlier: &[(i64, i64)], new: &[(i64, i64)], rules: &SignalRules) -> Vec<i64> {
    let by_time = |g: &mut Vec<(i64, i64)>| g.sort_by_key(|&(id, t)| (t, id));
    let times = |g: &[(i64, i64)]| g.iter().map(|&(_, t)| t).collect::<Vec<i64>>();
    let mut before = earlier.to_vec();
    by_time(&mut before);
    let was: HashSet<i64> =
        before.iter().zip(bursts(&times(&before), rules)).filter(|(_, f)| *f).map(|(&(id, _), _)| id).collect();
    let mut group = before;
    group.extend_from_slice(new);
    by_time(&mut group);
    let now = bursts(&times(&group), rules);
    group.iter().zip(now).filter(|&(&(id, _), f)| f && !was.contains(&id)).map(|(&(id, _), _)| id).collect()
}

/// `id_generated_run`: which of the sequence codes of ID numbers sharing one region and birth
/// date belong to a run of at least `run_min_length` codes, each at most `run_max_step` above
/// the one before (sorted; a repeated code is the same ID number again, which `id_reused`
/// tells, and neither breaks nor lengthens a run).
pub fn generated_runs(codes: &[u16], rules: &SignalRules) -> Vec<bool> {
    let mut order: Vec<usize> = (0..codes.len()).collect();
    order.sort_by_key(|&i| codes[i]);
    let mut flagged = vec![false; codes.len()];
    let mut k = 0;
    while k < order.len() {
        // The run starting at k: its members (with repeats) and its distinct codes.
        let mut end = k;
        let mut distinct = 1;
        while end + 1 < order.len() {
            let (prev, next) = (codes[order[end]], codes[order[end + 1]]);
            if next == prev {
                end += 1;
            } else if next - prev <= rules.run_max_step {
                end += 1;
                distinct += 1;
            } else {
                break;
            }
        }
        if distinct >= rules.run_min_length.max(2) {
            for &i in &order[k..=end] {
                flagged[i] = true;
            }
        }
        k = end + 1;
    }
    flagged
}

/// The part of an ID number a run shares: the region (6 digits) and the birth date (8). Only a
/// keyed hash of it is stored.
pub fn id_prefix(id: &IdNumber) -> &str {
    &id.expose()[..14]
}

/// The sequence code (digits 15 to 17): read from an ID number unsealed for the run rule, never
/// stored apart from it.
pub fn id_sequence(id: &IdNumber) -> Option<u16> {
    id.expose().get(14..17)?.parse().ok()
}

/// Domains of disposable mailboxes: the list shipped with yijian, plus what the installation
/// adds.
#[derive(Debug, Clone)]
pub struct DisposableDomains {
    domains: HashSet<String>,
}

/// The list shipped with yijian (see the file's header for its source and licence).
const SHIPPED: &str = include_str!("../data/disposable_email_domains.txt");

impl Default for DisposableDomains {
    fn default() -> Self {
        let mut d = DisposableDomains { domains: HashSet::new() };
        d.add_list(SHIPPED);
        d
    }
}

impl DisposableDomains {
    /// An empty list (tests).
    pub fn empty() -> Self {
        DisposableDomains { domains: HashSet::new() }
    }

    /// Adds the domains of a list: one a line, `#` starts a comment.
    pub fn add_list(&mut self, text: &str) {
        self.extend(text.lines().map(|l| l.split('#').next().unwrap_or("")));
    }

    pub fn extend<'a>(&mut self, domains: impl IntoIterator<Item = &'a str>) {
        for d in domains {
            let d = d.trim().trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase();
            if !d.is_empty() {
                self.domains.insert(d);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// `disposable_email`: the address's domain, or a domain it is under, is listed.
    pub fn is_disposable(&self, email: &str) -> bool {
        let Some((_, domain)) = email.trim().rsplit_once('@') else { return false };
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = domain.as_str();
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {

    /// Arrivals fed in batches, each reading only the latest `burst_min_comments` earlier ones
    /// from a window's width before the batch, flag exactly what one look at all of them flags:
    /// random arrivals (bursts, lulls, several seconds alike), random batch sizes, random rules.
    #[test]
    fn new_bursts_from_the_latest_earlier_ones_find_what_all_would() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        for _ in 0..300 {
            let rules = SignalRules {
                burst_min_comments: 1 + next(6) as usize,
                burst_window_seconds: next(120) as i64,
                ..SignalRules::default()
            };
            let mut t = 0;
            let arrivals: Vec<(i64, i64)> = (1..=60)
                .map(|id| {
                    t += if next(4) == 0 { next(400) } else { next(3) } as i64;
                    (id, t)
                })
                .collect();
            let mut flagged = HashSet::new();
            let mut done = 0;
            while done < arrivals.len() {
                let end = (done + 1 + next(8) as usize).min(arrivals.len());
                let new = &arrivals[done..end];
                let t0 = new.iter().map(|a| a.1).min().unwrap();
                let mut earlier: Vec<(i64, i64)> =
                    arrivals[..done].iter().copied().filter(|a| a.1 >= t0 - rules.burst_window_seconds).collect();
                earlier.sort_by_key(|&(id, t)| std::cmp::Reverse((t, id)));
                earlier.truncate(rules.burst_min_comments);
                // An earlier comment may be named again (its row is written once): what
                // matters is that none is missed and none is flagged wrongly.
                flagged.extend(new_bursts(&earlier, new, &rules));
                done = end;
            }
            let times: Vec<i64> = arrivals.iter().map(|a| a.1).collect();
            let all: HashSet<i64> =
                arrivals.iter().zip(bursts(&times, &rules)).filter(|(_, f)| *f).map(|(a, _)| a.0).collect();
            assert_eq!(flagged, all, "{rules:?} {arrivals:?}");
        }
    }
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn signals_round_trip_through_their_codes() {
        for s in Signal::ALL {
            assert_eq!(Signal::parse(s.as_str()), Some(s));
            assert!(!s.label(Lang::Zh).is_empty() && !s.label(Lang::En).is_empty());
        }
        assert_eq!(Signal::parse("ID_REUSED"), None);
    }

    #[test]
    fn an_address_counts_in_its_24_or_64() {
        assert_eq!(client_network(ip("203.0.113.9")), "203.0.113.0/24");
        assert_eq!(client_network(ip("203.0.113.200")), client_network(ip("203.0.113.1")));
        assert_ne!(client_network(ip("203.0.114.1")), client_network(ip("203.0.113.1")));
        assert_eq!(client_network(ip("::ffff:203.0.113.9")), "203.0.113.0/24");
        assert_eq!(client_network(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(client_network(ip("2001:db8:1:2::1")), client_network(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(client_network(ip("2001:db8:1:3::1")), client_network(ip("2001:db8:1:2::1")));
    }

    #[test]
    fn an_id_number_used_twice_is_reused_and_names_differ_only_when_they_do() {
        assert!(!id_reused(1));
        assert!(id_reused(2));
        assert!(!names_differ([Some("张三"), Some(" 张 三 "), None, Some("")]));
        assert!(!names_differ([Some("Li Lei"), Some("li lei"), Some("ＬＩ ＬＥＩ")]));
        assert!(names_differ([Some("张三"), Some("李四")]));
        assert!(!names_differ([None, None]));
    }

    #[test]
    fn a_burst_is_enough_comments_within_the_window() {
        let rules = SignalRules { burst_min_comments: 3, burst_window_seconds: 60, ..SignalRules::default() };
        // 0, 10, 20 are three within a minute; 200 and 400 stand alone; 500..=560 is a burst.
        let times = [0, 10, 20, 200, 400, 500, 530, 560, 700];
        assert_eq!(bursts(&times, &rules), vec![true, true, true, false, false, true, true, true, false],);
        // Evenly spaced, never three in a minute.
        assert!(bursts(&[0, 40, 80, 120], &rules).iter().all(|f| !f));
        assert!(bursts(&[0, 1], &rules).iter().all(|f| !f));
        // The default: 20 within 10 minutes.
        let d = SignalRules::default();
        let twenty: Vec<i64> = (0..20).map(|i| i * 30).collect();
        assert!(bursts(&twenty, &d).iter().all(|f| *f));
        assert!(bursts(&twenty[..19], &d).iter().all(|f| !f));
    }

    #[test]
    fn runs_of_sequence_codes_look_generated() {
        let rules = SignalRules::default();
        // 101, 102, 103 (one given twice) is a run; 500 stands alone.
        assert_eq!(generated_runs(&[103, 500, 101, 102, 102], &rules), vec![true, false, true, true, true]);
        // Steps of two (one gender) still make a run; a gap of three breaks it.
        assert_eq!(generated_runs(&[11, 13, 15, 18], &rules), vec![true, true, true, false]);
        // Two are a coincidence, not a run; nor are repeats of one number.
        assert!(generated_runs(&[40, 41], &rules).iter().all(|f| !f));
        assert!(generated_runs(&[40, 40, 40], &rules).iter().all(|f| !f));
        assert!(generated_runs(&[], &rules).is_empty());
    }

    #[test]
    fn the_prefix_and_sequence_of_an_id_number() {
        let id = crate::validate::id_number("11010519491231002X", jiff::civil::date(2025, 1, 1)).unwrap();
        assert_eq!(id_prefix(&id), "11010519491231");
        assert_eq!(id_sequence(&id), Some(2));
    }

    #[test]
    fn disposable_domains_match_the_domain_and_its_subdomains() {
        let shipped = DisposableDomains::default();
        assert!(shipped.len() > 1000);
        assert!(shipped.is_disposable("someone@mailinator.com"));
        assert!(shipped.is_disposable("someone@MAILINATOR.COM."));
        assert!(!shipped.is_disposable("someone@163.com"));
        assert!(!shipped.is_disposable("someone@qq.com"));
        assert!(!shipped.is_disposable("not an address"));
        let mut mine = DisposableDomains::empty();
        mine.add_list("# ours\nthrowaway.example # added\n\n");
        mine.extend(["@Tmp.Example"]);
        assert_eq!(mine.len(), 2);
        assert!(mine.is_disposable("a@throwaway.example"));
        assert!(mine.is_disposable("a@x.tmp.example"));
        assert!(!mine.is_disposable("a@example"));
        assert!(!mine.is_disposable("a@nottmp.example"));
    }
}
