#!/usr/bin/env bash
# Production mode on one machine: several ASGI workers, a Celery worker and Celery beat,
# against DATABASE_URL (PostgreSQL) and REDIS_URL. Stops them all on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (postgres://...)}"
: "${REDIS_URL:?set REDIS_URL (redis://...)}"
: "${SECRET_KEY:=$(cat var/secret_key)}"
# A connection pool per worker: under ASGI each request runs in its own thread, so without
# one every request pays a new PostgreSQL connection (docs/benchmarks.md).
export DB_POOL_SIZE="${DB_POOL_SIZE:-8}"
export SECRET_KEY INPROCESS_JOBS=0
WORKERS="${WORKERS:-2}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
VENV=.venv/bin

$VENV/python manage.py migrate --no-input
$VENV/python manage.py collectstatic --no-input -v 0

pids=()
$VENV/uvicorn config.asgi:application --host "$HOST" --port "$PORT" --workers "$WORKERS" \
  --no-access-log --lifespan off & pids+=($!)
$VENV/celery -A config worker --loglevel INFO --concurrency "${CELERY_CONCURRENCY:-2}" & pids+=($!)
$VENV/celery -A config beat --loglevel INFO --schedule var/celerybeat-schedule & pids+=($!)

stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait; }
trap stop INT TERM
echo "Minsheng (production mode): http://$HOST:$PORT/  workers=$WORKERS, celery worker + beat"
wait -n
stop
