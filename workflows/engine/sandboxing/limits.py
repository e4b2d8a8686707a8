"""The budget every script and expression runs under (issue 16): CPU time, memory, output size.

One budget per process, because the workers that enforce it are shared by the whole process
(:mod:`.workers`); the application sets it from its configuration at start-up (``SCRIPT_*`` keys, see
``app/config.py``) and tests may change it with :func:`configure`. The defaults are an order of
magnitude above what the regulation's own scripts need (a few milliseconds, a few hundred kilobytes) and
far below what stalls a server.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    cpu_seconds: float = 0.2  # CPU time of one evaluation in its worker
    memory_bytes: int = 64 * MIB  # memory a worker may take beyond what it had after start-up
    output_bytes: int = 1 * MIB  # a result, or the task data a script leaves, pickled without sharing
    wall_seconds: float = 5.0  # the whole evaluation, helpers run for it and waiting for a worker included
    helper_calls: int = 1000  # helper calls (record(), now() …) of one evaluation
    workers: int = 4  # worker processes of this process at most
    enabled: bool = True  # False: everything in process, as before issue 16 (benchmarks, debugging)

    def __post_init__(self) -> None:
        if self.cpu_seconds <= 0 or self.wall_seconds < self.cpu_seconds:
            raise ValueError("the CPU budget must be positive and at most the wall-clock budget")
        if min(self.memory_bytes, self.output_bytes, self.helper_calls, self.workers) < 1:
            raise ValueError("memory, output, helper calls and workers must be positive")

    def describe(self) -> str:
        """The limits in words, for messages (Chinese first, as users read them)."""
        return (
            f"CPU 时间 {self.cpu_seconds * 1000:.0f} 毫秒、内存 {self.memory_bytes / MIB:.0f} MB、"
            f"结果 {self.output_bytes / 1024:.0f} KB"
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Budget:
        """From the application's ``SCRIPT_*`` settings; a missing key keeps its default."""
        default = cls()
        return cls(
            cpu_seconds=float(config.get("SCRIPT_CPU_MS", default.cpu_seconds * 1000)) / 1000,
            memory_bytes=int(config.get("SCRIPT_MEMORY_MB", default.memory_bytes // MIB)) * MIB,
            output_bytes=int(config.get("SCRIPT_OUTPUT_KB", default.output_bytes // 1024)) * 1024,
            wall_seconds=float(config.get("SCRIPT_WALL_SECONDS", default.wall_seconds)),
            helper_calls=int(config.get("SCRIPT_HELPER_CALLS", default.helper_calls)),
            workers=int(config.get("SCRIPT_WORKERS", default.workers)),
            enabled=bool(config.get("SCRIPT_BUDGET_ENABLED", default.enabled)),
        )


_current = Budget()
_lock = threading.Lock()


def current() -> Budget:
    return _current


def configure(budget: Budget) -> Budget:
    """Make ``budget`` the process's budget; returns the previous one (so tests can restore it)."""
    global _current
    with _lock:
        previous, _current = _current, budget
    return previous
