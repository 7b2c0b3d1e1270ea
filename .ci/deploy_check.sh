#!/usr/bin/env bash
# Follows docs/operations.md as a newcomer would: in a fresh clone, the fenced block between
# <!-- deploy:begin --> and <!-- deploy:end --> runs verbatim against a scratch PostgreSQL
# database and a free port (only the settings file of <!-- settings:begin/end --> is
# written here, with those two values); then the first page must answer 200, the scheduler
# must have swept the same database, and the <!-- stop:begin/end --> block must stop both.
#   DEPLOY_PG=postgresql://postgres@127.0.0.1:5432  DEPLOY_DB=docs_deploy_check
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PG="${DEPLOY_PG:-postgresql://postgres@127.0.0.1:5432}"
DB="${DEPLOY_DB:-docs_deploy_check}"
WORK="$(mktemp -d /tmp/sevadesk-deploy.XXXXXX)"
APP="$WORK/app"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

block() {  # the fenced block between <!-- $1:begin --> and <!-- $1:end --> of the doc
  awk -v b="<!-- $1:begin -->" -v e="<!-- $1:end -->" '$0 == b {on = 1; next} $0 == e {on = 0} on' \
    "$APP/docs/operations.md" | sed '/^```/d'
}
cleanup() {
  status=$?
  if [ -f "$APP/instance/gunicorn.pid" ] || [ -f "$APP/instance/scheduler.pid" ]; then
    (cd "$APP" && bash -c "$(block stop)") 2>/dev/null || true
  fi
  sleep 1
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [ $status -ne 0 ]; then
    for log in scheduler.log gunicorn.log; do
      [ -f "$APP/instance/$log" ] && { echo "---- $log"; tail -n 30 "$APP/instance/$log"; }
    done
    echo "deploy check: 0 passed, 1 failed"
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

echo "== deploy check: docs/operations.md in a fresh clone, database $DB, port $PORT"
git clone -q "$ROOT" "$APP"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
mkdir -p "$APP/instance"
cat > "$APP/instance/sevadesk.env" <<ENV
DATABASE_URL=${PG/postgresql:/postgresql+psycopg:}/$DB
PORTAL_ENV=production
PUBLIC_BASE_URL=http://127.0.0.1:$PORT
BIND=127.0.0.1:$PORT
WORKERS=2
FIRST_ADMIN_ID=90000001
FIRST_ADMIN_PASSWORD=Change-me-2026
ENV
block deploy > "$WORK/deploy.sh"
[ "$(grep -c . "$WORK/deploy.sh")" -gt 5 ] || { echo "no deploy block found in docs/operations.md"; exit 1; }
(cd "$APP" && env -u DATABASE_URL -u SECRET_KEY bash -euo pipefail -x "$WORK/deploy.sh")

echo "== first page"
for _ in $(seq 60); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)"
  [ "$code" = 200 ] && break
  sleep 1
done
[ "$code" = 200 ] || { echo "GET / answered $code"; exit 1; }
curl -sf -o /dev/null "http://127.0.0.1:$PORT/auth/login"
echo "GET / and /auth/login: 200"

echo "== the scheduler sweeps the same database"
for _ in $(seq 60); do
  grep -q "jobs: {" "$APP/instance/scheduler.log" && break
  sleep 1
done
grep "jobs: {" "$APP/instance/scheduler.log" | head -1
grep -q "'escalated': 2, 'breached': 2" "$APP/instance/scheduler.log" \
  || { echo "the first sweep did not act on the demo's four overdue cases"; exit 1; }

echo "== stop"
(cd "$APP" && bash -euo pipefail -x -c "$(block stop)")
for _ in $(seq 30); do
  if ! kill -0 "$(cat "$APP/instance/scheduler.pid")" 2>/dev/null \
     && ! kill -0 "$(cat "$APP/instance/gunicorn.pid" 2>/dev/null || echo none)" 2>/dev/null; then
    break
  fi
  sleep 1
done
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then echo "still answering after stop"; exit 1; fi
rm -f "$APP/instance/gunicorn.pid" "$APP/instance/scheduler.pid"
echo "deploy check: 1 passed, 0 failed"
