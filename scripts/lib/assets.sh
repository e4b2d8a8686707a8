# Sourced by scripts/run and scripts/test: install the front-end assets served at /static/node_modules/
# (bpmn-js, the properties panel, echarts; esbuild for bundling) from app/static/package-lock.json.
# Re-installs only when node_modules is missing or the lock file changed (stamp inside node_modules); then
# builds the process-designer bundle when it is stale (ensure_designer_bundle).
ensure_assets() {
  local dir="app/static"
  local stamp="$dir/node_modules/.installed-lock-sha256"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -d "$dir/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    ensure_designer_bundle
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "!! npm not found: the front-end assets in $dir/node_modules (bpmn-js, echarts) cannot be installed." >&2
    echo "!! Install Node.js 20+ with npm (Debian: apt-get install nodejs npm), then run this again." >&2
    return 1
  fi
  echo "==> installing front-end assets (npm ci in $dir)"
  npm ci --prefix "$dir" --no-audit --no-fund
  echo "$want" > "$stamp"
  ensure_designer_bundle
}

# app/static/designer/dist/designer.js (global GovernanceDesigner) from app/static/designer/src/entry.js:
# rebuilt (esbuild, about 1 s) only when missing, or older than a source file or than the last npm ci
# (its stamp); otherwise one `find` and nothing else.
ensure_designer_bundle() {
  local dir="app/static"
  local src="$dir/designer/src" out="$dir/designer/dist/designer.js"
  local stamp="$dir/node_modules/.installed-lock-sha256"
  if [ -f "$out" ] && [ -z "$(find "$src" "$stamp" -newer "$out" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  echo "==> building the process designer ($out)"
  "$dir/node_modules/.bin/esbuild" "$src/entry.js" --bundle --minify --format=iife \
    --global-name=GovernanceDesigner --charset=utf8 --log-level=warning --outfile="$out"
}
