"""The Python lock files (``requirements/*.lock``, made by ``scripts/lock``) are in step with pyproject.toml.

scripts/run and scripts/test install only from them (``pip install --require-hashes``), so a dependency added
to or changed in pyproject.toml without re-running scripts/lock fails here, not on the next fresh machine:

* every requirement of ``[project].dependencies`` is pinned in run.lock and in test.lock, and every one of the
  ``test`` extra in test.lock, at a version its specifier allows;
* every entry is ``name==version`` with at least one ``--hash``, and no line points pip elsewhere
  (``-e``, ``--index-url``, ...);
* test.lock pins every package of run.lock at the same version with the same hashes (the tests run what is
  served), and run.lock holds none of the test extra;
* the packages a lock says come from pyproject.toml are exactly pyproject's, so a dependency dropped from
  pyproject.toml leaves no stale pin behind.

Reads files only (no network, no pip).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
PROJECT = "nanyang-governance (pyproject.toml)"  # how uv's "# via" annotation names pyproject.toml
HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass
class Pin:
    name: str
    version: str
    marker: str
    hashes: list[str]
    via: list[str] = field(default_factory=list)

    def identity(self) -> tuple[str, str, list[str]]:
        """What pip installs from this entry: the version, where (marker) and the files it accepts."""
        return self.version, self.marker, sorted(self.hashes)


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _requirements(extra: str | None) -> list[Requirement]:
    project = _pyproject()["project"]
    lines = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in lines]


@functools.cache
def _lock(lock_name: str) -> dict[str, Pin]:
    """``{canonical name: Pin}`` from a uv/pip-tools lock: entries joined over their ``\\`` continuation
    lines, each followed by its ``# via`` annotation."""
    path = LOCKS / lock_name
    pins: dict[str, Pin] = {}
    entry: list[str] = []
    last: Pin | None = None

    def finish() -> None:
        nonlocal last
        text = " ".join(part.rstrip("\\").strip() for part in entry)
        entry.clear()
        requirement = Requirement(text.split(" --hash=")[0].strip())
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{path.name}: not pinned with ==: {text}"
        name = canonicalize_name(requirement.name)
        pin = Pin(name, specs[0].version, str(requirement.marker or ""), HASH.findall(text))
        if name in pins:
            # A universal lock may split one package by Python version (numpy for 3.11 and for 3.12+):
            # allowed only under different markers; the entry for this interpreter is the one kept.
            assert pins[name].marker != pin.marker, f"{path.name}: {name} pinned twice"
            assert pin.marker and pins[name].marker, f"{path.name}: {name} pinned twice, once unconditionally"
            last = pin
            if requirement.marker is not None and requirement.marker.evaluate():
                pins[name] = pin
            return
        last = pins[name] = pin

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if entry:
            entry.append(line)
            if not line.endswith("\\"):
                finish()
            continue
        if not line:
            continue
        if line.startswith("#"):
            via = line.lstrip("#").strip()
            if last is not None and raw.startswith((" ", "\t")) and via:
                last.via.append(via.removeprefix("via").strip())
            continue
        assert not line.startswith("-"), f"{path.name}: option line {line!r} (not installed as locked)"
        entry.append(line)
        if not line.endswith("\\"):
            finish()
    assert not entry, f"{path.name}: ends inside an entry"
    return pins


def _check_pinned(lock: dict[str, Pin], requirements: list[Requirement], lock_name: str) -> None:
    problems = []
    for requirement in requirements:
        pin = lock.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not in {lock_name}")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} is locked at {pin.version} in {lock_name}")
    assert not problems, "run scripts/lock: " + "; ".join(problems)


def test_runtime_dependencies_are_locked() -> None:
    _check_pinned(_lock("run.lock"), _requirements(None), "run.lock")
    _check_pinned(_lock("test.lock"), _requirements(None), "test.lock")


def test_test_extra_is_locked() -> None:
    _check_pinned(_lock("test.lock"), _requirements("test"), "test.lock")


def test_bench_extra_is_locked() -> None:
    """bench.lock (load generator, charts) is test.lock plus the [bench] extra, at the same pins."""
    bench_lock, test_lock = _lock("bench.lock"), _lock("test.lock")
    _check_pinned(bench_lock, _requirements("bench"), "bench.lock")
    differ = [n for n, p in test_lock.items() if n not in bench_lock or bench_lock[n].version != p.version]
    assert not differ, f"bench.lock does not pin these as test.lock does (run scripts/lock): {differ}"


@pytest.mark.parametrize("lock_name", ["run.lock", "test.lock", "bench.lock"])
def test_every_entry_is_pinned_with_hashes(lock_name: str) -> None:
    pins = _lock(lock_name)
    assert len(pins) > 10
    assert not [name for name, pin in pins.items() if not pin.hashes], f"{lock_name}: entries without --hash"


def test_test_lock_pins_what_run_lock_pins() -> None:
    run_lock, test_lock = _lock("run.lock"), _lock("test.lock")
    differ = [
        name
        for name, pin in run_lock.items()
        if name not in test_lock or test_lock[name].identity() != pin.identity()
    ]
    assert not differ, f"test.lock does not pin these as run.lock does (run scripts/lock): {differ}"
    test_only = {canonicalize_name(r.name) for r in _requirements("test")}
    assert not test_only & run_lock.keys(), "run.lock holds test-only packages"


@pytest.mark.parametrize(("lock_name", "extra"), [("run.lock", None), ("test.lock", "test")])
def test_no_stale_direct_dependency(lock_name: str, extra: str | None) -> None:
    pins = _lock(lock_name)
    from_pyproject = {name for name, pin in pins.items() if any(v.startswith(PROJECT) for v in pin.via)}
    wanted = {canonicalize_name(r.name) for r in _requirements(None)}
    if extra:
        wanted |= {canonicalize_name(r.name) for r in _requirements(extra)}
    assert from_pyproject == wanted, (
        f"{lock_name} is out of step with pyproject.toml (run scripts/lock): "
        f"locked as direct but not in pyproject: {sorted(from_pyproject - wanted)}; "
        f"in pyproject but not locked as direct: {sorted(wanted - from_pyproject)}"
    )
