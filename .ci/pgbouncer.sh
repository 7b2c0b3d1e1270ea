#!/usr/bin/env bash
# A throwaway PgBouncer in transaction mode in front of the test PostgreSQL (issue 28
# item 7): Debian's pgbouncer with its own ini and userlist in a temporary folder,
# auth_type=trust, on 127.0.0.1:6432 (or a free port when 6432 is taken, e.g. by the
# package's own service). It never touches /etc/pgbouncer nor the machine's service.
#
#   eval "$(bash .ci/pgbouncer.sh start postgresql+psycopg://postgres@127.0.0.1:5432/test)"
#   ... TEST_PGBOUNCER_URL (the same database through PgBouncer) is exported ...
#   bash .ci/pgbouncer.sh stop "$TEST_PGBOUNCER_DIR"
#
# `start` prints only the export lines on stdout; its progress goes to stderr.
set -euo pipefail

cmd="${1:-start}"
if [ "$cmd" = stop ]; then
  dir="${2:?usage: pgbouncer.sh stop DIR}"
  if [ -f "$dir/pgbouncer.pid" ]; then
    kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$dir/pgbouncer.pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$dir"
  exit 0
fi
url="${2:?usage: pgbouncer.sh start POSTGRESQL_URL}"

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "== installing pgbouncer (apt) for the PgBouncer run" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >&2
fi
PGBOUNCER="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"

# host, port, user and the URL through PgBouncer, from the PostgreSQL URL
read -r host port user bport bounced <<<"$(python3 - "$url" "${PGBOUNCER_PORT:-6432}" <<'PY'
import socket
import sys
from urllib.parse import urlsplit, urlunsplit

url, want = urlsplit(sys.argv[1]), int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PgBouncer binds
try:
    s.bind(("127.0.0.1", want))
except OSError:  # taken (the package's own service?): any free port
    s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
netloc = f"{url.username or 'postgres'}@127.0.0.1:{port}"
print(url.hostname or "127.0.0.1", url.port or 5432, url.username or "postgres", port,
      urlunsplit((url.scheme, netloc, url.path, url.query, "")))
PY
)"

dir="$(mktemp -d /tmp/sevadesk-pgbouncer.XXXXXX)"
chmod 755 "$dir"
printf '"%s" ""\n' "$user" > "$dir/userlist.txt"
cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=$host port=$port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 10
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI

if [ "$(id -u)" = 0 ]; then
  # PgBouncer refuses to run as root: it drops to "nobody", who owns its folder.
  chown -R nobody "$dir"
  "$PGBOUNCER" -d -u nobody "$dir/pgbouncer.ini" >&2
else
  "$PGBOUNCER" -d "$dir/pgbouncer.ini" >&2
fi
for _ in $(seq 50); do
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$bport" \
    2>/dev/null && break
  sleep 0.1
done
echo "== PgBouncer $("$PGBOUNCER" --version | head -1 | cut -d' ' -f2) (transaction mode) on 127.0.0.1:$bport -> $host:$port" >&2
echo "export TEST_PGBOUNCER_URL='$bounced'"
echo "export TEST_PGBOUNCER_DIR='$dir'"
