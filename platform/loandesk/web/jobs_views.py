"""Background jobs of the tenant: the dead letters (retry them) and a job's live progress."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext

from loandesk.jobs import JobInfo
from loandesk.jobs.runtime import jobs
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.htmx import htmx

bp = Blueprint("admin_jobs", __name__, url_prefix="/admin/jobs")


def _own_job(job_id: str) -> JobInfo:
    info = jobs().info(job_id)
    if info is None or info.tenant_id != current().id:
        abort(404)
    return info


@bp.get("", endpoint="jobs")
@permission_required("jobs.manage")
def job_list() -> Any:
    return render_template("admin/jobs.html", dead=jobs().dead(current().id))


@bp.get("/<job_id>")
@permission_required("jobs.manage")
def job_status(job_id: str) -> Any:
    """A job's state and progress; htmx polls the fragment until the job has ended."""
    info = _own_job(job_id)
    template = "admin/_job_status.html" if htmx else "admin/job.html"
    return render_template(template, job=info)


@bp.post("/<job_id>/retry")
@permission_required("jobs.manage")
def job_retry(job_id: str) -> Any:
    info = _own_job(job_id)
    if info.state != "dead":
        abort(409)
    jobs().retry(job_id)
    flash(gettext("The job is queued again."), "success")
    return redirect(url_for("tenant.admin_jobs.job_status", job_id=job_id))
