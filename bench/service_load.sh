#!/usr/bin/env bash
# Load benchmark of `modelguard serve`: 10,000 pushed files (100 repositories of 100 files,
# 90 % duplicate content) through webhook -> queue -> fetch (fake hub on 127.0.0.1) ->
# scan -> store. Prints files/s, p50/p99 webhook-to-result latency and the cache hit rate.
#
#   bench/service_load.sh                  # SQLite, 4 workers, debug test profile
#   MG_LOAD_DB=postgres bench/service_load.sh   # PostgreSQL at 127.0.0.1:5432 (database
#                                               # created and dropped per run)
#   MG_LOAD_FILES=50000 MG_LOAD_WORKERS=8 PROFILE=--release bench/service_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test ${PROFILE:-} -p modelguard-server --test load -- --ignored --nocapture 2>&1 \
  | grep -E '^(load:|webhooks|webhook->|scans run|test result)'
