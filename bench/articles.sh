#!/usr/bin/env bash
# Article suggestions benchmark (issue 14): explicit precision and recall, implicit top-1, the share of comments about
# nothing in the draft left without a shown suggestion, and CPU time per comment. See bench/articles/README.md.
#   bench/articles.sh [--misses] [--calls N]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -q -p yijian-analysis --example articles_bench -- "$@"
