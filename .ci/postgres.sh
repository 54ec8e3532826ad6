#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, in a temporary directory, on 127.0.0.1.
#
#   .ci/postgres.sh start DIR   initdb + start in DIR (created); prints the server's URL
#   .ci/postgres.sh stop DIR    stops it and removes DIR
#
# Uses initdb and pg_ctl from Debian's packages (/usr/lib/postgresql/*/bin, or PATH).
# Run as root, the server runs as the unprivileged user `nobody` (PostgreSQL refuses
# root). The password is random per server; the URL carries it, so do not print it
# where logs are kept (the tests show it redacted).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

bin=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$candidate/pg_ctl" ]; then bin=$candidate; break; fi
done
if [ -z "$bin" ] && command -v pg_ctl >/dev/null; then bin=$(dirname "$(command -v pg_ctl)"); fi
if [ -z "$bin" ]; then
  echo "postgres.sh: no pg_ctl found (apt-get install -y postgresql)" >&2
  exit 1
fi

# Runs a server binary as the unprivileged owner of DIR.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

case "$action" in
  start)
    mkdir -p "$dir"
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$password" > "$dir/pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown -R nobody "$dir"; fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U modellix --pwfile="$dir/pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    started=""
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      # fsync off: a throw-away server; many connections: several test processes.
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
          -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
          start >/dev/null 2>&1; then
        started=yes; break
      fi
    done
    if [ -z "$started" ]; then
      echo "postgres.sh: the server did not start; its log:" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
    printf '%s\n' "$port" > "$dir/port"
    echo "postgres://modellix:$password@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
