#!/usr/bin/env bash
# A throwaway IMAP server for the e-mail channel's tests (issue 26): Debian's dovecot with
# its own configuration in a temporary folder — plaintext login on 127.0.0.1, a
# passwd-file user, a maildir, a free non-standard port. It never touches the machine's
# own dovecot (which the package may have started) nor /etc/dovecot.
#
#   eval "$(bash .ci/imap_server.sh start)"   # installs dovecot-imapd when missing (root)
#   ... TEST_IMAP_URL=imap://helpdesk:...@127.0.0.1:PORT/INBOX is exported ...
#   bash .ci/imap_server.sh stop "$TEST_IMAP_DIR"
#
# `start` prints only the export lines on stdout; its progress goes to stderr.
set -euo pipefail

cmd="${1:-start}"
if [ "$cmd" = stop ]; then
  dir="${2:?usage: imap_server.sh stop DIR}"
  [ -f "$dir/dovecot.conf" ] && dovecot -c "$dir/dovecot.conf" stop 2>/dev/null || true
  rm -rf "$dir"
  exit 0
fi

if ! command -v dovecot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "== installing dovecot-imapd (apt) for the IMAP tests" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dovecot-imapd >&2
fi
DOVECOT="$(command -v dovecot || echo /usr/sbin/dovecot)"

dir="$(mktemp -d /tmp/sevadesk-imap.XXXXXX)"
chmod 755 "$dir"
port="${IMAP_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$dir/run" "$dir/state" "$dir/mail"

if [ "$(id -u)" = 0 ]; then
  # Mail is never stored as root: the mailbox belongs to "nobody"; dovecot's own
  # unprivileged users (installed with the package) run its login and internal processes.
  mail_uid="$(id -u nobody)"; mail_gid="$(id -g nobody)"
  chown "$mail_uid:$mail_gid" "$dir/mail"
  run_users=""
else
  mail_uid="$(id -u)"; mail_gid="$(id -g)"
  run_users="default_internal_user = $(id -un)
default_login_user = $(id -un)"
fi

printf 'helpdesk:{PLAIN}%s\n' "$password" > "$dir/passwd"
chmod 644 "$dir/passwd"
cat > "$dir/dovecot.conf" <<CONF
instance_name = sevadesk-test-$port
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
$run_users
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$dir/mail/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF

"$DOVECOT" -c "$dir/dovecot.conf" >&2
for _ in $(seq 1 50); do
  if python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
PY
  then
    echo "export TEST_IMAP_URL='imap://helpdesk:$password@127.0.0.1:$port/INBOX'"
    echo "export TEST_IMAP_DIR='$dir'"
    echo "== dovecot listening on 127.0.0.1:$port ($dir)" >&2
    exit 0
  fi
  sleep 0.1
done
echo "dovecot did not start; its log:" >&2
cat "$dir/dovecot.log" >&2 || true
exit 1
