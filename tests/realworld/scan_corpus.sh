#!/bin/sh
# Scan the real-world benign corpus with a modelguard binary and summarise the report.
#
#   tests/realworld/scan_corpus.sh BINARY [CORPUS_DIR] [REPORT_JSON] [-- EXTRA SCAN ARGS]
#
# BINARY is any build, e.g. the release CLI:
#   CARGO_TARGET_DIR=/work/target-shared cargo build --release -p modelguard-cli
#   tests/realworld/scan_corpus.sh /work/target-shared/release/modelguard
# CORPUS_DIR defaults to /work/corpus/realworld (made by build_corpus.py); its wheels/ and
# made/ trees are scanned in one run with --format json --fail-on low (default policy, no
# modelguard.toml), and the report (default CORPUS_DIR/../report.json) is summarised by
# scan_summary.py: files scanned, files per worst severity, status and verdict counts, the
# most common (rule, name) causes at low or above, and example files. With COMPARE=OLD.json
# in the environment it also compares with an earlier report (before/after per severity).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: scan_corpus.sh BINARY [CORPUS_DIR] [REPORT_JSON] [-- ARGS]}
shift
corpus=/work/corpus/realworld
report=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then corpus=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then report=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
[ -n "$report" ] || report=$(dirname "$corpus")/report.json
[ -x "$bin" ] || { echo "not executable: $bin" >&2; exit 2; }
[ -d "$corpus/wheels" ] || [ -d "$corpus/made" ] || { echo "no corpus at $corpus (run build_corpus.py)" >&2; exit 2; }
dirs=
for d in wheels made; do [ -d "$corpus/$d" ] && dirs="$dirs $corpus/$d"; done
"$bin" --version
# Exit code 1 (a finding at or above low) is the expected outcome until the corpus is clean;
# 2 (a file that could not be fully scanned) still writes the report.
rc=0
# shellcheck disable=SC2086
(cd "$corpus" && "$bin" scan $(for d in $dirs; do basename "$d"; done) --no-config --format json \
    --fail-on low --no-progress -o "$report" "$@") || rc=$?
echo "scan exit code: $rc; report: $report"
[ -s "$report" ] || exit 2
python3 "$here/scan_summary.py" "$report" ${COMPARE:+--compare "$COMPARE"}
