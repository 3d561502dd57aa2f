#!/usr/bin/env bash
# Sign-in flood: the portal's memory before, during and after waves of 200 concurrent bad sign-ins.
#
#   bench/signin_flood.sh [sqlite|postgres] [WAVES]
#
# Runs the release binary (build it with scripts/build-site.sh) on loopback with demo data. Two
# runs per engine:
#   throttled  the shipped limits: one address, 200 at once (how many passwords get checked);
#   hashing    limits lifted, so every attempt costs an Argon2 hash (19 MiB each): the worst case
#              for memory, which the hashing pool bounds.
# RSS is read from /proc every 50 ms. PostgreSQL: PORTCULLIS_BENCH_POSTGRES_URL, an admin URL under
# which a database is created and dropped (default: the local server as postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
waves=${2:-5}
bin=${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-target}/release/portcullis}
[ -x "$bin" ] || { echo "no release binary at $bin: run scripts/build-site.sh" >&2; exit 1; }
work=$(mktemp -d)
port=3191
pg_admin=${PORTCULLIS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
pg_db="portcullis_flood_$$"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ "$engine" = postgres ] && psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

case "$engine" in
  sqlite) url="sqlite://$work/flood.db" ;;
  postgres) psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null; url="${pg_admin%/*}/$pg_db" ;;
  *) echo "engine: sqlite or postgres" >&2; exit 2 ;;
esac
export PORTCULLIS_DATABASE_URL=$url PORTCULLIS_LISTEN=127.0.0.1:$port PORTCULLIS_LOG_LEVEL=error \
  PORTCULLIS_MAIL_DIR=$work/mail PORTCULLIS_SITE_ROOT=target/site
"$bin" seed-demo >/dev/null

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Starts the server with the given extra environment, waits until it is ready.
start() {
  env "$@" "$bin" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# One wave: 200 concurrent bad sign-ins (distinct emails); prints the status counts.
wave() {
  seq 1 200 | xargs -P 200 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
    -H 'Accept: application/json' --data-urlencode "email=flood{}@acme.example" \
    --data-urlencode 'password=not the password 123' "http://127.0.0.1:$port/api/auth/sign_in" |
    sort | uniq -c | awk '{printf "%s×%s ", $1, $2}'
}

run() { # label, env...
  local label=$1; shift
  start "$@"
  curl -s -o /dev/null "http://127.0.0.1:$port/" # warm
  local base peak=0 sampler
  base=$(rss_kb "$server_pid")
  ( while kill -0 "$server_pid" 2>/dev/null; do rss_kb "$server_pid"; sleep 0.05; done ) >"$work/rss" 2>/dev/null &
  sampler=$!
  local statuses=""
  for w in $(seq 1 "$waves"); do statuses+="wave $w: $(wave); "; done
  sleep 5
  local after
  after=$(rss_kb "$server_pid")
  kill "$sampler" 2>/dev/null || true
  peak=$(sort -n "$work/rss" | tail -1)
  printf '| %s | %s | %d | %d | %d | %d | %s |\n' "$engine" "$label" "$waves" \
    $((base / 1024)) $((peak / 1024)) $((after / 1024)) "$statuses"
  stop
}

echo "| engine | run | waves of 200 | RSS before MB | RSS peak MB | RSS 5 s after MB | answers |"
echo "|---|---|---|---|---|---|---|"
run throttled
run hashing PORTCULLIS_THROTTLE_PER_ADDRESS=1000000 PORTCULLIS_THROTTLE_PER_EMAIL=1000000
