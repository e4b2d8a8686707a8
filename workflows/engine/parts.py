"""The shapes of what a regulation hands the engine (:class:`EngineParts`, also importable from ``core``);
the engine imports no domain.

* a :class:`Lanes` object: which lane names are valid (deploy time), who works a task in a lane for a unit
  (run time), and the variables a new instance gets for its unit;
* record handlers: what a fact stated by a script (``record("listing_started")``) means as rows;
* extra script helpers (e.g. the units below a unit), next to the engine's own time helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from workflows.engine.process_properties import ProcessCheck

if TYPE_CHECKING:
    from workflows.engine.models import ProcessInstance
    from workflows.engine.records import Record

# A handler gets the engine (``core.Engine``: session, clock; it may start linked instances), the instance
# that stated the fact, and the fact; it flushes, never commits. The engine is typed Any here: this module is
# what core imports, and an import back would be a circle (tests/test_architecture.py).
Handler = Callable[[Any, "ProcessInstance", "Record"], None]


class Lanes(Protocol):
    """A regulation's reading of lane names and organisation units."""

    def check(self, lane: str | None) -> None:
        """Raise ``ValueError`` with a message a designer can act on when ``lane`` is not valid."""

    def assign(self, lane: str, unit_code: str, data: Mapping[str, Any]) -> tuple[str, str]:
        """The (role, organisation code) whose holders work a task in ``lane`` for ``unit_code``; ``data``
        is the task's data, for scopes a case decides at run time (e.g. which committee lists a unit)."""

    def unit_variables(self, unit_code: str) -> dict[str, Any]:
        """Variables a new instance for ``unit_code`` starts with; ``KeyError`` for an unknown unit."""


@dataclass(frozen=True)
class DeployChecks:
    """What deploy-time validation needs from the engine: every script helper, the lane check, and the
    regulation's check of a process's own properties (``process_properties``), if it hands one."""

    helpers: Mapping[str, Callable[..., Any]]
    check_lane: Callable[[str | None], None]
    check_process: ProcessCheck | None = None


@dataclass(frozen=True)
class EngineParts:
    """What a regulation hands the engine: its lanes, what recorded facts mean, extra script helpers."""

    lanes: Lanes
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    helpers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    check_process: ProcessCheck | None = None  # deploy time: a process's own properties (process_properties)
