"""Personal fields on a model: declare them once, get encrypted and searchable columns.

::

    class Borrower(PersonalData, Base):
        __tablename__ = "crm_borrowers"
        __personal_fields__ = {"id_number": "resident_id", "mobile": "mobile"}

gives the table ``id_number_enc`` (Text) and ``id_number_hash`` (String(64), indexed), and the
same for ``mobile``. ``set_personal`` validates, encrypts and hashes in one step, so a value is
never stored without its hash nor in plaintext; ``personal_match`` finds rows by exact value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, String, Text, false
from sqlalchemy.orm import mapped_column

from loandesk.db import TenantOwned, uuid7
from loandesk.pii.keys import Keyring
from loandesk.pii.masking import mask
from loandesk.pii.validation import KINDS, PersonalKind, validate
from loandesk.tenancy.guard import CrossTenantWrite


class PersonalData(TenantOwned):
    """Mixin for a tenant-owned model with personal fields; list it before ``Base``.

    ``__personal_fields__`` maps each field to its kind (``loandesk.pii.validation.KINDS``).
    Ciphertexts are bound to ``__personal_record_type__`` (default: the table name): set it
    explicitly before renaming a table, or the stored values no longer decrypt.
    """

    __personal_fields__: ClassVar[Mapping[str, PersonalKind]] = {}
    __personal_record_type__: ClassVar[str]

    def __init_subclass__(cls, **kw: Any) -> None:
        declared = cls.__dict__.get("__personal_fields__")
        if declared:
            if "__mapper__" in cls.__dict__:
                raise TypeError(f"{cls.__name__}: list PersonalData before Base")
            for field, kind in declared.items():
                if kind not in KINDS:
                    raise TypeError(f"{cls.__name__}.{field}: unknown personal kind {kind!r}")
                for column in (f"{field}_enc", f"{field}_hash"):
                    if column in cls.__dict__:
                        raise TypeError(f"{cls.__name__}.{column} is declared by PersonalData")
                setattr(cls, f"{field}_enc", mapped_column(Text, nullable=True))
                setattr(cls, f"{field}_hash", mapped_column(String(64), nullable=True, index=True))
        super().__init_subclass__(**kw)
        if declared and "__personal_record_type__" not in cls.__dict__:
            cls.__personal_record_type__ = str(cls.__dict__.get("__tablename__", cls.__name__))

    @classmethod
    def personal_kind(cls, field: str) -> str:
        try:
            return cls.__personal_fields__[field]
        except KeyError:
            raise AttributeError(f"{cls.__name__} has no personal field {field!r}") from None

    def set_personal(self, field: str, value: str | None, *, keys: Keyring) -> None:
        """Validate ``value`` as its kind says (``ValidationFailed`` naming ``field``), then
        store it encrypted with its search hash; None or blank clears both."""
        kind = self.personal_kind(field)
        if value is None or not value.strip():
            setattr(self, f"{field}_enc", None)
            setattr(self, f"{field}_hash", None)
            return
        normalised = validate(kind, value, field=field)
        token = keys.encrypt(
            normalised,
            record_type=self.__personal_record_type__,
            field=field,
            record_id=self._personal_row(keys),
        )
        digest = keys.search_hash(kind, normalised)
        assert digest is not None  # encrypting created the tenant's first data key
        setattr(self, f"{field}_enc", token)
        setattr(self, f"{field}_hash", digest)

    def get_personal(self, field: str, *, keys: Keyring) -> str | None:
        """The plaintext (for code that needs it, and viewers allowed to see it);
        ``DecryptionFailed`` if the stored value was moved here from elsewhere."""
        self.personal_kind(field)
        token: str | None = getattr(self, f"{field}_enc")
        if token is None:
            return None
        return keys.decrypt(
            token,
            record_type=self.__personal_record_type__,
            field=field,
            record_id=self._personal_row(keys),
        )

    def get_masked(self, field: str, *, keys: Keyring) -> str | None:
        """The value masked as its kind says (``loandesk.pii.masking``)."""
        value = self.get_personal(field, keys=keys)
        return None if value is None else mask(self.personal_kind(field), value)

    @classmethod
    def personal_match(cls, field: str, value: str, *, keys: Keyring) -> ColumnElement[bool]:
        """A WHERE clause for rows whose ``field`` equals ``value`` once both are normalised:
        ``select(Borrower).where(Borrower.personal_match("mobile", "138 0013 8000", keys=k))``.
        """
        digest = keys.search_hash(cls.personal_kind(field), value)
        column = getattr(cls, f"{field}_hash")
        return false() if digest is None else column == digest

    def _personal_row(self, keys: Keyring) -> uuid.UUID:
        # The ciphertext is bound to this row, so the row needs its id and tenant before flush.
        if self.tenant_id is None:
            self.tenant_id = keys.tenant_id
        elif self.tenant_id != keys.tenant_id:
            raise CrossTenantWrite(f"{type(self).__name__} belongs to another tenant")
        if self.id is None:
            self.id = uuid7()
        return self.id
