"""Script helpers that know the organisation: BPMN scripts of the annual cycle cascade letters to the
units below a unit (层层签订, Art. 13) and name units in their documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.regulation.roles import OrgTree


def organisation_helpers(tree: OrgTree) -> dict[str, Callable[..., Any]]:
    """Helpers over the organisation tree the engine was built with."""

    def subordinate_units(unit_code: str, levels: list[str] | None = None) -> list[str]:
        """Codes of the active units directly under ``unit_code`` (a city's counties, city-direct units and
        member units, a county's townships and member units), optionally only those of the given levels;
        sorted, for 层层签订 (Art. 13: letters go to departments and units alike)."""
        return sorted(
            n.code
            for n in tree.nodes.values()
            if n.parent_code == unit_code and n.active and (not levels or n.level in levels)
        )

    def name_of_unit(unit_code: str) -> str:
        node = tree.nodes.get(unit_code)
        return node.name if node else unit_code

    return {"subordinate_units": subordinate_units, "name_of_unit": name_of_unit}
