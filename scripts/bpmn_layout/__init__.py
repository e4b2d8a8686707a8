"""Write diagram interchange (BPMNDI) for BPMN files written by hand, lanes included.

Our process definitions are written as XML, but bpmn-js refuses a file without BPMNDI ("no diagram to
display"), and ``bpmn-auto-layout`` draws neither pools nor lanes. Lanes are the point of these diagrams
(each names a role), so this developer tool lays a file out itself: small, deterministic and pure lxml, so
that it runs in tests or from ``scripts/layout_bpmn.py`` without a browser or node. The runtime (``app/``,
``workflows/``) never imports it.

The layout is layered, left to right, the way people draw approval chains:

* column = longest path from the start events over the sequence flows, after DFS has marked the flows that
  close a cycle ("send back for amendment") as back edges, so loops do not stretch the diagram;
* one horizontal band per lane, in laneSet order; a band is as high as its busiest column needs, and nodes
  without a lane get a band of their own;
* boundary events sit on the bottom edge of their host task and their flows leave downwards;
* flows are orthogonal; each route is picked from a few candidates by how many shapes and labels it would
  cut through, so back edges run in the free space between rows instead of through tasks.

Only the drawing changes; everything else (ids, names, extension elements, CDATA scripts, comments, the
author's indentation) is kept. Two model additions are made because tools need them: ``incoming``/``outgoing``
references on flow nodes, and, for a process with lanes but no pool, a collaboration with one participant so
that bpmn-js shows the lanes. Beware one side effect that no drawing can avoid: SpiffWorkflow orders a
gateway's outgoing flows by the y coordinate of their targets (flows without DI keep document order), so an
exclusive gateway whose conditions overlap may pick a different branch once drawn. Within a lane the layout
keeps document order; across lanes the lane order decides.

Modules, in the order a layout runs: ``graph`` (reading the model, layering), ``placement`` (bands, columns,
nodes, boundary events, lanes), ``routing`` (sequence flows and their labels), ``drawing`` (writing BPMNDI),
``collaboration`` (pools and message flows), ``editing`` (model edits that keep the author's formatting);
``model`` holds the shared vocabulary. Input is read with the project's hardened parser
(``workflows.engine.deploy.xmlsafe``: no DOCTYPE or entities, a size bound).
"""

from __future__ import annotations

from lxml import etree

from scripts.bpmn_layout.collaboration import draw_collaboration
from scripts.bpmn_layout.drawing import Ids, draw_process
from scripts.bpmn_layout.editing import (
    add_flow_refs,
    indent_unit,
    insert_indented,
    remove_element,
    with_namespaces,
)
from scripts.bpmn_layout.graph import ref_id, subprocesses
from scripts.bpmn_layout.model import BPMNDI_NS, LayoutError, bpmn_local, bpmn_tag
from workflows.engine.deploy.xmlsafe import UnsafeXml, parse_xml

__all__ = ["LayoutError", "layout"]

# Reads input that parse_xml has already vetted, with the same switches but one: CDATA sections (scripts)
# are kept, where parse_xml leaves lxml's default of turning them into plain text.
_KEEPING_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    strip_cdata=False,
    remove_blank_text=False,
)


def _parse(xml: bytes) -> etree._Element:
    """The document's root, after the hardened parser has refused a DOCTYPE, entities, an oversized or
    malformed file.

    ``parse_xml`` strips CDATA (lxml's default), so the vetted bytes are read a second time keeping it.
    """
    try:
        parse_xml(xml, "diagram")
    except UnsafeXml as exc:
        problem = exc.problem
        where = f" (line {problem.line})" if problem.line else ""
        raise LayoutError(f"{problem.message}{where}") from exc
    root = etree.fromstring(xml, _KEEPING_PARSER)
    if root.tag != bpmn_tag("definitions"):
        raise LayoutError("the root element is not bpmn:definitions")
    return root


def _has_lanes(process: etree._Element) -> bool:
    return any(bpmn_local(ls) == "laneSet" and any(bpmn_local(la) == "lane" for la in ls) for ls in process)


def layout(xml: bytes) -> bytes:
    """Return ``xml`` with freshly generated BPMNDI (any existing diagram is replaced).

    Deterministic: the same input always gives the same bytes, so re-running it on a checked-in file is a
    no-op and diffs only show real changes.
    """
    root = with_namespaces(_parse(xml))
    unit = indent_unit(root)
    for diagram in [c for c in root if c.tag == f"{{{BPMNDI_NS}}}BPMNDiagram"]:
        remove_element(diagram)
    ids = Ids(root)

    processes = {p.get("id", ""): p for p in root if bpmn_local(p) == "process" and p.get("id")}
    collaborations = [c for c in root if bpmn_local(c) == "collaboration" and c.get("id")]
    in_pool = {
        ref_id(p.get("processRef"))
        for c in collaborations
        for p in c
        if bpmn_local(p) == "participant" and ref_id(p.get("processRef")) in processes
    }

    # A process with lanes shows them only inside a pool: give it a collaboration of its own (not a shared
    # one, which would tell SpiffWorkflow the processes run together). New collaborations go after existing
    # ones, because SpiffWorkflow registers only the first collaboration of a file.
    for pid, process in processes.items():
        if pid in in_pool or not _has_lanes(process):
            continue
        collaboration = etree.Element(bpmn_tag("collaboration"), id=ids.make(f"Collaboration_{pid}"))
        participant = etree.SubElement(
            collaboration, bpmn_tag("participant"), id=ids.make(f"Participant_{pid}")
        )
        participant.set("name", process.get("name") or pid)
        participant.set("processRef", pid)
        anchor = collaborations[-1] if collaborations else process
        index = root.index(anchor) + (1 if collaborations else 0)
        insert_indented(root, index, collaboration, unit)
        collaborations.append(collaboration)
        in_pool.add(pid)

    for container in processes.values():
        add_flow_refs(container, unit)

    planes: list[etree._Element] = [
        c for c in root if c in collaborations or (bpmn_local(c) == "process" and c.get("id") not in in_pool)
    ]
    first_relationship = next((c for c in root if bpmn_local(c) == "relationship"), None)
    for element in planes:
        if element in collaborations:
            draw_collaboration(root, ids, element, processes)
        else:
            draw_process(root, ids, element)
    for process in processes.values():
        for sub in subprocesses(process):
            draw_process(root, ids, sub)

    diagrams = [c for c in root if c.tag == f"{{{BPMNDI_NS}}}BPMNDiagram"]
    for diagram in diagrams:
        root.remove(diagram)
    for diagram in diagrams:
        index = root.index(first_relationship) if first_relationship is not None else len(root)
        insert_indented(root, index, diagram, unit)

    # lxml drops the line breaks between top-level nodes (a leading comment, say); put them back.
    top = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    body = b"\n".join(etree.tostring(node, encoding="UTF-8", with_tail=False) for node in top)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"
