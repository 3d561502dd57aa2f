#!/usr/bin/env bash
# Attachments: upload and download throughput of one large file, and the memory the server holds
# meanwhile.
#
#   bench/files.sh [sqlite|postgres] [SIZE_MB]
#
# Starts the release binary on a fresh database with the demo data, signs in as an agent, and
# sends one file of SIZE_MB (default 1024) of random bytes to a case through the case page's form
# (curl, one multipart POST, as a browser without script sends it), then downloads it. The
# server's RSS is sampled every 100 ms; the figures are its growth over the idle server. Needs
# the release binary (scripts/build-site.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
size_mb=${2:-1024}
target=${CARGO_TARGET_DIR:-target}
bin=${PORTCULLIS_BIN:-$target/release/portcullis}
pg_admin=${PORTCULLIS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=3195
password='Portcullis-Demo-2026'
[ -x "$bin" ] || { echo "no release binary at $bin: run scripts/build-site.sh" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
sampler=
cleanup() {
  for pid in $sampler $server_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

case "$engine" in
  sqlite) url="sqlite://$work/files.db" ;;
  postgres)
    db="portcullis_bench_files"
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
    url="${pg_admin%/*}/$db" ;;
  *) echo "engine: sqlite or postgres" >&2; exit 2 ;;
esac
export PORTCULLIS_DATABASE_URL=$url PORTCULLIS_LISTEN=127.0.0.1:$port PORTCULLIS_LOG_LEVEL=error \
  PORTCULLIS_MAIL_DIR=$work/mail PORTCULLIS_SITE_ROOT=target/site \
  PORTCULLIS_PUBLIC_URL=http://127.0.0.1:$port PORTCULLIS_SEARCH_INDEX_DIR=$work/search \
  PORTCULLIS_ATTACHMENTS_DIR=$work/files \
  PORTCULLIS_ATTACHMENT_MAX_FILE_MB=$((size_mb + 1)) PORTCULLIS_ATTACHMENT_MAX_CASE_MB=$((size_mb * 2 + 2))
"$bin" seed-demo --cases 20 >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

echo "writing a file of $size_mb MB…" >&2
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/big.bin"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cookie=$(curl -s -D - -o /dev/null -H "Origin: http://127.0.0.1:$port" -H 'Accept: application/json' \
  --data-urlencode "email=agent@vendor.example" --data-urlencode "password=$password" \
  "http://127.0.0.1:$port/api/auth/sign_in" |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(portcullis_session=[^;]*\).*/\1/p' | head -1)
[ -n "$cookie" ] || { echo "sign-in failed" >&2; cat "$work/server.log" >&2; exit 1; }
case_number=$(curl -s -H "Cookie: $cookie" "http://127.0.0.1:$port/staff/cases?queue=all" |
  grep -o '/cases/CS[0-9]*' | head -1 | cut -d/ -f3 || true)
[ -n "$case_number" ] || { echo "no case to attach to" >&2; exit 1; }

# Warm the server with one small upload and download, then take the idle figure.
echo warm >"$work/small.txt"
curl -s -o /dev/null -H "Cookie: $cookie" -F "file=@$work/small.txt" "http://127.0.0.1:$port/cases/$case_number/attachments"
sleep 1
idle=$(rss_kb "$server_pid")
: >"$work/rss"
( while kill -0 "$server_pid" 2>/dev/null; do rss_kb "$server_pid" >>"$work/rss"; sleep 0.1; done ) &
sampler=$!

up=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Cookie: $cookie" \
  -F "file=@$work/big.bin;filename=big.bin" "http://127.0.0.1:$port/cases/$case_number/attachments")
up_status=${up% *}; up_secs=${up#* }
[ "$up_status" = 303 ] || { echo "upload answered $up_status" >&2; tail -20 "$work/server.log" >&2; exit 1; }
up_peak=$(sort -n "$work/rss" | tail -1)
: >"$work/rss"

token=$(curl -s -H "Cookie: $cookie" "http://127.0.0.1:$port/cases/$case_number" |
  grep -o '/attachments/[A-Za-z0-9_-]*/big.bin' | head -1 || true)
[ -n "$token" ] || { echo "the uploaded file is not listed" >&2; exit 1; }
down=$(curl -s -o "$work/back.bin" -w '%{http_code} %{time_total}' -H "Cookie: $cookie" "http://127.0.0.1:$port$token")
down_status=${down% *}; down_secs=${down#* }
down_peak=$(sort -n "$work/rss" | tail -1)
cmp -s "$work/big.bin" "$work/back.bin" || { echo "the downloaded file differs" >&2; exit 1; }

awk -v e="$engine" -v mb="$size_mb" -v us="$up_secs" -v ds="$down_secs" -v idle="$idle" \
    -v up="$up_peak" -v down="$down_peak" -v dstat="$down_status" 'BEGIN {
  printf "| %s | %d MB | %.0f MB/s | %.1f MB | %.0f MB/s | %.1f MB | %s |\n",
    e, mb, mb / us, (up - idle) / 1024, mb / ds, (down - idle) / 1024, dstat
}'
