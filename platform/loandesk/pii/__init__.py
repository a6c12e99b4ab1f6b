"""Personal data (个人信息): encrypted at rest with per-tenant data keys, searchable by keyed
hash, validated and masked (DESIGN §5; docs/personal-data.md)."""

from loandesk.pii.fields import PersonalData
from loandesk.pii.keys import DataKeyUnavailable, DecryptionFailed, Keyring, for_current_tenant
from loandesk.pii.masking import (
    mask,
    mask_address,
    mask_bank_card,
    mask_mobile,
    mask_name,
    mask_resident_id,
    mask_text,
)
from loandesk.pii.models import TenantDataKey
from loandesk.pii.validation import (
    KINDS,
    PersonalKind,
    ResidentId,
    normalise,
    validate,
    validate_bank_card,
    validate_mobile,
    validate_resident_id,
)

__all__ = [
    "KINDS",
    "DataKeyUnavailable",
    "DecryptionFailed",
    "Keyring",
    "PersonalData",
    "PersonalKind",
    "ResidentId",
    "TenantDataKey",
    "for_current_tenant",
    "mask",
    "mask_address",
    "mask_bank_card",
    "mask_mobile",
    "mask_name",
    "mask_resident_id",
    "mask_text",
    "normalise",
    "validate",
    "validate_bank_card",
    "validate_mobile",
    "validate_resident_id",
]
