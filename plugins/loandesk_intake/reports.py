"""The datasets reports on applications are made of — the applications (借款申请: by status,
unit, credit officer, created and submitted dates; counts, amounts, terms and the approval
rate) and their approval tasks (审批任务: by approver, step, decision, dates; decisions,
pending and overdue tasks, hours to decide) — and the built-in reports over them."""

from __future__ import annotations

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, approval_tasks

# a contracted application was approved first: it counts as approved
APPROVED = ("approved", "contracted")
DECIDED = (*APPROVED, "rejected")
# The decisions an approver made themselves (``loandesk.reports.tasks``).
OWN_DECISIONS = ("approved", "rejected", "returned")

APPLICATIONS = Dataset(
    key="intake.applications",
    label_zh="借款申请",
    label_en="Applications",
    record_type="application",
    description_zh="每笔借款申请一行；审批通过率 = 已批准 / (已批准 + 已拒绝)。",
    description_en="One row per loan application; approval rate = approved / "
    "(approved + rejected).",
    dimensions=(
        Dimension("status"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
        Dimension("created_at"),
        Dimension("submitted_at"),
        Dimension("term_months"),
    ),
    measures=(
        Measure("count", "申请笔数", "Applications"),
        Measure("customers", "客户数", "Customers", "count_distinct", "customer_id"),
        Measure("amount_sum", "申请金额合计", "Total amount", "sum", "amount"),
        Measure("amount_avg", "平均申请金额", "Average amount", "avg", "amount"),
        Measure("amount_min", "最小申请金额", "Smallest amount", "min", "amount"),
        Measure("amount_max", "最大申请金额", "Largest amount", "max", "amount"),
        Measure("term_avg", "平均期限（月）", "Average term (months)", "avg", "term_months"),
        Measure("term_min", "最短期限（月）", "Shortest term (months)", "min", "term_months"),
        Measure("term_max", "最长期限（月）", "Longest term (months)", "max", "term_months"),
        Measure("approved", "已批准笔数", "Approved", "count", when=("status", APPROVED)),
        Measure("decided", "已决笔数", "Decided", "count", when=("status", DECIDED)),
        Measure("rejected", "已拒绝笔数", "Rejected", "count", when=("status", ("rejected",))),
        Measure(
            "approved_amount",
            "已批准金额",
            "Approved amount",
            "sum",
            "amount",
            when=("status", APPROVED),
        ),
        Measure(
            "approval_rate",
            "审批通过率",
            "Approval rate",
            "ratio",
            numerator="approved",
            denominator="decided",
        ),
    ),
    # a dashboard's date range and org unit narrow these (no product nor channel yet)
    global_filters={"date": "created_at", "org_unit": "org_unit_id"},
)

# The approval tasks of applications: one row per task, narrowed by the viewer's scope over
# the application (``loandesk.reports.tasks``). Times to decide are whole seconds, shown in
# hours with two decimals (half up).
APPROVAL_TASKS = Dataset(
    key="intake.approval_tasks",
    label_zh="申请审批任务",
    label_en="Application approval tasks",
    record_type="application",
    description_zh="每个审批任务一行（审批人在一个审批节点上的一次处理），只含可见申请的任务；"
    "处理用时 = 处理时间 − 到达时间，按小时显示，保留两位小数。",
    description_en="One row per approval task (an approver's part in one visit of an approval "
    "step), of the applications the viewer may see; time to decide = decided − assigned, in "
    "hours with two decimals.",
    source=approval_tasks("application"),
    dimensions=(
        Dimension("approver"),
        Dimension("step"),
        Dimension("decision"),
        Dimension("deadline"),
        Dimension("assigned_at"),
        Dimension("decided_at"),
        Dimension("status"),
        Dimension("org_unit_id"),
        Dimension("owner_id"),
        Dimension("term_months"),
    ),
    measures=(
        Measure("tasks", "任务数", "Tasks"),
        Measure("decisions", "处理笔数", "Decisions", when=("decision", OWN_DECISIONS)),
        Measure("approvals", "同意笔数", "Approvals", when=("decision", ("approved",))),
        Measure("rejections", "拒绝笔数", "Rejections", when=("decision", ("rejected",))),
        Measure("returns", "退回笔数", "Sent back", when=("decision", ("returned",))),
        Measure("pending", "待处理笔数", "Pending", when=("decision", ("pending",))),
        Measure("overdue", "超时任务数", "Overdue tasks", when=("deadline", ("overdue",))),
        Measure(
            "approved_amount",
            "同意的申请金额",
            "Amount approved",
            "sum",
            "amount",
            when=("decision", ("approved",)),
        ),
        Measure(
            "median_hours",
            "处理用时中位数（小时）",
            "Median hours to decide",
            "median",
            "decide_seconds",
            places=2,
            per=3600,
        ),
        Measure(
            "p90_hours",
            "处理用时90分位（小时）",
            "90th percentile hours to decide",
            "p90",
            "decide_seconds",
            places=2,
            per=3600,
        ),
        Measure(
            "avg_hours",
            "平均处理用时（小时）",
            "Average hours to decide",
            "avg",
            "decide_seconds",
            places=2,
            per=3600,
        ),
        Measure(
            "approval_share",
            "同意占比",
            "Share approved",
            "ratio",
            numerator="approvals",
            denominator="decisions",
        ),
    ),
    # filters reach the application, so a dashboard's org unit narrows the tasks; its date
    # range would narrow by the application's creation, not by when a task was decided: none
    global_filters={"org_unit": "org_unit_id"},
)

BUILTIN_REPORTS = (
    BuiltinReport(
        key="intake.approver_efficiency",
        name_zh="审批人效率排名",
        name_en="Approver efficiency ranking",
        description_zh="每位审批人的处理笔数与处理用时（小时），按用时中位数从快到慢排列。",
        description_en="Each approver's decisions and hours to decide, fastest median first.",
        dataset="intake.approval_tasks",
        spec={
            "dimensions": [{"key": "approver"}],
            "measures": ["decisions", "median_hours", "avg_hours", "p90_hours", "overdue"],
            "sort": "median_hours",
        },
        chart_type="bar",
        default_roles=("risk_manager",),
    ),
    BuiltinReport(
        key="intake.application_funnel",
        name_zh="申请审批漏斗（按月）",
        name_en="Application funnel by month",
        description_zh="每月提交的申请中已批准、已拒绝的笔数与审批通过率（按提交月份）。",
        description_en="Applications submitted per month, how many were approved and rejected, "
        "and the approval rate (by month of submission).",
        dataset="intake.applications",
        spec={
            "dimensions": [{"key": "submitted_at", "bucket": "month"}],
            "measures": ["count", "approved", "rejected", "approval_rate"],
            "filters": ["submitted_at:not_empty"],
        },
        chart_type="funnel",
        default_roles=("risk_manager",),
    ),
    BuiltinReport(
        key="intake.applications_by_unit",
        name_zh="各部门申请状态分布",
        name_en="Applications by unit and status",
        description_zh="各部门每种状态的申请笔数与金额。",
        description_en="Applications and amounts per unit and status.",
        dataset="intake.applications",
        spec={
            "dimensions": [{"key": "org_unit_id"}, {"key": "status"}],
            "measures": ["count", "amount_sum"],
        },
        chart_type="stacked_bar",
        default_roles=("risk_manager",),
    ),
)
