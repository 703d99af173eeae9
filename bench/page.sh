#!/usr/bin/env bash
# Consultation page benchmark (issue 3): GETs of /c/{id} with the full reference draft. Each
# response carries a fresh CSRF cookie, form id and captcha image (a PNG drawn per request);
# the draft's HTML is rendered once per text version. Prints pages/s and p50/p99, and the
# same for the page with the text captcha (no image drawn), which isolates the PNG's cost.
#   bench/page.sh [seconds] [connections]
# Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN="${1:-10}"
CONNS="${2:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q --bin yijian
TARGET="${CARGO_TARGET_DIR:-target}/release"
DATA=$(mktemp -d)
cleanup() { kill "${YJ:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
RUST_LOG=warn "$TARGET/yijian" serve --listen 127.0.0.1:18082 --data "$DATA" >"$DATA/out.log" 2>"$DATA/err.log" &
YJ=$!
for _ in $(seq 1 100); do grep -q listening "$DATA/out.log" 2>/dev/null && break; sleep 0.1; done
cat > "$DATA/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT pages=%d non2xx=%d rate=%.0f p50_ms=%.2f p99_ms=%.2f\n", summary.requests,
    summary.errors.status, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
URL=http://127.0.0.1:18082/c/ln-hrss-ai-2025
wrk -t2 -c"$CONNS" -d2s "$URL" >/dev/null
echo "== consultation page with image captcha, ${SECONDS_RUN}s, $CONNS connections"
wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency -s "$DATA/report.lua" "$URL" | grep RESULT
echo "== consultation page with the text captcha"
wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency -s "$DATA/report.lua" "$URL?captcha=text" | grep RESULT
bytes=$(curl -s "$URL" | wc -c)
echo "SUMMARY page_bytes_with_captcha=$bytes"
