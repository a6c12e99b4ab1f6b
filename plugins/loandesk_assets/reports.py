"""Report datasets of the assets plugin, each joined to its loan so that the viewer's data
scope over loans applies: class migration (五级分类迁徙: one row per change of a loan's class
in force), recovery (核销回收: one row per approved write-off, what it took off the books and
what came back since), and the classes of active loans (the basis of provisions, 拨备)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, join

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_assets.models import ClassChange, LoanClass, WriteOff
from loandesk_assets.settings import CLASSES

# Core aliases, not the ORM entities: the tenant goes in the ON clause (see repayment's reports)
_CHANGES = ClassChange.__table__.alias("class_changes").c
_WRITE_OFFS = WriteOff.__table__.alias("write_off_rows").c
_CLASSES = LoanClass.__table__.alias("loan_class_rows").c
CAUSES = (
    ("dpd", "按逾期天数", "Days past due"),
    ("override", "人工调整", "Override"),
    ("override_cleared", "取消人工调整", "Override cleared"),
)


def _joined(rows: Any, on_loan: Any, *more: Any) -> Any:
    def select_from(model: Any, dialect: str) -> Any:
        return join(
            model,
            rows.id.table,
            and_(rows.tenant_id == model.tenant_id, on_loan == model.id, *more),
        )

    return select_from


def _col(
    rows: Any, key: str, zh: str, en: str, kind: str, column: str | None = None, **more: Any
) -> SourceColumn:
    return SourceColumn(key, zh, en, kind, lambda d: rows[column or key], **more)


CLASS_MIGRATION = Dataset(
    key="assets.class_migration",
    label_zh="五级分类迁徙",
    label_en="Class migration",
    record_type="loan",
    description_zh="贷款五级分类的每次变动一行：日期、原分类、新分类、原因（逾期天数或人工调整）、"
    "当时的逾期天数与未还本金。",
    description_en="One row per change of a loan's five-tier class: day, from, to, cause "
    "(days past due or an override), and the days past due and principal outstanding then.",
    source=Source(
        select_from=_joined(_CHANGES, _CHANGES.loan_id),
        columns=(
            _col(_CHANGES, "changed_on", "变动日期", "Changed on", "date"),
            _col(_CHANGES, "from_class", "原分类", "From class", "select", options=CLASSES),
            _col(_CHANGES, "to_class", "新分类", "To class", "select", options=CLASSES),
            _col(_CHANGES, "cause", "变动原因", "Cause", "select", options=CAUSES),
            _col(_CHANGES, "class_product", "产品", "Product", "text", "product_code"),
            _col(
                _CHANGES,
                "class_principal",
                "未还本金",
                "Principal outstanding",
                "money",
                "principal_outstanding",
            ),
        ),
    ),
    dimensions=(
        Dimension("changed_on"),
        Dimension("from_class"),
        Dimension("to_class"),
        Dimension("cause"),
        Dimension("class_product"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
    ),
    measures=(
        Measure("count", "变动笔数", "Changes"),
        Measure("loans", "贷款数", "Loans", "count_distinct", "number"),
        Measure("principal", "未还本金", "Principal outstanding", "sum", "class_principal"),
    ),
    global_filters={"date": "changed_on", "org_unit": "org_unit_id"},
)

RECOVERY = Dataset(
    key="assets.recovery",
    label_zh="核销回收",
    label_en="Write-off recovery",
    record_type="loan",
    description_zh="每笔已核销贷款一行：核销日期、核销金额（本金、利息、费用、罚息）与核销后回收金额；"
    "回收率 = 回收金额 ÷ 核销金额。",
    description_en="One row per written-off loan: the day, what was written off (principal, "
    "interest, fees, penalty) and recovered since; recovery rate = recovered ÷ written off.",
    source=Source(
        select_from=_joined(_WRITE_OFFS, _WRITE_OFFS.loan_id, _WRITE_OFFS.status == "approved"),
        columns=(
            _col(_WRITE_OFFS, "written_off_on", "核销日期", "Written off on", "date"),
            _col(_WRITE_OFFS, "written_off", "核销金额", "Written off", "money", "total"),
            _col(
                _WRITE_OFFS,
                "written_off_principal",
                "核销本金",
                "Principal written off",
                "money",
                "principal",
            ),
            _col(_WRITE_OFFS, "recovered", "回收金额", "Recovered", "money"),
        ),
    ),
    dimensions=(Dimension("written_off_on"), Dimension("org_unit_id"), Dimension("owner_id")),
    measures=(
        Measure("count", "核销笔数", "Write-offs"),
        Measure("written_off", "核销金额", "Written off", "sum", "written_off"),
        Measure("principal", "核销本金", "Principal written off", "sum", "written_off_principal"),
        Measure("recovered", "回收金额", "Recovered", "sum", "recovered"),
        Measure(
            "recovery_rate",
            "回收率",
            "Recovery rate",
            "ratio",
            numerator="recovered",
            denominator="written_off",
        ),
    ),
    global_filters={"date": "written_off_on", "org_unit": "org_unit_id"},
)

CLASSIFIED = Dataset(
    key="assets.classes",
    label_zh="五级分类余额",
    label_en="Loans by class",
    record_type="loan",
    description_zh="每笔还款中贷款一行：五级分类、逾期天数、未还本金（拨备的计提基础）。",
    description_en="One row per active loan: its class, days past due and principal "
    "outstanding (what provisions are set aside on).",
    source=Source(
        select_from=_joined(_CLASSES, _CLASSES.id, _CLASSES.loan_status == "active"),
        columns=(
            _col(_CLASSES, "loan_class", "五级分类", "Class", "select", options=CLASSES),
            _col(_CLASSES, "class_dpd", "逾期天数", "Days past due", "integer", "days_past_due"),
            _col(
                _CLASSES,
                "class_principal",
                "未还本金",
                "Principal outstanding",
                "money",
                "principal_outstanding",
            ),
        ),
    ),
    dimensions=(Dimension("loan_class"), Dimension("org_unit_id"), Dimension("owner_id")),
    measures=(
        Measure("count", "贷款数", "Loans"),
        Measure("principal", "未还本金", "Principal outstanding", "sum", "class_principal"),
    ),
    global_filters={"org_unit": "org_unit_id"},
)

DATASETS = (CLASS_MIGRATION, RECOVERY, CLASSIFIED)

BUILTIN_REPORTS = (
    BuiltinReport(
        key="assets.class_migration",
        name_zh="五级分类迁徙",
        name_en="Class migration",
        description_zh="每月从各分类迁入各分类的贷款笔数与未还本金。",
        description_en="Each month, how many loans moved from each class to each, and their "
        "principal outstanding.",
        dataset="assets.class_migration",
        spec={
            "dimensions": [
                {"key": "changed_on", "bucket": "month"},
                {"key": "from_class"},
                {"key": "to_class"},
            ],
            "measures": ["count", "principal"],
        },
        chart_type="table",
        default_roles=("risk_manager",),
    ),
    BuiltinReport(
        key="assets.recovery",
        name_zh="核销回收率",
        name_en="Recovery rate",
        description_zh="每月核销的金额、其后回收的金额与回收率。",
        description_en="Per month of write-off: what was written off, recovered since, and "
        "the recovery rate.",
        dataset="assets.recovery",
        spec={
            "dimensions": [{"key": "written_off_on", "bucket": "month"}],
            "measures": ["count", "written_off", "recovered", "recovery_rate"],
        },
        chart_type="table",
        default_roles=("risk_manager", "finance"),
    ),
)
