# Sourced by scripts/run and scripts/test: install the front-end assets served at /static/node_modules/
# (bpmn-js, the properties panel, echarts; esbuild for bundling) from app/static/package-lock.json.
# Re-installs only when node_modules is missing or the lock file changed (stamp inside node_modules).
ensure_assets() {
  local dir="app/static"
  local stamp="$dir/node_modules/.installed-lock-sha256"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -d "$dir/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "!! npm not found: the front-end assets in $dir/node_modules (bpmn-js, echarts) cannot be installed." >&2
    echo "!! Install Node.js 20+ with npm (Debian: apt-get install nodejs npm), then run this again." >&2
    return 1
  fi
  echo "==> installing front-end assets (npm ci in $dir)"
  npm ci --prefix "$dir" --no-audit --no-fund
  echo "$want" > "$stamp"
}
