"""The customer record type: its built-in fields and what built-in roles get by default."""

from __future__ import annotations

from loandesk.sdk import FieldSpec, RecordType
from loandesk_customers.models import Customer
from loandesk_customers.service import create_customer, create_customers

MARITAL_STATUSES = (
    ("unmarried", "未婚", "Unmarried"),
    ("married", "已婚", "Married"),
    ("divorced", "离异", "Divorced"),
    ("widowed", "丧偶", "Widowed"),
)
STATUSES = (("active", "正常往来", "Active"), ("closed", "已终止往来", "Closed"))

FIELDS = (
    FieldSpec("name", "姓名", "Name", "name", required=True, max_length=50, filterable=True),
    FieldSpec("id_number", "身份证号", "Resident ID number", "resident_id", filterable=True),
    FieldSpec("mobile", "手机号", "Mobile", "mobile", required=True, filterable=True),
    FieldSpec("address", "居住地址", "Home address", "address"),
    FieldSpec("bank_card", "银行卡号", "Bank card", "bank_card"),
    FieldSpec("employer", "工作单位", "Employer", "text", max_length=100, filterable=True),
    FieldSpec("monthly_income", "月收入", "Monthly income", "money", filterable=True),
    FieldSpec(
        "marital_status",
        "婚姻状况",
        "Marital status",
        "select",
        options=MARITAL_STATUSES,
        filterable=True,
    ),
    FieldSpec("notes", "备注", "Notes", "long_text", max_length=2000),
    # photos of the resident ID card: images uploaded through the platform's attachments
    FieldSpec(
        "id_photo_front", "身份证人像面", "ID card (photo side)", "attachment", accept="image"
    ),
    FieldSpec(
        "id_photo_back", "身份证国徽面", "ID card (emblem side)", "attachment", accept="image"
    ),
    FieldSpec(
        "status", "状态", "Status", "select", options=STATUSES, read_only=True, filterable=True
    ),
    FieldSpec("owner_id", "客户经理", "Credit officer", "user", read_only=True, filterable=True),
    FieldSpec("org_unit_id", "所属部门", "Unit", "org_unit", read_only=True, filterable=True),
    FieldSpec("created_at", "创建时间", "Created", "datetime", read_only=True, filterable=True),
)

CUSTOMER = RecordType(
    key="customer",
    label_zh="客户",
    label_en="Customer",
    model=Customer,
    fields=FIELDS,
    detail_endpoint="tenant.customers.detail",
    list_endpoint="tenant.customers.index",
    create=create_customer,
    create_many=create_customers,
    # Built-in roles' starting point; each tenant's admins change it on the role's page.
    default_scopes={
        "credit_officer": "own",
        "risk_manager": "unit",
        "finance": "all",
        "post_loan_admin": "all",
        "collector": "own",
        "auditor": "all",
        "read_only": "all",
        "channel_agent": "own",  # the customers made from their leads
    },
    default_fields={
        "credit_officer": {"*": "edit"},
        "risk_manager": {"*": "view"},
        "finance": {
            "*": "hidden",
            "name": "view",
            "mobile": "masked",
            "bank_card": "view",
            "status": "view",
            "owner_id": "view",
            "org_unit_id": "view",
        },
        "post_loan_admin": {"*": "view", "notes": "edit"},
        "collector": {
            "*": "view",
            "id_number": "masked",
            "mobile": "masked",
            "bank_card": "hidden",
            "notes": "edit",
        },
        "auditor": {"*": "view"},
        "read_only": {"*": "masked"},
        "channel_agent": {"*": "edit", "bank_card": "hidden", "notes": "hidden"},
    },
    default_export={
        "risk_manager": ("*",),
        "post_loan_admin": ("*",),
        "finance": ("name", "bank_card", "status"),
    },
)
