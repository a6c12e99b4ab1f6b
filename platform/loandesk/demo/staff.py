"""The demo firm's staff. Staff are not configuration (a bundle names them by e-mail and never
creates them), so they are made first, at the company, and placed in the bundle's org units
once it is applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

DOMAIN = "demo.loandesk.local"
ADMIN = f"admin@{DOMAIN}"
# the bundle ships inside the package (an installed wheel has it); in a checkout,
# tenants/demo is a link to it, so ``loandesk tenant apply tenants/demo`` works there too
BUNDLE = Path(__file__).resolve().parent / "bundle"


@dataclass(frozen=True)
class Person:
    login: str  # the e-mail's local part
    name: str
    roles: tuple[str, ...]
    unit: tuple[str, ...]  # the org unit's path of names below the company
    job: str  # what the login shows, for the printed list

    @property
    def email(self) -> str:
        return f"{self.login}@{DOMAIN}"


STAFF = (
    Person("zhang.wei", "张伟", ("credit_officer",), ("华东分公司", "上海营业部"), "客户经理 华东"),
    Person("li.na", "李娜", ("credit_officer",), ("华南分公司", "广州营业部"), "客户经理 华南"),
    Person("wang.qiang", "王强", ("credit_officer",), ("华北分公司", "北京营业部"), "客户经理 华北"),  # noqa: E501
    Person("liu.yang", "刘洋", ("credit_officer",), ("西南分公司", "成都营业部"), "客户经理 西南"),
    Person("chen.jing", "陈静", ("risk_manager",), ("风控部",), "风控经理"),
    Person("zhao.min", "赵敏", ("post_loan_admin",), ("贷后管理部",), "贷后管理"),
    Person("sun.hao", "孙浩", ("collector",), ("贷后管理部", "电催一组"), "催收员（M1）"),
    Person("zhou.lei", "周磊", ("collector",), ("贷后管理部", "电催二组"), "催收员（M1/M2）"),
    Person("wu.ting", "吴婷", ("collector",), ("贷后管理部",), "委外催收（M3+）"),
    Person("zheng.li", "郑丽", ("finance",), ("财务部",), "财务"),
)  # fmt: skip
# the credit officers, by region: a generated loan belongs to one of them
OFFICERS = tuple(p for p in STAFF if "credit_officer" in p.roles)
# one login per job for the printed list (the first of each role)
ROLE_LOGINS = tuple(p for i, p in enumerate(STAFF) if all(p.roles != q.roles for q in STAFF[:i]))


def ensure(session: Session, password: str) -> dict[str, Any]:
    """Every demo staff member, made when missing (at the company, active, holding their
    roles) and given ``password`` otherwise: e-mail → user."""
    from loandesk.auth import users

    found = {}
    for person in STAFF:
        user = users.find_by_email(session, person.email)
        if user is None:
            user = users.create_user(
                session,
                email=person.email,
                display_name=person.name,
                password=password,
                roles=person.roles,
            ).user
        else:
            users.update_user(
                session, user, acting_user_id=None, password=password, status="active"
            )
        found[person.email] = user
    session.flush()
    return found


def unit_by_path(session: Session, path: tuple[str, ...]) -> Any:
    from sqlalchemy import select

    from loandesk.rbac import org
    from loandesk.rbac.models import OrgUnit

    unit = org.company(session)
    for name in path:
        unit = session.scalars(
            select(OrgUnit).where(OrgUnit.parent_id == unit.id, OrgUnit.name == name)
        ).one()
    return unit


def place(session: Session) -> None:
    """Each staff member into their org unit (the bundle made the units)."""
    from loandesk.auth import users

    for person in STAFF:
        user = users.find_by_email(session, person.email)
        assert user is not None
        unit = unit_by_path(session, person.unit)
        if user.org_unit_id != unit.id:
            users.update_user(session, user, acting_user_id=None, org_unit_id=unit.id)
    session.flush()


def apply_bundle(
    session: Session, tenant: Any, folder: Path = BUNDLE, only: tuple[str, ...] = ()
) -> list[Any]:
    """Apply the demo bundle (``only`` those of its files) to ``tenant`` (current) in the
    caller's transaction; the changes."""
    from loandesk import extension
    from loandesk.bundle import model
    from loandesk.bundle.apply import apply
    from loandesk.pii.keys import Keyring
    from loandesk.plugins import runtime

    settings = extension.get().settings
    host = runtime.host()
    bundle = model.read(folder, {f.name: f.schema for _, f in host.bundle_files()})
    keyring = Keyring(
        session, master_key=settings.master_key, previous_master_keys=settings.previous_master_keys
    )
    if only:
        bundle = {name: bundle[name] for name in only}
    return apply(session, host, keyring, tenant, bundle)


SMS_SETTINGS = {
    "gateway_url": "http://127.0.0.1:9/sms",
    "account_id": "demo",
    "secret_key": "demo-secret-not-a-real-key",
}


def prepare(session: Session, tenant: Any, password: str) -> None:
    """What the bundle needs of the tenant and cannot carry: the staff it names, and the SMS
    gateway's secret (a bundle never holds secrets). The demo gateway answers nowhere, so an
    SMS is recorded as failed, never sent."""
    from sqlalchemy import select

    from loandesk import extension
    from loandesk.pii.keys import Keyring
    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
    from loandesk.plugins.models import TenantPlugin

    ensure(session, password)
    row = session.scalar(select(TenantPlugin).where(TenantPlugin.name == "sms_http"))
    if row is None or not row.secrets:
        settings = extension.get().settings
        plugins.update_settings(
            session,
            runtime.host(),
            keyring=Keyring(
                session,
                master_key=settings.master_key,
                previous_master_keys=settings.previous_master_keys,
            ),
            tenant_id=tenant.id,
            name="sms_http",
            values=dict(SMS_SETTINGS),
            acting_user_id=None,
        )
