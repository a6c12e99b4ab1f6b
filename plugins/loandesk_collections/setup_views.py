"""The administration page of collections (collections.manage): queues and their members,
the ordered assignment rules, agencies and their users, and the script per bucket — each
with its own small form, posted to its own route; problems show next to the fields."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_collections import labels, setup
from loandesk_collections.views import bp

FORMS = ("queue", "rule", "agency", "agency_user", "script")


def _page(errors: sdk.FormErrors | None = None, form: str = "",
          values: dict[str, Any] | None = None) -> Any:  # fmt: skip
    session = sdk.session()
    queues = setup.queues(session)
    agencies = setup.agencies(session)
    members = {q.id: setup.members(session, q) for q in queues}
    agency_users = {a.id: setup.agency_users(session, a) for a in agencies}
    staff = sdk.active_staff(session)
    names = {u.id: u.display_name for u in staff}
    return render_template(
        "collections/queues.html",
        queues=queues,
        members=members,
        rules=setup.rules(session),
        agencies=agencies,
        agency_users=agency_users,
        scripts=setup.scripts(session),
        staff=[(str(u.id), u.display_name) for u in staff],
        agency_choices=[(str(a.id), a.name) for a in agencies],
        queue_choices=[(str(q.id), q.name) for q in queues],
        names=names,
        units=sdk.unit_names(
            session, [r.org_unit_id for r in setup.rules(session) if r.org_unit_id]
        ),
        errors=errors or sdk.FormErrors(),
        form=form,
        values=values or {},
        labels=labels,
    ), (422 if errors else 200)


@bp.get("/setup", endpoint="queues")
@sdk.permission_required("collections.manage")
def setup_page() -> Any:
    return _page()


def _save(form: str, values: dict[str, Any], do: Any, done: str) -> Any:
    session = sdk.session()
    try:
        do(session)
    except (sdk.ValidationFailed, sdk.Conflict, sdk.NotFound) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return _page(errors, form, values)
    session.commit()
    flash(done, "success")
    return redirect(url_for("tenant.collections.queues"))


@bp.post("/setup/queues", endpoint="add_queue")
@sdk.permission_required("collections.manage")
def add_queue() -> Any:
    values: dict[str, Any] = {k: request.form.get(k, "").strip()
                              for k in ("code", "name", "balancing", "agency_id")}  # fmt: skip
    values["members"] = request.form.getlist("members")
    return _save("queue", values, lambda s: setup.create_queue(s, values), gettext("Queue added."))


@bp.post("/setup/rules", endpoint="add_rule")
@sdk.permission_required("collections.manage")
def add_rule() -> Any:
    keys = ("name", "queue_id", "position", "buckets", "product_codes", "min_overdue",
            "max_overdue", "org_unit_id")  # fmt: skip
    values = {k: request.form.get(k, "").strip() for k in keys}
    return _save("rule", values, lambda s: setup.create_rule(s, values), gettext("Rule added."))


@bp.post("/setup/rules/<uuid:rule_id>/delete", endpoint="delete_rule")
@sdk.permission_required("collections.manage")
def delete_rule(rule_id: Any) -> Any:
    return _save("rule", {}, lambda s: setup.delete_rule(s, rule_id), gettext("Rule removed."))


@bp.post("/setup/agencies", endpoint="add_agency")
@sdk.permission_required("collections.manage")
def add_agency() -> Any:
    values = {k: request.form.get(k, "").strip() for k in ("code", "name")}
    return _save("agency", values, lambda s: setup.create_agency(s, values),
                 gettext("Agency added."))  # fmt: skip


@bp.post("/setup/agencies/users", endpoint="add_agency_user")
@sdk.permission_required("collections.manage")
def add_agency_user() -> Any:
    values = {k: request.form.get(k, "").strip() for k in ("agency_id", "user_id")}

    def do(session: Any) -> None:
        agency = setup.get_agency(session, values["agency_id"] or None)
        setup.add_agency_user(session, agency, values["user_id"])

    return _save("agency_user", values, do, gettext("Agency user added."))


@bp.post("/setup/scripts", endpoint="save_script")
@sdk.permission_required("collections.manage")
def save_script() -> Any:
    values = {k: request.form.get(k, "").strip() for k in ("bucket", "body")}
    return _save("script", values, lambda s: setup.save_script(s, values["bucket"], values["body"]),
                 gettext("Script saved."))  # fmt: skip
