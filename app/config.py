"""Configuration: one object, read from ``GOVERNANCE_*`` environment variables; tests pass overrides."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance_path: Path) -> str:
    """A persistent random key in the instance folder unless one is given (never a constant in the code)."""
    if os.environ.get("GOVERNANCE_SECRET_KEY"):
        return os.environ["GOVERNANCE_SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def database_url(instance_path: Path) -> str:
    url = os.environ.get("GOVERNANCE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        # psycopg 3 is the driver we install; plain postgresql:// URLs would ask for psycopg2.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    instance_path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance_path / 'governance.sqlite3'}"


def incident_backoff(value: str | None = None) -> tuple[timedelta, ...]:
    """How long a failed timer wake-up waits before each automatic retry (issue 16 point 2), from
    ``GOVERNANCE_INCIDENT_BACKOFF``: seconds, comma-separated, one per retry (default ``60,300,1800``; an
    empty value parks an incident at once). After the last one the incident is parked for an administrator."""
    raw = os.environ.get("GOVERNANCE_INCIDENT_BACKOFF", "60,300,1800") if value is None else value
    steps = tuple(timedelta(seconds=int(part)) for part in raw.split(",") if part.strip())
    if any(step.total_seconds() < 0 for step in steps):
        raise ValueError(f"GOVERNANCE_INCIDENT_BACKOFF must list seconds ≥ 0: {raw!r}")
    return steps


def build_config(instance_path: Path, override: dict[str, Any] | None = None) -> dict[str, Any]:
    override = override or {}
    config: dict[str, Any] = {
        "SECRET_KEY": override.get("SECRET_KEY") or _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": override.get("SQLALCHEMY_DATABASE_URI") or database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # The timer job runs in the serving process when enabled (scripts/run enables it).
        "SCHEDULER_ENABLED": os.environ.get("GOVERNANCE_SCHEDULER", "0") == "1",
        "SCHEDULER_INTERVAL_SECONDS": int(os.environ.get("GOVERNANCE_SCHEDULER_INTERVAL", "30")),
        # The notices job between passes: "new task" notices within seconds of the step (issue 17).
        "NOTICE_INTERVAL_SECONDS": float(os.environ.get("GOVERNANCE_NOTICE_INTERVAL", "5")),
        # Simulation mode: an ISO instant to start a manual clock at (for demos and training).
        "SIMULATION_START": os.environ.get("GOVERNANCE_SIMULATION_START"),
        # Drill mode (演练, app/drill): the clock is the drill database's, moved by an instructor.
        "DRILL": os.environ.get("GOVERNANCE_DRILL", "0") == "1",
        "PROJECT_ROOT": PROJECT_ROOT,
        "ATTACHMENTS_DIR": os.environ.get("GOVERNANCE_ATTACHMENTS_DIR", str(instance_path / "attachments")),
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,  # uploads (attachments, BPMN files)
        # JSON bodies: 413 past this size, 400 past this nesting (app/params.py, issue 16).
        "MAX_JSON_BYTES": 4 * 1024 * 1024,
        "MAX_JSON_DEPTH": 64,
        # Session cookie: never readable by scripts, not sent on cross-site posts; HTTPS-only when served
        # behind TLS (GOVERNANCE_HTTPS=1). scripts/run serves plain HTTP on 127.0.0.1, so it is off there.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("GOVERNANCE_HTTPS", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": os.environ.get("GOVERNANCE_HTTPS", "0") == "1",
        # Reverse proxies in front of the app (0 = none): trust that many X-Forwarded-For/-Proto/-Host hops
        # (app/security.py; the client address for the login throttle, https for the Secure cookie).
        "PROXY_COUNT": int(os.environ.get("GOVERNANCE_PROXIES", "0")),
        "WTF_CSRF_TIME_LIMIT": None,  # token valid for the session, not one hour (long forms)
        "REMINDER_WORKING_DAYS": int(os.environ.get("GOVERNANCE_REMINDER_WORKING_DAYS", "3")),
        # How stale a process's working calendar and organisation tree may get (app/runtime.py, issue 17).
        "RUNTIME_RELOAD_SECONDS": float(os.environ.get("GOVERNANCE_RUNTIME_RELOAD_SECONDS", "60")),
        "CLOCK_OFFSET_SECONDS": float(os.environ.get("GOVERNANCE_CLOCK_OFFSET_SECONDS", "0")),  # load tests
        # The budget of every BPMN script and expression, run in worker processes (issue 16 point 1;
        # workflows/engine/sandboxing/limits.py): CPU time, memory, result size, wall time with helpers,
        # helper calls, worker processes per app process.
        "SCRIPT_CPU_MS": int(os.environ.get("GOVERNANCE_SCRIPT_CPU_MS", "200")),
        "SCRIPT_MEMORY_MB": int(os.environ.get("GOVERNANCE_SCRIPT_MEMORY_MB", "64")),
        "SCRIPT_OUTPUT_KB": int(os.environ.get("GOVERNANCE_SCRIPT_OUTPUT_KB", "1024")),
        "SCRIPT_WALL_SECONDS": float(os.environ.get("GOVERNANCE_SCRIPT_WALL_SECONDS", "5")),
        "SCRIPT_HELPER_CALLS": int(os.environ.get("GOVERNANCE_SCRIPT_HELPER_CALLS", "1000")),
        "SCRIPT_WORKERS": int(os.environ.get("GOVERNANCE_SCRIPT_WORKERS", "4")),
        # Waits before each automatic retry of a failed timer wake-up, then parked (incident_backoff).
        "INCIDENT_BACKOFF": incident_backoff(),
        # Where `bpmn/` and `forms/` are read from by `flask definitions deploy` and `flask init-demo`.
        "DEFINITIONS_ROOT": PROJECT_ROOT,
    }
    config.update(override)
    return config
