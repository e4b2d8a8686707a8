"""Who acts on an instance: a user id and the (role, organisation) grants they hold."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """A user and their grants; the engine checks a task's (role, organisation) against them."""

    user_id: str
    grants: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def holds(self, role: str, org_code: str) -> bool:
        return (role, org_code) in self.grants


SYSTEM = Actor("system")
