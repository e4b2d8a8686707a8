#!/usr/bin/env python3
"""Rewrite BPMN files in place with generated diagram layout (BPMNDI), lanes drawn as a pool.

Usage: scripts/layout_bpmn.py FILE [FILE...]

Hand-written diagrams have no layout, and bpmn-js shows nothing without one; see scripts/bpmn_layout/.
A file is only written when its content changes, so running this over every diagram is harmless.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bpmn_layout import LayoutError, layout


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    status = 0
    for name in argv:
        path = Path(name)
        try:
            original = path.read_bytes()
            result = layout(original)
        except (OSError, LayoutError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
            continue
        if result != original:
            path.write_bytes(result)
            print(f"{name}: laid out")
        else:
            print(f"{name}: unchanged")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
