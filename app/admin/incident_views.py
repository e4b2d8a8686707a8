"""运行异常 (incidents, admin only): failures of background work on an instance with their element, error,
time and retries left; retry one (its wake-up re-armed now, retries reset) or cancel it, which cancels the
instance with a reason (``workflows/engine/incidents.py``, issue 16 point 2). The case page shows an
instance's open incidents through the template global ``case_incidents`` (``admin/_incident_notice.html``)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import admin_required, bp
from app.auth import current_actor
from app.extensions import db
from app.runtime import engine, runtime
from workflows.engine import incidents
from workflows.engine.errors import Conflict, NotFound
from workflows.engine.models import Incident

PER_PAGE = 50
MAX_PAGE = 100_000


@bp.app_template_global("case_incidents")
def case_incidents(instance_id: int) -> list[Incident]:
    """The instance's unresolved incidents, for the notice on the case page (anyone who sees the case)."""
    return incidents.open_incidents_of(db.session(), instance_id)


@bp.get("/incidents")
@admin_required
def incident_list() -> ResponseReturnValue:
    status = request.args.get("status", "open")
    if status not in incidents.FILTERS:
        status = "open"
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows, total = incidents.list_incidents(db.session(), status, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    counts = incidents.counts(db.session())
    return render_template(
        "admin/incidents.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        status=status,
        counts={name: sum(counts.get(s, 0) for s in states) for name, states in incidents.FILTERS.items()},
        now=runtime().clock.now(),
    )


@bp.post("/incidents/<int:incident_id>/retry")
@admin_required
def incident_retry(incident_id: int) -> ResponseReturnValue:
    try:
        incidents.retry(
            db.session(),
            incident_id,
            current_user.username,
            now=runtime().clock.now(),
            backoff=current_app.config["INCIDENT_BACKOFF"],
        )
        db.session.commit()
        flash(_("已重新安排：下一次定时处理（约半分钟内）将重试。"), "success")
    except NotFound:
        abort(404)
    except (incidents.IncidentClosed, Conflict) as exc:
        db.session.rollback()
        flash(_("未能重试：%(e)s", e=str(exc)), "error")
    return _back()


@bp.post("/incidents/<int:incident_id>/cancel")
@admin_required
def incident_cancel(incident_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "").strip()[:500]
    if not reason:
        flash(_("请填写取消原因。"), "error")
        return _back()
    try:
        incidents.cancel(engine(), incident_id, current_actor(), reason)
        db.session.commit()
        flash(_("已取消：该流程已终止，待办任务已撤销。"), "success")
    except NotFound:
        abort(404)
    except (incidents.IncidentClosed, Conflict) as exc:
        db.session.rollback()
        flash(_("未能取消：%(e)s", e=str(exc)), "error")
    return _back()


def _back() -> ResponseReturnValue:
    status = request.form.get("status", "open")
    return redirect(url_for("admin.incident_list", status=status if status in incidents.FILTERS else "open"))
