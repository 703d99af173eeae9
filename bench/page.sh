#!/usr/bin/env bash
# Public pages benchmark (issue 12): the consultation page (the reference draft, 30 KB, served
# from the response cache, gzipped once) against the same run's ceiling, a bare axum handler
# serving the same bytes pre-gzipped (crates/web/examples/ceiling.rs, given the page fetched
# from yijian first). Both with Accept-Encoding: gzip; the load generator (wrk) is a separate
# process. Prints req/s, p50 and p99 of both and the ratio (target: yijian >= 0.5 x ceiling,
# p99 < 20 ms); then GET /, text.txt, and the form-token endpoint: first a crowd of BURST (256)
# visitors opening the form at once (oha -n), answered from the pool of captchas drawn ahead and,
# beside it, by a second server without a pool (captcha_pool = 0); then sustained, where every
# token needs a drawing (the pool is empty within a second).
#   bench/page.sh [seconds] [connections]
#   PROFILE=debug bench/page.sh 3 16    # a check of the script against a debug build
#   NO_BUILD=1 ...                      # use the binaries already built
# Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN="${1:-10}"
CONNS="${2:-64}"
PROFILE="${PROFILE:-release}"
BURST="${BURST:-256}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v oha >/dev/null || cargo install oha --locked
if [ -z "${NO_BUILD:-}" ]; then
  if [ "$PROFILE" = release ]; then
    cargo build --release --locked -q --bin yijian --example ceiling -p yijian -p yijian-web
  else
    cargo build --locked -q --bin yijian --example ceiling -p yijian -p yijian-web
  fi
fi
[ "$PROFILE" = release ] && DIR=release || DIR=debug
TARGET="${CARGO_TARGET_DIR:-target}/$DIR"
DATA=$(mktemp -d)
cleanup() { kill "${YJ:-}" "${CEIL:-}" "${NOPOOL:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
# No rate limits: one client (wrk) asks for every form token.
RUST_LOG=warn YIJIAN_CAPTCHA_POOL="$BURST" YIJIAN_METRICS_LISTEN=127.0.0.1:18084 "$TARGET/yijian" serve \
  --listen 127.0.0.1:18082 --data "$DATA" --insecure-no-rate-limit >"$DATA/out.log" 2>"$DATA/err.log" &
YJ=$!
mkdir -p "$DATA/nopool"
RUST_LOG=warn YIJIAN_CAPTCHA_POOL=0 "$TARGET/yijian" serve --listen 127.0.0.1:18085 --data "$DATA/nopool" \
  --insecure-no-rate-limit >"$DATA/nopool.log" 2>&1 &
NOPOOL=$!
for _ in $(seq 1 300); do grep -q listening "$DATA/out.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$DATA/out.log" || { echo "yijian did not start:"; cat "$DATA/err.log"; exit 1; }
BASE=http://127.0.0.1:18082
ID=ln-hrss-ai-2025
curl -sf -H 'Accept-Encoding: identity' "$BASE/c/$ID" -o "$DATA/page.html"
"$TARGET/examples/ceiling" 127.0.0.1:18083 "$DATA/page.html" >"$DATA/ceiling.log" &
CEIL=$!
for _ in $(seq 1 100); do grep -q listening "$DATA/ceiling.log" 2>/dev/null && break; sleep 0.1; done
cat > "$DATA/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d rate=%.0f p50_ms=%.2f p99_ms=%.2f\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
GZ=(-H 'Accept-Encoding: gzip')
run() { # name url
  echo "== $1, ${SECONDS_RUN}s, $CONNS connections"
  wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "${GZ[@]}" -s "$DATA/report.lua" "$2" | grep RESULT | tee "$DATA/last.txt"
}
field() { sed -E "s/.*$1=([0-9.]+).*/\\1/" "$2"; }
# Warm-up (not measured): connections opened, cache entries made.
wrk -t2 -c"$CONNS" -d2s "${GZ[@]}" "$BASE/c/$ID" >/dev/null
wrk -t2 -c"$CONNS" -d2s "${GZ[@]}" "http://127.0.0.1:18083/c/$ID" >/dev/null
run "yijian GET /c/$ID (gzip)" "$BASE/c/$ID"; cp "$DATA/last.txt" "$DATA/yj.txt"
run "ceiling: bare axum, the same bytes pre-gzipped" "http://127.0.0.1:18083/c/$ID"; cp "$DATA/last.txt" "$DATA/ceil.txt"
run "yijian GET / (gzip)" "$BASE/"
run "yijian GET /c/$ID/text.txt (gzip)" "$BASE/c/$ID/text.txt"
burst() { # name url
  echo "== $1: $BURST at once, 64 connections"
  oha -n "$BURST" -c 64 --no-tui --output-format json "$2" >"$DATA/burst.json"
  python3 - "$DATA/burst.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
print(f"RESULT requests={sum(codes.values())} statuses={codes} p50_ms={1000*p['p50']:.2f} p99_ms={1000*p['p99']:.2f}")
PY
}
for _ in $(seq 1 100); do
  curl -s http://127.0.0.1:18084/metrics | grep -q "^yijian_captcha_pool_images $BURST" && break; sleep 0.1
done
burst "yijian form-token, captchas drawn ahead" "$BASE/c/$ID/form-token" | tee "$DATA/pool.txt"
burst "yijian form-token, captcha_pool = 0" "http://127.0.0.1:18085/c/$ID/form-token" | tee "$DATA/nopool.txt"
kill "$NOPOOL"
run "yijian GET /c/$ID/form-token, sustained (a captcha drawn each)" "$BASE/c/$ID/form-token"
yj=$(field rate "$DATA/yj.txt"); ceil=$(field rate "$DATA/ceil.txt")
yj99=$(field p99_ms "$DATA/yj.txt"); ceil99=$(field p99_ms "$DATA/ceil.txt")
identity=$(wc -c <"$DATA/page.html")
gzipped=$(curl -s -H 'Accept-Encoding: gzip' "$BASE/c/$ID" | wc -c)
brotli=$(curl -s -H 'Accept-Encoding: br' "$BASE/c/$ID" | wc -c)
ratio=$(awk -v a="$yj" -v b="$ceil" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
# Judged on the rates themselves: a rounded ratio made 0.495 read as 0.50, met.
verdict=$(awk -v a="$yj" -v b="$ceil" -v p="$yj99" 'BEGIN { print ((b > 0 && a >= 0.5 * b && p < 20) ? "met" : "not met") }')
echo "SUMMARY profile=$PROFILE page_rate=$yj ceiling_rate=$ceil ratio=$ratio page_p99_ms=$yj99 ceiling_p99_ms=$ceil99 target=$verdict page_bytes=$identity gzip_bytes=$gzipped br_bytes=$brotli form_burst_p99_ms=$(grep RESULT "$DATA/pool.txt" | field p99_ms /dev/stdin) form_burst_p99_ms_without_pool=$(grep RESULT "$DATA/nopool.txt" | field p99_ms /dev/stdin)"
