"""The engine without the API: a plain-column dimension, and the checks a declaration gets."""

from __future__ import annotations

from sqlalchemy import select

from tests.platform.reports.conftest import SEED, Books


def test_a_plain_column_dimension(books: Books) -> None:
    from loandesk import pii
    from loandesk.auth.models import User
    from loandesk.fields.current import tenant_record_type
    from loandesk.rbac.access import RecordAccess
    from loandesk.reports import Dataset, Dimension, Measure
    from loandesk.reports.query import Catalog, QueryContext, compile_report
    from loandesk.tenancy import current

    dataset = Dataset(
        "intake.large",
        "大额",
        "Large",
        "application",
        dimensions=(Dimension("large", "大额", "Large", column=lambda m: m.term_months >= 24),),
        measures=(Measure("count", "笔数", "Count"),),
    )
    with books.desk.session() as session:
        user = session.scalar(select(User).where(User.id == books.desk.user("finance")))
        access = RecordAccess.resolve(session, user, tenant_record_type("application"))
        catalog = Catalog.of(dataset, access)
        where = QueryContext(
            session.get_bind().dialect.name, current().timezone, pii.for_current_tenant(), session
        )
        spec = {"dimensions": ["large"], "measures": ["count"]}
        found = compile_report(catalog, spec, where).run(session)
    long_terms = sum(1 for row in SEED if row[4] >= 24)
    assert {bool(r["large"]): r["count"] for r in found} == {
        True: long_terms,
        False: len(SEED) - long_terms,
    }


def test_a_declaration_is_checked() -> None:
    from loandesk_intake.record_type import APPLICATION

    from loandesk.reports import Dataset, Dimension, Measure

    bad = Dataset(
        "intake.bad",
        "坏",
        "Bad",
        "application",
        dimensions=(Dimension("status"), Dimension("nope")),
        measures=(
            Measure("status", "x", "x"),
            Measure("sum_status", "x", "x", "sum", "status"),
            Measure("rate", "x", "x", "ratio", numerator="status", denominator="missing"),
            Measure("total", "x", "x", "sum"),
        ),
    )
    assert bad.problems(APPLICATION) == [
        "dataset 'intake.bad': 'status' is declared twice",
        "dataset 'intake.bad': ratio 'rate' names no measure",
        "dataset 'intake.bad': 'total' needs a field",
        "dataset 'intake.bad': record type has no field 'nope'",
        "dataset 'intake.bad': 'sum_status' over a select",
    ]


def test_the_host_refuses_a_bad_dataset_at_start() -> None:
    import pytest
    from loandesk_intake.record_type import APPLICATION

    from loandesk.plugins.host import PluginError, PluginHost
    from loandesk.plugins.info import PluginInfo
    from loandesk.reports import Dataset, Dimension, Measure
    from loandesk.sdk import RecordType, hookimpl

    def dataset(key: str, record_type: str = "reported", field: str = "status") -> Dataset:
        return Dataset(
            key,
            "x",
            "x",
            record_type,
            dimensions=(Dimension(field),),
            measures=(Measure("count", "x", "x"),),
        )

    class Reporter:
        PLUGIN = PluginInfo(name="reporter", title_zh="x", title_en="x", version="0")

        def __init__(self, *datasets: Dataset) -> None:
            self.datasets = list(datasets)

        @hookimpl
        def loandesk_record_types(self) -> list[RecordType]:
            from dataclasses import replace

            return [replace(APPLICATION, key="reported")]

        @hookimpl
        def loandesk_report_datasets(self) -> list[Dataset]:
            return self.datasets

    for datasets, problem in (
        ((dataset("other.things"),), r"must start with 'reporter\.'"),
        ((dataset("reporter.a", "loan"),), "no record type 'loan'"),
        ((dataset("reporter.a", field="nope"),), "has no field 'nope'"),
        ((dataset("reporter.a"), dataset("reporter.a")), "two datasets"),
    ):
        host = PluginHost()
        host.register(Reporter(*datasets))
        with pytest.raises(PluginError, match=problem):
            host.gather()
    host = PluginHost()
    host.register(Reporter(dataset("reporter.things")))
    host.gather()
    assert [d.key for d in host.report_datasets(["reporter"])] == ["reporter.things"]
