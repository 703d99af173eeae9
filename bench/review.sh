#!/usr/bin/env bash
# Back-office benchmark (issue 4): the review queue, full-text search, exports and the adoption
# report over a million comments, straight on the store (no HTTP).
#
# What it does (crates/web/examples/review_bench.rs):
#   - seeds N synthetic comments (default 1,000,000: Chinese opinions of 20-500 characters, one of
#     the demo's 17 positions, 0-3 of its 20 articles, web/api/manual, half with a sealed ID and
#     phone number) through the group-commit writer from 256 concurrent tasks, and prints the rate;
#   - reviews them with filtered bulk actions (~30% disposed, 2% spam, some duplicates, two tags);
#   - rebuilds the search index and prints the time;
#   - times ~1,000 queue requests one after another (filters alone and combined, deep keyset
#     pages, full-text searches with and without a filter) and prints p50/p95/p99/max per kind
#     and overall;
#   - times the CSV, XLSX and JSONL exports end to end, the adoption report and the dashboard;
#   - (issue 14) suggests articles for every comment and builds the themes through the
#     application layer, printing the time and the process's peak memory.
#
# Targets at 1,000,000 comments: a filtered queue page or a search p99 < 100 ms; CSV export
# < 30 s; XLSX export < 120 s. The last lines say "met" or "MISSED", then a SUMMARY line.
#
# Usage:
#   bench/review.sh [--n 1000000] [--database postgres://postgres@127.0.0.1:5432/test]
#                   [--rounds 40] [--in-flight 256] [--keep] [--explain]
#                   [--reuse DIR] [--skip queue,export,csv,xlsx,jsonl,report,suggest,themes,dashboard]
#   --database  run on PostgreSQL: a fresh database yijian_bench_<random> is created on that
#               server (connecting to the database named, else to `postgres`) and dropped
#               at the end; without it, SQLite in a temp dir.
#   --explain   also print each filter's count and page statements as the store builds them,
#               their plans and the time of each, run through the store's own connection (the
#               SQLite bundled in the binary, not a `sqlite3` command).
#   --keep      keep the data directory (and the PostgreSQL database) for digging; the last
#               line is the --reuse command for it.
#   --reuse DIR measure again on a kept directory: no seeding, review or indexing (add
#               --database URL-of-the-kept-database for PostgreSQL). A newer build migrates
#               the kept database first.
#   --skip      leave phases out.
#
# How long: on 2 cores, about 2 minutes at 1,000,000 on a quiet machine (seeding ~1 min, review,
# indexing, queries ~10 s each, exports ~25 s, report ~6 s), a little more on PostgreSQL; plus
# the release build (~20 min from cold).
# Needs ~3 GB of disk in $TMPDIR (1 GB database, exports up to 0.9 GB written then deleted).
# Other work on the machine (builds, tests) skews the figures: run it on a quiet machine.
# Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p yijian-web --example review_bench
exec "${CARGO_TARGET_DIR:-target}/release/examples/review_bench" "$@"
