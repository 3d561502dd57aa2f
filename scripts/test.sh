#!/usr/bin/env bash
# Quickstart, second command: installs what is missing and runs every test — unit, integration on
# SQLite and PostgreSQL, and end-to-end in Chromium against the release build on both engines.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup-tools.sh
export PATH="$HOME/.cargo/bin:$root/end2end/node_modules/.bin:$PATH"
source scripts/postgres.sh
# cargo-leptos compiles the server with this set; setting it for every cargo call keeps the test
# build and the release build from invalidating each other's compiled Leptos crates.
export LEPTOS_OUTPUT_NAME=portcullis
# The Python with aiosmtpd that setup-tools.sh prepared, for the SMTP tests.
export PORTCULLIS_TEST_PYTHON="${PORTCULLIS_TOOLS_DIR:-$HOME/.cache/portcullis}/venv/bin/python"

banner() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

ensure_postgres
if [ -z "${PORTCULLIS_TEST_POSTGRES_URL:-}" ]; then
  if [ "${PORTCULLIS_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "PostgreSQL is required (PORTCULLIS_REQUIRE_POSTGRES=1) but none could be reached or started." >&2
    exit 1
  fi
  cat >&2 <<'WARN'

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!! No PostgreSQL server could be reached or started: the PostgreSQL half of  !!!
!!! the integration and end-to-end tests is SKIPPED. Set                      !!!
!!! PORTCULLIS_TEST_POSTGRES_URL=postgres://user@host/postgres to run it.     !!!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

WARN
else
  echo "PostgreSQL for tests: ${PORTCULLIS_TEST_POSTGRES_URL}"
  export PORTCULLIS_REQUIRE_POSTGRES=1
  drop_test_databases
fi

counts=$(mktemp)
# Runs a test command, echoing its output and keeping the passed/failed counts for the summary.
counted() { "$@" 2>&1 | tee -a "$counts"; return "${PIPESTATUS[0]}"; }

banner "unit and integration tests (SQLite and PostgreSQL)"
counted cargo test -p app --features ssr
counted cargo test -p server

banner "release build (server + wasm-opt'ed hydration bundle)"
scripts/build-site.sh

target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/portcullis"
e2e_dir=$(mktemp -d)
server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=; }
trap 'stop_server; [ -n "${oidc_pid:-}" ] && kill "$oidc_pid" 2>/dev/null; drop_test_databases; rm -rf "$e2e_dir" "$counts"' EXIT

# A real OpenID provider for the single sign-on spec, sending people back to either engine's portal.
node end2end/oidc/provider.mjs 3109 "http://localhost:3107/sso/callback,http://localhost:3108/sso/callback" \
  >"$e2e_dir/oidc.log" 2>&1 &
oidc_pid=$!
export PORTCULLIS_E2E_OIDC_ISSUER=http://127.0.0.1:3109

run_e2e() { # engine database-url port
  local engine=$1 url=$2 port=$3
  banner "end-to-end tests in Chromium on $engine"
  # The browser reaches the portal by name: passkeys are refused on an IP address.
  export PORTCULLIS_DATABASE_URL="$url" PORTCULLIS_LISTEN="127.0.0.1:$port" \
    PORTCULLIS_PUBLIC_URL="http://localhost:$port" PORTCULLIS_SITE_ROOT="$root/target/site" \
    PORTCULLIS_LOG_LEVEL=warn PORTCULLIS_MAIL_DIR="$e2e_dir/mail-$engine" PORTCULLIS_MAIL_POLL_SECONDS=1 \
    PORTCULLIS_ATTACHMENTS_DIR="$e2e_dir/files-$engine"
  # The browser suites sign the demo platform admin in with the password alone; the second factor
  # they need by default is tested by the HTTP suite (second_factor.rs), a customer's in Chromium.
  export PORTCULLIS_SECOND_FACTOR_PLATFORM_ADMINS=false
  "$bin" seed-demo >/dev/null
  "$bin" serve >"$e2e_dir/server-$engine.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.5
  done
  (cd end2end && export PORTCULLIS_E2E_BASE_URL="http://localhost:$port" && counted npx playwright test) || {
    echo "--- server log ($engine) ---"; tail -50 "$e2e_dir/server-$engine.log"; exit 1; }
  stop_server
}

run_e2e sqlite "sqlite://$e2e_dir/e2e.db" 3107
if [ -n "${PORTCULLIS_TEST_POSTGRES_URL:-}" ]; then
  e2e_db="portcullis_e2e_$$"
  psql "$PORTCULLIS_TEST_POSTGRES_URL" -qc "CREATE DATABASE $e2e_db" >/dev/null
  run_e2e postgres "${PORTCULLIS_TEST_POSTGRES_URL%/*}/$e2e_db" 3108
else
  echo "!!! end-to-end tests on PostgreSQL SKIPPED: no PostgreSQL server" >&2
fi

banner "all suites passed"
passed=$(sed -E 's/\x1b\[[0-9;]*m//g' "$counts" | grep -oE '(test result: ok\. [0-9]+ passed|^ +[0-9]+ passed)' | grep -oE '[0-9]+' | awk '{ n += $1 } END { print n + 0 }')
echo "${passed:-0} passed, 0 failed"
