"""Acceptance (issue 13): a database with data in it upgrades from an old schema to today's
heads, on SQLite and on PostgreSQL, and keeps every row.

The old schemas are:

- ``first``: the oldest schema, which stands for the first release's (0.1.0 was never
  tagged): the core at ``0001`` plus every plugin branch at its first revision, with the
  revisions those depend on (Alembic upgrades to each branch's base, and ``rp001`` brings the
  core up to ``0029`` and the customers branch to ``c006``, ``cl001`` the repayment branch
  up to ``rp006``);
- ``core-0001``: the core's first revision alone, so that every core revision from ``0002``
  on (and every plugin branch, empty) runs over tenants, staff and the core's rows;
- ``lending-first``: the first revisions of the intake and repayment branches with only what
  they need, so that the lending migrations (``rp002`` to ``rp009``, ``i002``, ``i003``) run
  over loans, installments and payments;
- each release recorded in ``loandesk/migrations/releases.json``: the heads it shipped with
  (a release adds its heads when it is tagged, docs/upgrades.md). While the newest recorded
  release is today's heads the upgrade has nothing to do, and the test checks the seeding
  and the reads at head.

For each: upgrade an empty database to those revisions only; write rows at that schema with
SQL against the reflected old tables (never today's models, which describe the head): two
tenants, filler rows in every table (``tests.migration_rows.seed_every_table``) and, in the
first tenant, a lending story where the schema has loans (staff, a customer, an application,
an active loan with its schedule, a payment allocated to the first installment) and audit
events where it has them, their hash chain computed with the core's digest; run ``loandesk db
upgrade``; then every row is found by its primary key with the values it was written with
(or at the place a migration moved it to), the app role sees one tenant at a time
(PostgreSQL), the loan book reads the loan and its balance, and ``loandesk audit verify``
passes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from loandesk import migrate
from loandesk.settings import Settings
from tests.helpers import installed_plugins
from tests.migration_rows import Row, Seeded, fresh_postgresql_roles, reflect, seed_every_table

# Tables a migration drops on purpose, and why their rows need no new place.
DROPPED = {
    table: "a day's SMS count for the plugin's daily limit (sa002/sh002/st002): the core's "
    "outbox counts every channel from 0031 on; yesterday's counts limit nothing"
    for plugin in ("aliyun", "http", "tencent")
    for table in (f"sms_{plugin}_daily_counts", f"sms_{plugin}_counted_messages")
}
# Tables whose rows a migration moves: (the new table, the provider of the moved rows).
MOVED = {
    "dingtalk_staff_accounts": ("staff_external_accounts", "dingtalk", "dingtalk_userid"),
    "wecom_staff_accounts": ("staff_external_accounts", "wecom", "wecom_userid"),
}
STORY_PLUGINS = ("customers", "intake", "products", "repayment")
WHEN = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://", installed_plugins()))


def _first_schema() -> list[str]:
    """The base revision of the core and of every plugin branch."""
    return sorted(r.revision for r in _script().walk_revisions() if r.down_revision is None)


def _lending_first() -> list[str]:
    """The first revisions of the lending branches, with only what they depend on."""
    script = _script()
    return sorted(
        r.revision
        for r in script.walk_revisions()
        if r.down_revision is None and r.branch_labels & {"intake", "repayment"}
    )


OLD_SCHEMAS = {
    "first": _first_schema(),
    "core-0001": ["0001"],
    "lending-first": _lending_first(),
    **migrate.released_heads(),
}


def test_every_recorded_release_names_known_revisions() -> None:
    script = _script()
    for version, heads in migrate.released_heads().items():
        for head in heads:
            assert script.get_revision(head) is not None, (version, head)


@contextmanager
def _database(backend: str, database_urls: Any, tmp_path: Path) -> Iterator[Settings]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
        yield Settings(database_url=url, instance_path=tmp_path / "instance")
        return
    with fresh_postgresql_roles(database_urls.admin_url) as (owner_url, app_url):
        yield Settings(
            database_url=app_url,
            migration_database_url=owner_url,
            instance_path=tmp_path / "instance",
        )


@pytest.mark.slow
@pytest.mark.parametrize("schema", sorted(OLD_SCHEMAS))
def test_a_populated_database_upgrades_from_an_old_schema_to_head(
    schema: str, database_urls: Any, tmp_path: Path
) -> None:
    folders = installed_plugins()
    with _database(database_urls.backend, database_urls, tmp_path) as settings:
        for revision in OLD_SCHEMAS[schema]:
            migrate.upgrade(settings, folders, revision)
        engine = sa.create_engine(_driver(settings.owner_database_url))
        try:
            with engine.begin() as connection:
                story = _Story(connection)
                seeded = seed_every_table(
                    connection,
                    story.tenants,
                    overrides=_overrides(story),
                    skip=("tenants", "audit_events", "audit_heads"),
                )
                _merge(seeded, story.seeded)
                old_tables = set(reflect(connection).tables) - {"alembic_version"}
            assert {t for t, rows in seeded.rows.items() if rows} == old_tables
        finally:
            engine.dispose()

        result = CliRunner().invoke(
            _cli(), ["db", "upgrade"], env=_env(settings), catch_exceptions=False
        )
        assert result.exit_code == 0, result.output

        _every_row_is_there(settings, seeded)
        if any("is_admin" in row for row in seeded.rows["users"]):
            _admins_hold_the_admin_role_in_their_company(settings, seeded)
        if story.lending:
            _loan_book_reads_the_story(settings, story)
        if database_urls.backend == "postgresql":
            _app_role_sees_one_tenant(settings, seeded, story)
        verified = CliRunner().invoke(_cli(), ["audit", "verify"], env=_env(settings))
        assert verified.exit_code == 0, verified.output
        events = (3, 2) if story.audited else (0, 0)
        assert f"old-firm: ok, {events[0]} events" in verified.output
        assert f"other-firm: ok, {events[1]} events" in verified.output


# --- the lending story, written at the old schema ------------------------------------------


class _Story:
    """Two tenants; in the first, a staff member, a customer, an application and its loan
    (active, three monthly installments), a payment of the first installment, and audit
    events chained as the core chains them."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.metadata = reflect(connection)
        self.sqlite = connection.dialect.name == "sqlite"
        self.seeded = Seeded()
        self.firm, self.other = uuid.uuid4(), uuid.uuid4()
        self.tenants = [self._id(self.firm), self._id(self.other)]
        for tenant, slug in ((self.firm, "old-firm"), (self.other, "other-firm")):
            self.insert("tenants", None, {"id": tenant, "slug": slug, "name": slug,
                                          "status": "active", "timezone": "Asia/Shanghai",
                                          "locale": "zh_CN", "currency": "CNY",
                                          "created_at": WHEN})  # fmt: skip
        self.staff = self.insert("users", self.firm, {"email": "officer@old.cn",
                                                      "display_name": "信贷员",
                                                      "status": "active"})  # fmt: skip
        tables = self.metadata.tables
        self.lending = "repayment_loans" in tables  # the core's first revision alone: no loans
        self.loan = self.staff
        if self.lending:
            self.unit = self.insert("org_units", self.firm, {"name": "旧机构", "kind": "company",
                                                             "position": 0})  # fmt: skip
            for name in STORY_PLUGINS:
                enabled = {"name": name, "enabled": True, "settings": {}, "secrets": {}}
                self.insert("tenant_plugins", self.firm, enabled)
            owned = {"owner_id": self.staff, "org_unit_id": self.unit}
            self.customer = self.insert("customers_customers", self.firm, {
                "name": "张三", "status": "active", "custom": {}, **owned})  # fmt: skip
            self.application = None
            if "intake_applications" in tables:
                self.application = self.insert("intake_applications", self.firm, {
                    "number": "SQ2026010500001", "customer_id": self.customer,
                    "amount": 300000, "term_months": 3, "status": _approved(connection),
                    "custom": {},
                    **owned})  # fmt: skip
            self._loan(owned)
        self.audited = "audit_events" in tables
        if self.audited:
            self._audit(self.firm, ["tenant.create", "loan.book", "payment.post"])
            self._audit(self.other, ["tenant.create", "user.invite"])

    def _id(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def insert(self, table: str, tenant: uuid.UUID | None, given: Row) -> uuid.UUID:
        """A row of ``table`` with ``given`` values (ids as ``uuid.UUID``), the other
        required columns filled as ``seed_every_table`` fills them."""
        found = self.metadata.tables[table]
        # values of columns a later revision adds are left out at an older schema
        given = {c: v for c, v in given.items() if c in found.c}
        row: Row = {k: self._id(v) if isinstance(v, uuid.UUID) else v for k, v in given.items()}
        if "id" in found.c:
            row.setdefault("id", self._id(uuid.uuid4()))
        if tenant is not None:
            row["tenant_id"] = self._id(tenant)
            if self.connection.dialect.name == "postgresql":
                self.connection.execute(
                    sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
                )
        for column in found.columns:
            if column.name not in row and not column.nullable and column.server_default is None:
                row[column.name] = _plain_filler(column)
        self.connection.execute(found.insert().values(row))
        self.seeded.keys[table] = [c.name for c in found.primary_key.columns]
        self.seeded.rows.setdefault(table, []).append(row)
        return uuid.UUID(str(row["id"])) if "id" in row else tenant  # type: ignore[return-value]

    def _loan(self, owned: Row) -> None:
        from loandesk.finance import build_schedule, codec
        from loandesk.finance.terms import Frequency, Method, ProductTerms

        self.product_id = uuid.uuid4()
        self.product = product = ProductTerms(
            product_id=self.product_id, version=1, code="XJD", name="消费贷",
            min_amount=Decimal("1000.00"), max_amount=Decimal("50000.00"), min_periods=1,
            max_periods=12, annual_rate=Decimal("0.12"), frequency=Frequency.MONTHLY,
            method=Method.EQUAL_PRINCIPAL,
        )  # fmt: skip
        self.disbursed_on = dt.date(2026, 1, 5)
        terms = product.terms_for(Decimal("3000.00"), 3, self.disbursed_on)
        self.schedule = build_schedule(terms)
        self.loan = self.insert("repayment_loans", self.firm, {
            "number": "DK2026010500001", "customer_id": self.customer,
            "application_id": self.application, "product_id": self.product_id,
            "product_version": 1, "product_terms": codec.to_dict(product),
            "terms": codec.to_dict(terms), "principal": 300000, "periods": 3,
            "status": "active", "disbursed_on": self.disbursed_on,
            "annual_rate_irr": str(self.schedule.annual_rate_irr), "credit_balance": 0,
            "version": 1, "custom": {}, "days_past_due": 0, "bucket": "M0",
            "overdue_principal": 0, "overdue_amount": 0, "created_at": WHEN, **owned,
        })  # fmt: skip
        first = self.schedule.installments[0]
        self.installments = []
        for item in self.schedule.installments:
            paid = item.number == 1
            self.installments.append(self.insert("repayment_installments", self.firm, {
                "loan_id": self.loan, "number": item.number, "period_start": item.period_start,
                "due_date": item.due_date, "principal_due": _cents(item.principal),
                "interest_due": _cents(item.interest), "fees_due": 0, "penalty_due": 0,
                "principal_paid": _cents(item.principal) if paid else 0,
                "interest_paid": _cents(item.interest) if paid else 0, "fees_paid": 0,
                "penalty_paid": 0, "status": "paid" if paid else "pending",
                "paid_on": item.due_date if paid else None, "superseded": False,
                "loan_number": "DK2026010500001", "customer_id": self.customer,
                "product_code": "XJD", "custom": {}, "days_past_due": 0, "penalty_days": 0,
                "penalty_base": 0, "penalty_segment_days": 0, "penalty_frozen": 0, **owned,
            }))  # fmt: skip
        self.payment = self.insert("repayment_payments", self.firm, {
            "loan_id": self.loan, "sequence": 1, "amount": _cents(first.total), "to_credit": 0,
            "received_on": first.due_date, "source": "staff", "reference": "银行转账",
            "fingerprint": "f" * 64, "status": "posted", "posted_by_id": self.staff,
            "posted_at": WHEN + dt.timedelta(days=31), "settled_loan": False,
        })  # fmt: skip
        for part, amount in (("interest", first.interest), ("principal", first.principal)):
            self.insert("repayment_allocations", self.firm, {
                "payment_id": self.payment, "installment_id": self.installments[0],
                "part": part, "amount": _cents(amount), "reversal": False,
                "created_at": WHEN + dt.timedelta(days=31),
            })  # fmt: skip
        self.outstanding = sum(
            (i.principal + i.interest for i in self.schedule.installments[1:]), Decimal(0)
        )

    def _audit(self, tenant: uuid.UUID, actions: list[str]) -> None:
        """Events 1..n chained from the genesis hash with the core's digest (the columns of
        0007 are today's), and the tenant's head at the last one."""
        from loandesk.audit.models import AuditEvent
        from loandesk.audit.service import GENESIS, digest

        previous = GENESIS
        for seq, action in enumerate(actions, start=1):
            event = AuditEvent(
                id=uuid.uuid4(), seq=seq, occurred_at=WHEN + dt.timedelta(minutes=seq),
                actor_kind="user", actor_id=str(self.staff), actor_label="officer@old.cn",
                action=action, record_type="loan", record_id=str(self.loan),
                diff={"principal": "3000.00", "seq": seq}, ip="10.0.0.1", user_agent="curl",
                request_id=f"req-{seq}", prev_hash=previous,
            )  # fmt: skip
            event.tenant_id = tenant
            event.hash = previous = digest(event)
            columns = [c.name for c in self.metadata.tables["audit_events"].columns]
            self.insert("audit_events", tenant, {c: getattr(event, c) for c in columns})
        self.insert("audit_heads", tenant, {"last_seq": len(actions), "last_hash": previous})


def _approved(connection: Any) -> str:
    """An approved application; before i002 approval did not exist, only submission."""
    checks = sa.inspect(connection).get_check_constraints("intake_applications")
    return "approved" if any("'approved'" in str(c["sqltext"]) for c in checks) else "submitted"


def _plain_filler(column: sa.Column[Any]) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Numeric):
        return 0
    if isinstance(kind, sa.DateTime):
        return WHEN
    if isinstance(kind, sa.JSON):
        return {}
    raise AssertionError(f"the story gives no value for {column.table.name}.{column.name}")


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _overrides(story: _Story) -> dict[str, Callable[[int, Any], Row]]:
    """Values the generic filler cannot guess: CHECKs across columns, JSON shapes."""
    from loandesk.finance import codec
    from loandesk.rbac.catalog import BUILTIN_ROLES

    product = codec.to_dict(story.product) if story.lending else {}
    return {
        # before 0009 the first staff member of each tenant is an admin (0009 moves them)
        "users": lambda k, _t: {"is_admin": k == 0},
        # built-in roles as 0009 seeds them: 0014 and later grant them new permissions
        "roles": lambda k, _t: {
            "key": BUILTIN_ROLES[k].key,
            "builtin": True,
            "permissions": list(BUILTIN_ROLES[k].permissions),
        },
        # a loan keeps its product version's terms (rp004 copies the product's code)
        "repayment_loans": lambda k, _t: {"product_terms": product, "terms": {}},
        # (debit = 0 or credit = 0)
        "repayment_ledger": lambda k, _t: {"debit": k + 1, "credit": 0},
        "vouchers_lines": lambda k, _t: {"debit": k + 1, "credit": 0},
        # a to-do goes to a person or to a role, never both, never neither
        "todos": lambda k, _t: {"assignee_role": "collector"},
    }


def _merge(seeded: Seeded, story: Seeded) -> None:
    for table, rows in story.rows.items():
        seeded.keys[table] = story.keys[table]
        seeded.rows[table] = rows + seeded.rows.get(table, [])


# --- after the upgrade ---------------------------------------------------------------------


def _every_row_is_there(settings: Settings, seeded: Seeded) -> None:
    engine = sa.create_engine(_driver(settings.owner_database_url))
    try:
        with engine.begin() as connection:
            head = reflect(connection)
            missing: dict[str, int] = {}
            changed: dict[str, list[str]] = {}
            for table, rows in seeded.rows.items():
                if table in DROPPED:
                    assert table not in head.tables, f"{table} was to be dropped"
                    continue
                if table in MOVED:
                    assert table not in head.tables, f"{table} was to be moved"
                    target, provider, column = MOVED[table]
                    for row in rows:
                        _as_tenant(connection, row.get("tenant_id"))
                        moved = head.tables[target]
                        found = connection.execute(
                            sa.select(moved.c.provider, moved.c.external_id, moved.c.user_id).where(
                                moved.c.tenant_id == row["tenant_id"], moved.c.id == row["id"]
                            )
                        ).one_or_none()
                        assert found is not None, (table, row)
                        assert (found.provider, found.external_id) == (provider, row[column])
                        assert str(uuid.UUID(str(found.user_id))) == str(
                            uuid.UUID(str(row["user_id"]))
                        )
                    continue
                assert table in head.tables, f"{table} is gone and not listed in DROPPED"
                found = head.tables[table]
                keys = seeded.keys[table]
                for row in rows:
                    _as_tenant(connection, row.get("tenant_id"))
                    kept = [c for c in found.c if c.name in row]
                    where = [found.c[k] == row[k] for k in keys]
                    now = connection.execute(sa.select(*kept).where(*where)).mappings().all()
                    if len(now) != 1:
                        missing[table] = missing.get(table, 0) + 1
                        continue
                    for column in kept:
                        if _plain(now[0][column.name]) != _plain(row[column.name]):
                            changed.setdefault(table, []).append(
                                f"{column.name}: {row[column.name]!r} -> {now[0][column.name]!r}"
                            )
            assert missing == {}, f"rows lost by the upgrade: {missing}"
            assert changed == {}, f"values changed by the upgrade: {changed}"
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    """A value as both databases give it back: ids as UUIDs (SQLite keeps hex), moments in
    UTC without a zone (SQLite keeps them naive), JSON text parsed."""
    if isinstance(value, str) and len(value) == 32:
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    return value


def _admins_hold_the_admin_role_in_their_company(settings: Settings, seeded: Seeded) -> None:
    """Seeded before 0009 and 0011: each admin (``users.is_admin``, dropped by 0009) holds
    the admin role, and every staff member sits in their tenant's company unit (0011)."""
    from loandesk.rbac.catalog import ADMIN_ROLE

    engine = sa.create_engine(_driver(settings.owner_database_url))
    try:
        with engine.begin() as connection:
            for user in seeded.rows["users"]:
                _as_tenant(connection, user["tenant_id"])
                keys = connection.execute(
                    sa.text(
                        "select r.key from user_roles ur join roles r on r.tenant_id ="
                        " ur.tenant_id and r.id = ur.role_id where ur.tenant_id = :t"
                        " and ur.user_id = :u"
                    ).bindparams(
                        sa.bindparam("t", user["tenant_id"], type_=_id_type(connection)),
                        sa.bindparam("u", user["id"], type_=_id_type(connection)),
                    )
                ).scalars()
                assert (ADMIN_ROLE in set(keys)) == bool(user.get("is_admin")), user["email"]
                unit = connection.execute(
                    sa.text(
                        "select u.kind from users s join org_units u on u.tenant_id ="
                        " s.tenant_id and u.id = s.org_unit_id where s.tenant_id = :t"
                        " and s.id = :u"
                    ).bindparams(
                        sa.bindparam("t", user["tenant_id"], type_=_id_type(connection)),
                        sa.bindparam("u", user["id"], type_=_id_type(connection)),
                    )
                ).scalar_one()
                assert unit == "company"
    finally:
        engine.dispose()


def _id_type(connection: Any) -> Any:
    return sa.String() if connection.dialect.name == "sqlite" else sa.Uuid()


def _app_role_sees_one_tenant(settings: Settings, seeded: Seeded, story: _Story) -> None:
    """As the app connects: every tenant-owned table under row-level security, and with
    ``app.tenant_id`` set only that tenant's rows are seen, all of them. (Platform tables
    such as ``event_backlog`` hold no tenant's data and have no policy.)"""
    from loandesk.db import Base, is_tenant_owned
    from loandesk.tenancy import rls

    models = {m.local_table.name for m in Base.registry.mappers if is_tenant_owned(m.class_)}
    engine = sa.create_engine(_driver(settings.database_url))
    try:
        with engine.begin() as connection:
            # the models of the installed plugins; the test fixtures' plugins (hello, testloans),
            # loaded by other tests of the same run, have no tables in this database
            tenant_owned = models & set(sa.inspect(connection).get_table_names())
            assert len(tenant_owned) > 100
            assert rls.unprotected_tables(connection, sorted(tenant_owned)) == []
        for tenant in story.tenants:
            with engine.begin() as connection:
                _as_tenant(connection, tenant)
                head = reflect(connection)
                for table, rows in seeded.rows.items():
                    if table not in tenant_owned:
                        continue
                    found = head.tables[table]
                    count = sa.select(sa.func.count()).select_from(found)
                    others = connection.execute(count.where(found.c.tenant_id != tenant))
                    assert others.scalar() == 0, table
                    mine = sum(1 for r in rows if r["tenant_id"] == tenant)
                    assert connection.execute(count).scalar_one() >= mine, table
    finally:
        engine.dispose()


def _loan_book_reads_the_story(settings: Settings, story: _Story) -> None:
    from loandesk_repayment import statement
    from loandesk_repayment.loans import get_loan, installments_of

    from loandesk.app import create_app
    from loandesk.sdk import loan_book
    from loandesk.tenancy import service, use

    app = create_app(settings)
    ext = app.extensions["loandesk"]
    try:
        with app.app_context():
            session = ext.db.session()
            ref = service.get_by_slug(session, "old-firm").ref()
            session.commit()
            with use(ref):
                book = loan_book()
                loan = book.get(session, story.loan)
                assert loan is not None
                assert (loan.number, loan.status) == ("DK2026010500001", "active")
                assert loan.principal == Decimal("3000.00")
                assert loan.disbursed_on == story.disbursed_on
                assert loan.customer_id == story.customer
                lines = book.installments(session, story.loan)
                assert [line.number for line in lines] == [1, 2, 3]
                payments = book.payments(session, story.loan)
                assert [p.amount for p in payments] == [story.schedule.installments[0].total]
                owed = statement.outstanding(installments_of(session, get_loan(session, loan.id)))
                assert owed["total"] == story.outstanding
                assert owed["principal"] == Decimal("2000.00")
            ext.db.session.remove()
    finally:
        ext.db.dispose()


# --- plumbing ------------------------------------------------------------------------------


def _as_tenant(connection: Any, tenant: Any) -> None:
    if connection.dialect.name == "postgresql" and tenant is not None:
        connection.execute(
            sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
        )


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _cli() -> Any:
    from loandesk.cli import cli

    return cli


def _env(settings: Settings) -> dict[str, str]:
    env = {"LOANDESK_INSTANCE_PATH": str(settings.instance_path)}
    if settings.database_url.startswith("postgresql"):
        env["LOANDESK_DATABASE_URL"] = settings.database_url
        env["LOANDESK_MIGRATION_DATABASE_URL"] = settings.owner_database_url
        env["LOANDESK_REDIS_URL"] = ""
    else:
        env["LOANDESK_DATABASE_URL"] = settings.database_url
    return env
