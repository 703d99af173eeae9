#!/usr/bin/env bash
# Themes benchmark (issue 14): quality on the labelled set (adjusted Rand index per article and overall, themes that
# mix opposite positions), then speed and peak memory of `build` over 200,000 synthetic comments in 21 groups.
#   bench/themes.sh [--param NAME=VALUE]... [--n N]
# Not part of CI. NO_BUILD=1 uses the example already built. See bench/themes/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q -p yijian-analysis --example themes_bench
BENCH="${CARGO_TARGET_DIR:-target}/release/examples/themes_bench"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BENCH" bench/themes/labelled.jsonl demo/ln-hrss-ai-2025.md "$@"
