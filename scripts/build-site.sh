#!/usr/bin/env bash
# Builds the optimized site: the `portcullis` binary and the hydration bundle (wasm-opt'ed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"
command -v wasm-opt >/dev/null || { echo "wasm-opt missing: run scripts/setup-tools.sh" >&2; exit 1; }
cargo leptos build --release
