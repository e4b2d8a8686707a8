"""To whom a document goes: the organisation's names as documents write them (东关街道党工委、办事处,
中共宛城区委) and the distribution rules of Art. 20, 23, 27, 33–35 and 39 (主送, 抄送, and the units whose
inboxes get it).

Party committees, discipline commissions and organisation departments are not units of the organisation tree,
so they are named in 主送/抄送 and served on paper; the units of the tree get the document in their 收文.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.regulation.roles import OrgNode, OrgTree


class DraftError(ValueError):
    """The case lacks what the document must say (e.g. an unknown kind or unit)."""


@dataclass(frozen=True)
class Distribution:
    """主送 and 抄送 as written, and the units whose inboxes get the document (code → 主送 or 抄送)."""

    main: list[str]
    copied: list[str]
    addressees: dict[str, str]


# -- the organisation's names ------------------------------------------------------------------------------
def full_name(org: OrgTree, code: str) -> str:
    """A township with its county (宛城区东关街道); other units by their own name."""
    node = org.nodes[code]
    if node.level == "township" and node.parent_code in org.nodes:
        return org.nodes[node.parent_code].name + node.name
    return node.name


def party_committee(node: OrgNode) -> str:
    """中共南阳市委, 中共宛城区委; a zone's 党工委 (南阳高新技术产业开发区党工委)."""
    if node.name.endswith(("开发区", "示范区")):
        return f"{node.name}党工委"
    return f"中共{node.name}委"


def leadership_of(org: OrgTree, code: str) -> str:
    """How a unit's leadership is addressed: 东关街道党工委、办事处; 中共宛城区委、宛城区人民政府;
    南阳市公安局党组（党委）."""
    node = org.nodes[code]
    name = full_name(org, code)
    if node.level == "township":
        return f"{name}党工委、办事处" if name.endswith("街道") else f"{name}党委、人民政府"
    if node.level in ("county", "city"):
        return f"{party_committee(node)}、{node.name}人民政府"
    return f"{name}党组（党委）"


def cadre_authority(org: OrgTree, code: str) -> str:
    """The party committee with cadre authority over the unit's leaders, or the vertical system's department
    (Art. 33): a township's county, a county's city, a member unit's committee level, a system unit's
    city-direct unit."""
    node = org.nodes[code]
    parent = org.nodes.get(node.parent_code or "")
    if node.level == "system_unit" and parent is not None:
        return parent.name
    if node.level == "city" or parent is None:
        return party_committee(node)
    while parent.level not in ("county", "city") and parent.parent_code in org.nodes:
        parent = org.nodes[parent.parent_code or ""]
    return party_committee(parent)


def _level_of_body(org: OrgTree, body_code: str) -> OrgNode:
    """The city or county whose committee handles the level (a city-direct unit answers to the city)."""
    node = org.nodes[body_code]
    while node.level not in ("county", "city") and node.parent_code in org.nodes:
        node = org.nodes[node.parent_code or ""]
    return node


def distribution(org: OrgTree, rule: str, unit_code: str, body_code: str) -> Distribution:
    """主送, 抄送 and inbox addressees by the article's rule.

    * ``circulate`` (Art. 33, 34): the unit concerned, the lower-level offices and the member units of the
      same-level committee; copied to the party committee with cadre authority (or the system's department);
    * ``listing`` (Art. 35 para 3): the same, and copied to discipline inspection and organisation/personnel;
    * ``subject``: the unit's leadership alone (the interview notice);
    * ``committee_wide`` (Art. 20, 27): the lower party committees and governments and the member units,
      copied to the level's party committee and government;
    * ``requester`` (Art. 23): the organisation department that asked;
    * ``referral`` (Art. 39): discipline inspection and organisation/personnel of the level with cadre
      authority.
    """
    if unit_code not in org.nodes or body_code not in org.nodes:
        raise DraftError(f"unknown unit {unit_code if unit_code not in org.nodes else body_code!r}")
    level = _level_of_body(org, body_code)
    subject = leadership_of(org, unit_code)
    discipline = f"中共{level.name}纪委、{level.name}监委"
    organisation = f"{party_committee(level)}组织部"
    members = org.children(level.code, ("member_unit",))
    personnel = next((m for m in members if m.name.endswith("人力资源和社会保障局")), None)
    personnel_name = personnel.name if personnel else f"{level.name}人力资源和社会保障局"
    if rule == "committee_wide":  # Art. 20, 27: the level's lower party committees, governments and members
        city = level.level == "city"
        lower = org.children(level.code, ("county", "city_direct") if city else ("township",))
        lower_name = (
            "各县（市、区）党委、政府，市直各单位" if city else "各乡镇党委、政府（街道党工委、办事处）"
        )
        government = f"{level.name}人民政府"
        addressees = {n.code: "main" for n in (*lower, *members)}
        return Distribution(
            [lower_name, f"{level.name}综治委各成员单位"], [party_committee(level), government], addressees
        )
    if rule == "requester":  # Art. 23: the answer goes back to the organisation department that asked
        return Distribution([organisation], [], {})
    if rule == "subject":
        return Distribution([subject], [], {unit_code: "main"})
    if rule == "referral":
        served = {personnel.code: "main"} if personnel else {}
        return Distribution([discipline, organisation, personnel_name], [], served)
    if rule not in ("circulate", "listing"):
        raise DraftError(f"unknown distribution rule {rule!r}")
    lower_levels = ("county",) if level.level == "city" else ("township",)
    lower = org.children(level.code, lower_levels)
    lower_name = "各县（市、区）综治办" if level.level == "city" else "各乡镇（街道）综治办"
    main = [subject, lower_name, f"{level.name}综治委各成员单位"]
    copied = [cadre_authority(org, unit_code)]
    if rule == "listing":
        copied = [discipline, organisation, personnel_name, *copied]
    addressees = {n.code: "main" for n in (*lower, *members)}
    addressees[unit_code] = "main"
    return Distribution(main, list(dict.fromkeys(copied)), addressees)
