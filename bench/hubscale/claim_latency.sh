#!/usr/bin/env bash
# Claim latency of the job queue on PostgreSQL with millions of queued jobs (issue 14).
#
#   bench/hubscale/claim_latency.sh                 # 1M and 10M queued jobs
#   SIZES="1000000" SECS=10 bench/hubscale/claim_latency.sh
#
# For each size N: a fresh database migrated by the server itself (role = "api" started
# until /readyz answers, then SIGTERM), then, with the secondary indexes and the counting
# trigger set aside for the bulk load (recreated from their own definitions afterwards):
#   N queued jobs (95 % backlog, 3 % api, 2 % rescan; 5 % of them put off into the future,
#   vt = run_at as Store::defer writes them, and every rescan job put off: a lane the hub
#   rate-limited), 1M done jobs, 1,000 queued push-lane jobs;
# job_counts recomputed, VACUUM ANALYZE; then
#   - EXPLAIN (ANALYZE, BUFFERS) of the exact claim statement (CLAIM_PG of
#     crates/server/src/store/queue.rs) for the push and the backlog lane, in BEGIN … ROLLBACK;
#   - pgbench, CLIENTS clients for SECS s each: the push-lane claim in BEGIN … ROLLBACK (the
#     lane keeps its 1,000 jobs) and the backlog-lane claim committed (the lane really
#     drains, as workers would; claimed rows leave dead index entries at the head);
#     latency avg and p50/p99 from pgbench's per-transaction log;
#   - the /metrics queue query (job_counts + one head-of-lane probe per lane), pgbench -r.
# Output: bench/hubscale/out/claim-<time>/ (plans, pgbench logs, summary.txt).
# The databases are dropped at the end (KEEP_DB=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")"
BIN=${MODELGUARD_SERVER:-/work/bench-bin/modelguard-server}
PG=${MODELGUARD_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
SIZES=${SIZES:-"1000000 10000000"}
DONE_JOBS=${DONE_JOBS:-1000000}
PUSH_JOBS=${PUSH_JOBS:-1000}
CLIENTS=${CLIENTS:-4}
SECS=${SECS:-15}
OUT=out/claim-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
log() { echo "$*" | tee -a "$SUMMARY"; }
DB=
cleanup() { [ -n "$DB" ] && [ -z "${KEEP_DB:-}" ] && psql "$PG/test" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; }
trap cleanup EXIT

CLAIM="UPDATE jobs SET status = 'running', lease_until = :lease, worker = 'bench', attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND lane = :lane ORDER BY vt, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, kind, payload, attempts, max_attempts, lane, deferrals"

migrate() { # $1 = database url
  local port cfg pid
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cfg=$OUT/migrate.toml
  printf 'listen = "127.0.0.1:%s"\ndb = "%s"\nrole = "api"\n' "$port" "$1" >"$cfg"
  "$BIN" --config "$cfg" >"$OUT/migrate.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  kill -TERM "$pid"
  wait "$pid" || true
}

p99() { # per-transaction pgbench logs -> "avg p50 p99 max n" in ms (column 3: latency in us)
  cat "$@" | awk '{print $3}' | sort -n | awk '{a[NR]=$1; s+=$1} END {
    if (NR == 0) { print "no transactions"; exit }
    printf "avg %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms, %d claims", s/NR/1000, a[int(NR*0.5)+1]/1000, a[int(NR*0.99)+1]/1000, a[NR]/1000, NR }'
}

log "claim latency: $(nproc) cores, $(uname -r), $(psql "$PG/test" -qAtc 'SHOW server_version'), shared_buffers $(psql "$PG/test" -qAtc 'SHOW shared_buffers'), work_mem $(psql "$PG/test" -qAtc 'SHOW work_mem')"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared with other builds)"

for N in $SIZES; do
  DB=mg_claim_${N}_$$
  URL=$PG/$DB
  log ""
  log "=== $N queued jobs + $DONE_JOBS done + $PUSH_JOBS push-lane (database $DB) ==="
  psql "$PG/test" -qc "CREATE DATABASE $DB"
  migrate "$URL"
  NOW=$(date +%s%3N)
  t0=$(date +%s)
  # The secondary indexes and the counting trigger are set aside for the load (a per-row
  # trigger and random index inserts would take much longer than the load itself).
  psql "$URL" -qAt -c "SELECT indexdef || ';' FROM pg_indexes WHERE tablename = 'jobs' AND indexname <> 'jobs_pkey'" >"$OUT/indexes.$N.sql"
  psql "$URL" -v ON_ERROR_STOP=1 -q <<SQL
SELECT 'DROP INDEX ' || indexname FROM pg_indexes WHERE tablename = 'jobs' AND indexname <> 'jobs_pkey' \gexec
ALTER TABLE jobs DISABLE TRIGGER jobs_count;
-- Done jobs (finished within the retention window).
INSERT INTO jobs (kind, lane, payload, status, attempts, max_attempts, run_at, vt, created_at, unique_key, finished_at)
SELECT 'scan', 4, '{"b":' || g || '}', 'done', 1, 3, $NOW - 86400000 + g, $NOW - 86400000 + g, $NOW - 86400000 + g, NULL, $NOW - 86000000 + g
FROM generate_series(1, $DONE_JOBS) g;
-- Queued jobs, enqueue order: created over the last day, vt spread within batches of 100
-- (fair_spread_ms = 20); 5 % put off into the next hour (vt = run_at).
INSERT INTO jobs (kind, lane, payload, status, attempts, max_attempts, run_at, vt, created_at, unique_key)
SELECT CASE WHEN g % 10 = 0 THEN 'list' ELSE 'scan' END,
       CASE WHEN g % 100 < 95 THEN 4 WHEN g % 100 < 98 THEN 2 ELSE 3 END,
       '{"repo":"org/m' || (g / 5) || '","path":"f' || g || '.safetensors"}',
       CASE WHEN g % 20 = 7 OR g % 100 >= 98 THEN 'waiting' ELSE 'queued' END, 0, 3,
       CASE WHEN g % 20 = 7 OR g % 100 >= 98 THEN $NOW + (g % 3600) * 1000 ELSE $NOW - 86400000 + (g::bigint * 86400000 / $N) END,
       CASE WHEN g % 20 = 7 OR g % 100 >= 98 THEN $NOW + (g % 3600) * 1000 ELSE $NOW - 86400000 + (g::bigint * 86400000 / $N) + (g % 100) * 20 END,
       $NOW - 86400000 + (g::bigint * 86400000 / $N), NULL
FROM generate_series(1, $N) g;
-- The push lane: 1,000 queued jobs of the last minute.
INSERT INTO jobs (kind, lane, payload, status, attempts, max_attempts, run_at, vt, created_at, unique_key)
SELECT 'list', 1, '{"repo":"push/r' || g || '"}', 'queued', 0, 3, $NOW - 60000 + g * 60, $NOW - 60000 + g * 60, $NOW - 60000 + g * 60, NULL
FROM generate_series(1, $PUSH_JOBS) g;
SQL
  t1=$(date +%s)
  psql "$URL" -v ON_ERROR_STOP=1 -q -f "$OUT/indexes.$N.sql"
  psql "$URL" -v ON_ERROR_STOP=1 -q <<SQL
UPDATE job_counts SET n = CASE WHEN shard = 0 THEN (SELECT COUNT(*) FROM jobs j WHERE j.lane = job_counts.lane AND j.status = job_counts.status) ELSE 0 END;
ALTER TABLE jobs ENABLE TRIGGER jobs_count;
VACUUM ANALYZE;
SQL
  t2=$(date +%s)
  log "load: $((t1 - t0)) s insert, $((t2 - t1)) s indexes + VACUUM ANALYZE"
  log "jobs table $(psql "$URL" -qAtc "SELECT pg_size_pretty(pg_relation_size('jobs')) || ' heap, ' || pg_size_pretty(pg_indexes_size('jobs')) || ' indexes, jobs_runnable ' || pg_size_pretty(pg_relation_size('jobs_runnable'))"); counts: $(psql "$URL" -qAtc "SELECT string_agg(lane || '/' || status || '=' || n, ' ' ORDER BY lane, status) FROM job_counts WHERE n > 0")"

  for lane in 1 4 3; do
    name=$(case $lane in 1) echo push ;; 4) echo backlog ;; 3) echo rescan-all-put-off ;; esac)
    plan=$OUT/explain.$N.$name.txt
    sql=${CLAIM//:lease/$((NOW + 60000))}
    sql=${sql//:lane/$lane}
    sql=${sql//:now/$NOW}
    psql "$URL" -qAt >"$plan" <<SQL
BEGIN;
EXPLAIN (ANALYZE, BUFFERS) $sql;
ROLLBACK;
SQL
    # Run it twice: the second shows the warm cache.
    psql "$URL" -qAt >>"$plan" <<SQL
BEGIN;
EXPLAIN (ANALYZE, BUFFERS) $sql;
ROLLBACK;
SQL
    log "--- EXPLAIN (ANALYZE, BUFFERS) claim, $name lane (second run):"
    awk 'BEGIN{n=0} /^Update on jobs/{n++} n==2' "$plan" | tee -a "$SUMMARY"
  done

  # pgbench: the push-lane claim in BEGIN ... ROLLBACK, the backlog-lane claim committed.
  cat >"$OUT/claim_push.sql" <<SQL
BEGIN;
${CLAIM//:lane/1};
ROLLBACK;
SQL
  cat >"$OUT/claim_backlog.sql" <<SQL
${CLAIM//:lane/4};
SQL
  cat >"$OUT/metrics.sql" <<SQL
SELECT lane, status, CAST(SUM(n) AS BIGINT) FROM job_counts GROUP BY lane, status;
SELECT created_at FROM jobs WHERE status = 'queued' AND lane = 1 ORDER BY vt, id LIMIT 1;
SELECT created_at FROM jobs WHERE status = 'queued' AND lane = 2 ORDER BY vt, id LIMIT 1;
SELECT created_at FROM jobs WHERE status = 'queued' AND lane = 3 ORDER BY vt, id LIMIT 1;
SELECT created_at FROM jobs WHERE status = 'queued' AND lane = 4 ORDER BY vt, id LIMIT 1;
SQL
  # backlog-notrigger: the same committed claim with the job_counts trigger disabled, to
  # separate the claim's own cost from the counter rows' (one hot row per lane and status).
  for lane in push backlog backlog-notrigger; do
    script=claim_${lane%-notrigger}.sql
    [ "$lane" = backlog-notrigger ] && psql "$URL" -qc "ALTER TABLE jobs DISABLE TRIGGER jobs_count"
    NOWB=$(date +%s%3N)
    (cd "$OUT" && pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECS" -D now="$NOWB" -D lease=$((NOWB + 600000)) \
      -f "$script" -r --verbose-errors --log --log-prefix="pgbench.$N.$lane" "$URL" >"pgbench.$N.$lane.txt" 2>&1)
    [ "$lane" = backlog-notrigger ] && psql "$URL" -qc "ALTER TABLE jobs ENABLE TRIGGER jobs_count"
    log "--- pgbench claim, $lane lane, $CLIENTS clients, $SECS s: $(grep -E '^tps' "$OUT/pgbench.$N.$lane.txt" | head -1); $(grep -E '^number of failed' "$OUT/pgbench.$N.$lane.txt")"
    grep -E 'ERROR|DETAIL' "$OUT/pgbench.$N.$lane.txt" | sed 's/^pgbench: //' | sort | uniq -c | sort -rn | head -4 | tee -a "$SUMMARY" || true
    log "    per transaction: $(p99 "$OUT"/pgbench.$N.$lane.[0-9]*)"
    grep -E '^\s+[0-9.]+\s+[0-9]+\s+UPDATE' "$OUT/pgbench.$N.$lane.txt" | sed 's/^ */    statement: /' | cut -c1-110 | tee -a "$SUMMARY" || true
  done
  log "--- after the backlog runs: $(psql "$URL" -qAtc "SELECT count(*) FROM jobs WHERE status = 'running'") jobs claimed; job_counts $(psql "$URL" -qAtc "SELECT pg_size_pretty(pg_relation_size('job_counts')) || ' for ' || count(*) || ' rows' FROM job_counts")"
  (cd "$OUT" && pgbench -n -M prepared -c 1 -T 5 -f metrics.sql -r "$URL" >"pgbench.$N.metrics.txt" 2>&1)
  log "--- /metrics queue query (job_counts + 4 head probes), 1 client, 5 s: $(grep -E '^latency average' "$OUT/pgbench.$N.metrics.txt")"
  grep -E '^\s+[0-9.]+\s+[0-9]+\s+SELECT' "$OUT/pgbench.$N.metrics.txt" | sed 's/^ */    /' | cut -c1-110 | tee -a "$SUMMARY" || true
  log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  cleanup
  DB=
done
log ""
log "written: $OUT"
