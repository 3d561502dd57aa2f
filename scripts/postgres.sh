# Sourced by the test script: makes sure a PostgreSQL server answers and exports
# PORTCULLIS_TEST_POSTGRES_URL, an admin URL under which each test creates its own database.
# When no server can be had, it says so loudly and leaves the variable unset.

pg_try() { psql "$1" -tAc 'SELECT 1' >/dev/null 2>&1; }

pg_start_local() {
  command -v pg_ctlcluster >/dev/null || return 1
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$version" ] || return 1
  if [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  else
    sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  fi
  for _ in $(seq 1 20); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 1
  done
  return 1
}

ensure_postgres() {
  if [ -n "${PORTCULLIS_TEST_POSTGRES_URL:-}" ]; then
    pg_try "$PORTCULLIS_TEST_POSTGRES_URL" && return 0
    echo "PORTCULLIS_TEST_POSTGRES_URL is set but does not answer: $PORTCULLIS_TEST_POSTGRES_URL" >&2
    return 1
  fi
  if ! command -v psql >/dev/null; then
    echo "!!! psql not found: PostgreSQL is not installed here." >&2
    return 0
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || pg_start_local || true
  local trust="postgres://postgres@127.0.0.1:5432/postgres"
  if pg_try "$trust"; then
    export PORTCULLIS_TEST_POSTGRES_URL="$trust"
    return 0
  fi
  # Password authentication on TCP: create a dedicated role over the Unix socket, once.
  local role_url="postgres://portcullis_test:portcullis_test@127.0.0.1:5432/postgres"
  if ! pg_try "$role_url" && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
    su postgres -c "psql -tAc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='portcullis_test') THEN CREATE ROLE portcullis_test LOGIN CREATEDB PASSWORD 'portcullis_test'; END IF; END\\\$\\\$\"" >/dev/null 2>&1 || true
  fi
  if pg_try "$role_url"; then
    export PORTCULLIS_TEST_POSTGRES_URL="$role_url"
  fi
}

# Drops the databases earlier runs' tests created.
drop_test_databases() {
  [ -n "${PORTCULLIS_TEST_POSTGRES_URL:-}" ] || return 0
  psql "$PORTCULLIS_TEST_POSTGRES_URL" -tAc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'portcullis\\_test\\_%' OR datname LIKE 'portcullis\\_e2e\\_%'" 2>/dev/null |
    while read -r db; do
      [ -n "$db" ] && psql "$PORTCULLIS_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done
  return 0
}
