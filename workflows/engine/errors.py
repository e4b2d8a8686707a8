"""Errors the engine raises, each meaning one thing to the caller (and one HTTP status to the app)."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class: every engine failure the application is expected to report to a user."""

    code = "engine_error"


class NotFound(EngineError):
    code = "not_found"


class NotAuthorized(EngineError):
    """The caller does not hold the task's role in the task's organisation."""

    code = "not_authorized"


class TaskNotReady(EngineError):
    """The task was already completed, cancelled, or is not yet reachable (Spiff does not check this)."""

    code = "task_not_ready"


class NothingToSendBack(TaskNotReady):
    """驳回 has no earlier step to return the task to: it is the first of its procedure, or a deadline,
    another event or a called procedure opened it rather than a person's step."""

    code = "nothing_to_send_back"


class Conflict(EngineError):
    """Someone else changed the instance since it was read; nothing was written, try again."""

    code = "conflict"


class FormInvalid(EngineError):
    """Submitted form data does not satisfy the task's form; ``errors`` maps field paths to messages."""

    code = "form_invalid"

    def __init__(
        self, errors: dict[str, list[str]], codes: dict[str, list[tuple[str, object]]] | None = None
    ) -> None:
        super().__init__("form data invalid: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        # The same problems as (JSON Schema keyword, its value), e.g. ("minLength", 10): a user interface
        # words them in the reader's language.
        self.codes = codes or {k: [("invalid", None)] * len(v) for k, v in errors.items()}


@dataclass(frozen=True)
class Problem:
    """One validation finding, located as precisely as the input allows."""

    file: str
    message: str
    line: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" [{self.element}]"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "element": self.element, "message": self.message}


class DefinitionInvalid(EngineError):
    """A deploy was refused; ``problems`` says where and why. Nothing was stored."""

    code = "definition_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("definition refused:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


class ProcessFailed(EngineError):
    """A script or expression inside the process failed; the instance was not advanced."""

    code = "process_failed"


class BudgetExceeded(EngineError):
    """A script or expression used more CPU time, memory or output than its budget and was stopped
    (issue 16). Not a :class:`ProcessFailed`: the definition, not the server, is at fault, so callers answer
    a 4xx and may file an incident; the instance was not advanced. ``resource`` is ``cpu``, ``memory``,
    ``output``, ``wall`` (helpers and waiting included), ``calls`` (helper calls) or ``crash``;
    ``element_id``/``element_name`` say which BPMN element, when known."""

    code = "budget_exceeded"

    def __init__(
        self,
        message: str,
        resource: str,
        *,
        detail: str = "",
        element_id: str | None = None,
        element_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.resource = resource
        self.detail = detail  # what was used against which limit, in words
        self.element_id = element_id
        self.element_name = element_name
