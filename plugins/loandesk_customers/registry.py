"""Customers as other plugins reach them (``sdk.CustomerRegistry``): found by ID number and
added under the acting staff member's access, through this plugin's own service functions
(a lead converted into an application finds or adds its borrower here). No Flask."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_customers import service
from loandesk_customers.models import Customer


class Registry:
    def find_by_id_number(
        self, session: Session, access: sdk.RecordAccess, keys: sdk.Keyring, id_number: str
    ) -> uuid.UUID | None:
        # only for staff who may see the number at least masked: otherwise a match would
        # confirm a number they may not know (as the customers' search box)
        if not id_number.strip() or not access.can_read or access.access("id_number") == "hidden":
            return None
        query = (
            access.where(select(Customer.id))
            .where(Customer.merged_into_id.is_(None))  # a merged record points to its survivor
            .where(Customer.personal_match("id_number", id_number.strip(), keys=keys))
        )
        return session.scalars(query).first()

    def create(
        self,
        session: Session,
        access: sdk.RecordAccess,
        keys: sdk.Keyring,
        values: Mapping[str, Any],
        *,
        owner_id: uuid.UUID,
    ) -> uuid.UUID:
        return service.create_customer(session, access, keys, values, owner_id=owner_id).id
