#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, used by .ci/run and by hand:
#
#   eval "$(scripts/testpg.sh start)"   # exports SECRETGATE_TEST_POSTGRES and SECRETGATE_TEST_PGDIR
#   go test ./internal/store/ ./internal/rotation/...
#   scripts/testpg.sh stop "$SECRETGATE_TEST_PGDIR"
#
# The server has its own data folder, listens on localhost and a socket in that
# folder only, on the first free port from 54329, and has TLS on with a
# self-signed certificate for localhost. The superuser postgres logs in without
# a password (the store's tests use it with sslmode=disable); every other role
# must log in with SCRAM-SHA-256 over TCP, so password tests mean something.
# start prints shell assignments on stdout and everything else on stderr.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as=()
if [ "$(id -u)" = 0 ]; then # initdb and postgres refuse to run as root
  as=(runuser -u postgres --)
fi

start() {
  local started bin pgdir port
  started=$(date +%s%N)
  bin=$(pg_bin)
  [ -n "$bin" ] || { echo "testpg: no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 1; }
  command -v openssl >/dev/null || { echo "testpg: openssl is needed for the server's certificate" >&2; exit 1; }
  pgdir=$(mktemp -d /tmp/secretgate-pg.XXXXXX)
  port=54329
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -keyout "$pgdir/server.key" -out "$pgdir/server.crt" 2>"$pgdir/openssl.log" ||
    { cat "$pgdir/openssl.log" >&2; exit 1; }
  chmod 600 "$pgdir/server.key"
  [ ${#as[@]} -eq 0 ] || chown -R postgres: "$pgdir"

  "${as[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$pgdir/initdb.log" ||
    { cat "$pgdir/initdb.log" >&2; exit 1; }
  "${as[@]}" tee "$pgdir/data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE USER     ADDRESS        METHOD
local   all      all                     trust
host    all      postgres 127.0.0.1/32   trust
host    all      postgres ::1/128        trust
host    all      all      127.0.0.1/32   scram-sha-256
host    all      all      ::1/128        scram-sha-256
EOF
  "${as[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -s \
    -o "-p $port -k $pgdir -c listen_addresses=localhost -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$pgdir/server.crt -c ssl_key_file=$pgdir/server.key" start >&2 ||
    { cat "$pgdir/server.log" >&2; exit 1; }
  "${as[@]}" "$bin/psql" -h "$pgdir" -p "$port" -U postgres -qAt -c 'CREATE DATABASE secretgate_test' >/dev/null
  echo "testpg: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on localhost:$port (TLS on, SCRAM for roles other than postgres), ready in $((($(date +%s%N) - started) / 1000000)) ms" >&2
  echo "export SECRETGATE_TEST_POSTGRES='postgres://postgres@localhost:$port/secretgate_test?sslmode=disable'"
  echo "export SECRETGATE_TEST_PGDIR='$pgdir'"
}

stop() {
  local pgdir=$1
  case "$pgdir" in /tmp/secretgate-pg.*) ;; *) echo "testpg: stop wants a folder made by start, not '$pgdir'" >&2; exit 1 ;; esac
  "${as[@]}" "$(pg_bin)/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:?usage: testpg.sh stop PGDIR}" ;;
*) echo "usage: testpg.sh start | stop PGDIR" >&2; exit 2 ;;
esac
