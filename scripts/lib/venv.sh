# Sourced by scripts/run and scripts/test: make .venv and install the project from the lock files.
#   ensure_venv        requirements/run.lock   (exact versions + hashes of [project].dependencies)
#   ensure_venv test   requirements/test.lock  (the same pins + the [test] extra)
# Nothing is resolved here: pip installs exactly the locked files (--require-hashes), then the project itself
# (editable, --no-deps), and `pip check` proves the lock still covers pyproject.toml. Versions change only
# through scripts/lock. Re-installs only when that lock file or pyproject.toml changed (one stamp per lock
# in .venv), so repeated runs start fast; a .venv made by `run` gets the test lock on the first `test`.
ensure_venv() {
  local extras="${1:-}"
  local name="${extras:-run}"
  local lock="requirements/$name.lock"
  local python="${PYTHON:-python3}"
  if [ ! -f "$lock" ]; then
    echo "!! $lock is missing: make it with scripts/lock" >&2
    return 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating virtual environment in .venv"
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed-$name-lock"
  local want
  want=$(cat pyproject.toml "$lock" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing the locked dependencies ($lock) and the project"
    .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
    .venv/bin/python -m pip install --quiet --no-deps -e .
    local problems
    if ! problems=$(.venv/bin/python -m pip check 2>&1); then
      echo "$problems" >&2
      echo "!! $lock does not satisfy pyproject.toml: run scripts/lock (see its header)" >&2
      return 1
    fi
    echo "$want" > "$stamp"
  fi
}
