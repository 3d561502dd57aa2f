#!/usr/bin/env bash
# Full pages over HTTP under load: what a busy support team feels.
#
#   bench/pages.sh [sqlite|postgres] [SECONDS]
#
# Seeds 1,000,000 cases, 100,000 users (ten generated accounts of 10,000) and 100,000 knowledge-base
# articles (`seed-demo` flags), signs in as a customer user, a customer administrator of a
# 10,000-user account and an agent, and drives each page with wrk at 32 connections for SECONDS
# (default 10): full server-rendered pages with a signed-in session, as a browser asks for them.
# PORTCULLIS_BENCH_ONLY=text[,text…] runs only the pages whose label contains one of the texts.
# Each page's bytes are then served by bare axum (the `static_page` example) in the same run, so the
# ratio shows what the portal adds on top of sending them. The server's RSS is sampled throughout.
#
# Needs the release binary and example (scripts/build-site.sh, then
# `cargo build --release -p server --example static_page`) and wrk (Debian's package). The seeded
# database is kept under PORTCULLIS_BENCH_DATA (default ~/.cache/portcullis/bench; PostgreSQL: a
# database named after the sizes) and reused, since seeding a million cases takes minutes.
# Sizes: PORTCULLIS_BENCH_CASES, PORTCULLIS_BENCH_ARTICLES; PostgreSQL admin URL:
# PORTCULLIS_BENCH_POSTGRES_URL (default: the local server as postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
secs=${2:-10}
conns=${PORTCULLIS_BENCH_CONNECTIONS:-32}
cases=${PORTCULLIS_BENCH_CASES:-1000000}
articles=${PORTCULLIS_BENCH_ARTICLES:-100000}
accounts=10
users_per_account=10000
target=${CARGO_TARGET_DIR:-target}
bin=${PORTCULLIS_BIN:-$target/release/portcullis}
static_bin=$target/release/examples/static_page
data=${PORTCULLIS_BENCH_DATA:-$HOME/.cache/portcullis/bench}
pg_admin=${PORTCULLIS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=3193
static_port=3194
password='Portcullis-Demo-2026'

[ -x "$bin" ] || { echo "no release binary at $bin: run scripts/build-site.sh" >&2; exit 1; }
[ -x "$static_bin" ] || { echo "no $static_bin: cargo build --release -p server --example static_page" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (Debian: apt-get install wrk)" >&2; exit 1; }
mkdir -p "$data"
work=$(mktemp -d)
server_pid=
static_pid=
sampler=
cleanup() {
  for pid in $sampler $static_pid $server_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

sizes="${cases}c-${articles}a"
case "$engine" in
  sqlite) url="sqlite://$data/bench-$sizes.db" ;;
  postgres)
    db="portcullis_bench_${cases}_${articles}"
    url="${pg_admin%/*}/$db" ;;
  *) echo "engine: sqlite or postgres" >&2; exit 2 ;;
esac
marker="$data/$engine-$sizes.seeded"
export PORTCULLIS_DATABASE_URL=$url PORTCULLIS_LISTEN=127.0.0.1:$port PORTCULLIS_LOG_LEVEL=error \
  PORTCULLIS_MAIL_DIR=$work/mail PORTCULLIS_SITE_ROOT=target/site \
  PORTCULLIS_PUBLIC_URL=http://127.0.0.1:$port PORTCULLIS_SEARCH_INDEX_DIR=$data/search-$engine-$sizes

if [ ! -f "$marker" ]; then
  echo "seeding $cases cases, $((accounts * users_per_account)) users, $articles articles on $engine (once)…" >&2
  if [ "$engine" = postgres ]; then
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
  else
    rm -f "$data/bench-$sizes.db"*
  fi
  started=$(date +%s)
  "$bin" seed-demo --accounts "$accounts" --users-per-account "$users_per_account" \
    --cases "$cases" --kb-articles "$articles" >/dev/null
  echo "seeded in $(( $(date +%s) - started )) s" >&2
  touch "$marker"
fi

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
# The search index is built from the tables at the first start (and kept for later runs).
started=$(date +%s)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/kb?q=pipeline")" = 200 ]; do
  [ $(( $(date +%s) - started )) -lt 1800 ] || { echo "the search index was not ready in 30 min" >&2; exit 1; }
  sleep 2
done
echo "search index ready after $(( $(date +%s) - started )) s" >&2
( while kill -0 "$server_pid" 2>/dev/null; do rss_kb "$server_pid"; sleep 0.2; done ) >"$work/rss" &
sampler=$!

# The session cookie of a demo user, as a browser's sign-in form gets it.
cookie_of() {
  curl -s -D - -o /dev/null -H "Origin: http://127.0.0.1:$port" -H 'Accept: application/json' \
    --data-urlencode "email=$1" --data-urlencode "password=$password" \
    "http://127.0.0.1:$port/api/auth/sign_in" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(portcullis_session=[^;]*\).*/\1/p' | head -1
}
customer=$(cookie_of user@acme.example)
admin=$(cookie_of user1@c000001.example)
agent=$(cookie_of agent@vendor.example)
for c in "$customer" "$admin" "$agent"; do
  [ -n "$c" ] || { echo "sign-in failed" >&2; cat "$work/server.log" >&2; exit 1; }
done
# A case of the customer's account, for the case page.
case_number=$(curl -s -H "Cookie: $customer" "http://127.0.0.1:$port/cases?scope=team" |
  grep -o 'href="/cases/CS[0-9]*"' | head -1 | sed 's/.*\/cases\/\(CS[0-9]*\)"/\1/')

# An access review of the administrator's account (10,000 people): started once, left open.
curl -s -o /dev/null -X POST -H "Cookie: $admin" -H "Origin: http://127.0.0.1:$port" \
  -H 'Accept: application/json' -H 'Content-Type: application/x-www-form-urlencoded' --data '' \
  "http://127.0.0.1:$port/api/reviews/start"
review_id=$(curl -s -H "Cookie: $admin" "http://127.0.0.1:$port/manage/reviews" |
  grep -o 'href="/manage/reviews/[0-9]*"' | head -1 | grep -o '[0-9][0-9]*')

# label | session | path
pages=(
  "customer: home|customer|/"
  "customer: my cases|customer|/cases?scope=mine"
  "customer: team cases|customer|/cases?scope=team"
  "customer: team cases, open only|customer|/cases?scope=team&state=open"
  "customer: my cases, closed only|customer|/cases?scope=mine&state=closed"
  "customer: case page|customer|/cases/$case_number"
  "customer: change requests|customer|/changes"
  "staff: home (queue counts, own cases)|agent|/"
  "staff: unassigned queue|agent|/staff/cases?queue=unassigned"
  "staff: unassigned, SLA due first|agent|/staff/cases?queue=unassigned&sort=due"
  "staff: my cases|agent|/staff/cases?queue=mine"
  "staff: my groups|agent|/staff/cases?queue=groups"
  "staff: breaching|agent|/staff/cases?queue=breaching"
  "staff: all cases|agent|/staff/cases?queue=all"
  "staff: all cases, SLA due first|agent|/staff/cases?queue=all&sort=due"
  "staff: all, P1 open, oldest first|agent|/staff/cases?queue=all&state=open&priority=1&sort=oldest"
  "staff: search \"pipeline\"|agent|/staff/cases?queue=all&q=pipeline"
  "staff: search \"pipeline 42 fails\"|agent|/staff/cases?queue=all&q=pipeline+42+fails"
  "staff: unassigned, search \"pipeline\"|agent|/staff/cases?queue=unassigned&q=pipeline"
  "staff: change requests|agent|/changes"
  "staff: audit trail|agent|/staff/audit"
  "Manage Accounts, 10,000 users|admin|/manage"
  "access reviews of an account (admin)|admin|/manage/reviews"
  "access review of 10,000 people (admin)|admin|/manage/reviews/$review_id"
  "access review, still to decide (admin)|admin|/manage/reviews/$review_id?undecided=1"
  "staff: access reviews of all accounts|agent|/staff/access-reviews"
  "KB search, visitor \"pipeline\"|none|/kb?q=pipeline"
  "KB search, customer \"pipeline\"|customer|/kb?q=pipeline"
  "KB search, customer \"maintenance window\"|customer|/kb?q=maintenance+window"
  "KB search, misspelt \"maintenence\"|customer|/kb?q=maintenence"
  "suggestions while typing \"pipeline sta\"|customer|/api/kb/suggest|q=pipeline+sta"
  "sign-in page (no data)|none|/"
)

# wrk's figures for one URL: "req/s p50_ms p99_ms non2xx"; with a form body, POSTed as a
# browser's script does (a server function).
load() { # url cookie [body]
  local out script=()
  if [ -n "${3:-}" ]; then
    printf 'wrk.method = "POST"\nwrk.body = "%s"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Origin"] = "http://127.0.0.1:%s"\nwrk.headers["Accept"] = "application/json"\n' "$3" "$port" >"$work/post.lua"
    script=(-s "$work/post.lua")
  fi
  if [ -n "$2" ]; then
    out=$(wrk -t2 -c"$conns" -d"${load_secs:-$secs}s" --latency "${script[@]}" -H "Cookie: $2" "$1")
  else
    out=$(wrk -t2 -c"$conns" -d"${load_secs:-$secs}s" --latency "${script[@]}" "$1")
  fi
  echo "$out" | awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v
    }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx/ { bad = $NF }
    END { printf "%.0f %.1f %.1f %d\n", rps, p50, p99, bad + 0 }'
}

echo "| page ($engine, $cases cases, $conns connections, ${secs} s) | req/s | p50 ms | p99 ms | errors | bytes | bare axum req/s | ratio | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|"
for entry in "${pages[@]}"; do
  IFS='|' read -r label who path body <<<"$entry"
  # PORTCULLIS_BENCH_ONLY: only the pages whose label contains one of its comma-separated texts.
  wanted=
  IFS=',' read -ra only <<<"${PORTCULLIS_BENCH_ONLY:-}"
  [ "${#only[@]}" -gt 0 ] || wanted=1
  for text in "${only[@]}"; do [[ "$label" == *"$text"* ]] && wanted=1; done
  [ -n "$wanted" ] || continue
  case "$who" in
    customer) cookie=$customer ;; admin) cookie=$admin ;; agent) cookie=$agent ;; *) cookie= ;;
  esac
  full="http://127.0.0.1:$port$path"
  if [ -n "$body" ]; then
    status=$(curl -s -o "$work/page.html" -w '%{http_code}' ${cookie:+-H "Cookie: $cookie"} \
      -H "Origin: http://127.0.0.1:$port" -H 'Accept: application/json' --data "$body" "$full")
  else
    status=$(curl -s -o "$work/page.html" -w '%{http_code}' ${cookie:+-H "Cookie: $cookie"} "$full")
  fi
  bytes=$(wc -c <"$work/page.html")
  # Two seconds first, not counted: the first requests after a start read the index and the
  # database from disk, which a portal that has been running has long done.
  sampled=$(wc -l <"$work/rss")
  load_secs=2 load "$full" "$cookie" "$body" >/dev/null
  read -r rps p50 p99 bad < <(load "$full" "$cookie" "$body")
  # The server's largest RSS while this page was driven.
  page_peak=$(tail -n +"$((sampled + 1))" "$work/rss" | sort -n | tail -1)
  [ "$status" = 200 ] || bad="$bad (page answered $status)"
  "$static_bin" "$work/page.html" "127.0.0.1:$static_port" &
  static_pid=$!
  for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$static_port/" && break; sleep 0.1; done
  read -r srps _ _ _ < <(load "http://127.0.0.1:$static_port$path" "")
  kill "$static_pid"; wait "$static_pid" 2>/dev/null || true; static_pid=
  ratio=$(awk -v a="$rps" -v b="$srps" 'BEGIN { if (a > 0) printf "%.0f×", b / a; else print "—" }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %d |\n' "$label" "$rps" "$p50" "$p99" "$bad" "$bytes" "$srps" \
    "$ratio" $(( ${page_peak:-0} / 1024 ))
done
peak=$(sort -n "$work/rss" | tail -1)
# Of the resident memory, how much is the process's own (heap) and how much mapped files (the
# search index, read through mmap: the kernel's page cache, dropped first under pressure).
anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$server_pid/smaps_rollup" 2>/dev/null || echo 0)
printf '\nServer RSS: %d MB at the end (%d MB of it the heap, the rest mapped files), %d MB at the peak.\n' \
  $(( $(rss_kb "$server_pid") / 1024 )) $(( anon / 1024 )) $(( peak / 1024 ))
