#!/usr/bin/env bash
# Email benchmark (issue 5): mails per second imported from an mbox of 10,000 generated mails
# (mixed charsets and transfer encodings, 20–800 Chinese characters, ~10% with a .docx or .txt
# attachment), streamed, parsed, routed and stored 200 per transaction, as `yijian mail import`
# does (crates/mail/examples/mbox_bench.rs).
#
# Usage: bench/mail.sh [--n 10000] [--database postgres://postgres@127.0.0.1:5432/test]
# Prints a SUMMARY line. Not part of CI. Other work on the machine skews the figure.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p yijian-mail --example mbox_bench
exec "${CARGO_TARGET_DIR:-target}/release/examples/mbox_bench" "$@"
