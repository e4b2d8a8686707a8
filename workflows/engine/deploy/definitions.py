"""Deployed definition versions: validate, store immutably, and serve parsed specs from a cache.

A version is the whole set of diagrams and forms deployed together, because call activities and forms
reference each other across files. Running instances stay on the version they started with; new instances
use the newest. Deploying content identical to the newest version creates nothing (it returns that version),
also when a modeller merely re-serialised the diagrams (``sameness.py``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.engine.deploy.sameness import same_files
from workflows.engine.deploy.serializer import serializer
from workflows.engine.deploy.validation import validate_files
from workflows.engine.errors import DefinitionInvalid, NotFound
from workflows.engine.legaltime import clock
from workflows.engine.models import DefinitionFile, DefinitionVersion
from workflows.engine.parts import DeployChecks
from workflows.engine.phrase import Phrase
from workflows.engine.process_properties import process_problems


def read_project_files(root: Path) -> dict[str, str]:
    """The deployable files of a checkout: ``bpmn/*.bpmn`` and ``forms/*.json``, keyed by relative path."""
    files: dict[str, str] = {}
    for sub, pattern in (("bpmn", "*.bpmn"), ("forms", "*.json")):
        for path in sorted((root / sub).glob(pattern)):
            files[f"{sub}/{path.name}"] = path.read_text(encoding="utf-8")
    return files


def content_hash(files: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()


def deploy(
    session: Session,
    files: Mapping[str, str | bytes],
    checks: DeployChecks,
    *,
    created_by: str,
    comment: str = "",
) -> DefinitionVersion:
    """Validate ``files`` and store them as the next version; raise :class:`DefinitionInvalid` otherwise."""
    texts: dict[str, str] = {}
    for path, content in files.items():
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8")
            except UnicodeDecodeError:
                from workflows.engine.errors import Problem

                raise DefinitionInvalid(
                    [Problem(path, Phrase("文件 {path} 不是 UTF-8 编码的文本", path=path))]
                ) from None
        texts[path] = content
    digest = content_hash(texts)
    newest = latest_version(session, required=False)
    if newest is not None and (
        newest.content_hash == digest or same_files(texts, {f.path: f.content for f in newest.files})
    ):
        return newest  # validated when it was deployed; nothing to store
    checked = validate_files(texts, checks)
    if checked.problems:
        raise DefinitionInvalid(checked.problems)
    refused = process_problems(texts, checks.check_process)  # e.g. who may start a process
    if refused:
        raise DefinitionInvalid(refused)
    number = (session.scalar(select(func.max(DefinitionVersion.number))) or 0) + 1
    version = DefinitionVersion(
        number=number,
        created_at=clock.now(),
        created_by=created_by,
        comment=comment,
        content_hash=digest,
        process_ids=checked.process_ids,
        specs_json=serializer().specs_to_json(checked.specs),
        files=[
            DefinitionFile(path=p, kind="bpmn" if p.endswith(".bpmn") else "form", content=t)
            for p, t in sorted(texts.items())
        ],
    )
    session.add(version)
    session.flush()
    return version


def latest_version(session: Session, *, required: bool = True) -> DefinitionVersion | None:
    version = session.scalar(select(DefinitionVersion).order_by(DefinitionVersion.number.desc()).limit(1))
    if version is None and required:
        raise NotFound("no definitions deployed yet (run `flask definitions deploy`)")
    return version


def latest_version_with(session: Session, process_id: str) -> DefinitionVersion:
    """The newest version that contains ``process_id`` (a new instance's version)."""
    for version in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc())):
        if process_id in version.process_ids:
            return version
    raise NotFound(f"no deployed version defines process {process_id!r}")


@dataclass(frozen=True)
class LoadedVersion:
    version_id: int
    number: int
    specs: dict[str, BpmnProcessSpec]
    forms: dict[str, dict[str, Any]]


class SpecCache:
    """Parsed specs per version id, shared by every instance of that version in this process.

    Versions are immutable, so entries never go stale; the cache is bounded only by the number of versions.
    """

    def __init__(self) -> None:
        self._entries: dict[int, LoadedVersion] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> LoadedVersion:
        entry = self._entries.get(version_id)
        if entry is not None:
            return entry
        version = session.get(DefinitionVersion, version_id)
        if version is None:
            raise NotFound(f"definition version id {version_id} does not exist")
        forms = {f.path.rsplit("/", 1)[-1]: json.loads(f.content) for f in version.files if f.kind == "form"}
        entry = LoadedVersion(
            version.id, version.number, serializer().specs_from_json(version.specs_json), forms
        )
        with self._lock:
            self._entries.setdefault(version_id, entry)
        return self._entries[version_id]
