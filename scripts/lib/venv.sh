# Sourced by scripts/run and scripts/test: make .venv and install the project (+ extras) when needed.
# Re-installs only when pyproject.toml changed, so repeated runs start fast.
ensure_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating virtual environment in .venv"
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed${extras:+-$extras}"
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing the project${extras:+ with [$extras]}"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
    echo "$want" > "$stamp"
  fi
}
