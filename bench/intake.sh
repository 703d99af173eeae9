#!/usr/bin/env bash
# Intake benchmark (issue 2): accepted comments per second over HTTP with durable (fsync'd,
# group-committed) writes, p50/p99 latency, and the same machine's ceiling: a bare axum handler
# parsing the same body. The load generator (wrk) is a separate process on the same cores.
#   bench/intake.sh [seconds] [connections] [sqlite|postgres-URL]
# Not part of CI. NO_BUILD=1 uses the binaries already built; PROFILE=1 also samples the server
# with perf during the measured run and prints where its CPU time went (flat, by function).
# On PostgreSQL give a database of its own (the run leaves its comments and key check there).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN="${1:-15}"
CONNS="${2:-64}"
DB="${3:-sqlite}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q --bin yijian --example ceiling -p yijian -p yijian-web
TARGET="${CARGO_TARGET_DIR:-target}/release"
DATA=$(mktemp -d)
cleanup() { kill "${YJ:-}" "${CEIL:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
ARGS=(serve --listen 127.0.0.1:18080 --data "$DATA" --insecure-no-captcha --insecure-no-rate-limit)
[ "$DB" = sqlite ] || ARGS+=(--database "$DB")
RUST_LOG=warn "$TARGET/yijian" "${ARGS[@]}" >"$DATA/out.log" 2>"$DATA/err.log" &
YJ=$!
for _ in $(seq 1 100); do grep -q listening "$DATA/out.log" 2>/dev/null && break; sleep 0.1; done
"$TARGET/examples/ceiling" 127.0.0.1:18081 >/dev/null &
CEIL=$!
sleep 0.5
URL=/api/v1/consultations/ln-hrss-ai-2025/comments
# Warm-up (not measured): connections opened, caches filled, first WAL checkpoints run.
wrk -t2 -c"$CONNS" -d2s -s bench/intake.lua "http://127.0.0.1:18080$URL" >/dev/null
wrk -t2 -c"$CONNS" -d2s -s bench/intake.lua "http://127.0.0.1:18081$URL" >/dev/null
echo "== yijian intake ($DB, durable group commit), ${SECONDS_RUN}s, $CONNS connections"
if [ -n "${PROFILE:-}" ]; then
  command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
  perf record -q -e cpu-clock -F 999 -p "$YJ" -o "$DATA/perf.data" -- sleep "$SECONDS_RUN" 2>/dev/null &
  PERF=$!
fi
# The server's CPU time (user + system, in clock ticks) over the measured run and the few
# seconds after it in which the background passes (every 5 s) catch up: the cost of a comment,
# steadier than the rate on a machine whose neighbours take CPU.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$YJ/stat"; }
CPU0=$(cpu_ticks)
wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency -s bench/intake.lua "http://127.0.0.1:18080$URL" | grep RESULT | tee "$DATA/yj.txt"
sleep 6
CPU1=$(cpu_ticks)
if [ -n "${PROFILE:-}" ]; then
  wait "$PERF" || true
  echo "== where yijian's CPU went (top 40 functions, % of samples)"
  perf report -q -i "$DATA/perf.data" --no-children --sort symbol --percent-limit 0.7 2>/dev/null | head -40
  echo "== by thread"
  perf report -q -i "$DATA/perf.data" --no-children --sort comm 2>/dev/null | head -10
fi
echo "== ceiling: bare axum parsing the same body"
wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency -s bench/intake.lua "http://127.0.0.1:18081$URL" | grep RESULT | tee "$DATA/ceil.txt"
yj=$(sed -E 's/.*rate=([0-9]+).*/\1/' "$DATA/yj.txt")
ceil=$(sed -E 's/.*rate=([0-9]+).*/\1/' "$DATA/ceil.txt")
kill "$YJ"; wait "$YJ" 2>/dev/null || true
stored="?"
if [ "$DB" = sqlite ] && command -v sqlite3 >/dev/null; then
  stored=$(sqlite3 "$DATA/yijian.sqlite3" 'select count(*) from comments')
fi
accepted=$(sed -E 's/.*accepted=([0-9]+).*/\1/' "$DATA/yj.txt")
cpu_us=$(awk "BEGIN{printf \"%.0f\", ($CPU1 - $CPU0) / $(getconf CLK_TCK) * 1e6 / $accepted}")
echo "SUMMARY accepted_per_s=$yj ceiling_per_s=$ceil ratio=$(awk "BEGIN{printf \"%.2f\", $yj/$ceil}") cpu_us_per_comment=$cpu_us stored_rows=$stored"
