"""Serialization of workflow state without its spec.

SpiffWorkflow's serializer writes the whole process spec into every instance's JSON (~30 KB for the
accountability model) and parses it back on every load, which dominates load time (ENGINE_NOTES.md,
"Serialization and cost"). Specs belong to an immutable definition version, so we store them once per
version (``DefinitionVersion.specs_json``) and keep only the running state in each instance row.

The registry's ``_encoder_mode`` flag is mutable state, so each thread gets its own serializer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

STATE_FORMAT = "governance-state-1"


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow's state but not its spec; restores it against specs supplied by the caller."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_with_specs(
        self, dct: dict[str, Any], spec: BpmnProcessSpec, subprocess_specs: Mapping[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        """Mirror of ``BpmnWorkflowConverter.from_dict`` with the specs taken from the definition cache."""
        workflow = self.target_class(spec, dict(subprocess_specs), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:  # pragma: no cover - guard
        raise TypeError("spec-free state must be restored with restore_with_specs()")


def _registry() -> DefaultRegistry:
    registry = DefaultRegistry()
    # Task data from forms carries dates and amounts; keep them typed through a round trip.
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return registry


class WorkflowSerializer:
    """Serializes process specs (once per version) and instance state (every save)."""

    def __init__(self) -> None:
        registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG, _registry())
        self._converter = SpecFreeWorkflowConverter(BpmnWorkflow, registry)
        self._spiff = BpmnWorkflowSerializer(registry)
        self.registry = registry

    # -- specs -------------------------------------------------------------------------------------------
    def specs_to_json(self, specs: Mapping[str, BpmnProcessSpec]) -> str:
        return json.dumps({name: self.registry.convert(spec) for name, spec in specs.items()})

    def specs_from_json(self, text: str) -> dict[str, BpmnProcessSpec]:
        return {name: self.registry.restore(dct) for name, dct in json.loads(text).items()}

    # -- state -------------------------------------------------------------------------------------------
    def state_to_json(self, workflow: BpmnWorkflow) -> str:
        self.registry._encoder_mode = True
        try:
            dct = self._converter.to_dict(workflow)
            dct["format"] = STATE_FORMAT
            return json.dumps(dct, cls=self._spiff._encoder_cls, ensure_ascii=False)
        finally:
            self.registry._encoder_mode = False

    def state_from_json(
        self, text: str, spec: BpmnProcessSpec, subprocess_specs: Mapping[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        dct = json.loads(text)
        fmt = dct.pop("format", None)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unknown workflow state format {fmt!r}")
        return self._converter.restore_with_specs(dct, spec, subprocess_specs)


_local = threading.local()


def serializer() -> WorkflowSerializer:
    """The calling thread's serializer (the Spiff registry is not safe to share between threads)."""
    s = getattr(_local, "serializer", None)
    if s is None:
        s = _local.serializer = WorkflowSerializer()
    return s
