#!/usr/bin/env bash
# Overload benchmark (issue 12): an open-loop flood of comment POSTs (oha sends at a fixed rate
# whatever the answers, and --latency-correction counts the time a request waited to be sent),
# with readers opening the consultation page at the same time. Reports the flood's 201s, 503s,
# other statuses and errors, its latency, the page's latency meanwhile, the server's peak memory,
# and how many comments are stored afterwards (every 201 must be, and nothing else).
#   bench/overload.sh [rate] [connections] [seconds] [sqlite|postgres-URL]
# Defaults: 40000/s, 2000 connections, 15 s, SQLite. Not part of CI.
# NO_BUILD=1 uses the binary already in $CARGO_TARGET_DIR/release.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${1:-40000}"
CONNS="${2:-2000}"
SECS="${3:-15}"
DB="${4:-sqlite}"
command -v oha >/dev/null || cargo install oha --locked
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q --bin yijian
TARGET="${CARGO_TARGET_DIR:-target}/release"
DATA=$(mktemp -d)
cleanup() { kill "${YJ:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true
ARGS=(serve --listen 127.0.0.1:18090 --data "$DATA" --insecure-no-captcha --insecure-no-rate-limit)
[ "$DB" = sqlite ] || ARGS+=(--database "$DB")
RUST_LOG=warn "$TARGET/yijian" "${ARGS[@]}" >"$DATA/out.log" 2>"$DATA/err.log" &
YJ=$!
for _ in $(seq 1 100); do grep -q listening "$DATA/out.log" 2>/dev/null && break; sleep 0.1; done
BASE=http://127.0.0.1:18090
ID=ln-hrss-ai-2025
BODY='{"name":"张三","id_number":"11010519491231002X","position":"公务员","phone":"138 0013 8000","email":"flood@example.com","opinion":"关于第5条的意见：建议加大对中小企业的支持力度，细化补贴标准。","articles":[5,12]}'
curl -s -o /dev/null -H 'Content-Type: application/json' -d "$BODY" "$BASE/api/v1/consultations/$ID/comments"

echo "== flood: $RATE POST/s open-loop, $CONNS connections, ${SECS}s; readers: 200 GET/s of the page"
oha -q 200 -c 20 -z "${SECS}s" --latency-correction --no-tui --output-format json \
  -H 'Accept-Encoding: gzip, br' "$BASE/c/$ID" >"$DATA/page.json" &
READERS=$!
oha -q "$RATE" -c "$CONNS" -z "${SECS}s" --latency-correction --no-tui --output-format json \
  -m POST -H 'Content-Type: application/json' -d "$BODY" \
  "$BASE/api/v1/consultations/$ID/comments" >"$DATA/flood.json"
wait "$READERS"
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$YJ/status")
# Let the queue drain, then stop the server cleanly and count what is stored.
sleep 2
kill -TERM "$YJ"; wait "$YJ" 2>/dev/null || true
if [ "$DB" = sqlite ]; then
  stored=$(sqlite3 "$DATA/yijian.sqlite3" 'select count(*) from comments')
else
  stored=$(psql "$DB" -tAc 'select count(*) from comments')
fi
python3 - "$DATA/flood.json" "$DATA/page.json" "$stored" "$peak_kb" <<'PY'
import json, sys
flood = json.load(open(sys.argv[1])); page = json.load(open(sys.argv[2]))
stored, peak_kb = int(sys.argv[3]), int(sys.argv[4])
def codes(r): return {int(k): v for k, v in r.get("statusCodeDistribution", {}).items()}
def errors(r): return sum(r.get("errorDistribution", {}).values())
def pct(r, p): return 1000 * (r["latencyPercentiles"].get(p) or 0)
c = codes(flood); e = errors(flood)
total = sum(c.values()) + e
created, busy = c.get(201, 0), c.get(503, 0)
other = sum(v for k, v in c.items() if k not in (201, 503))
print(f"flood: sent={total} answered_per_s={flood['summary']['requestsPerSec']:.0f} 201={created} 503={busy} other_status={other} errors={e} ({100*e/max(total,1):.2f}%)")
print(f"flood latency (corrected): p50={pct(flood,'p50'):.1f}ms p99={pct(flood,'p99'):.1f}ms max={1000*flood['summary']['slowest']:.1f}ms")
pc = codes(page)
print(f"page GETs meanwhile: {sum(pc.values())} answered, statuses={pc}, errors={errors(page)}, p50={pct(page,'p50'):.1f}ms p99={pct(page,'p99'):.1f}ms")
# One comment was posted before the flood to warm up. Every 201 must be stored; a request the
# load generator gave up on at the end (an error to it) may have been stored too.
ok = created + 1 <= stored <= created + 1 + e
print(f"stored afterwards: {stored} (201s + 1 warm-up = {created + 1}, plus at most {e} cut off at the end) {'OK' if ok else 'MISMATCH'}")
print(f"peak memory (VmHWM): {peak_kb/1024:.0f} MB")
print(f"SUMMARY answered_per_s={flood['summary']['requestsPerSec']:.0f} created={created} busy={busy} errors={e} flood_p99_ms={pct(flood,'p99'):.0f} page_p99_ms={pct(page,'p99'):.0f} stored_ok={ok} peak_mb={peak_kb/1024:.0f}")
PY
