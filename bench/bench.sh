#!/usr/bin/env bash
# make bench: wrk, a dedicated database with generated data, production mode on loopback,
# W0–W7 (median of BENCH_RUNS runs), results in bench/results/<date>.md. Stops what it started.
#   BENCH_TICKETS (1000000)  BENCH_MONTH_TICKETS (300000)  BENCH_DEPARTMENTS (200)
#   BENCH_DB (minsheng_bench)  BENCH_REDIS (redis://127.0.0.1:6379/13)  BENCH_PORT (8765)
#   WORKERS (2)  BENCH_RUNS (3)  BENCH_DURATION (10 s)  BENCH_CONNECTIONS (16)  BENCH_ONLY (W0,…)
#   BENCH_REGENERATE=1 rebuilds the data even when the database already holds that many tickets.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
VENV=.venv/bin

if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi

PGHOST_URL="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
BENCH_DB="${BENCH_DB:-minsheng_bench}"
export DATABASE_URL="$PGHOST_URL/$BENCH_DB"
export REDIS_URL="${BENCH_REDIS:-redis://127.0.0.1:6379/13}"
export SECRET_KEY="${SECRET_KEY:-$(cat var/secret_key)}"
export WEBSITE_RATE_LIMIT="${WEBSITE_RATE_LIMIT:-100000000/minute}"
export DB_POOL_SIZE="${DB_POOL_SIZE:-8}"
export SENTRY_DSN=""
unset DEBUG

$VENV/python - <<PY
import psycopg
with psycopg.connect("$PGHOST_URL/postgres", autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", ["$BENCH_DB"]).fetchone():
        conn.execute('CREATE DATABASE "$BENCH_DB"')
        print("[bench] created database $BENCH_DB")
import redis
redis.Redis.from_url("$REDIS_URL").flushdb()  # the bench's own Redis database: stale groups
PY
$VENV/python manage.py migrate --no-input -v 0
$VENV/python manage.py bench_data \
  --tickets "${BENCH_TICKETS:-1000000}" \
  --month-tickets "${BENCH_MONTH_TICKETS:-300000}" \
  --departments "${BENCH_DEPARTMENTS:-200}" \
  $([ "${BENCH_REGENERATE:-0}" = 1 ] && echo --reset || echo --if-missing)
generated=$(date +%s)
echo "[bench] data ready in $((generated - started)) s"
$VENV/python bench/run.py
echo "[bench] done in $(($(date +%s) - started)) s (data $((generated - started)) s)"
