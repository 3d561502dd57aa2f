#!/usr/bin/env bash
# Quickstart, first command: installs what is missing, builds, loads demo data into the embedded
# SQLite database (./data) and runs the portal at http://localhost:3000 (a name, not an address:
# browsers offer passkeys only to a named site).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools.sh --run
scripts/build-site.sh
bin="${CARGO_TARGET_DIR:-target}/release/portcullis"
export PORTCULLIS_SITE_ROOT="${PORTCULLIS_SITE_ROOT:-target/site}"
export PORTCULLIS_PUBLIC_URL="${PORTCULLIS_PUBLIC_URL:-http://localhost:3000}"
"$bin" seed-demo
echo
echo "Mails (invitations, password resets) are written to ${PORTCULLIS_MAIL_DIR:-data/mail}/ as .eml files."
echo "Portcullis is starting at $PORTCULLIS_PUBLIC_URL (Ctrl-C stops it)."
exec "$bin" serve
