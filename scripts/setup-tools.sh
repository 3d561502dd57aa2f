#!/usr/bin/env bash
# Installs, only when missing, every tool the build and the tests need, from the package registries
# alone (crates, npm, Debian, PyPI). Safe to run again: a warm machine skips everything.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}

# `--run`: only what building and running the portal needs; `--dev`: everything, and cargo-leptos
# for `cargo leptos watch`; default: what building and every test need.
purpose=${1:-test}
[ "$purpose" = "--run" ] && purpose=run
[ "$purpose" = "--dev" ] && purpose=dev

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos is not needed: scripts/build-site.sh builds the site with cargo, wasm-bindgen and
# wasm-opt. For development with live reload (`cargo leptos watch`), `--dev` installs it too.
if [ "$purpose" = dev ] && [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (cold: ~18 min)"
  # 0.3.11 needs a newer Rust; no_downloads makes a missing tool an error instead of a GitHub fetch.
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (cold: ~5 min)"
  # Not --locked: its lockfile names a crate release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# Passkeys are checked with webauthn-rs, which links OpenSSL.
if ! { command -v pkg-config >/dev/null && pkg-config --exists openssl; }; then
  log "installing OpenSSL's headers (passkeys: webauthn-rs)"
  apt_install libssl-dev pkg-config
fi

if ! command -v brotli >/dev/null; then
  log "installing brotli (the built bundle is served precompressed)"
  apt_install brotli
fi

if [ "$purpose" != run ] && ! command -v chromium >/dev/null; then
  log "installing Debian's Chromium for the browser tests"
  apt_install chromium
fi

if [ "$purpose" != run ] && ! command -v pg_ctlcluster >/dev/null && ! command -v psql >/dev/null; then
  log "installing PostgreSQL"
  apt_install postgresql
fi

if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] || [ ! -d end2end/node_modules/@axe-core/playwright ] || [ ! -d end2end/node_modules/oidc-provider ]; then
  log "installing end2end npm packages (binaryen for wasm-opt, Playwright, the test OpenID provider)"
  (cd end2end && export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
fi


# A real SMTP server for the mail tests (Python's aiosmtpd), in a virtual environment of its own.
SMTP_VENV="${PORTCULLIS_TOOLS_DIR:-$HOME/.cache/portcullis}/venv"
if [ "$purpose" != run ] && ! "$SMTP_VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  log "installing aiosmtpd (the SMTP server the mail tests talk to)"
  python3 -m venv "$SMTP_VENV"
  "$SMTP_VENV/bin/pip" install --quiet 'aiosmtpd==1.4.6'
fi

# A real S3-compatible server for the attachment store's tests (moto's server), in the same one.
if [ "$purpose" != run ] && ! "$SMTP_VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
  log "installing moto (the S3-compatible server the attachment tests talk to)"
  "$SMTP_VENV/bin/pip" install --quiet 'moto[server]==5.2.6'
fi

# The SCIM compliance checker the provisioning tests run against the portal (scim2-tester).
if [ "$purpose" != run ] && ! "$SMTP_VENV/bin/python" -c 'import scim2_tester, httpx2' 2>/dev/null; then
  log "installing scim2-tester (the SCIM 2.0 compliance checker)"
  "$SMTP_VENV/bin/pip" install --quiet 'scim2-tester==0.5.2' 'scim2-client[httpx2]==0.13.2'
fi

# ClamAV's clamd for the malware-scan tests (they start their own, with a local signature file).
if [ "$purpose" != run ] && ! command -v clamd >/dev/null && [ ! -x /usr/sbin/clamd ]; then
  log "installing Debian's clamav-daemon (the malware scanner the attachment tests talk to)"
  apt_install clamav-daemon
fi

# Debian's dovecot for the reply-by-mail tests (they start their own, on a plain-files mailbox).
if [ "$purpose" != run ] && [ ! -x /usr/sbin/dovecot ]; then
  log "installing Debian's dovecot-imapd (the IMAP server the reply-by-mail tests read from)"
  apt_install dovecot-imapd
  # The package starts a system-wide dovecot on the IMAP ports; the tests run their own.
  as_root systemctl disable --now dovecot >/dev/null 2>&1 || as_root service dovecot stop >/dev/null 2>&1 || true
fi
