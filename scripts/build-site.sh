#!/usr/bin/env bash
# Builds the optimized site with cargo, wasm-bindgen and wasm-opt alone (no cargo-leptos to
# install): the `portcullis` binary, and in target/site the hydration bundle (wasm-opt'ed) and the
# stylesheet under fingerprinted names (`portcullis.<hash>.js`), which the server serves as
# immutable. The names are written to `hash.txt` beside the binary, where the server reads them.
# `cargo leptos watch` still works for development (same settings, unfingerprinted names).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"
for tool in wasm-bindgen wasm-opt brotli; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/setup-tools.sh" >&2; exit 1; }
done
export LEPTOS_OUTPUT_NAME=portcullis
target="${CARGO_TARGET_DIR:-target}"
site=target/site
pkg="$site/pkg"

# The browser half, as cargo-leptos builds it (same target directory and profile, so either
# reuses the other's compiled crates).
cargo build --package=frontend --lib --target=wasm32-unknown-unknown --profile=wasm-release \
  --target-dir="$target/front"
# The server, while the bundle is finished below.
cargo build --package=server --bin=portcullis --release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wasm-bindgen "$target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm" \
  --target web --no-typescript --out-dir "$work" --out-name portcullis
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$work/portcullis_bg.wasm" -o "$work/portcullis.wasm"

fingerprint() { sha256sum "$1" | cut -c1-16; }
js=$(fingerprint "$work/portcullis.js")
wasm=$(fingerprint "$work/portcullis.wasm")
css=$(fingerprint style/main.css)
mkdir -p "$pkg"
# Earlier builds' files stay a day: a page loaded just before a restart still finds its bundle
# (and two builds into different target directories do not take each other's files away).
find "$pkg" -maxdepth 1 -name 'portcullis*' -mmin +1440 -delete
rm -f "$pkg"/portcullis.js "$pkg"/portcullis.wasm "$pkg"/portcullis.css "$pkg"/portcullis_bg*
cp "$work/portcullis.js" "$pkg/portcullis.$js.js"
cp "$work/portcullis.wasm" "$pkg/portcullis.$wasm.wasm"
cp style/main.css "$pkg/portcullis.$css.css"
if [ -d "$work/snippets" ]; then rm -rf "$pkg/snippets"; cp -r "$work/snippets" "$pkg/"; fi
# Compressed once, as hard as the formats go, instead of quickly on every request.
for file in "$pkg/portcullis.$js.js" "$pkg/portcullis.$wasm.wasm" "$pkg/portcullis.$css.css"; do
  brotli -q 11 -f -k "$file"
  gzip -9 -f -k "$file"
done
cp -r style/assets/. "$site/"
printf 'js: %s\nwasm: %s\ncss: %s\n' "$js" "$wasm" "$css" >"$target/release/hash.txt"
echo "site built: $pkg (js $js, wasm $wasm, css $css)"
