"""Lanes, roles and organisation scope: the one place that decides who may work a task.

A lane in a diagram names a role and, after ``@``, a scope relative to the case's unit (DOMAIN.md, "Roles"):

* ``office_director@upper`` — the office one level above the unit (相应的上一级, Art. 34, 35): a township's
  county, a county's or city-direct unit's city;
* ``unit_principal_leader@own`` — the unit itself;
* ``committee_director@city`` — the city level, whatever the unit;
* ``committee_director@body`` — the committee (and its office) handling the case's current level: the upper
  level unless the case names another in its ``body_code`` data. The city lists a township directly when its
  office picks the township as a key listed unit (Art. 35 para 2); then the city's committee decides, accepts
  and delists, while the county checks first (Art. 36).

A lane without ``@`` means ``own``. The diagram stays the same for every case; the same lane lands in a
different inbox depending on the case's unit. The unit is the task's ``unit_code`` data when a step runs per
unit (multi-instance over units in the annual cycle), otherwise the instance's unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflows.engine.actors import Actor
from workflows.engine.models import OrgUnit
from workflows.regulation.org_units import UnitStatus

if TYPE_CHECKING:
    from workflows.engine.core import Engine

ROLES: dict[str, str] = {
    "office_director": "综治办主任",
    "office_staff": "综治办工作人员",
    "committee_director": "综治委主任/副主任",
    "joint_meeting_member": "五部门联席会议成员",
    "joint_meeting_convener": "联席会议召集人",
    "county_committee": "县(区)综治委",
    "unit_principal_leader": "主要负责同志",
    "unit_in_charge_leader": "分管负责同志",
    "responsible_leader": "责任领导",
    "inspector": "督导检查人员",
    "investigation_team": "调查组",
    "organization_personnel": "组织人事部门",
    "discipline_supervision": "纪检监察机关",
    "finance": "财政部门",
    "member_unit": "成员单位",
    "designer": "流程设计人员",
    "supervisor": "督导人员",
    "admin": "系统管理员",
    "drill_admin": "演练管理员",  # moves a drill's clock (app/drill); only a drill database serves it
}

SCOPES = ("own", "upper", "city", "body")


class LaneError(ValueError):
    pass


@dataclass(frozen=True)
class LaneRole:
    role: str
    scope: str

    @property
    def lane(self) -> str:
        return f"{self.role}@{self.scope}"


def parse_lane(name: str | None) -> LaneRole:
    """Read a lane name; raise :class:`LaneError` with a message a designer can act on."""
    if not name:
        raise LaneError("不在任何泳道中；请把它放进以角色命名的泳道，例如 office_director@upper")
    role, _, scope = name.strip().partition("@")
    scope = scope or "own"
    if role not in ROLES:
        raise LaneError(f"泳道 {name} 的角色 {role} 不存在；可用的角色：{'、'.join(sorted(ROLES))}")
    if scope not in SCOPES:
        raise LaneError(f"泳道 {name} 的范围 {scope} 不存在；可用的范围：{'、'.join(SCOPES)}")
    return LaneRole(role, scope)


@dataclass(frozen=True)
class OrgNode:
    code: str
    name: str
    level: str  # city | county | township | city_direct | member_unit | system_unit (org_units.LEVELS)
    parent_code: str | None
    active: bool = True  # deactivated (org_units.UnitStatus): keeps its cases and history, no new posts


class OrgTree:
    """The organisation as the engine needs it: each unit's parent, and the city at the root.

    A member unit's parent is the city or county whose committee it sits on, a system unit's its city-direct
    unit (``org_units``): ``upper`` of a member unit is therefore that committee's unit (its reports go to
    that office), and ``county_of`` a county's member unit is the county.
    """

    def __init__(self, nodes: Mapping[str, OrgNode]) -> None:
        self.nodes = dict(nodes)
        cities = [n.code for n in self.nodes.values() if n.level == "city"]
        self.city_code = cities[0] if cities else None

    def upper(self, code: str) -> str:
        """The organisation one level above ``code`` (相应的上一级); the city is its own upper level."""
        node = self._node(code)
        return node.parent_code or node.code

    def resolve(self, lane: LaneRole, unit_code: str, data: Mapping[str, Any] | None = None) -> str:
        """The organisation whose holders of ``lane.role`` work this task for ``unit_code``."""
        self._node(unit_code)
        if lane.scope == "own":
            return unit_code
        if lane.scope == "body":
            body = (data or {}).get("body_code")
            return self._node(str(body)).code if body else self.upper(unit_code)
        if lane.scope == "upper":
            return self.upper(unit_code)
        if self.city_code is None:
            raise LaneError("no city-level unit in the organisation tree")
        return self.city_code

    # -- the engine's Lanes protocol (workflows.engine.parts) ------------------------------------------
    def check(self, lane: str | None) -> None:
        parse_lane(lane)

    def assign(self, lane: str, unit_code: str, data: Mapping[str, Any]) -> tuple[str, str]:
        parsed = parse_lane(lane)
        return parsed.role, self.resolve(parsed, unit_code, data)

    def unit_variables(self, unit_code: str) -> dict[str, Any]:
        node = self.nodes[unit_code]
        return {"unit_name": node.name, "unit_level": node.level, "unit_upper_code": self.upper(unit_code)}

    def ancestors(self, code: str) -> list[str]:
        """``code`` and every unit above it up to the city."""
        chain = [code]
        node = self._node(code)
        while node.parent_code is not None:
            chain.append(node.parent_code)
            node = self._node(node.parent_code)
        return chain

    def subtree(self, codes: set[str]) -> set[str]:
        """Every unit at or below any of ``codes`` (what holders of a grant there may oversee)."""
        children: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if node.parent_code is not None:
                children.setdefault(node.parent_code, []).append(node.code)
        seen: set[str] = set()
        stack = [c for c in codes if c in self.nodes]
        while stack:
            code = stack.pop()
            if code not in seen:
                seen.add(code)
                stack.extend(children.get(code, []))
        return seen

    def can_oversee(self, actor: Actor, unit_code: str) -> bool:
        """Whether ``actor`` holds any role at ``unit_code`` or above it: a county office director sees the
        county's own cases and its townships', not another county's (DOMAIN.md, "Organisation")."""
        held = {org for _, org in actor.grants}
        return any(code in held for code in self.ancestors(unit_code))

    def children(self, code: str, levels: tuple[str, ...] = (), *, active_only: bool = True) -> list[OrgNode]:
        """The units directly under ``code`` (of ``levels`` if given), by code: e.g. a committee's member
        units ``children(county, ("member_unit",))``; deactivated units only when ``active_only`` is False."""
        return sorted(
            (
                n
                for n in self.nodes.values()
                if n.parent_code == code
                and (not levels or n.level in levels)
                and (n.active or not active_only)
            ),
            key=lambda n: n.code,
        )

    def county_of(self, code: str) -> str | None:
        """The county-level unit a unit belongs to (itself for a county), for per-county views."""
        node = self._node(code)
        while node.level not in ("county", "city"):
            if node.parent_code is None:
                return None
            node = self._node(node.parent_code)
        return node.code if node.level == "county" else None

    def _node(self, code: str) -> OrgNode:
        try:
            return self.nodes[code]
        except KeyError:
            raise LaneError(f"unknown organisation unit {code!r}") from None


def load_org(session: Any) -> OrgTree:
    """The organisation tree from the ``org_unit`` table."""
    rows = session.execute(
        select(OrgUnit, UnitStatus.active).outerjoin(UnitStatus, UnitStatus.code == OrgUnit.code)
    )
    return OrgTree(
        {r.code: OrgNode(r.code, r.name, r.level, r.parent_code, active is not False) for r, active in rows}
    )


def org_of(engine: Engine) -> OrgTree:
    """The organisation tree an engine was built with (the regulation hands it over as the engine's lanes)."""
    lanes = engine.parts.lanes
    if not isinstance(lanes, OrgTree):
        raise TypeError("this engine was not built by workflows.regulation.wiring")
    return lanes
