"""gunicorn settings that scripts/serve passes with ``--config`` (issue 17: memory per process).

The application is imported and created once in the master (``--preload``, set by scripts/serve) and the
workers are forked from it, so the code, the translations and the rest of what ``create_app`` builds are
pages the workers share instead of each holding its own copy. That is safe here: ``create_app`` opens no
connection of the app's pool (the demo-password check uses a connection of its own, closed at once), starts
no scheduler in the web processes (``GOVERNANCE_SCHEDULER=0``), and the BPMN script workers are started per
process and dropped in a forked child (``workflows/engine/sandboxing/workers.py``). Before each fork the
objects built so far are moved out of the garbage collector's sight (``gc.freeze``), so a collection in a
worker does not touch, and so copy, every shared page.
"""

from __future__ import annotations

import gc
from typing import Any


def pre_fork(server: Any, worker: Any) -> None:
    gc.freeze()
