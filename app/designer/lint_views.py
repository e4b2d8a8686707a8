"""What the modeller's lint rules check a diagram against, from the server that validates it at deploy:
the roles a lane may name (id and Chinese name), the lane scopes, the regulation's article numbers and the
functions a timer or due-date expression may call. The form files come with the page (they belong to the
version being edited). One source: the same tables deploy-time validation reads."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.designer.views import bp, designer_required
from app.runtime import engine
from workflows.engine.sandboxing.sandbox import SANDBOX_BUILTINS
from workflows.regulation.articles import articles
from workflows.regulation.roles import ROLES, SCOPES


@bp.get("/lint-facts")
@designer_required
def lint_facts() -> ResponseReturnValue:
    helpers = engine().checks.helpers
    functions = sorted({name for name, value in helpers.items() if callable(value)} | set(SANDBOX_BUILTINS))
    return jsonify(
        roles=[{"id": role, "label": label} for role, label in sorted(ROLES.items())],
        scopes=list(SCOPES),
        articles=sorted(articles()),
        functions=functions,
    )
