//! What the incremental campaign pass costs per comment, beside what taking the comment in
//! cost (issue 13: "incremental detection adds no more than 10 % to the intake's cost"). Not a
//! test, and not run in CI; run it by hand (figures in bench/campaigns/README.md):
//!
//! ```text
//! cargo run --release -p yijian-web --example campaign_pass_bench -- [--rounds 6] [--per-round 60000]
//!     [--opinions FILE] [--in-flight 256]
//! ```
//!
//! The intake benchmark (`bench/intake.sh`) measures the pass inside a saturated server, where
//! the pass's few percent drown in the run-to-run noise of a 2-core machine that also runs the
//! load generator (±10 µs of a ~100 µs comment). Here the two are measured apart, in one
//! process on a SQLite store on disk: each round submits `--per-round` comments through
//! `Store::submit_comment` from `--in-flight` tasks (the group-commit writer batching as under
//! load), then runs `App::campaign_pass` once over them, as `serve` does every few seconds.
//! The process's CPU time (user + system) is read around each, so the figure is the pass's
//! whole cost: reading the texts, placing them, saving the groups. The first pass over a
//! consultation detects in full and is reported apart.
//!
//! The texts are, by default, those of `bench/intake.lua` (one sentence with a running number:
//! a flood of near-copies); `--opinions FILE` takes them from a JSONL corpus such as
//! `bench/campaigns/gen.py`'s, line `i` for comment `i`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use jiff::Timestamp;
use yijian_store::{Store, StoreOptions};
use yijian_testkit::synthetic::CommentGenerator;

struct Args {
    rounds: u32,
    per_round: u64,
    in_flight: usize,
    opinions: Option<PathBuf>,
}

fn usage(msg: &str) -> ! {
    eprintln!("campaign_pass_bench: {msg}");
    eprintln!("usage: campaign_pass_bench [--rounds N] [--per-round N] [--in-flight N] [--opinions FILE]");
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args { rounds: 6, per_round: 60_000, in_flight: 256, opinions: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--rounds" => a.rounds = value().parse().unwrap_or_else(|_| usage("--rounds: a whole number")),
            "--per-round" => a.per_round = value().parse().unwrap_or_else(|_| usage("--per-round: a whole number")),
            "--in-flight" => a.in_flight = value().parse().unwrap_or_else(|_| usage("--in-flight: a whole number")),
            "--opinions" => a.opinions = Some(PathBuf::from(value())),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if a.rounds < 2 || a.per_round == 0 || a.in_flight == 0 {
        usage("--rounds must be at least 2, --per-round and --in-flight at least 1");
    }
    a
}

/// The process's CPU time so far (user + system), in seconds, from /proc/self/stat: every
/// thread's, the store's SQLite workers and the pass's own thread included.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux only)");
    // The command name, field 2, is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')').expect("stat's command name") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15, here 11 and 12; the clock ticks at 100 Hz on Linux.
    (f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime")) / 100.0
}

#[tokio::main]
async fn main() {
    let args = args();
    let opinions: Arc<Vec<String>> = Arc::new(match &args.opinions {
        Some(path) => std::fs::read_to_string(path)
            .unwrap_or_else(|e| usage(&format!("--opinions {}: {e}", path.display())))
            .lines()
            .map(|line| {
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| usage(&format!("--opinions: {e}")));
                v["text"].as_str().unwrap_or_else(|| usage("--opinions: a line without `text`")).to_string()
            })
            .collect(),
        None => vec![],
    });
    let work = std::env::temp_dir().join(format!("yijian-campaign-pass-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work directory");
    let store = Store::open(&StoreOptions::new(work.join("data"))).await.expect("open the store");
    let mut file = yijian_domain::file::parse(include_str!("../../../demo/ln-hrss-ai-2025.md")).expect("demo parses");
    let now = Timestamp::now();
    file.meta.reschedule_from(now, 30);
    store.import_consultation(&file, true, now).await.expect("import the demo");
    let c = store.consultation(&file.meta.id).await.expect("read the consultation").expect("imported");
    let today = jiff::Zoned::now().date();
    let generator = Arc::new(CommentGenerator {
        consultation_id: c.meta.id.clone(),
        version: c.version,
        positions: file.meta.positions.clone(),
        id_number: yijian_domain::validate::id_number("11010519491231002X", today).expect("valid ID number"),
        phone: yijian_domain::validate::phone("13800138000").expect("valid phone"),
    });
    let app = yijian_app::App::new(store.clone(), yijian_app::AppOptions::default());
    println!(
        "== campaign_pass_bench: {} rounds of {} comments ({}), SQLite in {}",
        args.rounds,
        args.per_round,
        if opinions.is_empty() { "bench/intake.lua's texts" } else { "the --opinions corpus" },
        work.display()
    );
    let next = Arc::new(AtomicU64::new(0));
    let (mut intake_cpu, mut pass_cpu, mut incremental) = (0.0, 0.0, 0u64);
    for round in 0..args.rounds {
        let until = next.load(Ordering::Relaxed) + args.per_round;
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..args.in_flight {
            let (store, generator, next, opinions) = (store.clone(), generator.clone(), next.clone(), opinions.clone());
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= until {
                        next.fetch_sub(1, Ordering::Relaxed);
                        break;
                    }
                    let mut comment = generator.comment(i);
                    comment.opinion = if opinions.is_empty() {
                        format!("关于第5条的意见第{i}号：建议加大对中小企业的支持力度，细化补贴标准。")
                    } else {
                        opinions[i as usize % opinions.len()].clone()
                    };
                    store.submit_comment(&comment, Timestamp::now()).await.expect("submit a comment");
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.expect("submitting task");
        }
        let (cpu1, wall1) = (cpu_seconds(), Instant::now());
        let placed = app.campaign_pass(Timestamp::now()).await.expect("campaign pass");
        let (cpu2, wall2) = (cpu_seconds(), Instant::now());
        let (took_in, passed) = (cpu1 - cpu0, cpu2 - cpu1);
        println!(
            "round {round}: intake {:.1} µs CPU/comment ({:.0}/s), {} pass over {placed}: {:.1} µs CPU/comment ({:.2} s)",
            took_in / args.per_round as f64 * 1e6,
            args.per_round as f64 / (wall1 - wall0).as_secs_f64(),
            if round == 0 { "first (full)" } else { "incremental" },
            passed / placed.max(1) as f64 * 1e6,
            (wall2 - wall1).as_secs_f64(),
        );
        if round > 0 {
            intake_cpu += took_in;
            pass_cpu += passed;
            incremental += placed;
        }
    }
    let n = (args.per_round * u64::from(args.rounds - 1)) as f64;
    println!(
        "SUMMARY intake_cpu_us_per_comment={:.1} pass_cpu_us_per_comment={:.1} pass_over_intake={:.3}",
        intake_cpu / n * 1e6,
        pass_cpu / incremental.max(1) as f64 * 1e6,
        pass_cpu / intake_cpu
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&work);
}
