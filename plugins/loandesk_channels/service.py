"""Channels, agents and costs (leads are in ``leads``). No Flask here: the API, the pages and
tests call the same functions."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    NotFound,
    ValidationFailed,
    audit_changes,
    audit_record,
    unit_of,
)
from loandesk_channels.models import (
    KINDS,
    UTM_KEYS,
    Agent,
    Channel,
    Cost,
    Lead,
)

REQUIRED = N_("This field is required.")


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)


def _text(values: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


# --- channels ---------------------------------------------------------------------------------


def list_channels(session: Session, *, active_only: bool = False) -> list[Channel]:
    query = select(Channel).order_by(Channel.code)
    if active_only:
        query = query.where(Channel.active.is_(True))
    return list(session.scalars(query))


def get_channel(session: Session, channel_id: uuid.UUID) -> Channel:
    found = session.scalar(select(Channel).where(Channel.id == channel_id))
    if found is None:
        raise NotFound(N_("No such channel."))
    return found


def _channel_values(session: Session, values: Mapping[str, Any], channel: Channel | None) -> None:
    errors: dict[str, list[str]] = {}
    code = _text(values, "code", 41) if "code" in values or channel is None else channel.code
    name = _text(values, "name", 101) if "name" in values or channel is None else channel.name
    kind = values.get("kind", channel.kind if channel else None)
    if not code:
        errors["code"] = [REQUIRED]
    elif len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum():
        errors["code"] = [N_("Use up to 40 letters, digits, - or _.")]
    elif session.scalar(select(Channel.id).where(Channel.code == code, Channel.id != _id(channel))):
        errors["code"] = [N_("Another channel has this code.")]
    if not name:
        errors["name"] = [REQUIRED]
    elif len(name) > 100:
        errors["name"] = [N_("Use at most 100 characters.")]
    if kind not in KINDS:
        errors["kind"] = [N_("Choose a kind from the list.")]
    parent_id = values.get("parent_id", channel.parent_id if channel else None)
    if parent_id:
        parent = session.scalar(select(Channel).where(Channel.id == parent_id))
        if parent is None or parent.parent_id is not None or _id(channel) == parent.id:
            errors["parent_id"] = [N_("Choose a top-level channel as the parent.")]
    _refuse(errors)


def _id(row: Any) -> uuid.UUID:
    return row.id if row is not None and row.id else uuid.UUID(int=0)


def create_channel(session: Session, values: Mapping[str, Any]) -> Channel:
    """A channel, or a sub-channel of a top-level one (``parent_id``)."""
    _channel_values(session, values, None)
    channel = Channel(
        code=str(values["code"]).strip(),
        name=str(values["name"]).strip(),
        kind=values["kind"],
        parent_id=values.get("parent_id") or None,
        active=bool(values.get("active", True)),
    )
    session.add(channel)
    session.flush()
    audit_record(session, "channel.create", "channel", channel.id, _audited(channel))
    return channel


def update_channel(session: Session, channel: Channel, values: Mapping[str, Any]) -> Channel:
    _channel_values(session, values, channel)
    before = _audited(channel)
    for key in ("code", "name"):
        if key in values:
            setattr(channel, key, str(values[key]).strip())
    for key in ("kind", "parent_id", "active"):
        if key in values:
            setattr(channel, key, values[key] or (None if key == "parent_id" else values[key]))
    session.flush()
    if diff := audit_changes(before, _audited(channel)):
        audit_record(session, "channel.update", "channel", channel.id, diff)
        if {"code", "parent_id"} & diff.keys():
            _restamp(session, channel)
    return channel


def _top_code(session: Session, channel_id: uuid.UUID | None) -> str | None:
    """The code of ``channel_id``'s top-level channel (its own or its parent's)."""
    if channel_id is None:
        return None
    channel = session.scalar(select(Channel).where(Channel.id == channel_id))
    if channel is None:
        return None
    if channel.parent_id is None:
        return channel.code
    return session.scalar(select(Channel.code).where(Channel.id == channel.parent_id))


def _restamp(session: Session, channel: Channel) -> None:
    """The leads of ``channel`` and of its sub-channels take its new top-level code."""
    ids = [channel.id, *session.scalars(select(Channel.id).where(Channel.parent_id == channel.id))]
    for channel_id in ids:
        session.execute(
            update(Lead)
            .where(Lead.channel_id == channel_id)
            .values(channel_code=_top_code(session, channel_id))
        )


def _audited(channel: Channel) -> dict[str, Any]:
    return {
        "code": channel.code,
        "name": channel.name,
        "kind": channel.kind,
        "parent_id": channel.parent_id,
        "active": channel.active,
    }


# --- agents -----------------------------------------------------------------------------------


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.created_at)))


def create_agent(session: Session, *, user_id: uuid.UUID, channel_id: uuid.UUID) -> Agent:
    """Make the staff account ``user_id`` an agent of ``channel_id`` with a new referral code
    (the account's role, ``channel_agent``, is given on the staff page like any role)."""
    errors: dict[str, list[str]] = {}
    try:
        unit_of(session, user_id, "user_id")
    except ValidationFailed as refused:
        errors.update(refused.errors or {})
    if session.scalar(select(Channel.id).where(Channel.id == channel_id)) is None:
        errors["channel_id"] = [N_("Choose a channel from the list.")]
    if session.scalar(select(Agent.id).where(Agent.user_id == user_id)):
        errors["user_id"] = [N_("This staff member is already an agent.")]
    _refuse(errors)
    agent = Agent(user_id=user_id, channel_id=channel_id, referral_code=_new_code(session))
    session.add(agent)
    session.flush()
    audit_record(
        session,
        "channel.agent",
        "channel",
        channel_id,
        {"user_id": user_id, "referral_code": agent.referral_code},
    )
    return agent


def agent_of(session: Session, user_id: uuid.UUID) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.user_id == user_id))


def _new_code(session: Session) -> str:
    while True:
        code = secrets.token_hex(4).upper()
        if session.scalar(select(Agent.id).where(Agent.referral_code == code)) is None:
            return code


def agent_link(form_url: str, agent: Agent, utm: Mapping[str, str] | None = None) -> str:
    """The agent's personal link: the public lead form with their referral code and UTM
    parameters (``utm_source=agent`` and ``utm_medium=referral`` unless given)."""
    params = {"ref": agent.referral_code, "utm_source": "agent", "utm_medium": "referral"}
    params.update({k: v for k, v in (utm or {}).items() if k in UTM_KEYS and v})
    return f"{form_url}?{urlencode(params)}"


def _amount(raw: Any, errors: dict[str, list[str]]) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        amount = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or amount > Decimal("100000000"):
        errors["amount"] = [N_("Enter an amount in yuan, such as 50000.")]
        return None
    return amount.quantize(Decimal("0.01"))


# --- costs ------------------------------------------------------------------------------------


def add_cost(
    session: Session, values: Mapping[str, Any], *, created_by_id: uuid.UUID | None
) -> Cost:
    """What a channel cost on ``spent_on`` (a day, or the 1st for a whole month)."""
    errors: dict[str, list[str]] = {}
    channel_id = values.get("channel_id")
    if not channel_id or session.scalar(select(Channel.id).where(Channel.id == channel_id)) is None:
        errors["channel_id"] = [N_("Choose a channel from the list.")]
    spent_on = values.get("spent_on")
    if isinstance(spent_on, str):
        try:
            spent_on = date.fromisoformat(spent_on)
        except ValueError:
            spent_on = None
    if not isinstance(spent_on, date):
        errors["spent_on"] = [N_("Enter a date such as 2026-11-01.")]
    amount = _amount(values.get("amount"), errors)
    if amount is None and "amount" not in errors:
        errors["amount"] = [REQUIRED]
    note = _text(values, "note", 500) or ""
    _refuse(errors)
    cost = Cost(
        channel_id=channel_id, spent_on=spent_on, amount=amount, note=note,
        created_by_id=created_by_id,
    )  # fmt: skip
    session.add(cost)
    session.flush()
    audit_record(
        session,
        "channel.cost",
        "channel",
        cost.channel_id,
        {"spent_on": spent_on, "amount": amount, "note": note},
    )
    return cost


def list_costs(session: Session, *, channel_id: uuid.UUID | None = None) -> list[Cost]:
    query = select(Cost).order_by(Cost.spent_on.desc(), Cost.created_at.desc())
    if channel_id:
        query = query.where(Cost.channel_id == channel_id)
    return list(session.scalars(query))
