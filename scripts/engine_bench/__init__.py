"""The parts of ``scripts/bench_engine.py`` (the command; its docstring says what is measured): ``common``
(setup, statistics, tables), ``cycles`` (one completion, raw and ours), ``cycle_runs`` (the runs and their
tables, state growth, the organisation tree), ``wake`` (timer wake-ups), ``budget`` (the script budget)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere: `workflows` imports
