"""Personal data of customers at rest and in the audit log: no plaintext ID number, mobile or
bank card in the table's raw rows or in audit diffs; every unmasked display is audited."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.plugins.customers.conftest import Firm, audit_events, new_customer

SECRETS = ("11010519491231002X", "13800138000", "6222020200112233446", "朝阳区建国路88号")


def _raw_rows(database_urls, sql: str, tenant_id: str) -> str:  # type: ignore[no-untyped-def]
    url = database_urls.owner_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":  # the owner is bound by RLS too
                connection.execute(
                    text("select set_config('app.tenant_id', :t, false)"), {"t": tenant_id}
                )
            return repr(connection.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_the_customers_table_and_audit_log_hold_no_plaintext(database_urls, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(
        firm.staff["officer1"].api,
        bank_card="6222020200112233446",
        address="北京市朝阳区建国路88号",
    )
    firm.staff["officer1"].api.patch(f"/customers/{customer['id']}", json={"mobile": "13900139000"})
    rows = _raw_rows(database_urls, "select * from customers_customers", firm.tenant.id)
    assert "13900139000" not in rows
    audit = _raw_rows(database_urls, "select diff from audit_events", firm.tenant.id)
    for secret in (*SECRETS, "13900139000"):
        assert secret not in rows, secret
        assert secret not in audit, secret
    assert "张三丰" in rows  # the name is kept in clear (and masked on display)


def test_every_unmasked_display_is_audited_and_masked_ones_are_not(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(firm.staff["officer1"].api)
    auditor, collector = firm.staff["auditor"], firm.staff["collector"]
    assert auditor.api.get(f"/customers/{customer['id']}").status_code == 200
    firm.staff["risk"].api.post(
        f"/customers/{customer['id']}/assign", json={"owner_id": collector.user_id}
    )
    collector.api.get(f"/customers/{customer['id']}")  # mobile and ID masked: nothing to log
    assert auditor.api.get("/customers").status_code == 200  # a list is one event
    views = audit_events(app, firm, "personal_data.view")
    by_auditor = [v for v in views if v.actor_id == auditor.user_id]
    assert [v.diff for v in by_auditor] == [
        {"records": [customer["id"]], "fields": ["id_number", "mobile"]}
    ] * 2
    assert by_auditor[0].record_type == "customer"
    assert "auditor@" in (by_auditor[0].actor_label or "")
    assert not [v for v in views if v.actor_id == collector.user_id]
